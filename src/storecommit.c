/* The run store's writes: each finished task's rows, committed in groups, and the end of a run. */
#include <math.h>
#include <string.h>
#include "storeimpl.h"
#include "log.h"
#include "nnlimits/fokker_planck.h"
#include "nnlimits/spectra.h"

static PetscErrorCode Step(NNLStore s, sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);

  PetscFunctionBegin;
  sqlite3_reset(st);
  PetscCall(NNLStoreCheck(s->db, rc, "commit"));
  PetscFunctionReturn(0);
}

/* NaN (not applicable, failed) is stored as NULL and exported as an empty field. */
static void BindReal(sqlite3_stmt *st, int i, double v)
{
  if (v != v)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_double(st, i, v);
}

static PetscErrorCode InsertLimitRows(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  const PetscInt m = res->m, np = m * (m + 1) / 2;

  PetscFunctionBegin;
  for (PetscInt r = 0; r < res->nrec; r++)
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) {
        sqlite3_bind_int64(s->ins_limit, 1, (sqlite3_int64)pt->id);
        sqlite3_bind_int64(s->ins_limit, 2, res->layers[r]);
        sqlite3_bind_int64(s->ins_limit, 3, a);
        sqlite3_bind_int64(s->ins_limit, 4, b);
        BindReal(s->ins_limit, 5, res->gram[r * np + k]);
        BindReal(s->ins_limit, 6, res->ode[r * np + k]);
        PetscCall(Step(s, s->ins_limit));
      }
  PetscFunctionReturn(0);
}

/* One spectrum: its scalars (thresholds from the job) and its values, v·2^e (true values past
 * double's range are stored as inf, their ranks and ratios as the scaled ones give them). */
static PetscErrorCode InsertSpectrum(NNLStore s, const NNLPoint *pt, PetscInt layer,
                                     NNLSpectraMatrix mat, PetscInt k, const double *v, int e)
{
  NNLSpectraStats st;
  const PetscInt  rows = mat == NNL_SPECTRA_GRAM ? k : pt->width, cols = s->job->inputs;

  PetscFunctionBegin;
  NNLSpectraStatsCompute(k, v, e, mat == NNL_SPECTRA_GRAM ? PETSC_TRUE : PETSC_FALSE, rows, cols,
                         s->job->spectra_rtol, &st);
  sqlite3_bind_int64(s->ins_spectra, 1, (sqlite3_int64)pt->id);
  sqlite3_bind_int64(s->ins_spectra, 2, layer);
  sqlite3_bind_text(s->ins_spectra, 3, NNLSpectraMatrices[mat], -1, SQLITE_STATIC);
  sqlite3_bind_int64(s->ins_spectra, 4, k);
  sqlite3_bind_int64(s->ins_spectra, 5, st.rank);
  sqlite3_bind_int64(s->ins_spectra, 6, st.rank_rtol);
  BindReal(s->ins_spectra, 7, st.pr);
  BindReal(s->ins_spectra, 8, st.cond);
  BindReal(s->ins_spectra, 9, st.vmax);
  BindReal(s->ins_spectra, 10, st.vmin);
  PetscCall(Step(s, s->ins_spectra));
  for (PetscInt i = 0; i < k; i++) {
    sqlite3_bind_int64(s->ins_spectrum, 1, (sqlite3_int64)pt->id);
    sqlite3_bind_int64(s->ins_spectrum, 2, layer);
    sqlite3_bind_text(s->ins_spectrum, 3, NNLSpectraMatrices[mat], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->ins_spectrum, 4, i);
    BindReal(s->ins_spectrum, 5, ldexp(v[i], e));
    PetscCall(Step(s, s->ins_spectrum));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode InsertSDERows(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  const PetscInt m = res->m, np = m * (m + 1) / 2;

  PetscFunctionBegin;
  for (PetscInt p = 0; p < res->npath; p++)
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) {
        sqlite3_bind_int64(s->ins_path, 1, (sqlite3_int64)pt->id);
        sqlite3_bind_int64(s->ins_path, 2, p);
        sqlite3_bind_int64(s->ins_path, 3, a);
        sqlite3_bind_int64(s->ins_path, 4, b);
        BindReal(s->ins_path, 5, res->paths[p * (np + m) + k]);
        BindReal(s->ins_path, 6, a == b ? res->paths[p * (np + m) + np + a] : NAN);
        PetscCall(Step(s, s->ins_path));
      }
  for (PetscInt r = 0; r < res->nrec; r++)
    for (PetscInt c = 0; c < res->ncell; c++) {
      sqlite3_bind_int64(s->ins_fp, 1, (sqlite3_int64)pt->id);
      sqlite3_bind_int64(s->ins_fp, 2, res->layers[r]);
      sqlite3_bind_int64(s->ins_fp, 3, c);
      sqlite3_bind_double(s->ins_fp, 4, NNLFokkerPlanckCentre(c, res->ncell));
      BindReal(s->ins_fp, 5, res->fp[r * res->ncell + c]);
      PetscCall(Step(s, s->ins_fp));
    }
  PetscFunctionReturn(0);
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
/* Room for n doubles in s->blob (big-endian hosts: the converted copy of an array). */
static PetscErrorCode BlobReserve(NNLStore s, size_t n)
{
  PetscFunctionBegin;
  if (n <= s->nblob) PetscFunctionReturn(0);
  PetscCall(PetscFree(s->blob));
  s->nblob = PetscMax(n, 2 * s->nblob);
  PetscCall(PetscMalloc1(s->nblob, &s->blob));
  PetscFunctionReturn(0);
}
#endif

/* Bind n doubles to parameter i of st as a BLOB of little-endian doubles: on a little-endian host
   the array itself (it outlives the statement's step), else a converted copy (SQLite copies it). */
static PetscErrorCode BindDoubles(NNLStore s, sqlite3_stmt *st, int i, PetscInt n, const double v[])
{
  int rc;

  PetscFunctionBegin;
  /* NNLRunSetUp refuses jobs with larger arrays (NNLPointArrays); a bind SQLite refuses would store
   * NULL in its place */
  PetscCheck(8.0 * n <= NNL_STORE_MAX_VALUE, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "store: an array of %.4g MB, more than one value holds", 8.0 * n / 1e6);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  rc = sqlite3_bind_blob(st, i, v, (int)(8 * n), SQLITE_STATIC);
#else
  PetscCall(BlobReserve(s, (size_t)n));
  NNLStoreDoublesLE(n, v, (unsigned char *)s->blob);
  rc = sqlite3_bind_blob(st, i, s->blob, (int)(8 * n), SQLITE_TRANSIENT);
#endif
  PetscCall(NNLStoreCheck(s->db, rc, "store an array"));
  PetscFunctionReturn(0);
}

/* Rows 0 .. n − 1 of table seq (the view layers joins on it), if the store may lack some: normally
   all are there from the store's opening, so this runs only for a point deeper than the grid's.
   Rows added inside a task are not counted in s->nseq: an error in the task rolls its group back.
 */
PetscErrorCode NNLStoreSeqReserve(NNLStore s, PetscInt n)
{
  PetscFunctionBegin;
  if (n <= s->nseq) PetscFunctionReturn(0);
  sqlite3_bind_int64(s->ins_seq, 1, s->nseq);
  sqlite3_bind_int64(s->ins_seq, 2, n);
  PetscCall(Step(s, s->ins_seq));
  PetscFunctionReturn(0);
}

/* A network's row of netlayers: every recorded layer's arrays, each table column one BLOB over the
 * layers. */
static PetscErrorCode InsertNetworkRow(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  const PetscInt m = res->m, np = m * (m + 1) / 2, nrec = res->nrec;
  double         few[64],
    *layer = few; /* the layer numbers as doubles; allocated only for a network of many */
  PetscErrorCode ierr;

  PetscFunctionBegin;
  if (nrec == 0) PetscFunctionReturn(0); /* nothing recorded: no row, as no layer row before */
  for (PetscInt r = 1; r < nrec;
       r++) /* the view's (point, layer) rows must be unique, as the key of schema 4 made them */
    PetscCheck(res->layers[r] > res->layers[r - 1], PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "store: point %" PetscInt_FMT "'s recorded layers are not increasing (%" PetscInt_FMT
               " after %" PetscInt_FMT ")",
               pt->ord, res->layers[r], res->layers[r - 1]);
  PetscCall(NNLStoreSeqReserve(s, nrec));
  if (nrec > 64) PetscCall(PetscMalloc1(nrec, &layer));
  for (PetscInt r = 0; r < nrec; r++) layer[r] = (double)res->layers[r];
  sqlite3_bind_int64(s->ins_net, 1, (sqlite3_int64)pt->id);
  sqlite3_bind_int64(s->ins_net, 2, nrec);
  sqlite3_bind_int64(s->ins_net, 3, np);
  sqlite3_bind_int64(s->ins_net, 4, m);
  ierr = BindDoubles(s, s->ins_net, 5, nrec, layer);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 6, nrec * np, res->gram);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 7, nrec * m, res->lognorm);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 8, nrec * m, res->lognorm_post);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 9, nrec * m, res->kurtosis);
  /* KS only at the last recorded layer of a finished point (the view gives NULL elsewhere) */
  if (!ierr && res->status == NNL_STATUS_DONE)
    ierr = BindDoubles(s, s->ins_net, 10, m, res->ks);
  else if (!ierr)
    sqlite3_bind_null(s->ins_net, 10);
  if (!ierr) ierr = Step(s, s->ins_net);
  sqlite3_clear_bindings(
    s->ins_net); /* no pointer into res or layer outlives them, whatever happened */
  if (layer != few) PetscCall(PetscFree(layer));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* All rows of one task; *dup (and nothing written) if its id is stored already. */
PetscErrorCode NNLStoreInsertRows(NNLStore s, const NNLPoint *pt, const NNLResult *res,
                                  PetscBool *dup)
{
  const PetscInt  m   = res->m;
  const PetscBool net = pt->kind == NNL_TASK_NETWORK || pt->kind == NNL_TASK_NOOP
                          ? PETSC_TRUE
                          : PETSC_FALSE; /* noop: an empty network */

  PetscFunctionBegin;
  *dup = PETSC_FALSE;
  sqlite3_bind_int64(s->ins_point, 1, (sqlite3_int64)pt->id);
  sqlite3_bind_int64(s->ins_point, 2, pt->ord);
  sqlite3_bind_text(s->ins_point, 3, NNLFamilies[pt->family], -1, SQLITE_STATIC);
  sqlite3_bind_text(s->ins_point, 4, NNLJobEntryName(s->job, pt->family, pt->act), -1,
                    SQLITE_STATIC);
  if (net)
    sqlite3_bind_int64(s->ins_point, 5, pt->width);
  else
    sqlite3_bind_null(s->ins_point, 5);
  sqlite3_bind_int64(s->ins_point, 6, pt->depth);
  if (net)
    sqlite3_bind_int64(s->ins_point, 7, pt->seed);
  else
    sqlite3_bind_null(s->ins_point, 7);
  sqlite3_bind_text(s->ins_point, 8, res->status == NNL_STATUS_DONE ? "done" : "failed", -1,
                    SQLITE_STATIC);
  if (net)
    sqlite3_bind_text(s->ins_point, 9, NNLSamplerTypes[NNLPointSampler(s->job, pt)], -1,
                      SQLITE_STATIC);
  else
    sqlite3_bind_null(s->ins_point, 9);
  if (res->dead_layer >= 0)
    sqlite3_bind_int64(s->ins_point, 10, res->dead_layer);
  else
    sqlite3_bind_null(s->ins_point, 10);
  sqlite3_bind_text(s->ins_point, 11, res->message, -1, SQLITE_STATIC);
  sqlite3_bind_double(s->ins_point, 12, res->seconds);
  sqlite3_bind_double(s->ins_point, 13, NNLStoreEpoch());
  sqlite3_bind_int64(s->ins_point, 14, s->run);
  sqlite3_bind_text(s->ins_point, 15,
                    net                        ? "network"
                    : pt->kind == NNL_TASK_SDE ? "sde"
                                               : "limit",
                    -1, SQLITE_STATIC);
  if (pt->kind == NNL_TASK_SDE) sqlite3_bind_int64(s->ins_point, 5, pt->width);
  {
    int rc = sqlite3_step(s->ins_point), ext = sqlite3_extended_errcode(s->db);
    sqlite3_reset(s->ins_point);
    if (rc == SQLITE_CONSTRAINT &&
        ext == SQLITE_CONSTRAINT_UNIQUE) { /* stored already: the caller compares */
      *dup = PETSC_TRUE;
      PetscFunctionReturn(0);
    }
    PetscCall(NNLStoreCheck(s->db, rc, "commit"));
  }
  if (pt->kind == NNL_TASK_SDE) {
    PetscCall(InsertSDERows(s, pt, res));
    PetscFunctionReturn(0);
  }
  if (!net) {
    PetscCall(InsertLimitRows(s, pt, res));
    PetscFunctionReturn(0);
  }
  PetscCheck(m == s->job->inputs, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "store: a network result of %" PetscInt_FMT " inputs", m);
  PetscCall(InsertNetworkRow(s, pt, res));
  for (PetscInt r = 0; r < res->nspec; r++) {
    const int e = (int)res->spec_scale2[r];
    PetscCall(
      InsertSpectrum(s, pt, res->spec_layers[r], NNL_SPECTRA_GRAM, m, res->eig + r * m, 2 * e));
    PetscCall(InsertSpectrum(s, pt, res->spec_layers[r], NNL_SPECTRA_FEATURES, res->nsv,
                             res->sv + r * res->nsv, e));
  }
  PetscFunctionReturn(0);
}

/* Commits are grouped: one SQLite transaction takes the tasks that finish within
   NNL_STORE_GROUP_SECONDS. A transaction costs ~100 µs (file locks, WAL writes) and a small task's
   rows a few µs, so 10^5 tiny tasks would otherwise spend most of their time committing. A killed
   writer loses at most that window of finished tasks, which a rerun recomputes with the same
   numbers. A task is not a savepoint of its own: SQLite then copies every page the task first
   touches (4 KB each, 3-5 a task) to keep its old content, 3.5-4 µs of a no-op task's 7-9 µs. A
   task whose rows fail half-written (a full disk) takes its group with it instead, as a kill would;
   the run stops there. Not shorter: each group writes every page it dirtied to the WAL, and the
   random ids spread a group's index entries over most of the id index's leaves. At 0.1 s, 10^5
   no-op tasks cost 3.0 µs a commit instead of 2.5 (the checkpointer aside); the default sweep was
   no faster. */
#define NNL_STORE_GROUP_SECONDS 0.25
/* End the open group of commits, if any: every task in it becomes durable at once. */
/* The open group is still SQLite's transaction: a failed write may end it (SQLite rolls back on a
   full disk or an I/O error), and the statements after it would each commit on their own, a task's
   rows apart. */
static PetscErrorCode GroupIntact(NNLStore s)
{
  PetscFunctionBegin;
  PetscCheck(!s->group || !sqlite3_get_autocommit(s->db), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
             "store: a write failed and SQLite rolled back the open group of commits, whose points "
             "are pending again (disk full? "
             "free space and rerun the same command)");
  PetscFunctionReturn(0);
}

static PetscErrorCode StoreFlush(NNLStore s)
{
  PetscFunctionBegin;
  PetscCall(GroupIntact(s));
  if (!s->group) PetscFunctionReturn(0);
  s->group = PETSC_FALSE;
  PetscCall(Step(s, s->tx_commit));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreTick(NNLStore s)
{
  PetscFunctionBegin;
  if (s->group && MPI_Wtime() - s->group_t0 >= NNL_STORE_GROUP_SECONDS) PetscCall(StoreFlush(s));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreCommit(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  PetscErrorCode ierr;
  PetscBool      dup = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(NNLLogRegister());
  PetscCall(PetscLogEventBegin(NNL_EVENT_COMMIT, 0, 0, 0, 0));
  PetscCall(GroupIntact(s)); /* NNLStoreSetETA's write, in the group, may have failed */
  if (!s->group) {
    PetscCall(Step(s, s->tx_begin));
    s->group    = PETSC_TRUE;
    s->group_t0 = MPI_Wtime();
  }
  ierr = NNLStoreInsertRows(s, pt, res, &dup);
  /* a second commit of one id (its points row exists, nothing was written): a no-op if its rows are
     equal, else an error that leaves the group whole */
  if (!ierr && dup) ierr = NNLStoreSameAsHeld(s, pt, res);
  if (!ierr && dup)
    ierr = PetscInfo(NULL, "store: point %" PetscInt_FMT " already committed with equal rows\n",
                     pt->ord);
  if (ierr && !dup) { /* the task's rows may be half written: the group goes, and the run stops */
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->group = PETSC_FALSE;
  }
  if (!ierr) ierr = NNLStoreTick(s);
  PetscCall(PetscLogEventEnd(NNL_EVENT_COMMIT, 0, 0, 0, 0));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

void NNLStoreSetETA(NNLStore s, double left)
{
  char sql[128];

  /* in the open group of commits if there is one, else a transaction of its own; numbers only, so
   * no binding */
  snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta VALUES('eta', '%.3f %.1f')",
           NNLStoreEpoch(), left);
  (void)sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* This run's row in runs: its status, and its end's time if finished (NULL: as it was). The open
   group is committed first, so that what is finished is stored before the row says so. */
static PetscErrorCode RunStatus(NNLStore s, const char status[], const char finished[])
{
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  PetscCall(StoreFlush(s));
  PetscCall(NNLStoreCheck(s->db,
                          sqlite3_prepare_v2(s->db,
                                             "UPDATE runs SET finished=coalesce(?, finished), "
                                             "status=? WHERE run=?",
                                             -1, &st, NULL),
                          "record the run's state"));
  if (finished) sqlite3_bind_text(st, 1, finished, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, s->run);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc, "record the run's state"));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreFinishRun(NNLStore s, const char status[])
{
  char now[32];

  PetscFunctionBegin;
  PetscCall(StoreFlush(s));
  /* an estimate of a run that has ended; an interrupted one keeps its rerun's (NNLSchedRun) */
  if (strcmp(status, "interrupted"))
    PetscCall(NNLStoreExec(s->db, "DELETE FROM meta WHERE key='eta'"));
  NNLStoreNow(now, sizeof(now));
  PetscCall(RunStatus(s, status, now));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreMarkStopping(NNLStore s)
{
  PetscFunctionBegin;
  PetscCall(RunStatus(s, "stopping", NULL));
  PetscFunctionReturn(0);
}

/* After an error (a full disk, a file size limit, or a task's own error on rank 0): keep the
   finished tasks of the open group, roll back what else was in progress, and mark this run 'failed'
   in runs, so that status says so rather than taking the run for killed. Best effort and silent:
   the disk may still refuse. */
void NNLStoreMarkFailed(NNLStore s)
{
  sqlite3_stmt *st = NULL;

  if (!s || !s->db) return;
  /* an open group holds whole tasks only (a task that failed to store rolled its group back): keep
     them, as Close does; what else is open (a commit the disk refused) goes */
  if (s->group && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->group = PETSC_FALSE;
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  if (sqlite3_prepare_v2(s->db, "UPDATE runs SET status='failed' WHERE run=?", -1, &st, NULL) ==
      SQLITE_OK) {
    sqlite3_bind_int64(st, 1, s->run);
    (void)sqlite3_step(st);
  }
  sqlite3_finalize(st);
}
