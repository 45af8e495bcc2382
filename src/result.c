/* The result of one task: allocation, and packing into one flat array of doubles for MPI. */
#include <string.h>
#include "nnlimits/result.h"
#include "nnlimits/grid.h"

/* Header doubles before the arrays: point, status, nrec, m, dead_layer, seconds, kind, npath,
   ncell, nspec, nsv, and nmsg; then the message as bytes, its used part alone (to its NUL, in nmsg
   doubles; 0 without a message). A result that went with its whole 256-byte message was 440 bytes
   for a tiny network, 256 of them empty. */
#define NNL_RES_HEAD 12
#define NNL_RES_MSG  ((PetscInt)(sizeof(((NNLResult *)0)->message) / sizeof(double)))

/* bytes of res's message before its NUL (at most the array's less one) */
static size_t MessageLength(const NNLResult *res)
{
  const char *z = memchr(res->message, 0, sizeof(res->message) - 1);
  return z ? (size_t)(z - res->message) : sizeof(res->message) - 1;
}

/* doubles the message of res takes when packed: its bytes and a NUL */
static PetscInt MessageDoubles(const NNLResult *res)
{
  size_t n = MessageLength(res);
  return n ? (PetscInt)((n + 1 + sizeof(double) - 1) / sizeof(double)) : 0;
}

/* The arrays a result of each kind sends, in order, with their length per recorded layer (ks: m in
 * all). */
typedef struct {
  double **a;
  PetscInt len;
} Part;

static PetscInt Parts(NNLResult *r, PetscInt kind, PetscInt m, PetscInt ncell, Part part[5])
{
  const PetscInt np = m * (m + 1) / 2;

  if (kind == NNL_TASK_SDE) {
    part[0] = (Part){&r->fp, ncell};
    return 1;
  }
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

/* The result and its fixed arrays are one zeroed block, freed at once: a tiny task makes and frees
   one result, and separate allocations were most of what a task costs the scheduler (perf, 10^6
   no-op tasks). */
PetscErrorCode NNLResultCreate(PetscInt nrec, PetscInt m, NNLResult **res)
{
  const size_t head =
    (sizeof(NNLResult) + 63) / 64 * 64; /* the arrays start 64-byte aligned, as PetscMalloc's */
  const PetscInt np = m * (m + 1) / 2;
  /* nrec may be 0 (nothing recorded yet): every array is non-NULL, so packing needs no special case
   */
  const PetscInt len[6] = {nrec * np + 1, nrec * m + 1, nrec * m + 1, nrec * m + 1, m,
                           nrec * np + 1};
  size_t         nd     = 0;
  char          *blk;
  double        *d;
  NNLResult     *r;

  PetscFunctionBegin;
  for (int i = 0; i < 6; i++) nd += (size_t)len[i];
  PetscCall(PetscCalloc1(head + nd * sizeof(double) + (size_t)(nrec + 1) * sizeof(PetscInt), &blk));
  r               = (NNLResult *)blk;
  d               = (double *)(blk + head);
  r->gram         = d;
  r->lognorm      = d += len[0];
  r->lognorm_post = d += len[1];
  r->kurtosis     = d += len[2];
  r->ks           = d += len[3];
  r->ode          = d += len[4];
  r->layers       = (PetscInt *)(d + len[5]);
  r->nrec         = nrec;
  r->m            = m;
  r->dead_layer   = -1;
  r->status       = NNL_STATUS_DONE;
  *res            = r;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultSetSpectra(NNLResult *res, PetscInt nspec, PetscInt nsv)
{
  PetscFunctionBegin;
  PetscCall(PetscFree4(res->spec_layers, res->spec_scale2, res->eig, res->sv));
  res->nspec = nspec;
  res->nsv   = nsv;
  PetscCall(PetscCalloc4(nspec + 1, &res->spec_layers, nspec + 1, &res->spec_scale2,
                         nspec * res->m + 1, &res->eig, nspec * nsv + 1, &res->sv));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultCreateSDE(PetscInt nrec, PetscInt m, PetscInt npath, PetscInt ncell,
                                  NNLResult **res)
{
  const PetscInt np = m * (m + 1) / 2;

  PetscFunctionBegin;
  PetscCall(NNLResultCreate(nrec, m, res));
  (*res)->kind  = NNL_TASK_SDE;
  (*res)->npath = npath;
  (*res)->ncell = ncell;
  PetscCall(PetscCalloc2(npath * (np + m) + 1, &(*res)->paths, nrec * ncell + 1, &(*res)->fp));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultDestroy(NNLResult **res)
{
  PetscFunctionBegin;
  if (!*res) PetscFunctionReturn(0);
  if ((*res)->spec_layers)
    PetscCall(PetscFree4((*res)->spec_layers, (*res)->spec_scale2, (*res)->eig, (*res)->sv));
  if ((*res)->paths) PetscCall(PetscFree2((*res)->paths, (*res)->fp));
  PetscCall(PetscFree(*res)); /* with its arrays */
  PetscFunctionReturn(0);
}

/* Spectra (networks only) follow ks: the spectra layers' indices, their scales, then their m
 * eigenvalues and nsv singular values each. */
static PetscInt PackedSize(PetscInt kind, PetscInt nrec, PetscInt m, PetscInt npath, PetscInt ncell,
                           PetscInt nspec, PetscInt nsv, PetscInt nmsg)
{
  NNLResult r;
  Part      part[5];
  PetscInt  n = Parts(&r, kind, m, ncell, part), len = NNL_RES_HEAD + nmsg + nrec;

  if (kind == NNL_TASK_NETWORK) len += m + nspec * (2 + m + nsv);
  if (kind == NNL_TASK_SDE) len += npath * (m * (m + 1) / 2 + m);
  for (PetscInt i = 0; i < n; i++) len += nrec * part[i].len;
  return len;
}

PetscInt NNLResultPackedLength(const NNLResult *res)
{
  return PackedSize(res->kind, res->nrec, res->m, res->npath, res->ncell, res->nspec, res->nsv,
                    MessageDoubles(res));
}

PetscErrorCode NNLResultPack(const NNLResult *res, double *buf)
{
  PetscInt m = res->m, nrec = res->nrec, nmsg = MessageDoubles(res), k = NNL_RES_HEAD + nmsg, n;
  Part     part[5];

  PetscFunctionBegin;
  n       = Parts((NNLResult *)res, res->kind, m, res->ncell, part);
  buf[0]  = (double)res->point;
  buf[1]  = (double)res->status;
  buf[2]  = (double)nrec;
  buf[3]  = (double)m;
  buf[4]  = (double)res->dead_layer;
  buf[5]  = res->seconds;
  buf[6]  = (double)res->kind;
  buf[7]  = (double)res->npath;
  buf[8]  = (double)res->ncell;
  buf[9]  = (double)res->nspec;
  buf[10] = (double)res->nsv;
  buf[11] = (double)nmsg;
  if (nmsg) { /* its bytes, the NUL and zeros to the last double's end */
    size_t n = MessageLength(res);
    memcpy(buf + NNL_RES_HEAD, res->message, n);
    memset((char *)(buf + NNL_RES_HEAD) + n, 0, (size_t)nmsg * sizeof(double) - n);
  }
  for (PetscInt r = 0; r < nrec; r++) buf[k++] = (double)res->layers[r];
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscArraycpy(buf + k, *part[i].a, nrec * part[i].len));
    k += nrec * part[i].len;
  }
  if (res->kind == NNL_TASK_NETWORK) {
    PetscCall(PetscArraycpy(buf + k, res->ks, m));
    k += m;
    for (PetscInt r = 0; r < res->nspec; r++) buf[k++] = (double)res->spec_layers[r];
    for (PetscInt r = 0; r < res->nspec; r++) buf[k++] = (double)res->spec_scale2[r];
    PetscCall(PetscArraycpy(buf + k, res->eig, res->nspec * m));
    PetscCall(PetscArraycpy(buf + k + res->nspec * m, res->sv, res->nspec * res->nsv));
  }
  if (res->kind == NNL_TASK_SDE)
    PetscCall(PetscArraycpy(buf + k, res->paths, res->npath * (m * (m + 1) / 2 + m)));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLResultUnpack(const double *buf, PetscInt len, NNLResult **res)
{
  NNLResult *r;
  PetscInt   nrec, m, kind, npath, ncell, nspec, nsv, nmsg, k, n;
  Part       part[5];

  PetscFunctionBegin;
  PetscCheck(len >= NNL_RES_HEAD, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "result message too short (%" PetscInt_FMT ")", len);
  nrec  = (PetscInt)buf[2];
  m     = (PetscInt)buf[3];
  kind  = (PetscInt)buf[6];
  npath = (PetscInt)buf[7];
  ncell = (PetscInt)buf[8];
  nspec = (PetscInt)buf[9];
  nsv   = (PetscInt)buf[10];
  nmsg  = (PetscInt)buf[11];
  PetscCheck(nmsg >= 0 && nmsg <= NNL_RES_MSG, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "result message with a text of %" PetscInt_FMT " doubles", nmsg);
  PetscCheck(len == PackedSize(kind, nrec, m, npath, ncell, nspec, nsv, nmsg), PETSC_COMM_SELF,
             PETSC_ERR_PLIB, "result message of %" PetscInt_FMT " doubles, expected %" PetscInt_FMT,
             len, PackedSize(kind, nrec, m, npath, ncell, nspec, nsv, nmsg));
  k = NNL_RES_HEAD + nmsg;
  if (kind == NNL_TASK_SDE)
    PetscCall(NNLResultCreateSDE(nrec, m, npath, ncell, &r));
  else
    PetscCall(NNLResultCreate(nrec, m, &r));
  r->point      = (PetscInt)buf[0];
  r->status     = (NNLStatus)(int)buf[1];
  r->dead_layer = (PetscInt)buf[4];
  r->seconds    = buf[5];
  r->kind       = kind;
  memcpy(r->message, buf + NNL_RES_HEAD, (size_t)nmsg * sizeof(double)); /* the rest is zeroed */
  r->message[sizeof(r->message) - 1] = 0;
  for (PetscInt i = 0; i < nrec; i++) r->layers[i] = (PetscInt)buf[k++];
  n = Parts(r, kind, m, ncell, part);
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscArraycpy(*part[i].a, buf + k, nrec * part[i].len));
    k += nrec * part[i].len;
  }
  if (kind == NNL_TASK_NETWORK) {
    PetscCall(PetscArraycpy(r->ks, buf + k, m));
    k += m;
    if (nspec > 0) PetscCall(NNLResultSetSpectra(r, nspec, nsv));
    for (PetscInt i = 0; i < nspec; i++) r->spec_layers[i] = (PetscInt)buf[k++];
    for (PetscInt i = 0; i < nspec; i++) r->spec_scale2[i] = (PetscInt)buf[k++];
    PetscCall(PetscArraycpy(r->eig, buf + k, nspec * m));
    PetscCall(PetscArraycpy(r->sv, buf + k + nspec * m, nspec * nsv));
  }
  if (kind == NNL_TASK_SDE)
    PetscCall(PetscArraycpy(r->paths, buf + k, npath * (m * (m + 1) / 2 + m)));
  *res = r;
  PetscFunctionReturn(0);
}
