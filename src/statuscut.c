/* A shard's store counted as this build cuts its job, for status: shards are cut by the cost
 * model (NNLGridShardEach), so a shard finished by a build with another model read finished here
 * while this build gives it points it lacks (and gives points it holds to other shards). */
#include <stdlib.h>
#include <string.h>
#include "storeimpl.h"
#include "nnlimits/grid.h"
#include "nnlimits/job.h"
#include "error.h"
#include "status.h"

/* This build's cut of one stored job into k shards, kept for the next store of the same job (the
   shards of one array: the job is read and cut once). */
struct _n_NNLStatusCut {
  char     *text; /* the stored job text the cut is of; NULL: none yet */
  long long k;    /* its shard count */
  NNLJob   *job;  /* the job read back from text; NULL: this build cannot (nothing is said then) */
  /* the job's options, pushed while the grid is priced: a limit's cost reads its -limit_ts_type
     from the options database (NNLLimitODEReach), and status's own are not the run's (a job of
     -limit_ts_type bdf read its shards as cut by another model) */
  PetscOptions opts;
  NNLGrid     *grid;
  PetscInt     nb;  /* shards that hold points: min(k, points) */
  PetscInt    *off; /* nb + 1 offsets into pt: shard s holds pt[off[s]] .. pt[off[s + 1] - 1]; NULL:
                       not cut yet (CutPoints: only for a store its stamp does not vouch for) */
  PetscInt *pt;     /* point indices (ords), shard by shard */
};

/* One line "keys=values" of a job text as options: most are one option; a few lines hold several
   ("shape_c_plus,shape_c_minus,shape_a=1,2,3"), a value each. *ok: PETSC_FALSE if the line is not
   options (the job read back then differs from the text, and nothing is said). */
static PetscErrorCode CutOption(PetscOptions o, char keys[], char values[], PetscBool *ok)
{
  char  name[256], *ks = NULL, *vs = NULL, *key, *val;
  char *comma = strchr(keys, ',');

  PetscFunctionBegin;
  if (!comma) {
    snprintf(name, sizeof(name), "-%s", keys);
    PetscCall(PetscOptionsSetValue(o, name, values));
    PetscFunctionReturn(0);
  }
  for (key = strtok_r(keys, ",", &ks), val = strtok_r(values, ",", &vs); key && val;
       key = strtok_r(NULL, ",", &ks), val = strtok_r(NULL, ",", &vs)) {
    snprintf(name, sizeof(name), "-%s", key);
    PetscCall(PetscOptionsSetValue(o, name, val));
  }
  if (key || val) *ok = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* The job of a stored text, read by this build as a run reads its options: *job NULL if it cannot
   be (a text of another build's options), or if it is not the same job (its text, as this build
   writes it, differs). Errors are swallowed: status then says what it said before. */
static PetscErrorCode CutJob(const char text[], long long i, long long k, NNLJob **job,
                             PetscOptions *opts)
{
  PetscOptions   o    = NULL;
  char          *copy = NULL, *line, *save = NULL, *norm = NULL, shard[64];
  PetscBool      ok = PETSC_TRUE;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *job = NULL;
  PetscCall(PetscOptionsCreate(&o));
  PetscCall(PetscStrallocpy(text, &copy));
  NNLErrorSetQuiet(PETSC_TRUE);
  ierr = 0;
  for (line = strtok_r(copy, "\n", &save); line && !ierr; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq) ok = PETSC_FALSE;
    if (!eq || !strncmp(line, "sigma_w2_auto_", 14)) continue; /* of the activations: no option */
    *eq  = 0;
    ierr = CutOption(o, line, eq + 1, &ok);
  }
  snprintf(shard, sizeof(shard), "%lld/%lld", i, k);
  if (!ierr) ierr = PetscOptionsSetValue(o, "-shard", shard);
  if (!ierr && ok) {
    ierr = PetscOptionsPush(o);
    if (!ierr) {
      ierr = NNLJobCreate(PETSC_COMM_SELF, job);
      PetscOptionsPop();
    }
  }
  if (!ierr && *job) ierr = NNLJobNormalizeStored(*job, text, &norm);
  NNLErrorSetQuiet(PETSC_FALSE);
  if (ierr || !ok || !norm || strcmp(norm, (*job)->canonical)) PetscCall(NNLJobDestroy(job));
  PetscCall(PetscFree(norm));
  PetscCall(PetscFree(copy));
  if (*job)
    *opts = o;
  else
    PetscCall(PetscOptionsDestroy(&o));
  PetscFunctionReturn(0);
}

static PetscErrorCode CutAssign(void *ctx, PetscInt point, PetscInt shard)
{
  PetscFunctionBegin;
  ((PetscInt *)ctx)[point] = shard;
  PetscFunctionReturn(0);
}

static PetscErrorCode CutFree(NNLStatusCut cut)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(cut->text));
  PetscCall(PetscFree(cut->off));
  PetscCall(PetscFree(cut->pt));
  PetscCall(NNLGridDestroy(&cut->grid));
  PetscCall(NNLJobDestroy(&cut->job));
  PetscCall(PetscOptionsDestroy(&cut->opts));
  PetscFunctionReturn(0);
}

/* The stored job text read back (shard i's options read it), and its grid's cells: what the
   stamps of its shards are checked against; the points are cut later, if at all (CutPoints). */
static PetscErrorCode CutMake(NNLStatusCut cut, const char text[], long long i, long long k)
{
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(CutFree(cut));
  PetscCall(PetscStrallocpy(text, &cut->text));
  cut->k = k;
  PetscCall(CutJob(text, i, k, &cut->job, &cut->opts));
  if (!cut->job) PetscFunctionReturn(0);
  NNLErrorSetQuiet(PETSC_TRUE);
  ierr = PetscOptionsPush(cut->opts); /* the cells are priced here */
  if (!ierr) {
    ierr = NNLGridCreate(cut->job, PETSC_FALSE, &cut->grid);
    PetscCall(PetscOptionsPop());
  }
  NNLErrorSetQuiet(PETSC_FALSE);
  if (ierr) PetscCall(NNLJobDestroy(&cut->job));
  PetscFunctionReturn(0);
}

/* Whether shard i's store is of this build's cut by its stamp (meta 'shard_cut', store.c), which
   saves cutting the points: a store without one (an earlier build's) or of another cut is not. */
static PetscErrorCode CutStamped(NNLStatusCut cut, NNLStore s, long long i, PetscBool *same)
{
  char    *stamp = NULL, want[32];
  uint64_t sig;

  PetscFunctionBegin;
  *same = PETSC_FALSE;
  PetscCall(NNLStoreMetaGet(s->db, "shard_cut", &stamp));
  if (stamp) {
    PetscCall(PetscOptionsPush(cut->opts));
    PetscCall(NNLGridShardSignature(cut->grid, (PetscInt)i, (PetscInt)cut->k, &sig));
    PetscCall(PetscOptionsPop());
    snprintf(want, sizeof(want), "%016llx", (unsigned long long)sig);
    *same = strcmp(stamp, want) ? PETSC_FALSE : PETSC_TRUE;
  }
  PetscCall(PetscFree(stamp));
  PetscFunctionReturn(0);
}

/* Every point's shard as this build cuts the job, grouped by shard. */
static PetscErrorCode CutPoints(NNLStatusCut cut)
{
  PetscInt *assign = NULL;

  PetscFunctionBegin;
  cut->nb = (PetscInt)PetscMin(cut->k, (long long)PetscMax(cut->grid->npoints, 1));
  PetscCall(PetscMalloc1(cut->grid->npoints, &assign));
  PetscCall(PetscCalloc1(cut->nb + 1, &cut->off));
  PetscCall(PetscMalloc1(cut->grid->npoints, &cut->pt));
  PetscCall(PetscOptionsPush(cut->opts));
  PetscCall(NNLGridShardEach(cut->grid, (PetscInt)cut->k, CutAssign, assign));
  PetscCall(PetscOptionsPop());
  /* the points grouped by shard, in ord order within each (a counting sort) */
  for (PetscInt p = 0; p < cut->grid->npoints; p++) cut->off[assign[p] + 1]++;
  for (PetscInt s = 0; s < cut->nb; s++) cut->off[s + 1] += cut->off[s];
  for (PetscInt p = 0; p < cut->grid->npoints; p++) cut->pt[cut->off[assign[p]]++] = p;
  for (PetscInt s = cut->nb; s > 0; s--) cut->off[s] = cut->off[s - 1];
  cut->off[0] = 0;
  PetscCall(PetscFree(assign));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStatusCutCount(NNLStatusCut *cutp, NNLStore s, long long i, long long k,
                                 NNLStatusCutCounts *cc)
{
  NNLStatusCut  cut;
  char         *text = NULL;
  uint64_t     *ids  = NULL;
  PetscInt      n    = 0;
  sqlite3_stmt *st   = NULL;
  int           rc;

  PetscFunctionBegin;
  memset(cc, 0, sizeof(*cc));
  if (!*cutp) PetscCall(PetscNew(cutp));
  cut = *cutp;
  PetscCall(NNLStoreMetaGet(s->db, "job", &text));
  if (text && (!cut->text || cut->k != k || strcmp(cut->text, text)))
    PetscCall(CutMake(cut, text, i, k));
  PetscCall(PetscFree(text));
  if (!cut->text || !cut->job || i < 0 || i >= k) PetscFunctionReturn(0);
  {
    PetscBool same;
    PetscCall(CutStamped(cut, s, i, &same));
    if (same)
      PetscCall(PetscInfo(NULL, "status: shard %lld/%lld: its stamp is this build's cut\n", i, k));
    if (same) PetscFunctionReturn(0); /* the store's own counts are this build's share's */
  }
  if (!cut->off) PetscCall(CutPoints(cut));
  /* this build's share of shard i, by id (as SQLite's ids, unsigned) */
  if (i < cut->nb) n = cut->off[i + 1] - cut->off[i];
  PetscCall(PetscMalloc1(n + 1, &ids));
  for (PetscInt j = 0; j < n; j++) {
    NNLPoint pt;
    NNLGridPoint(cut->grid, cut->pt[cut->off[i] + j], &pt);
    ids[j] = pt.id;
  }
  qsort(ids, (size_t)n, sizeof(uint64_t), NNLGridCmpId);
  rc = sqlite3_prepare_v2(s->db, "SELECT id, status FROM points", -1, &st, NULL);
  while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *status = (const char *)sqlite3_column_text(st, 1);
    PetscBool   done   = status && !strcmp(status, "done"),
              failed   = status && !strcmp(status, "failed");
    if (!done && !failed) continue;
    if (!NNLStoreIdsHave(ids, n, (uint64_t)sqlite3_column_int64(st, 0)))
      cc->foreign++;
    else if (done)
      cc->done++;
    else
      cc->failed++;
  }
  sqlite3_finalize(st);
  PetscCall(PetscFree(ids));
  PetscCall(NNLStoreCheck(s->db, rc, "status"));
  cc->total = n;
  cc->known = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStatusCutDestroy(NNLStatusCut *cutp)
{
  PetscFunctionBegin;
  if (!*cutp) PetscFunctionReturn(0);
  PetscCall(CutFree(*cutp));
  PetscCall(PetscFree(*cutp));
  PetscFunctionReturn(0);
}
