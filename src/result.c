/* The result of one point: allocation, and packing into one flat array of doubles for MPI. */
#include <string.h>
#include "nnlimits/result.h"
#include "nnlimits/grid.h"

/* Header doubles before the arrays: point, status, nrec, m, dead_layer, seconds, kind; then the message as bytes. */
#define NNL_RES_HEAD 7
#define NNL_RES_MSG  ((PetscInt)(sizeof(((NNLResult *)0)->message) / sizeof(double)))

/* The arrays a result of each kind sends, in order, with their length per recorded layer (ks: m in all). */
typedef struct {
  double **a;
  PetscInt len;
} Part;

static PetscInt Parts(NNLResult *r, PetscInt kind, PetscInt m, Part part[5])
{
  const PetscInt np = m * (m + 1) / 2;

  part[0] = (Part){&r->gram, np};
  if (kind == NNL_TASK_LIMIT) {
    part[1] = (Part){&r->ode, np};
    return 2;
  }
  part[1] = (Part){&r->lognorm, m};
  part[2] = (Part){&r->lognorm_post, m};
  part[3] = (Part){&r->kurtosis, m};
  return 4;
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
  PetscCall(PetscCalloc6(nrec * np + 1, &r->gram, nrec * m + 1, &r->lognorm, nrec * m + 1, &r->lognorm_post,
                         nrec * m + 1, &r->kurtosis, m, &r->ks, nrec * np + 1, &r->ode));
  *res = r;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultSetSpectra(NNLResult *res, PetscInt nspec, PetscInt nsv)
{
  PetscFunctionBegin;
  PetscCall(PetscFree3(res->spec_layers, res->eig, res->sv));
  res->nspec = nspec;
  res->nsv   = nsv;
  PetscCall(PetscCalloc3(nspec + 1, &res->spec_layers, nspec * res->m + 1, &res->eig, nspec * nsv + 1, &res->sv));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultDestroy(NNLResult **res)
{
  PetscFunctionBegin;
  if (!*res) PetscFunctionReturn(0);
  PetscCall(PetscFree3((*res)->spec_layers, (*res)->eig, (*res)->sv));
  PetscCall(PetscFree((*res)->layers));
  PetscCall(PetscFree6((*res)->gram, (*res)->lognorm, (*res)->lognorm_post, (*res)->kurtosis, (*res)->ks, (*res)->ode));
  PetscCall(PetscFree(*res));
  PetscFunctionReturn(0);
}

PetscInt NNLResultPackedSize(PetscInt kind, PetscInt nrec, PetscInt m)
{
  NNLResult r;
  Part      part[5];
  PetscInt  n = Parts(&r, kind, m, part), len = NNL_RES_HEAD + NNL_RES_MSG + nrec + (kind == NNL_TASK_LIMIT ? 0 : m);

  for (PetscInt i = 0; i < n; i++) len += nrec * part[i].len;
  return len;
}

/* Spectra travel as an optional tail (nspec, nsv, layers, eig, sv): a result without them packs as before. */
static PetscInt SpectraLength(PetscInt nspec, PetscInt m, PetscInt nsv)
{
  return nspec > 0 ? 2 + nspec * (1 + m + nsv) : 0;
}

PetscInt NNLResultPackedLength(const NNLResult *res)
{
  return NNLResultPackedSize(res->kind, res->nrec, res->m) + SpectraLength(res->nspec, res->m, res->nsv);
}

PetscErrorCode NNLResultPack(const NNLResult *res, double *buf)
{
  PetscInt m = res->m, nrec = res->nrec, k = NNL_RES_HEAD + NNL_RES_MSG, n;
  Part     part[5];

  PetscFunctionBegin;
  n      = Parts((NNLResult *)res, res->kind, m, part);
  buf[0] = (double)res->point;
  buf[1] = (double)res->status;
  buf[2] = (double)nrec;
  buf[3] = (double)m;
  buf[4] = (double)res->dead_layer;
  buf[5] = res->seconds;
  buf[6] = (double)res->kind;
  memcpy(buf + NNL_RES_HEAD, res->message, sizeof(res->message));
  for (PetscInt r = 0; r < nrec; r++) buf[k++] = (double)res->layers[r];
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscArraycpy(buf + k, *part[i].a, nrec * part[i].len));
    k += nrec * part[i].len;
  }
  if (res->kind != NNL_TASK_LIMIT) PetscCall(PetscArraycpy(buf + k, res->ks, m));
  k += res->kind != NNL_TASK_LIMIT ? m : 0;
  if (res->nspec > 0) {
    buf[k++] = (double)res->nspec;
    buf[k++] = (double)res->nsv;
    for (PetscInt r = 0; r < res->nspec; r++) buf[k++] = (double)res->spec_layers[r];
    PetscCall(PetscArraycpy(buf + k, res->eig, res->nspec * m));
    PetscCall(PetscArraycpy(buf + k + res->nspec * m, res->sv, res->nspec * res->nsv));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultUnpack(const double *buf, PetscInt len, NNLResult **res)
{
  NNLResult *r;
  PetscInt   nrec, m, kind, k = NNL_RES_HEAD + NNL_RES_MSG, n, base, nspec = 0, nsv = 0;
  Part       part[5];

  PetscFunctionBegin;
  PetscCheck(len >= NNL_RES_HEAD + NNL_RES_MSG, PETSC_COMM_SELF, PETSC_ERR_PLIB, "result message too short (%" PetscInt_FMT ")", len);
  nrec = (PetscInt)buf[2];
  m    = (PetscInt)buf[3];
  kind = (PetscInt)buf[6];
  base = NNLResultPackedSize(kind, nrec, m);
  if (len > base + 2) {
    nspec = (PetscInt)buf[base];
    nsv   = (PetscInt)buf[base + 1];
  }
  PetscCheck(len == base + SpectraLength(nspec, m, nsv), PETSC_COMM_SELF, PETSC_ERR_PLIB, "result message of %" PetscInt_FMT
             " doubles, expected %" PetscInt_FMT, len, base + SpectraLength(nspec, m, nsv));
  PetscCall(NNLResultCreate(nrec, m, &r));
  r->point      = (PetscInt)buf[0];
  r->status     = (NNLStatus)(int)buf[1];
  r->dead_layer = (PetscInt)buf[4];
  r->seconds    = buf[5];
  r->kind       = kind;
  memcpy(r->message, buf + NNL_RES_HEAD, sizeof(r->message));
  r->message[sizeof(r->message) - 1] = 0;
  for (PetscInt i = 0; i < nrec; i++) r->layers[i] = (PetscInt)buf[k++];
  n = Parts(r, kind, m, part);
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscArraycpy(*part[i].a, buf + k, nrec * part[i].len));
    k += nrec * part[i].len;
  }
  if (kind != NNL_TASK_LIMIT) PetscCall(PetscArraycpy(r->ks, buf + k, m));
  if (nspec > 0) {
    k = base + 2;
    PetscCall(NNLResultSetSpectra(r, nspec, nsv));
    for (PetscInt i = 0; i < nspec; i++) r->spec_layers[i] = (PetscInt)buf[k++];
    PetscCall(PetscArraycpy(r->eig, buf + k, nspec * m));
    PetscCall(PetscArraycpy(r->sv, buf + k + nspec * m, nspec * nsv));
  }
  *res = r;
  PetscFunctionReturn(0);
}
