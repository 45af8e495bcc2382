/* Merging run stores (the shards of a job) into one. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "storeimpl.h"

/* ATTACH the store of dir as schema name; its store schema in *schema (may be NULL). */
static PetscErrorCode Attach(sqlite3 *db, const char dir[], const char name[], int *schema)
{
  sqlite3_stmt *st = NULL;
  char          path[PETSC_MAX_PATH_LEN + 32], sql[64];
  int           rc, sch = 0;

  PetscFunctionBegin;
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_FILE);
  snprintf(sql, sizeof(sql), "ATTACH ? AS %s", name);
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), "merge"));
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc, "attach input"));
  PetscCall(NNLStoreSchema(db, name, &sch));
  if (schema) *schema = sch;
  PetscFunctionReturn(0);
}

/* What an input held when it was merged, in the output's meta as 'merged <its real path>': its
   schema, its job text (a 64-bit FNV-1a hash: an extension changes it, and the points' order), its
   last point and run, and that run's end and status (a point is only ever added, so these change
   with whatever a run does to it). An input whose print is the one stored is skipped by a merge
   into that output: a re-merge of 10^6 points compared every one again (34 s against 7.4 s for the
   first merge: the scale review), and merging a job's shards as each one ends checked every earlier
   shard again each time. The last run's start (t0, to the microsecond) is in it: by its end and
   status alone (to the second), a shard's directory deleted and run again as another shard of the
   job, with as many points, within the second, read as the one merged, and was skipped. */
static PetscErrorCode InputPrint(sqlite3 *db, int schema, char buf[], size_t len)
{
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  PetscCall(NNLStoreCheck(
    db,
    sqlite3_prepare_v2(
      db,
      "SELECT (SELECT value FROM src.meta WHERE key='job'),"
      " (SELECT coalesce(max(rowid), 0) FROM src.points),"
      " (SELECT coalesce(max(run), 0) FROM src.runs),"
      " (SELECT coalesce(finished, '') || '/' || coalesce(status, '') || '/' ||"
      " coalesce(started, '') || '/' || coalesce(printf('%.6f', t0), '') FROM src.runs"
      " ORDER BY run DESC LIMIT 1)",
      -1, &st, NULL),
    "merge: an input's print"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char *job = sqlite3_column_text(st, 0);
    uint64_t             h   = 1469598103934665603ull;
    for (const unsigned char *c = job; c && *c; c++) h = (h ^ *c) * 1099511628211ull;
    snprintf(buf, len, "schema=%d job=%016llx points=%lld runs=%lld last=%s", schema,
             (unsigned long long)h, (long long)sqlite3_column_int64(st, 1),
             (long long)sqlite3_column_int64(st, 2),
             sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "");
  }
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "merge: an input's print"));
  PetscFunctionReturn(0);
}

/* An input's directory named canonically (source: PATH_MAX bytes), so that shard-0, ./shard-0 and
   /abs/shard-0 are one input: its runs' source, and its key in the output's meta. */
static void SourcePath(const char dir[], char source[])
{
  if (!realpath(dir, source)) snprintf(source, PATH_MAX, "%s", dir);
}

/* Its key in the output's meta: 'merged <its real path>'. */
static void MergedKey(const char source[], char key[], size_t len)
{
  snprintf(key, len, "merged %s", source);
}

/* Whether the input attached as src (of store schema `schema`) is the one merged into the output
   (main) before, unchanged since (InputPrint). */
static PetscErrorCode SameAsMerged(sqlite3 *db, const char dir[], int schema, PetscBool *same)
{
  char           source[PATH_MAX], key[PATH_MAX + 16], print[512] = "", *had = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *same = PETSC_FALSE;
  SourcePath(dir, source);
  MergedKey(source, key, sizeof(key));
  ierr = InputPrint(db, schema, print, sizeof(print));
  if (!ierr) ierr = NNLStoreMetaGet(db, key, &had);
  if (!ierr) *same = had && !strcmp(had, print) ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscFree(had));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* At its turn, an input MergePreCheck found unchanged since merged: still so? A run still writing
   it may have added points since the check, which the merge takes in its turn as it does any
   input's (the points up to checked[] are the output's already). */
static PetscErrorCode StillSame(sqlite3 *db, const char dir[], PetscBool *same)
{
  int            schema = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *same = PETSC_FALSE;
  ierr  = Attach(db, dir, "src", &schema);
  if (!ierr) ierr = SameAsMerged(db, dir, schema, same);
  sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* Copy one attached input into the output: points, arrays and its runs' provenance; existing points
   are kept. *conflict: the input gained a point since MergePreCheck that the output holds with
   other rows (nothing of it is merged). */
static PetscErrorCode MergeOne(sqlite3 *db, const char dir[], const char out[],
                               sqlite3_int64 checked, PetscBool *conflict)
{
  sqlite3_stmt  *st = NULL;
  char           source[PATH_MAX];
  PetscErrorCode ierr;
  int            rc, schema = 0;

  PetscFunctionBegin;
  SourcePath(dir, source);
  ierr = Attach(db, dir, "src", &schema);
  /* the write lock of the output alone: BEGIN IMMEDIATE takes one on every attached database, so a
     merge of an input that a run still writes waited for (then stalled) that run's commits */
  if (!ierr)
    ierr = NNLStoreExec(db, "BEGIN; INSERT OR REPLACE INTO main.meta VALUES ('merging', 'yes')");
  /* the points it gained since MergePreCheck compared it (a run still writing it, say): the others
     were, and a re-merge compared every point twice (a re-merge of jobs/pdlt_kurtosis.opts' 3
     shards took 4.6 s, a fresh one 0.6) */
  if (!ierr) {
    ierr = NNLStoreMergeConflict(db, "src", "main", dir, out, checked,
                                 schema == 4 ? PETSC_FALSE : PETSC_TRUE);
    /* the refusal's own code: SQLite's failures (busy, I/O) come as PETSC_ERR_FILE_WRITE, and a
       rerun of the merge may end them */
    *conflict = ierr == PETSC_ERR_FILE_UNEXPECTED ? PETSC_TRUE : PETSC_FALSE;
  }
  /* a schema-4 input's layers rows become netlayers rows, as an upgrade of it in place would make
   * them */
  if (!ierr)
    ierr = schema == 4
             ? NNLStoreLayersToNet(db, "src")
             : NNLStoreExec(db, "INSERT OR IGNORE INTO netlayers SELECT * FROM src.netlayers;"
                                "INSERT OR IGNORE INTO seq SELECT * FROM src.seq;");
  /* Provenance of the input's runs: its rows, once each however often the input is merged (a run
     seen before, by its start and host, is updated in place: a shard resumed since has a new
     status; its directory is named canonically, so that shard-0, ./shard-0 and /abs/shard-0 are one
     run, not three), then each point's run renumbered to the row its run has here. The input's own
     run numbers would name this store's other runs (every shard's first run is 1). Points merged
     before (by an earlier build, which kept them) are renumbered too, where the store holds the
     input's own record of the point (the same commit time). */
  if (!ierr)
    ierr = NNLStoreExec(db, "CREATE TEMP TABLE IF NOT EXISTS runmap(old INTEGER PRIMARY KEY, new "
                            "INTEGER); DELETE FROM temp.runmap");
  for (int k = 0; k < 5 && !ierr; k++) {
    static const char *const sql[5] = {
      "UPDATE main.runs AS r SET finished=s.finished, status=s.status, ranks=s.ranks, host=s.host, "
      "git=s.git, versions=s.versions,"
      " slurm=s.slurm, options=s.options, source=?1 FROM src.runs AS s WHERE r.started IS "
      "s.started AND r.t0 IS s.t0 AND r.host IS s.host",
      "INSERT INTO "
      "main.runs(started,finished,status,ranks,host,git,versions,slurm,options,source,t0)"
      " SELECT started,finished,status,ranks,host,git,versions,slurm,options,?1,t0 FROM src.runs "
      "AS s WHERE NOT EXISTS"
      " (SELECT 1 FROM main.runs AS r WHERE r.started IS s.started AND r.t0 IS s.t0 AND r.host IS "
      "s.host) ORDER BY s.run",
      "INSERT INTO temp.runmap SELECT s.run, (SELECT max(r.run) FROM main.runs AS r WHERE "
      "r.started IS s.started"
      " AND r.t0 IS s.t0 AND r.host IS s.host) FROM src.runs AS s",
      "INSERT OR IGNORE INTO "
      "main.points(id,ord,family,activation,width,depth,seed,status,sampler,dead_layer,message,"
      "seconds,"
      "committed,run,kind) SELECT "
      "id,ord,family,activation,width,depth,seed,status,sampler,dead_layer,message,seconds,"
      "committed,"
      "(SELECT new FROM temp.runmap WHERE old=p.run),kind FROM src.points AS p",
      "UPDATE main.points AS p SET run=m.new FROM src.points AS s JOIN temp.runmap AS m ON "
      "m.old=s.run"
      " WHERE p.id=s.id AND p.committed IS s.committed AND p.run IS NOT m.new"};
    ierr = NNLStoreCheck(db, sqlite3_prepare_v2(db, sql[k], -1, &st, NULL), "merge runs");
    if (ierr) break;
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    ierr = NNLStoreCheck(db, rc, "merge runs");
  }
  if (!ierr)
    ierr = NNLStoreExec(db, "INSERT OR IGNORE INTO pairs SELECT * FROM src.pairs;"
                            "INSERT OR IGNORE INTO limits SELECT * FROM src.limits;"
                            "INSERT OR IGNORE INTO spectra SELECT * FROM src.spectra;"
                            "INSERT OR IGNORE INTO spectrum SELECT * FROM src.spectrum;"
                            "INSERT OR IGNORE INTO sde_paths SELECT * FROM src.sde_paths;"
                            "INSERT OR IGNORE INTO fokker_planck SELECT * FROM src.fokker_planck;");
  if (!ierr) { /* what it held, read in this transaction: what was merged */
    char key[PATH_MAX + 16], print[512] = "";
    MergedKey(source, key, sizeof(key));
    ierr = InputPrint(db, schema, print, sizeof(print));
    if (!ierr) ierr = NNLStoreMetaSet(db, key, print);
  }
  if (!ierr) ierr = NNLStoreExec(db, "COMMIT");
  if (ierr) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* The conflicts a merge would be refused for, found before anything is written, so that a refused
   merge changes nothing (MergeOne checks each input again inside its transaction: an input still
   being written may gain points): no two of the output (where it holds points) and the inputs may
   hold one point with different rows. Each input against the output; then the inputs that share
   points the output lacks, pair by pair (a temporary table of their ids finds the pairs; shards of
   one split share none, so this is one pass over the inputs' ids). */
static PetscErrorCode MergeCheckInputs(sqlite3 *db, PetscBool out, PetscInt n,
                                       const char *const dirs[], const char output[],
                                       sqlite3_int64 checked[], PetscBool same[])
{
  sqlite3_stmt  *st   = NULL;
  PetscErrorCode ierr = 0;
  int            rc = SQLITE_DONE, sa = 0, sb = 0, so = 0;
  PetscInt      *pairs = NULL, npair = 0, cap = 0; /* the overlapping inputs (i, j) */

  PetscFunctionBegin;
  if (out)
    PetscCall(NNLStoreSchema(
      db, "main", &so)); /* a schema-4 output, not upgraded yet (this is before the merge) */
  PetscCall(NNLStoreExec(db, "CREATE TEMP TABLE mids(id INTEGER, src INTEGER)"));
  for (PetscInt i = 0; i < n && !ierr; i++) {
    char sql[160];
    ierr = Attach(db, dirs[i], "src", &sa);
    if (!ierr) { /* the input's last point as compared here (in one read transaction with the
                    comparisons below) */
      sqlite3_stmt *mx = NULL;
      ierr             = NNLStoreExec(db, "BEGIN");
      if (!ierr)
        ierr = NNLStoreCheck(
          db,
          sqlite3_prepare_v2(db, "SELECT coalesce(max(rowid), 0) FROM src.points", -1, &mx, NULL),
          "merge check");
      if (!ierr && (rc = sqlite3_step(mx)) == SQLITE_ROW) checked[i] = sqlite3_column_int64(mx, 0);
      sqlite3_finalize(mx);
      if (!ierr) ierr = NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "merge check");
    }
    same[i] = PETSC_FALSE;
    if (!ierr && out) ierr = SameAsMerged(db, dirs[i], sa, &same[i]);
    if (!ierr && out && !same[i])
      ierr = NNLStoreMergeConflict(db, "src", "main", dirs[i], output, -1,
                                   sa == 4 || so == 4 ? PETSC_FALSE : PETSC_TRUE);
    snprintf(sql, sizeof(sql),
             "INSERT INTO temp.mids SELECT id, %" PetscInt_FMT " FROM src.points%s", i,
             out ? " WHERE id NOT IN (SELECT id FROM main.points)" : "");
    if (!ierr && !same[i]) ierr = NNLStoreExec(db, sql); /* a same input's are all there */
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
  }
  PetscCall(ierr);
  PetscCall(NNLStoreExec(db, "CREATE INDEX temp.mids_id ON mids(id)"));
  PetscCall(NNLStoreCheck(
    db,
    sqlite3_prepare_v2(
      db,
      "SELECT DISTINCT x.src, y.src FROM temp.mids x JOIN temp.mids y ON y.id=x.id AND y.src>x.src",
      -1, &st, NULL),
    "merge pairs"));
  /* The pairs first, then each pair's check: while that statement is active its read of the temp
     database keeps a transaction open, in which an ATTACHed input cannot be DETACHed, so a second
     overlapping pair's ATTACH failed ("database src is already in use", naming neither input). */
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (npair == cap) {
      cap = 2 * cap + 16;
      PetscCall(PetscRealloc(sizeof(PetscInt) * 2 * cap, &pairs));
    }
    pairs[2 * npair]     = (PetscInt)sqlite3_column_int64(st, 0);
    pairs[2 * npair + 1] = (PetscInt)sqlite3_column_int64(st, 1);
    npair++;
  }
  sqlite3_finalize(st);
  ierr = NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "merge pairs");
  for (PetscInt p = 0; p < npair && !ierr; p++) {
    const PetscInt i = pairs[2 * p], j = pairs[2 * p + 1];
    ierr = Attach(db, dirs[i], "src", &sa);
    if (!ierr) ierr = Attach(db, dirs[j], "src2", &sb);
    if (!ierr)
      ierr = NNLStoreMergeConflict(db, "src", "src2", dirs[i], dirs[j], -1,
                                   sa == 4 || sb == 4 ? PETSC_FALSE : PETSC_TRUE);
    {
      const int d2 = sqlite3_exec(db, "DETACH src2", NULL, NULL, NULL),
                d1 = sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
      if (!ierr) ierr = NNLStoreCheck(db, d2 != SQLITE_OK ? d2 : d1, "merge: detach an input");
    }
  }
  PetscCall(PetscFree(pairs));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* The job text, shard and grid size every input must agree on. */
typedef struct {
  char *job, *shard, *grid_points;
} StoreMeta;

static PetscErrorCode ReadMeta(const char dir[], StoreMeta *m)
{
  NNLStore       s = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(NNLStoreOpenRead(dir, &s));
  ierr = NNLStoreMetaGet(s->db, "job", &m->job);
  if (!ierr) ierr = NNLStoreMetaGet(s->db, "shard", &m->shard);
  if (!ierr) ierr = NNLStoreMetaGet(s->db, "grid_points", &m->grid_points);
  if (!ierr) ierr = NNLStoreCheckStream(s->db, dir);
  PetscCall(NNLStoreClose(&s));
  PetscCall(ierr);
  PetscCheck(m->job && m->shard && m->grid_points, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s': store lacks its job record", dir);
  PetscFunctionReturn(0);
}

static PetscErrorCode FreeMeta(StoreMeta *m)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(m->job));
  PetscCall(PetscFree(m->shard));
  PetscCall(PetscFree(m->grid_points));
  PetscFunctionReturn(0);
}

/* An existing merge output (not fresh) must hold the whole of this job (ctx: the job text), drawn
   with this build's random streams. */
static PetscErrorCode CheckMergeOutput(sqlite3 *db, const char output[], const void *ctx)
{
  StoreMeta      have = {0};
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = NNLStoreCheckStream(db, output);
  if (!ierr) ierr = NNLStoreMetaGet(db, "job", &have.job);
  if (!ierr && have.job)
    ierr = NNLStoreCompareJob(output, have.job, (const char *)ctx, "merge into another -output");
  if (!ierr) ierr = NNLStoreMetaGet(db, "shard", &have.shard);
  /* A shard's store would end up holding other shards' points under its shard's total and -shard
   * record. */
  if (!ierr && have.shard && strcmp(have.shard, "0/1"))
    ierr = PetscError(
      PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
      PETSC_ERROR_INITIAL,
      "-output: '%s' holds shard %s of this job, not the whole job: merge into a new directory",
      output, have.shard);
  PetscCall(FreeMeta(&have));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* What a merge checks before it writes (NNLStorePreCheck's callback): the job it merges, its
   inputs, and, per input, the last point compared (MergeCheckInputs); *ran whether the output held
   a store. */
typedef struct {
  const char        *job;
  PetscInt           n;
  const char *const *dirs;
  sqlite3_int64     *checked;
  PetscBool         *same; /* per input: merged into the output before, and unchanged since */
  PetscBool         *ran;
} MergeCheck;

/* An existing output, on the read-only connection NNLStorePreCheck opened: CheckMergeOutput, then
   MergeCheckInputs against its points. */
static PetscErrorCode CheckMergeStores(sqlite3 *db, const char output[], const void *ctx)
{
  const MergeCheck *m = (const MergeCheck *)ctx;

  PetscFunctionBegin;
  PetscCall(CheckMergeOutput(db, output, m->job));
  PetscCall(MergeCheckInputs(db, PETSC_TRUE, m->n, m->dirs, output, m->checked, m->same));
  *m->ran = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Everything a merge would be refused for, before the output is made or touched: an existing
   output's job and conflicts (CheckMergeStores), or, with no output yet, the inputs' conflicts
   among themselves on an empty connection. */
static PetscErrorCode MergePreCheck(PetscInt n, const char *const dirs[], const char output[],
                                    const char job[], sqlite3_int64 checked[], PetscBool same[])
{
  sqlite3         *db  = NULL;
  PetscBool        ran = PETSC_FALSE;
  const MergeCheck m   = {job, n, dirs, checked, same, &ran};
  PetscErrorCode   ierr;

  PetscFunctionBegin;
  PetscCall(NNLStorePreCheck(output, CheckMergeStores, &m));
  if (ran) PetscFunctionReturn(0);
  ierr = NNLStoreCheck(
    NULL, sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL),
    "merge check");
  if (!ierr) ierr = NNLStoreFunctions(db);
  if (!ierr) ierr = MergeCheckInputs(db, PETSC_FALSE, n, dirs, output, checked, same);
  sqlite3_close(db);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreMerge(PetscInt n, const char *const dirs[], const char output[])
{
  StoreMeta      first = {0}, other = {0};
  sqlite3       *db   = NULL;
  int            lock = -1;
  PetscBool      fresh;
  PetscErrorCode ierr    = 0;
  sqlite3_int64 *checked = NULL; /* per input, its last point that MergePreCheck compared */
  PetscBool     *same    = NULL; /* per input, merged into the output and unchanged since */

  PetscFunctionBegin;
  PetscCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "merge: give the run directories to merge: nnlimits merge DIR... -output DIR");
  /* Check every input before the output is touched: a refused merge changes nothing. */
  ierr = ReadMeta(dirs[0], &first);
  for (PetscInt i = 1; i < n && !ierr; i++) {
    ierr = ReadMeta(dirs[i], &other);
    if (!ierr) /* there: dirs[i]; here: dirs[0] */
      ierr = NNLStoreCompareJob(dirs[i], other.job, first.job,
                                "merge combines the shards of one job; its inputs are of two jobs");
    PetscCall(FreeMeta(&other));
  }
  for (PetscInt i = 0; i < n && !ierr; i++) {
    if (NNLStoreSamePath(dirs[i], output))
      ierr =
        PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
                   PETSC_ERROR_INITIAL, "-output: '%s' is also an input of the merge", output);
  }
  if (!ierr) ierr = PetscMalloc2(n, &checked, n, &same);
  if (!ierr) ierr = MergePreCheck(n, dirs, output, first.job, checked, same);
  if (!ierr) ierr = NNLStoreMakeDir(output);
  if (!ierr) ierr = NNLStoreLock(output, &lock);
  if (!ierr) ierr = NNLStoreOpenDB(output, PETSC_TRUE, &db);
  if (!ierr) ierr = NNLStoreVerify(db, output, &fresh);
  if (!ierr && fresh) {
    /* The merged store is the whole grid's: rerunning the full job on it computes whatever no shard
     * finished. */
    ierr = NNLStoreCreateSchema(db, first.job, "0/1", atoll(first.grid_points),
                                atoll(first.grid_points), 0); /* pairs: from the inputs */
  } else if (!ierr) {
    ierr = CheckMergeOutput(db, output, first.job); /* again, under the lock */
    if (!ierr) ierr = NNLStoreUpgrade(db, output);
  }
  if (!ierr) ierr = NNLStoreExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  /* while this flag stands, status says the merge is running (the lock held) or was killed (no
   * lock): not "merged" */
  if (!ierr) ierr = NNLStoreExec(db, "INSERT OR REPLACE INTO meta VALUES ('merging', 'yes')");
  for (PetscInt i = 0; i < n && !ierr; i++) {
    PetscBool conflict = PETSC_FALSE;
    if (same[i] && (ierr = StillSame(db, dirs[i], &same[i]))) break;
    if (same[i]) {
      ierr =
        PetscInfo(NULL, "merge: '%s' unchanged since merged into '%s': skipped\n", dirs[i], output);
      continue;
    }
    ierr = MergeOne(db, dirs[i], output, checked[i], &conflict);
    /* An input that gained a conflicting point after the check (a run still writing it): the output
       holds the inputs before it, whole, and nothing of it or those after. No rerun of this merge
       ends that (it stops at the same point), so the output is not left marked as a killed merge
       ("rerun the same merge"): its status counts what is missing as pending. */
    if (conflict &&
        sqlite3_exec(db, "DELETE FROM meta WHERE key = 'merging'", NULL, NULL, NULL) == SQLITE_OK)
      fprintf(stderr,
              "nnlimits: merge: '%s' holds the inputs before '%s' (%" PetscInt_FMT
              " of %" PetscInt_FMT "), not it or those after it\n",
              output, dirs[i], i, n);
  }
  if (!ierr) ierr = NNLStoreExec(db, "DELETE FROM meta WHERE key = 'merging'");
  if (!ierr) ierr = NNLStoreWarnKernels(db, output, -1);
  if (db) NNLStoreLeaveWAL(db, output);
  if (db) sqlite3_close(db);
  NNLStoreUnlock(&lock);
  PetscCall(PetscFree2(checked, same));
  PetscCall(FreeMeta(&first));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
