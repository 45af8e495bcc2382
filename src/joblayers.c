/* The layers a job records and takes spectra of: -record_layers and -spectra_layers read, and
 * each network's list of layers. */
#include <math.h>
#include <strings.h>
#include "jobimpl.h"
#include "parse.h"

/* K log-spaced layers of 1..L (and layer 0 where the family has one): K at least the deepest
   network's depth is every layer, the same job as "all" (as the default 16 is all in a job no
   deeper than 16). */
static NNLRecordMode LogOrAll(const NNLJob *job, PetscInt k)
{
  return k >= NNLJobMaxDepth(job) ? NNL_RECORD_ALL : NNL_RECORD_LOG;
}

/* A choice of layers as -record_layers and -spectra_layers take it: all, last, K (log-spaced), or
 * none where allowed. */
PetscErrorCode NNLJobParseLayers(const NNLJob *job, const char opt[], const char buf[],
                                 PetscBool none, NNLRecordMode *mode, PetscInt *k)
{
  PetscFunctionBegin;
  if (none && !strcasecmp(buf, "none"))
    *mode = NNL_RECORD_NONE;
  else if (!strcasecmp(buf, "all"))
    *mode = NNL_RECORD_ALL;
  else if (!strcasecmp(buf, "last"))
    *mode = NNL_RECORD_LAST;
  else {
    PetscCheck(buf[0] >= '0' && buf[0] <= '9', PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: '%s' is not %sall, last or a positive integer K", opt, buf,
               none ? "none, " : "");
    PetscCall(NNLParseInt(opt, buf, 1, k));
    *mode = LogOrAll(job, *k);
    /* one layer, the last (LayerList): the same job as 'last', which it was not ('record_layers=1
       there, record_layers=last here' refused the same layers) */
    if (*mode == NNL_RECORD_LOG && *k == 1) *mode = NNL_RECORD_LAST;
  }
  PetscFunctionReturn(0);
}

/* The layers of a record or spectra mode, in order, into l (NULL: only counted); returns their
   count. K log-spaced layers lie in [max(first,1), depth], both ends included, duplicates merged,
   with layer 0 where the family has one. */
static PetscInt LayerList(NNLRecordMode mode, PetscInt k, NNLFamily family, PetscInt depth,
                          PetscInt *l)
{
  const PetscInt first = NNLFamilyFirstLayer(family), lo = first > 1 ? first : 1;
  PetscInt       cnt = 0, prev = -1;
  /* the last counts of K log-spaced layers: the grid asks for each cell's several times, and K of
     5e6 took 18 s of plan's set-up for 40 cells (a pure function of its arguments: a process-wide
     cache, ranks are processes) */
  static struct {
    PetscInt k, first, depth, cnt;
  } memo[8];
  static int next;

  if (mode == NNL_RECORD_NONE) return 0;
  if (mode == NNL_RECORD_ALL) {
    for (PetscInt i = first; i <= depth; i++, cnt++)
      if (l) l[cnt] = i;
    return cnt;
  }
  if (mode == NNL_RECORD_LAST || k == 1) {
    if (l) l[0] = depth;
    return 1;
  }
  if (!l)
    for (int i = 0; i < 8; i++)
      if (memo[i].k == k && memo[i].first == first && memo[i].depth == depth && memo[i].cnt)
        return memo[i].cnt;
  if (first == 0) {
    if (l) l[cnt] = 0;
    cnt++;
    prev = 0;
  }
  for (PetscInt i = 0; i < k; i++) {
    PetscInt v = (PetscInt)llround(
      exp(log((double)lo) + (log((double)depth) - log((double)lo)) * i / (k - 1)));
    if (v < lo) v = lo;
    if (v > depth) v = depth;
    if (v > prev) {
      if (l) l[cnt] = v;
      cnt++;
      prev = v;
    }
  }
  if (!l) {
    memo[next].k = k, memo[next].first = first, memo[next].depth = depth, memo[next].cnt = cnt;
    next = (next + 1) % 8;
  }
  return cnt;
}

static PetscErrorCode SelectLayers(NNLRecordMode mode, PetscInt k, NNLFamily family, PetscInt depth,
                                   PetscInt *n, PetscInt **layers)
{
  PetscFunctionBegin;
  *n = LayerList(mode, k, family, depth, NULL);
  PetscCall(PetscMalloc1(*n > 0 ? *n : 1, layers));
  (void)LayerList(mode, k, family, depth, *layers);
  PetscFunctionReturn(0);
}

PetscInt NNLJobRecordCount(const NNLJob *job, NNLFamily family, PetscInt depth)
{
  return LayerList(job->record_mode, job->record_k, family, depth, NULL);
}

PetscInt NNLJobSpectraCount(const NNLJob *job, NNLFamily family, PetscInt depth)
{
  return LayerList(job->spectra_mode, job->spectra_k, family, depth, NULL);
}

PetscErrorCode NNLJobRecordLayers(const NNLJob *job, NNLFamily family, PetscInt depth, PetscInt *n,
                                  PetscInt **layers)
{
  PetscFunctionBegin;
  PetscCall(SelectLayers(job->record_mode, job->record_k, family, depth, n, layers));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLJobSpectraLayers(const NNLJob *job, NNLFamily family, PetscInt depth, PetscInt *n,
                                   PetscInt **layers)
{
  PetscFunctionBegin;
  PetscCall(SelectLayers(job->spectra_mode, job->spectra_k, family, depth, n, layers));
  PetscFunctionReturn(0);
}
