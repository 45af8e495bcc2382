/* Status of run stores: done, failed and pending counts, rate and ETA, of one directory or of
 * the shards of a job. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "storeimpl.h"
#include "nnlimits/rng.h"
#include "status.h"

/* Counts of one store: done, failed, total; this run's rate (points/s since its start, if it is
   running); and, while it runs, its own estimate of the time it has left (meta 'eta', written by
   rank 0 every few seconds: it counts the predicted cost of what is left and the work in progress,
   where the rate counts points, whose costs differ by orders of magnitude). A run still marked
   running whose directory's write lock no process holds, before the store is read and after, was
   killed without a chance to say so (SIGKILL, the OOM killer, a lost node): it is reported as
   'died', with no ETA, since nothing is computing. A merge's output whose latest run is a merged
   input's is 'merged', with no rate or ETA of its own. */
#define ETA_STALE_SECONDS 60.0 /* an estimate this old is of a run that died or hangs: not used */
typedef struct {
  long long   done, failed, total;
  double      rate;
  double      eta;      /* seconds left by the run's estimate, its age taken off; < 0: none */
  const char *eta_from; /* "run": a live run's; "last_run": an interrupted run's for its rerun */
  char        last[32];
  long long   shard, shards,
    grid; /* this store's shard i of k, and the whole job's task count ("shard", "grid_points") */
  PetscBool merge; /* last is about a merge into this store (running, or died) */
  /* live: the latest run is running or stopping and holds the lock; killed_stopping: it was marked
     stopping (a stop signal came, NNLStoreMarkStopping) and then killed: "interrupted" */
  PetscBool live, killed_stopping;
  /* a shard cut otherwise than this build cuts its job (StatusCut): its counts are this build's
     share's, foreign the points it holds of other shards, stored_total the store's own total */
  PetscBool other_cut;
  long long foreign, stored_total;
} Counts;

/* The store's done and failed points, and its meta records of them: this shard's total, which
   shard i/k it is, and the whole job's task count. */
static PetscErrorCode CountPoints(NNLStore s, Counts *c)
{
  sqlite3_stmt *st    = NULL;
  char         *total = NULL;
  int           rc;

  PetscFunctionBegin;
  PetscCall(NNLStoreCheck(s->db,
                          sqlite3_prepare_v2(s->db,
                                             "SELECT count(*) FILTER (WHERE status='done'),"
                                             " count(*) FILTER (WHERE status='failed') FROM points",
                                             -1, &st, NULL),
                          "status"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    c->done   = sqlite3_column_int64(st, 0);
    c->failed = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "status"));
  PetscCall(NNLStoreMetaGet(s->db, "total", &total));
  c->total = total ? atoll(total) : 0;
  PetscCall(PetscFree(total));
  PetscCall(NNLStoreMetaGet(s->db, "shard", &total));
  if (!total || sscanf(total, "%lld/%lld", &c->shard, &c->shards) != 2) c->shard = 0, c->shards = 1;
  PetscCall(PetscFree(total));
  PetscCall(NNLStoreMetaGet(s->db, "grid_points", &total));
  c->grid = total ? atoll(total) : 0;
  PetscCall(PetscFree(total));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStatusMergeFlag(sqlite3 *db, const char dir[], int held, int *state)
{
  char *merging = NULL;

  PetscFunctionBegin;
  PetscCall(NNLStoreMetaGet(db, "merging", &merging));
  *state = !merging ? 0 : held == 0 && NNLStoreLockHeld(dir) == 0 ? 2 : 1;
  PetscCall(PetscFree(merging));
  PetscFunctionReturn(0);
}

/* The latest run's state (c->last: its status, "merged", "merging" or "died") and rate; held:
   whether a process held the directory's write lock before the store was read (NNLStoreLockHeld).
 */
static PetscErrorCode CountLastRun(NNLStore s, const char dir[], int held, Counts *c)
{
  sqlite3_stmt *st = NULL;
  /* dead: running or stopping, and no process holds its lock; merging: NNLStatusMergeFlag's */
  int here = 0, rc, dead = 0, merging;

  PetscFunctionBegin;
  /* The latest run's state, and a rate: points over the time from a run's start to its latest
     commit or its end (stored to the second), of the latest run if it is running, else of the
     latest run that computed points (a rerun of a finished job computes none: its rate would read
     0/s). Till its last commit only, a run stopped 1.5 s into a long task after a 3 ms one read
     294/s. */
  PetscCall(NNLStoreCheck(
    s->db,
    sqlite3_prepare_v2(s->db,
                       "SELECT r.status, count(p.id),"
                       " max(max(p.committed), coalesce(CAST(strftime('%s', q.finished) AS REAL),"
                       " 0)) - q.t0, r.source IS NULL,"
                       " q.t0"
                       " FROM runs r JOIN runs q ON q.run=CASE WHEN r.status IN ('running', "
                       "'stopping') THEN r.run"
                       " ELSE coalesce((SELECT max(run) FROM points), r.run) END"
                       " LEFT JOIN points p ON p.run=q.run"
                       " WHERE r.run=(SELECT max(run) FROM runs)",
                       -1, &st, NULL),
    "status"));
  snprintf(c->last, sizeof(c->last), "none");
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
    double el = sqlite3_column_double(st, 2);
    snprintf(c->last, sizeof(c->last), "%s", (const char *)sqlite3_column_text(st, 0));
    if (el > 0) c->rate = (double)sqlite3_column_int64(st, 1) / el;
    here = sqlite3_column_int(st, 3); /* run in this directory, not a merged input's */
    /* a live run's time is until now, not its latest commit: two quick tasks committed in 9 ms
       read 224/s while its long tasks ran on at 0.13/s (a dead one is made "died" below) */
    if (!strcmp(c->last, "running") || !strcmp(c->last, "stopping")) {
      dead    = held == 0 && NNLStoreLockHeld(dir) == 0;
      c->live = dead ? PETSC_FALSE : PETSC_TRUE;
    }
    if (c->live) {
      el = NNLStoreEpoch() - sqlite3_column_double(st, 4);
      if (el > 0) c->rate = (double)sqlite3_column_int64(st, 1) / el;
    }
    if (!here) { /* a merge's output: its points come from other directories' runs, whose rate is
                    not this store's */
      snprintf(c->last, sizeof(c->last), "merged");
      c->rate = 0;
    }
  }
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "status"));
  PetscCall(NNLStatusMergeFlag(s->db, dir, held, &merging));
  if (merging) { /* a merge into this store began and has not ended: running if it holds the lock,
                    else killed */
    c->merge = PETSC_TRUE;
    c->live  = PETSC_FALSE;
    c->rate  = 0;
    snprintf(c->last, sizeof(c->last), merging == 2 ? "died" : "merging");
  }
  if (!strcmp(c->last, "stopping") && dead) { /* killed in its stop: what it committed stands */
    c->killed_stopping = PETSC_TRUE;
    snprintf(c->last, sizeof(c->last), "interrupted");
  }
  if (!strcmp(c->last, "running") && dead) snprintf(c->last, sizeof(c->last), "died");
  PetscFunctionReturn(0);
}

/* A live run's estimate, its age taken off (none if stale); an interrupted run's, of its rerun at
   its speed, as is. Nothing for a run in another state. */
static PetscErrorCode CountETA(NNLStore s, Counts *c)
{
  const PetscBool live = c->live;
  char           *eta  = NULL;
  double          at, left;

  PetscFunctionBegin;
  if (!live && strcmp(c->last, "interrupted")) PetscFunctionReturn(0);
  PetscCall(NNLStoreMetaGet(s->db, "eta", &eta));
  if (eta && sscanf(eta, "%lf %lf", &at, &left) == 2) {
    double age = NNLStoreEpoch() - at;
    if (!live)
      c->eta = left;
    else if (age <= ETA_STALE_SECONDS)
      c->eta = PetscMax(left - PetscMax(age, 0), 0);
  }
  PetscCall(PetscFree(eta));
  c->eta_from = live ? "run" : "last_run";
  PetscFunctionReturn(0);
}

static PetscErrorCode CountStore(NNLStore s, const char dir[], Counts *c)
{
  int held = NNLStoreLockHeld(dir); /* before the store is read: see Counts */

  PetscFunctionBegin;
  memset(c, 0, sizeof(*c));
  c->eta = -1;
  PetscCall(CountPoints(s, c));
  PetscCall(CountLastRun(s, dir, held, c));
  PetscCall(CountETA(s, c));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreExportNote(NNLStore s, const char dir[], FILE *out)
{
  Counts    c;
  long long pending;

  PetscFunctionBegin;
  PetscCall(CountStore(s, dir, &c));
  pending = c.total - c.done - c.failed;
  if (c.shards > 1) /* finished or not, a part of the job: its statistics over fewer seeds */
    fprintf(out,
            "export: '%s' is shard %lld/%lld of its job (%lld of its %lld tasks): the table holds "
            "this shard's points only; merge the shards (nnlimits merge) for the whole job's\n",
            dir, c.shard, c.shards, c.total, c.grid);
  if (pending <= 0) PetscFunctionReturn(0);
  fprintf(out,
          "export: '%s' is not finished: %lld of its %lld tasks pending (last_run=%s%s); the table "
          "holds its %lld finished points\n",
          dir, pending, c.total, c.last,
          c.live || !strcmp(c.last, "merging") ? ": still being written"
          : !strcmp(c.last, "merged")          ? ": merge the other shards into it"
                                               : ": rerun the same command to finish it",
          c.done + c.failed);
  PetscFunctionReturn(0);
}

static void PrintCounts(const char label[], const Counts *c, PetscBool hint, FILE *out)
{
  long long pending = c->total - c->done - c->failed;
  char      eta[32] = "-";

  if (pending < 0) pending = 0;
  /* rounded up while work is left: "pending=159 ... eta=0s" read as done */
  if (pending > 0 && c->eta >= 0)
    snprintf(eta, sizeof(eta), "%.0fs eta_from=%s", ceil(c->eta),
             c->eta_from ? c->eta_from : "run");
  else if (pending > 0 && (!strcmp(c->last, "died") || !strcmp(c->last, "failed") ||
                           c->killed_stopping || (c->other_cut && !c->live)))
    snprintf(eta, sizeof(eta), "-"); /* nothing computes (another cut's run computed none; one
                                        killed in its stop ran at no rate its points show) */
  else if (pending > 0 && c->rate > 0)
    snprintf(eta, sizeof(eta), "%.0fs eta_from=rate", ceil(pending / c->rate));
  else if (pending == 0)
    snprintf(eta, sizeof(eta), "0s");
  fprintf(
    out,
    "status dir=%s done=%lld failed=%lld pending=%lld total=%lld last_run=%s rate=%.3g/s eta=%s\n",
    label, c->done, c->failed, pending, c->total, c->last, c->rate, eta);
  if (hint && pending > 0 && !strcmp(c->last, "failed"))
    fprintf(stderr,
            "status: %s: the last run stopped on an error (its stderr names it: a full disk, a "
            "file size limit?); "
            "fix that and rerun the same command to compute the %lld pending points\n",
            label, pending);
  if (hint && pending > 0 && !strcmp(c->last, "merged"))
    fprintf(stderr,
            "status: %s: %lld of the job's points are in none of the stores merged into it (shards "
            "not merged, or not "
            "finished?): merge them into it too (merging again is harmless)\n",
            label, pending);
  if (hint && c->merge && !strcmp(c->last, "died"))
    fprintf(stderr,
            "status: %s: a merge into it was killed (or failed: a full disk) before it ended; "
            "rerun the same merge command to finish it\n",
            label);
  else if (hint && pending > 0 && c->killed_stopping)
    fprintf(
      stderr,
      "status: %s: the last run was killed in its stop (after a stop signal: mpiexec kills its "
      "ranks a second after passing its SIGTERM on, Slurm after KillWait): the tasks then in "
      "progress were lost, what it finished is stored; rerun the same command to compute the "
      "%lld pending points\n",
      label, pending);
  else if (hint && pending > 0 && !strcmp(c->last, "died"))
    fprintf(stderr,
            "status: %s: the last run died (killed without stopping: SIGKILL, out of memory, a "
            "lost node; or it ended on an error it could not record, as on a full disk: its "
            "stderr says); rerun the same command to compute the %lld pending points\n",
            label, pending);
}

/* A shard's counts as this build cuts its job, where the store's differ: shards are cut by the cost
   model, and a shard finished by a build with another model read finished (its merge then lacked
   points, which merge.sbatch found only after merging). *cut: this build's cut, kept for the next
   shard of the job. */
static PetscErrorCode StatusCut(NNLStatusCut *cut, NNLStore s, Counts *c)
{
  NNLStatusCutCounts cc;

  PetscFunctionBegin;
  PetscCall(NNLStatusCutCount(cut, s, c->shard, c->shards, &cc));
  if (!cc.known || (cc.foreign == 0 && cc.total == c->total)) PetscFunctionReturn(0);
  c->other_cut    = PETSC_TRUE;
  c->foreign      = cc.foreign;
  c->stored_total = c->total;
  c->done         = cc.done;
  c->failed       = cc.failed;
  c->total        = cc.total;
  if (!c->live) c->eta = -1; /* an estimate of the other cut's share */
  PetscFunctionReturn(0);
}

static void StatusCutWarn(const char dir[], const Counts *c)
{
  if (!c->other_cut) return;
  fprintf(stderr,
          "status: %s: shard %lld/%lld was cut by a build with another cost model: it holds %lld "
          "points that this build gives to other shards of the job, and this build gives it %lld "
          "(its store counts %lld), %lld of them pending; counted as this build cuts it. Run "
          "every shard of the job with this build before merging, the finished ones too: each "
          "then computes only what its share lacks\n",
          dir, c->shard, c->shards, c->foreign, c->total, c->stored_total,
          PetscMax(c->total - c->done - c->failed, 0));
}

/* Why points failed, on stderr (the points export lists networks only): each distinct message with
   its count and its first task, named by its kind and the axes it has (a limit task has no width
   or seed), with its id as the points export prints it, up to 5 of them. */
static void PrintFailures(NNLStore s, const char dir[], const Counts *c)
{
  sqlite3_stmt *st = NULL;
  int           k  = 0;

  if (c->failed <= 0 ||
      sqlite3_prepare_v2(
        s->db,
        /* min() alone: the bare columns are its row's (SQLite) */
        "SELECT count(*), printf('%016x', id), family, nnl_act(activation), width, "
        "depth, seed, message, kind, min(ord) FROM points"
        " WHERE status='failed' GROUP BY message ORDER BY 10 LIMIT 6",
        -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return;
  }
  while (sqlite3_step(st) == SQLITE_ROW && k++ < 5) {
    const char *kind = (const char *)sqlite3_column_text(st, 8), *msg;
    char        what[160];
    if (kind && !strcmp(kind, "limit"))
      snprintf(what, sizeof(what), "limit task, depth %lld",
               (long long)sqlite3_column_int64(st, 5));
    else if (kind && !strcmp(kind, "sde"))
      snprintf(what, sizeof(what), "SDE task, width %lld depth %lld",
               (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5));
    else
      snprintf(what, sizeof(what), "width %lld depth %lld seed %lld",
               (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5),
               (long long)sqlite3_column_int64(st, 6));
    msg = sqlite3_column_text(st, 7) ? (const char *)sqlite3_column_text(st, 7) : "(no message)";
    fprintf(stderr, "status: %s: %lld failed: %s (first: %s %s %s, id %s)\n", dir,
            (long long)sqlite3_column_int64(st, 0), msg, sqlite3_column_text(st, 2),
            sqlite3_column_text(st, 3), what, sqlite3_column_text(st, 1));
  }
  if (k > 5)
    fprintf(stderr,
            "status: %s: other failures too (sqlite3 %s/%s \"SELECT message, count(*) FROM points "
            "GROUP BY 1\")\n",
            dir, dir, NNL_STORE_FILE);
  sqlite3_finalize(st);
}

PetscErrorCode NNLStoreStatus(NNLStore s, const char dir[], FILE *out)
{
  Counts c;

  PetscFunctionBegin;
  PetscCall(CountStore(s, dir, &c));
  PrintFailures(s, dir, &c);
  PrintCounts(dir, &c, PETSC_TRUE, out);
  PetscFunctionReturn(0);
}

/* Whether dirs[i] is a directory given before it (`status A A` summed A twice), said on stderr;
   real[i]: its canonical path, which the later directories are compared with. */
static PetscErrorCode StatusGivenTwice(PetscInt i, const char *const                dirs[],
                                       char (*real)[PETSC_MAX_PATH_LEN], PetscBool *again)
{
  PetscFunctionBegin;
  *again = PETSC_FALSE;
  if (!realpath(dirs[i], real[i])) PetscCall(PetscStrncpy(real[i], dirs[i], sizeof(real[i])));
  for (PetscInt k = 0; k < i && !*again; k++)
    *again = strcmp(real[k], real[i]) ? PETSC_FALSE : PETSC_TRUE;
  if (*again) fprintf(stderr, "status: %s is given twice: counted once\n", dirs[i]);
  PetscFunctionReturn(0);
}

/* Two directories of one job's same part (a copy, or the job run twice): (all) counts their points
   twice. part[i]: a hash of the job and shard of dirs[i]'s store s (never 0, which is no store),
   said on stderr if an earlier directory's is the same; *job_hash: a hash of its job alone. */
static PetscErrorCode StatusSamePart(NNLStore s, const Counts *c, PetscInt i,
                                     const char *const dirs[], uint64_t part[], uint64_t *job_hash)
{
  char *job = NULL;

  PetscFunctionBegin;
  PetscCall(NNLStoreMetaGet(s->db, "job", &job));
  *job_hash = NNLHash64Update(NNL_HASH64_INIT, job ? job : "", job ? strlen(job) : 0);
  part[i]   = NNLHash64Update(*job_hash, &c->shard, sizeof(c->shard));
  part[i]   = NNLHash64Final(NNLHash64Update(part[i], &c->shards, sizeof(c->shards))) | 1;
  PetscCall(PetscFree(job));
  for (PetscInt k = 0; k < i; k++)
    if (part[k] == part[i]) {
      fprintf(stderr,
              "status: %s and %s hold the same job's shard %lld/%lld: (all) counts its points "
              "twice\n",
              dirs[k], dirs[i], c->shard, c->shards);
      break;
    }
  PetscFunctionReturn(0);
}

/* Add one store's counts c to (all)'s, sum; *unestimated is set if c has work left and no estimate
   of its own. */
static void StatusAdd(Counts *sum, const Counts *c, PetscBool *unestimated)
{
  sum->done += c->done;
  sum->failed += c->failed;
  sum->total += c->total;
  sum->rate +=
    c->rate; /* shards run side by side: their rates add, and the last to end ends them all */
  if (c->done + c->failed < c->total) {
    if (!strcmp(c->last, "died"))
      snprintf(sum->last, sizeof(sum->last), "died"); /* the whole waits for its rerun */
    if (c->eta < 0)
      *unestimated = PETSC_TRUE;
    else if (c->eta >= sum->eta)
      sum->eta = c->eta, sum->eta_from = c->eta_from; /* the last to end ends them all */
    /* (a shard that ends sooner than another was counted as one without an estimate: (all) fell
       back on the summed rate, and said 6 s beside shards of 13 s and 10 s) */
  }
}

/* (all)'s estimate when a shard with work left has no estimate of its own: the summed rate's, but
   not before a shard's own. */
static void StatusSumETA(Counts *sum)
{
  const long long pending = sum->total - sum->done - sum->failed;
  const double    known   = sum->eta;

  sum->eta = -1;
  if (pending > 0 && sum->rate > 0 && known > pending / sum->rate && strcmp(sum->last, "died"))
    sum->eta = known;
}

/* Several directories (the shards of a job array, say): a line each, and a line (all) that sums
   them. A directory without a store yet (an array task that has not started) is said so and counted
   as pending, when more than one is given. If the stores are shards of one job (the same shard
   count and grid) and some of its shards are missing from the list, (all) counts the whole job's
   tasks and says how many shards it saw (shards=SEEN/K): the missing ones' points are pending, not
   absent. */
PetscErrorCode NNLStoreStatusMany(PetscInt n, const char *const dirs[], FILE *out)
{
  Counts    sum;
  PetscBool unestimated = PETSC_FALSE, one_job = PETSC_TRUE, parts = PETSC_FALSE;
  long long shards = 0, grid = -1, seen = 0, *ids;
  PetscInt  absent = 0, given = 0;   /* directories without a store; distinct directories */
  PetscBool other_job = PETSC_FALSE; /* a store of another job than the first's */
  uint64_t  job0 = 0, job = 0;       /* the first store's job (hashed), and this one's */
  char(*real)[PETSC_MAX_PATH_LEN];
  uint64_t    *part;       /* per directory, a hash of its job and shard (0: no store) */
  NNLStatusCut cut = NULL; /* this build's cut of the shards' job */

  PetscFunctionBegin;
  memset(&sum, 0, sizeof(sum));
  sum.eta = -1;
  snprintf(sum.last, sizeof(sum.last), "-");
  PetscCall(PetscCalloc3(n, &ids, n, &real, n, &part));
  for (PetscInt i = 0; i < n; i++) {
    NNLStore  s = NULL;
    Counts    c;
    char      path[PETSC_MAX_PATH_LEN + 32];
    PetscBool again;
    PetscCall(StatusGivenTwice(i, dirs, real, &again));
    if (again) continue;
    given++;
    snprintf(path, sizeof(path), "%s/%s", dirs[i], NNL_STORE_FILE);
    if ((n > 1 || NNLStatusMergeKnown(dirs[i])) && access(path, F_OK) != 0) {
      fprintf(out, "status dir=%s no_store (not started yet, or not a run directory)\n", dirs[i]);
      absent++;
      unestimated = PETSC_TRUE;
      continue;
    }
    PetscCall(NNLStoreOpenRead(dirs[i], &s));
    PetscCall(CountStore(s, dirs[i], &c));
    if (c.shards > 1) PetscCall(StatusCut(&cut, s, &c));
    PetscCall(StatusSamePart(s, &c, i, dirs, part, &job));
    PrintFailures(s, dirs[i], &c);
    PetscCall(NNLStoreClose(&s));
    PrintCounts(dirs[i], &c, PETSC_TRUE, out);
    StatusCutWarn(dirs[i], &c);
    if (n == 1 && c.shards > 1) /* its total and "complete" are the shard's, not the job's */
      fprintf(stderr,
              "status: %s: shard %lld/%lld of its job (%lld of its %lld tasks); nnlimits status "
              "with every shard's directory counts the job, nnlimits merge makes it one store\n",
              dirs[i], c.shard, c.shards, c.total, c.grid);
    if (grid < 0) shards = c.shards, grid = c.grid, job0 = job;
    if (job != job0) other_job = PETSC_TRUE;
    if (c.shards > 1) parts = PETSC_TRUE;
    if (c.shards != shards || c.grid != grid || c.shards < 2 || job != job0)
      one_job = PETSC_FALSE;
    else {
      PetscBool dup = PETSC_FALSE;
      for (long long k = 0; k < seen; k++) dup = dup || ids[k] == c.shard;
      if (!dup) ids[seen++] = c.shard;
    }
    StatusAdd(&sum, &c, &unestimated);
  }
  PetscCall(PetscFree3(ids, real, part));
  PetscCall(NNLStatusCutDestroy(&cut));
  /* an array's shards or merge output not begun yet, whose merge is queued (or failed): said */
  if (absent == given && NNLStatusMergePrint(n, dirs, out) > 0) PetscFunctionReturn(0);
  PetscCheck(absent < given, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "status: none of the %" PetscInt_FMT " directories holds a store yet", given);
  if (one_job && seen < shards &&
      grid > sum.total) { /* the job's other shards: pending, not started here */
    sum.total   = grid;
    unestimated = PETSC_TRUE;
  }
  if (unestimated) StatusSumETA(&sum);
  if (n > 1) {
    NNLStatusMergePrint(n, dirs, out); /* between the shards' lines and (all), which stays last */
    PrintCounts("(all)", &sum, PETSC_FALSE, out);
    if (one_job && seen < shards)
      fprintf(stderr, "status: (all) counts the whole job: %lld of its %lld shards have a store\n",
              seen, shards);
    /* shard 2/3 beside shards 0/2 and 1/2 (two submits' splits) share points: the sum counts those
     * twice */
    if (!one_job && parts)
      fprintf(stderr,
              "status: (all) adds up parts of different splits or jobs (their jobs, shard counts "
              "or grids differ): points they share are counted twice; nnlimits merge gives one "
              "store's true count\n");
    else if (other_job) /* whole runs of different jobs: a sum of runs, not one job's count */
      fprintf(stderr, "status: (all) adds up the runs of different jobs\n");
  }
  if (n == 1) NNLStatusMergePrint(n, dirs, out); /* a job array's merge, after its counts */
  PetscFunctionReturn(0);
}
