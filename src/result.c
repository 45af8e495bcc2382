/* The result of one point: allocation, and packing into one flat array of doubles for MPI. */
#include <string.h>
#include "nnlimits/result.h"

/* Header doubles before the arrays: point, status, nrec, m, dead_layer, seconds; then the message as bytes. */
#define NNL_RES_HEAD 6
#define NNL_RES_MSG  ((PetscInt)(sizeof(((NNLResult *)0)->message) / sizeof(double)))

/* Doubles per recorded layer: gram (np), lognorm, lognorm_post, kurtosis (m each), plus the layer index. */
static PetscInt PerLayer(PetscInt m)
{
  return m * (m + 1) / 2 + 3 * m + 1;
}

PetscErrorCode NNLResultCreate(PetscInt nrec, PetscInt m, NNLResult **res)
{
  NNLResult *r;
  PetscInt   np = m * (m + 1) / 2;

  PetscFunctionBegin;
  PetscCall(PetscNew(&r));
  r->nrec       = nrec;
  r->m          = m;
  r->dead_layer = -1;
  r->status     = NNL_STATUS_DONE;
  /* nrec may be 0 (nothing recorded yet): keep every array non-NULL so packing needs no special case. */
  PetscCall(PetscCalloc1(nrec + 1, &r->layers));
  PetscCall(PetscCalloc5(nrec * np + 1, &r->gram, nrec * m + 1, &r->lognorm, nrec * m + 1, &r->lognorm_post,
                         nrec * m + 1, &r->kurtosis, m, &r->ks));
  *res = r;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultDestroy(NNLResult **res)
{
  PetscFunctionBegin;
  if (!*res) PetscFunctionReturn(0);
  PetscCall(PetscFree((*res)->layers));
  PetscCall(PetscFree5((*res)->gram, (*res)->lognorm, (*res)->lognorm_post, (*res)->kurtosis, (*res)->ks));
  PetscCall(PetscFree(*res));
  PetscFunctionReturn(0);
}

PetscInt NNLResultPackedSize(PetscInt nrec, PetscInt m)
{
  return NNL_RES_HEAD + NNL_RES_MSG + nrec * PerLayer(m) + m;
}

PetscErrorCode NNLResultPack(const NNLResult *res, double *buf)
{
  PetscInt m = res->m, np = m * (m + 1) / 2, nrec = res->nrec, k = NNL_RES_HEAD + NNL_RES_MSG;

  PetscFunctionBegin;
  buf[0] = (double)res->point;
  buf[1] = (double)res->status;
  buf[2] = (double)nrec;
  buf[3] = (double)m;
  buf[4] = (double)res->dead_layer;
  buf[5] = res->seconds;
  memcpy(buf + NNL_RES_HEAD, res->message, sizeof(res->message));
  for (PetscInt r = 0; r < nrec; r++) buf[k++] = (double)res->layers[r];
  PetscCall(PetscArraycpy(buf + k, res->gram, nrec * np));
  k += nrec * np;
  PetscCall(PetscArraycpy(buf + k, res->lognorm, nrec * m));
  k += nrec * m;
  PetscCall(PetscArraycpy(buf + k, res->lognorm_post, nrec * m));
  k += nrec * m;
  PetscCall(PetscArraycpy(buf + k, res->kurtosis, nrec * m));
  k += nrec * m;
  PetscCall(PetscArraycpy(buf + k, res->ks, m));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultUnpack(const double *buf, PetscInt len, NNLResult **res)
{
  NNLResult *r;
  PetscInt   nrec, m, np, k = NNL_RES_HEAD + NNL_RES_MSG;

  PetscFunctionBegin;
  PetscCheck(len >= NNL_RES_HEAD + NNL_RES_MSG, PETSC_COMM_SELF, PETSC_ERR_PLIB, "result message too short (%" PetscInt_FMT ")", len);
  nrec = (PetscInt)buf[2];
  m    = (PetscInt)buf[3];
  PetscCheck(len == NNLResultPackedSize(nrec, m), PETSC_COMM_SELF, PETSC_ERR_PLIB, "result message of %" PetscInt_FMT
             " doubles, expected %" PetscInt_FMT, len, NNLResultPackedSize(nrec, m));
  np = m * (m + 1) / 2;
  PetscCall(NNLResultCreate(nrec, m, &r));
  r->point      = (PetscInt)buf[0];
  r->status     = (NNLStatus)(int)buf[1];
  r->dead_layer = (PetscInt)buf[4];
  r->seconds    = buf[5];
  memcpy(r->message, buf + NNL_RES_HEAD, sizeof(r->message));
  r->message[sizeof(r->message) - 1] = 0;
  for (PetscInt i = 0; i < nrec; i++) r->layers[i] = (PetscInt)buf[k++];
  PetscCall(PetscArraycpy(r->gram, buf + k, nrec * np));
  k += nrec * np;
  PetscCall(PetscArraycpy(r->lognorm, buf + k, nrec * m));
  k += nrec * m;
  PetscCall(PetscArraycpy(r->lognorm_post, buf + k, nrec * m));
  k += nrec * m;
  PetscCall(PetscArraycpy(r->kurtosis, buf + k, nrec * m));
  k += nrec * m;
  PetscCall(PetscArraycpy(r->ks, buf + k, m));
  *res = r;
  PetscFunctionReturn(0);
}
