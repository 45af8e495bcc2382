/* The run store: result packing, commit and resume, refusals that leave the file untouched, export,
 * merge. */
// ctest-label: unit
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>
#include "testutil.h"
#include "nnlimits/store.h"
#include "nnlimits/sched.h"
#include "error.h"
#include "storeimpl.h"

static char scratch[256]; /* one directory per test program run */
static char last[1024];

static PetscErrorCode Record(MPI_Comm c, int l, const char *f, const char *fi, PetscErrorCode n,
                             PetscErrorType p, const char *m, void *ctx)
{
  if (p == PETSC_ERROR_INITIAL) snprintf(last, sizeof(last), "%s", m);
  return n;
}

static void Path(char *buf, size_t len, const char *name)
{
  snprintf(buf, len, "%s/%s", scratch, name);
}

/* The whole content of a file (caller frees); *len its size. */
static char *Slurp(const char *path, long *len)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)*len + 1);
  assert_int_equal(fread(buf, 1, (size_t)*len, f), (size_t)*len);
  buf[*len] = 0; /* a C string too */
  fclose(f);
  return buf;
}

/* Commit points idx[0..n) of the job's grid into dir. */
static void CommitPoints(NNLJob *job, NNLGrid *grid, const char *dir, PetscInt n,
                         const PetscInt *idx)
{
  NNLStore st = NULL;
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  for (PetscInt i = 0; i < n; i++) {
    NNLResult *res;
    assert_int_equal(NNLTaskCompute(job, &grid->points[idx[i]], NULL, NULL, &res), 0);
    assert_int_equal(NNLStoreCommit(st, &grid->points[idx[i]], res), 0);
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLStoreFinishRun(st, "complete"), 0);
  assert_int_equal(NNLStoreClose(&st), 0);
  assert_null(st);
}

/* No -wal/-shm beside dir's store: a closed store is back in rollback-journal mode, so readers
   (export, status, merge inputs on read-only media) leave nothing behind. */
static void AssertNoSideFiles(const char *dir)
{
  char side[600];
  snprintf(side, sizeof(side), "%s/%s-wal", dir, NNL_STORE_FILE);
  if (!access(side, F_OK)) fail_msg("%s left behind", side);
  snprintf(side, sizeof(side), "%s/%s-shm", dir, NNL_STORE_FILE);
  if (!access(side, F_OK)) fail_msg("%s left behind", side);
}

/* Export table of dir into a malloc'd string. */
static char *ExportOf(const char *dir, const char *table)
{
  NNLStore st  = NULL;
  char    *buf = NULL;
  size_t   len = 0;
  FILE    *out = open_memstream(&buf, &len);
  assert_int_equal(NNLStoreOpenRead(dir, &st), 0);
  assert_int_equal(NNLStoreExport(st, table, out), 0);
  assert_int_equal(NNLStoreClose(&st), 0);
  fclose(out);
  return buf;
}

/* Pack then unpack gives back every field exactly; a wrong length is refused.
   Catches: an array left out of the message, a layer index, status, time or message garbled in
   transit, a point that failed before its first recorded layer (nrec = 0) lost on its way to the
   store, a truncated or overlong message accepted as a result. */
static void test_pack_roundtrip(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res, *back, *empty, *none = NULL;
  double    *buf;
  PetscInt   len;

  assert_int_equal(
    TestJob("-family mlp -grid_width 8 -grid_depth 4 -grid_seed 3 -inputs 3 -input_dim 4", &job,
            &grid),
    0);
  assert_int_equal(NNLPointCompute(job, &grid->points[0], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
  res->status     = NNL_STATUS_FAILED;
  res->dead_layer = 2;
  res->seconds    = 0.1234567890123;
  snprintf(res->message, sizeof(res->message), "a message");
  len = NNLResultPackedLength(res);
  buf = malloc(sizeof(double) * (size_t)(len + 40));
  assert_int_equal(NNLResultPack(res, buf), 0);
  assert_int_equal(NNLResultUnpack(buf, len, &back), 0);
  assert_int_equal(back->point, res->point);
  assert_int_equal(back->status, NNL_STATUS_FAILED);
  assert_int_equal(back->dead_layer, 2);
  assert_true(back->seconds == res->seconds);
  assert_int_equal(back->nrec, 4);
  assert_int_equal(back->m, 3);
  assert_string_equal(back->message, "a message");
  assert_memory_equal(back->layers, res->layers, sizeof(PetscInt) * 4);
  assert_memory_equal(back->gram, res->gram, sizeof(double) * 4 * 6);
  assert_memory_equal(back->lognorm, res->lognorm, sizeof(double) * 4 * 3);
  assert_memory_equal(back->lognorm_post, res->lognorm_post, sizeof(double) * 4 * 3);
  assert_memory_equal(back->kurtosis, res->kurtosis, sizeof(double) * 4 * 3);
  assert_memory_equal(back->ks, res->ks, sizeof(double) * 3);
  NNLResultDestroy(&back);
  buf[len] = 0;
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLResultUnpack(buf, len - 1, &none), 0);
  assert_int_not_equal(NNLResultUnpack(buf, len + 1, &none), 0);
  assert_int_not_equal(NNLResultUnpack(buf, 3, &none), 0);
  PetscPopErrorHandler();
  assert_null(none);
  /* nothing recorded (a point that failed before its first recorded layer) */
  assert_int_equal(NNLResultCreate(0, 2, &empty), 0);
  empty->point      = 7;
  empty->status     = NNL_STATUS_FAILED;
  empty->dead_layer = 0;
  empty->ks[0]      = 0.25;
  empty->ks[1]      = NAN;
  snprintf(empty->message, sizeof(empty->message), "overflow before layer 1");
  len = NNLResultPackedLength(empty);
  assert_int_equal(NNLResultPack(empty, buf), 0);
  assert_int_equal(NNLResultUnpack(buf, len, &back), 0);
  assert_int_equal(back->nrec, 0);
  assert_int_equal(back->m, 2);
  assert_int_equal(back->point, 7);
  assert_int_equal(back->status, NNL_STATUS_FAILED);
  assert_int_equal(back->dead_layer, 0);
  assert_string_equal(back->message, "overflow before layer 1");
  assert_memory_equal(back->ks, empty->ks, sizeof(double) * 2);
  NNLResultDestroy(&back);
  /* The message goes as its bytes to the NUL: none takes no room; 255 bytes (the most) take 32
     doubles, 7 take 1. A message sent whole, or cut short, or left unterminated fails these. */
  for (int t = 0; t < 3; t++) {
    const PetscInt bytes[3] = {0, 7, 255}, doubles[3] = {0, 1, 32};
    PetscInt       base;
    memset(empty->message, 0, sizeof(empty->message));
    base = NNLResultPackedLength(empty);
    memset(empty->message, 'a' + t, (size_t)bytes[t]);
    len = NNLResultPackedLength(empty);
    assert_int_equal(len - base, doubles[t]);
    memset(buf, 0xff, sizeof(double) * (size_t)(len + 40));
    assert_int_equal(NNLResultPack(empty, buf), 0);
    assert_int_equal(NNLResultUnpack(buf, len, &back), 0);
    assert_string_equal(back->message, empty->message);
    assert_int_equal(strlen(back->message), bytes[t]);
    NNLResultDestroy(&back);
  }
  NNLResultDestroy(&empty);
  NNLResultDestroy(&res);
  free(buf);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

static int CmpU64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The store's committed ids are exactly the points idx[0..n) of grid. */
static void ExpectIds(NNLStore st, const NNLGrid *grid, PetscInt n, const PetscInt *idx)
{
  PetscInt  cnt;
  uint64_t *ids, want[16];

  assert_true(n <= 16);
  assert_int_equal(NNLStoreCommittedIds(st, &cnt, &ids), 0);
  assert_int_equal(cnt, n);
  for (PetscInt i = 0; i < n; i++) want[i] = grid->points[idx[i]].id;
  qsort(ids, (size_t)n, sizeof(uint64_t), CmpU64);
  qsort(want, (size_t)n, sizeof(uint64_t), CmpU64);
  assert_memory_equal(ids, want, sizeof(uint64_t) * (size_t)n);
  PetscFree(ids);
}

/* Runs the SQL on the store file in dir; returns the first column of its first row as an integer
 * (0: no row). */
static sqlite3_int64 StoreSQL(const char *dir, const char *sql)
{
  char          file[600];
  sqlite3      *db;
  sqlite3_stmt *q;
  sqlite3_int64 v = 0;

  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  if (sqlite3_step(q) == SQLITE_ROW) v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

/* Committed points are exactly the ones a reopened store reports; a commit that fails — a point
   committed twice with different results, or a new point whose rows clash half way through its
   transaction — is refused, leaves the store as it was, and the store takes the next commit.
   Catches: a commit not made durable, resume recomputing or skipping the wrong points, duplicates
   silently accepted (they would double-count in every mean), a half-written point left behind (no
   ROLLBACK), a store stuck in an open transaction after one failed commit, a closed store left in
   WAL mode. */
static void test_commit_resume(void **state)
{
  NNLJob        *job;
  NNLGrid       *grid;
  NNLStore       st = NULL;
  NNLResult     *res;
  PetscInt       idx[4] = {4, 0, 2, 1};
  char           dir[512];
  char          *before[3], *after;
  const char    *tab[3] = {"gram", "points", "stats"};
  PetscErrorCode ierr;

  Path(dir, sizeof(dir), "resume");
  assert_int_equal(
    TestJob("-family resnet -grid_width 8 -grid_depth 3 -grid_seed 0-6 -grid_activation relu", &job,
            &grid),
    0);
  CommitPoints(job, grid, dir, 3, idx);
  AssertNoSideFiles(dir);
  /* no index on points.ord, which every commit paid for (storeschema.c): a store made before has it
     dropped when a run opens it */
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                                 "tbl_name='points' AND sql IS NOT NULL"),
                   0);
  StoreSQL(dir, "CREATE INDEX points_ord ON points(ord)");
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM sqlite_master WHERE name='points_ord'"), 1);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM sqlite_master WHERE name='points_ord'"), 0);
  ExpectIds(st, grid, 3, idx);
  for (int t = 0; t < 3; t++) before[t] = ExportOf(dir, tab[t]);
  /* the same point again, with the same results: a no-op (a resumed sweep must not die of it); with
     one value changed (another build, another writer): refused */
  assert_int_equal(NNLPointCompute(job, &grid->points[0], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
  assert_int_equal(NNLStoreCommit(st, &grid->points[0], res), 0);
  res->gram[res->nrec * res->m * (res->m + 1) / 2 - 1] *= 1 + 1e-15;
  PetscPushErrorHandler(Record, NULL);
  ierr = NNLStoreCommit(st, &grid->points[0], res);
  PetscPopErrorHandler();
  assert_int_not_equal(ierr, 0);
  res->gram[res->nrec * res->m * (res->m + 1) / 2 - 1] /= 1 + 1e-15;
  res->kurtosis[0] += 1;
  PetscPushErrorHandler(Record, NULL);
  ierr = NNLStoreCommit(st, &grid->points[0], res);
  PetscPopErrorHandler();
  assert_int_not_equal(ierr, 0);
  NNLResultDestroy(&res);
  /* a new point whose second recorded layer repeats the first: its points row is already written
     when its layers are refused */
  assert_int_equal(NNLPointCompute(job, &grid->points[1], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
  assert_true(res->nrec >= 2);
  res->layers[1] = res->layers[0];
  PetscPushErrorHandler(Record, NULL);
  ierr = NNLStoreCommit(st, &grid->points[1], res);
  PetscPopErrorHandler();
  assert_int_not_equal(ierr, 0);
  NNLResultDestroy(&res);
  ExpectIds(st, grid, 3, idx);
  for (int t = 0; t < 3; t++) {
    after = ExportOf(dir, tab[t]);
    assert_string_equal(before[t], after);
    free(after);
  }
  /* the store is not left inside a transaction: the good point commits */
  assert_int_equal(NNLPointCompute(job, &grid->points[1], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
  assert_int_equal(NNLStoreCommit(st, &grid->points[1], res), 0);
  NNLResultDestroy(&res);
  assert_int_equal(NNLStoreClose(&st), 0);
  assert_null(st);
  AssertNoSideFiles(dir);
  assert_int_equal(NNLStoreOpenRead(dir, &st), 0);
  ExpectIds(st, grid, 4, idx);
  assert_int_equal(NNLStoreClose(&st), 0);
  AssertNoSideFiles(dir);
  for (int t = 0; t < 3; t++) free(before[t]);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* A run that stops on an error that is not the store's (rank 0's own task failed):
   NNLStoreMarkFailed marks the run failed and keeps the finished tasks of the open commit group, as
   the store's close does. Catches: the group rolled back with the run's failure (up to 0.25 s of
   finished results lost, which a resume then computes again). */
static void test_mark_failed_keeps_group(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  NNLStore st     = NULL;
  PetscInt idx[2] = {3, 1};
  char     dir[512];

  Path(dir, sizeof(dir), "markfailed");
  assert_int_equal(
    TestJob("-family resnet -grid_width 8 -grid_depth 3 -grid_seed 0-6 -grid_activation relu", &job,
            &grid),
    0);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  for (PetscInt i = 0; i < 2; i++) {
    NNLResult *res;
    assert_int_equal(NNLTaskCompute(job, &grid->points[idx[i]], NULL, NULL, &res), 0);
    assert_int_equal(NNLStoreCommit(st, &grid->points[idx[i]], res), 0);
    NNLResultDestroy(&res);
  }
  /* both in the group, not yet on disk: a group lasts 0.25 s (another connection sees nothing of
   * it) */
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM points"), 0);
  NNLStoreMarkFailed(st);
  assert_int_equal(NNLStoreClose(&st), 0);
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM points"), 2);
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM runs WHERE status='failed'"), 1);
  assert_int_equal(NNLStoreOpenRead(dir, &st), 0);
  ExpectIds(st, grid, 2, idx);
  assert_int_equal(NNLStoreClose(&st), 0);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* A second commit of every kind of task — a network with spectra, a limit, an SDE task with its
   Fokker–Planck density — is a no-op with the same result and refused, the stored rows intact, when
   any one value differs. Catches: a recommit check that knows only some tables (an SDE task's equal
   recommit refused, or a changed spectrum, path or density accepted), a check that leaves the
   stored rows replaced or deleted behind it. */
static void test_recommit_every_kind(void **state)
{
  NNLJob        *job;
  NNLGrid       *grid;
  NNLStore       st = NULL;
  char           dir[512], *before[5];
  const char    *tab[5] = {"gram", "stats", "limits", "sde", "fokker_planck"};
  PetscErrorCode ierr;
  int            seen[3] = {0, 0, 0};

  Path(dir, sizeof(dir), "recommit");
  assert_int_equal(TestJob("-family shaped_mlp,mlp -grid_width 8 -grid_depth 3 -grid_seed 0 "
                           "-grid_activation relu -spectra_layers last "
                           "-sde_paths 3 -sde_dt 0.05 -fp_cells 8",
                           &job, &grid),
                   0);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  for (PetscInt i = 0; i < grid->npoints; i++) {
    NNLResult *res;
    assert_int_equal(NNLTaskCompute(job, &grid->points[i], NULL, NULL, &res), 0);
    assert_int_equal(NNLStoreCommit(st, &grid->points[i], res), 0);
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLStoreClose(&st), 0);
  for (int t = 0; t < 5; t++) before[t] = ExportOf(dir, tab[t]);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  for (PetscInt i = 0; i < grid->npoints; i++) {
    /* the same result: accepted; then one value changed (a fresh result each time), by kind: a
       network's last singular value or its first Gram entry, a limit's first NNGP value, an SDE
       task's first path value or its last density cell */
    for (int change = 0; change < 3; change++) {
      NNLResult *res;
      double    *v = NULL;
      assert_int_equal(NNLTaskCompute(job, &grid->points[i], NULL, NULL, &res), 0);
      if (change == 0) {
        assert_int_equal(NNLStoreCommit(st, &grid->points[i], res), 0);
        seen[res->kind]++;
      } else if (res->kind == NNL_TASK_NETWORK)
        v = change == 1 ? &res->sv[res->nspec * res->nsv - 1] : &res->gram[0];
      else if (res->kind == NNL_TASK_LIMIT)
        v = change == 1 ? &res->gram[0] : NULL; /* q_nngp (an MLP has no ODE) */
      else
        v = change == 1 ? &res->paths[0] : &res->fp[res->nrec * res->ncell - 1];
      if (v) {
        *v = *v * (1 + 1e-12) + 1e-300;
        PetscPushErrorHandler(Record, NULL);
        ierr = NNLStoreCommit(st, &grid->points[i], res);
        PetscPopErrorHandler();
        if (!ierr)
          fail_msg("point %" PetscInt_FMT " (kind %" PetscInt_FMT ") recommitted with change %d", i,
                   res->kind, change);
        assert_non_null(strstr(last, "different results"));
      }
      NNLResultDestroy(&res);
    }
  }
  assert_int_equal(NNLStoreClose(&st), 0);
  assert_true(seen[NNL_TASK_NETWORK] && seen[NNL_TASK_LIMIT] && seen[NNL_TASK_SDE]);
  for (int t = 0; t < 5; t++) {
    char *after = ExportOf(dir, tab[t]);
    assert_string_equal(before[t], after);
    free(after);
    free(before[t]);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Open dir for writing with job (or for reading when job is NULL) and expect a refusal whose
   message contains what; the file's bytes stay as they were, no -wal/-shm appear and the handle
   comes back NULL. */
static PetscErrorCode ExpectRefused(const char *dir, const NNLJob *job, const NNLGrid *grid,
                                    const char *what)
{
  static double  sentinel;
  NNLStore       st = (NNLStore)(void *)&sentinel; /* a stale handle the refused open must clear */
  char           file[600];
  char          *before, *after;
  long           lb, la;
  PetscErrorCode ierr;

  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  before = Slurp(file, &lb);
  assert_non_null(before);
  last[0] = 0;
  PetscPushErrorHandler(Record, NULL);
  ierr = job ? NNLStoreOpen(dir, job, grid, &st) : NNLStoreOpenRead(dir, &st);
  PetscPopErrorHandler();
  if (!ierr)
    fail_msg("%s open of %s accepted, want a refusal naming '%s'", job ? "write" : "read", dir,
             what);
  assert_null(st);
  if (!strstr(last, what)) fail_msg("message '%s' lacks '%s'", last, what);
  after = Slurp(file, &la);
  assert_int_equal(la, lb);
  assert_memory_equal(before, after, (size_t)lb);
  AssertNoSideFiles(dir);
  free(before);
  free(after);
  return ierr;
}

/* Refusals: a different job (naming the option), a different shard, a newer schema, another
   program's SQLite file, a file that is not SQLite at all. Each leaves the file's bytes as they
   were, no -wal/-shm beside it, and a NULL handle. Catches: a resume that mixes two jobs' points, a
   store silently rewritten by an older build, a foreign database written into, a refused run that
   still touches the file or hands back a dangling handle. */
static void test_refusals(void **state)
{
  NNLJob     *job, *other;
  NNLGrid    *grid, *ogrid;
  PetscInt    idx[1] = {0};
  char        dir[512], file[600];
  sqlite3    *db;
  const char *cases[][2] = {{"-grid_seed 1-4", "grid_seed"},
                            {"-grid_seed 0-3 -shard 1/2", "-shard"}};

  Path(dir, sizeof(dir), "refuse");
  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  assert_int_equal(
    TestJob("-family resnet -grid_width 8 -grid_depth 3 -grid_seed 0-3", &job, &grid), 0);
  CommitPoints(job, grid, dir, 1, idx);
  for (int c = 0; c < 2; c++) {
    char opts[256];
    snprintf(opts, sizeof(opts), "-family resnet -grid_width 8 -grid_depth 3 %s", cases[c][0]);
    assert_int_equal(TestJob(opts, &other, &ogrid), 0);
    assert_int_equal(ExpectRefused(dir, other, ogrid, cases[c][1]), PETSC_ERR_USER_INPUT);
    NNLGridDestroy(&ogrid);
    NNLJobDestroy(&other);
  }
  /* the refusals did not spoil the store: the right job still opens it */
  {
    NNLStore st = NULL;
    assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
    ExpectIds(st, grid, 1, idx);
    assert_int_equal(NNLStoreClose(&st), 0);
  }

  /* a store from a newer nnlimits */
  assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
  assert_int_equal(
    sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema'", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_close(db);
  ExpectRefused(dir, job, grid, "newer");
  ExpectRefused(dir, NULL, NULL, "newer");

  /* another program's SQLite database */
  assert_int_equal(unlink(file), 0);
  assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  ExpectRefused(dir, job, grid, "not an nnlimits store");
  ExpectRefused(dir, NULL, NULL, "not an nnlimits store");

  /* a file that is not SQLite at all */
  {
    FILE *f = fopen(file, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
  }
  ExpectRefused(dir, job, grid, "not an nnlimits store");
  ExpectRefused(dir, NULL, NULL, "not an nnlimits store");
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Export: exact headers; the same points committed in another order export to the same bytes; a
   dead network's undefined kurtosis (NaN) is an empty field. Catches: rows in arrival order
   (rank-count dependent output), a header drifting from the contract, "nan" text that breaks
   readers. */
static void test_export(void **state)
{
  NNLJob     *job;
  NNLGrid    *grid;
  PetscInt    fwd[4] = {0, 1, 2, 3}, rev[4] = {3, 2, 1, 0};
  char        a[512], b[512];
  const char *tables[][2] = {
    {"gram", "family,activation,width,depth,seed,layer,t,a,b,q\n"},
    {"points", "family,activation,width,depth,seed,id,status,sampler,dead_layer,message\n"},
    {"stats",
     "family,activation,width,depth,seed,layer,t,input,lognorm,lognorm_post,kurtosis,ks\n"}};

  Path(a, sizeof(a), "export-a");
  Path(b, sizeof(b), "export-b");
  /* width 2, depth 30 ReLU MLP: some seeds die, their kurtosis is NaN */
  assert_int_equal(TestJob("-family mlp -grid_width 2 -grid_depth 30 -grid_seed 0-4 "
                           "-grid_activation relu -record_layers last",
                           &job, &grid),
                   0);
  CommitPoints(job, grid, a, 4, fwd);
  CommitPoints(job, grid, b, 4, rev);
  for (int t = 0; t < 3; t++) {
    char *x = ExportOf(a, tables[t][0]), *y = ExportOf(b, tables[t][0]);
    assert_true(!strncmp(x, tables[t][1], strlen(tables[t][1])));
    assert_string_equal(x, y);
    if (t == 2) {
      assert_non_null(
        strstr(x, ",-inf,-inf,,\n")); /* dead: log-norms -inf, kurtosis and KS empty */
      assert_null(strstr(x, "nan"));
    }
    free(x);
    free(y);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* A hand-made result with NaN and infinite statistics exports exactly: NaN (and "not applicable")
   as an empty field, infinities as inf/-inf, numbers in %.17g; an unknown table is refused naming
   -table. Catches: NaN written as "nan" or "0" (a reader would take it for a number), a value
   rounded on its way out, a KS distance exported for a layer it was not measured at, a mistyped
   -table silently exporting nothing. */
static void test_export_special(void **state)
{
  NNLJob     *job;
  NNLGrid    *grid;
  NNLStore    st = NULL;
  NNLResult  *res;
  FILE       *null;
  char        dir[512], *x;
  const char *gram = "family,activation,width,depth,seed,layer,t,a,b,q\n"
                     "mlp,relu,4,2,0,1,0.5,0,0,0.10000000000000001\n"
                     "mlp,relu,4,2,0,1,0.5,0,1,\n"
                     "mlp,relu,4,2,0,1,0.5,1,1,inf\n"
                     "mlp,relu,4,2,0,2,1,0,0,\n"
                     "mlp,relu,4,2,0,2,1,0,1,-0.5\n"
                     "mlp,relu,4,2,0,2,1,1,1,1\n";
  const char *stats =
    "family,activation,width,depth,seed,layer,t,input,lognorm,lognorm_post,kurtosis,ks\n"
    "mlp,relu,4,2,0,1,0.5,0,,-inf,,\n"
    "mlp,relu,4,2,0,1,0.5,1,-1.5,0.25,3,\n"
    "mlp,relu,4,2,0,2,1,0,2,-inf,,\n"
    "mlp,relu,4,2,0,2,1,1,-2,0.375,-1,0.125\n";
  const double g[12] = {0.1, NAN, INFINITY, NAN, -0.5, 1};
  const double ln[4] = {NAN, -1.5, 2, -2}, lp[4] = {-INFINITY, 0.25, -INFINITY, 0.375},
               ku[4] = {NAN, 3, NAN, -1};

  Path(dir, sizeof(dir), "export-special");
  assert_int_equal(
    TestJob("-family mlp -grid_width 4 -grid_depth 2 -grid_seed 0 -grid_activation relu -inputs 2",
            &job, &grid),
    0);
  assert_int_equal(NNLResultCreate(2, 2, &res), 0);
  res->layers[0] = 1;
  res->layers[1] = 2;
  memcpy(res->gram, g, sizeof(double) * 6);
  memcpy(res->lognorm, ln, sizeof(ln));
  memcpy(res->lognorm_post, lp, sizeof(lp));
  memcpy(res->kurtosis, ku, sizeof(ku));
  res->ks[0] = NAN;
  res->ks[1] = 0.125;
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  assert_int_equal(NNLStoreCommit(st, &grid->points[0], res), 0);
  assert_int_equal(NNLStoreClose(&st), 0);
  x = ExportOf(dir, "gram");
  assert_string_equal(x, gram);
  free(x);
  x = ExportOf(dir, "stats");
  assert_string_equal(x, stats);
  free(x);
  x = ExportOf(dir, "points");
  assert_non_null(strstr(x, ",done,"));
  assert_true(x[strlen(x) - 2] == ','); /* no dead layer: empty */
  free(x);
  assert_int_equal(NNLStoreOpenRead(dir, &st), 0);
  null    = fopen("/dev/null", "w");
  last[0] = 0;
  PetscPushErrorHandler(Record, NULL);
  assert_int_equal(NNLStoreExport(st, "grams", null), PETSC_ERR_USER_INPUT);
  PetscPopErrorHandler();
  fclose(null);
  assert_non_null(strstr(last, "-table"));
  assert_non_null(strstr(last, "gram, points, stats"));
  assert_int_equal(NNLStoreClose(&st), 0);
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* A store whose pairs or array headers were damaged (by hand, a foreign tool, a hostile file) is
   refused by the exports that index by them, with a message, and nothing is read or written out of
   bounds. Catches: export of a store with no pairs (it indexed NULL arrays: UBSan in fuzz_store), a
   pair's k outside 0 .. np − 1 (written to a[k] unchecked) or a hole among them (read
   uninitialised), a network's layer count or input count trusted before its arrays' lengths (an
   allocation of 2^53 bytes, a loop of 10^12 rows). */
static void test_export_damaged(void **state)
{
  static const struct {
    const char *sql, *table, *says;
  } cases[] = {
    {"DELETE FROM pairs", "gram", "no pairs"},
    {"DELETE FROM pairs", "compare", "no pairs"},
    {"DELETE FROM pairs", "stats", "no pairs"},
    {"UPDATE pairs SET k=-1 WHERE k=2", "gram", "each once"},
    {"UPDATE pairs SET k=7 WHERE k=2", "compare", "each once"},
    {"UPDATE pairs SET k=1000000000 WHERE k=0", "stats", "each once"},
    {"UPDATE netlayers SET nrec=2147483647", "gram", "layers array is shorter"},
    {"UPDATE netlayers SET nrec=-3", "stats", "layers array is shorter"},
    {"UPDATE netlayers SET m=1000000000000", "stats", "inputs in a store of 3 pairs"},
    {"UPDATE netlayers SET np=2", "gram", "a network of 2 pairs"},
    {"UPDATE netlayers SET layer=zeroblob(16)||X'000000000000F87F'", "gram",
     "no layer number"}, /* NaN */
    {"UPDATE netlayers SET layer=zeroblob(16)||X'9C7500883CE4377E'", "compare",
     "no layer number"}, /* 1e300 */
  };
  NNLJob  *job;
  NNLGrid *grid;
  FILE    *null = fopen("/dev/null", "w");

  assert_int_equal(
    TestJob("-family mlp -grid_width 4 -grid_depth 3 -grid_seed 0 -grid_activation relu -inputs 2",
            &job, &grid),
    0);
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char           dir[512], file[600], name[32];
    PetscInt       one = 0;
    NNLStore       st  = NULL;
    sqlite3       *db;
    PetscErrorCode ierr;

    snprintf(name, sizeof(name), "damaged-%zu", c);
    Path(dir, sizeof(dir), name);
    CommitPoints(job, grid, dir, 1, &one);
    snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
    assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, cases[c].sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    last[0] = 0;
    PetscPushErrorHandler(Record, NULL);
    if (NNLStoreOpenRead(dir, &st))
      fail_msg("'%s': the store no longer opens: %s", cases[c].sql, last);
    ierr = NNLStoreExport(st, cases[c].table, null);
    PetscPopErrorHandler();
    if (ierr != PETSC_ERR_FILE_UNEXPECTED)
      fail_msg("'%s', then -table %s: error %d, not PETSC_ERR_FILE_UNEXPECTED", cases[c].sql,
               cases[c].table, (int)ierr);
    if (!strstr(last, cases[c].says))
      fail_msg("'%s', then -table %s: said '%s', not '%s'", cases[c].sql, cases[c].table, last,
               cases[c].says);
    assert_int_equal(NNLStoreClose(&st), 0);
  }
  fclose(null);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The rows of an exported table come in canonical order: by the grid order of their point, then by
   the integer columns keycols[0..nkey) (layer, then a, b or input); no row twice. */
static void AssertCanonical(const char *csv, const NNLJob *job, const NNLGrid *grid, int nkey,
                            const int *keycols)
{
  const char *line    = strchr(csv, '\n') + 1; /* past the header */
  long        prev[4] = {-1, -1, -1, -1};
  int         rows    = 0;

  assert_true(nkey <= 3);
  for (; *line; line = strchr(line, '\n') + 1, rows++) {
    char   buf[512], *field[16];
    int    nf = 0, cmp = 0;
    long   key[4] = {-1, -1, -1, -1};
    size_t len    = strcspn(line, "\n");
    assert_true(len < sizeof(buf));
    memcpy(buf, line, len);
    buf[len] = 0;
    /* strtok_r would merge empty fields; split by hand */
    for (char *p = buf; nf < 16; p++) {
      field[nf++] = p;
      p           = strchr(p, ',');
      if (!p) break;
      *p = 0;
    }
    assert_true(nf >= 5);
    for (PetscInt i = 0; i < grid->nnets; i++) {
      const NNLPoint *pt = &grid->points[i];
      if (!strcmp(field[0], NNLFamilies[pt->family]) &&
          !strcmp(field[1], job->act[pt->act].canon) && atol(field[2]) == pt->width &&
          atol(field[3]) == pt->depth && atol(field[4]) == pt->seed)
        key[0] = pt->ord;
    }
    if (key[0] < 0) fail_msg("row %d '%s' is no point of the grid", rows, buf);
    for (int k = 0; k < nkey; k++) key[k + 1] = atol(field[keycols[k]]);
    for (int k = 0; k <= nkey && !cmp; k++) cmp = (key[k] > prev[k]) - (key[k] < prev[k]);
    if (cmp <= 0)
      fail_msg("row %d (%s) is not after the row before it in canonical order", rows, buf);
    memcpy(prev, key, sizeof(key));
  }
  assert_true(rows > 0);
}

/* Merge: two shard stores merge into a store that exports like one store holding every point, in
   either input order, rows in canonical order; merging again changes nothing; the inputs' bytes are
   untouched; stores of different jobs, or a missing input, are refused before the output exists; a
   shard's store is refused as output. Catches: points lost or duplicated by merge, a non-idempotent
   merge (re-submitted Slurm merge step), rows sorted by something other than the grid's order
   (point id, arrival), a merge that writes into its inputs (e.g. switches them to WAL), a refused
   merge that leaves an empty output directory behind for the next step to trip over, a shard store
   turned into one that holds other shards' points under its shard's total (and that the whole job
   then cannot resume). */
static void test_merge(void **state)
{
  NNLJob     *job[2], *whole, *other;
  NNLGrid    *grid[2], *wgrid, *ogrid;
  char        s0[512], s1[512], w[512], m[512], m2[512], o[512], bad[512], gone[512], file[600];
  char       *before[2];
  long        lb[2];
  const char *dirs[2] = {s0, s1}, *rdirs[2] = {s1, s0}, *mixed[2] = {s0, o},
             *missing[2] = {s0, gone};
  const char *tab[3]     = {"gram", "points", "stats"};

  Path(s0, sizeof(s0), "merge-s0");
  Path(s1, sizeof(s1), "merge-s1");
  Path(w, sizeof(w), "merge-whole");
  Path(m, sizeof(m), "merge-out");
  Path(m2, sizeof(m2), "merge-out-reversed");
  Path(o, sizeof(o), "merge-other");
  Path(bad, sizeof(bad), "merge-refused");
  Path(gone, sizeof(gone), "merge-no-such-dir");
  for (int s = 0; s < 2; s++) {
    char     opts[256];
    PetscInt n, *idx;
    snprintf(
      opts, sizeof(opts),
      "-family mlp,resnet -grid_width 4,8 -grid_depth 3 -grid_seed 0-3 -inputs 3 -shard %d/2", s);
    assert_int_equal(TestJob(opts, &job[s], &grid[s]), 0);
    assert_int_equal(NNLGridShard(grid[s], s, 2, &n, &idx), 0);
    assert_true(n > 0);
    CommitPoints(job[s], grid[s], dirs[s], n, idx);
    NNLGridFreeIndices(&idx);
    snprintf(file, sizeof(file), "%s/%s", dirs[s], NNL_STORE_FILE);
    before[s] = Slurp(file, &lb[s]);
  }
  assert_int_equal(
    TestJob("-family mlp,resnet -grid_width 4,8 -grid_depth 3 -grid_seed 0-3 -inputs 3", &whole,
            &wgrid),
    0);
  {
    PetscInt all[80];
    assert_true(wgrid->npoints <= 80);
    for (PetscInt i = 0; i < wgrid->npoints; i++) all[i] = i;
    CommitPoints(whole, wgrid, w, wgrid->npoints, all);
  }
  for (int round = 0; round < 2; round++) {
    assert_int_equal(NNLStoreMerge(2, dirs, m), 0);
    AssertNoSideFiles(m);
    for (int t = 0; t < 3; t++) {
      const int keys[3][3] = {{5, 7, 8}, {0}, {5, 7}}, nkeys[3] = {3, 0, 2};
      char     *x = ExportOf(w, tab[t]), *y = ExportOf(m, tab[t]);
      AssertCanonical(x, whole, wgrid, nkeys[t], keys[t]);
      assert_string_equal(x, y);
      free(x);
      free(y);
    }
  }
  assert_int_equal(NNLStoreMerge(2, rdirs, m2), 0);
  for (int t = 0; t < 3; t++) {
    char *x = ExportOf(w, tab[t]), *y = ExportOf(m2, tab[t]);
    assert_string_equal(x, y);
    free(x);
    free(y);
  }
  /* a shard's store is no merge output: it would hold points outside its shard under a shard's
   * total */
  last[0] = 0;
  PetscPushErrorHandler(Record, NULL);
  assert_int_equal(NNLStoreMerge(1, &dirs[1], s0), PETSC_ERR_USER_INPUT);
  PetscPopErrorHandler();
  if (!strstr(last, "shard 0/2")) fail_msg("message '%s' lacks 'shard 0/2'", last);
  for (int s = 0; s < 2; s++) {
    long  la;
    char *after;
    snprintf(file, sizeof(file), "%s/%s", dirs[s], NNL_STORE_FILE);
    after = Slurp(file, &la);
    assert_int_equal(la, lb[s]);
    assert_memory_equal(before[s], after, (size_t)la);
    AssertNoSideFiles(dirs[s]);
    free(after);
    free(before[s]);
  }
  assert_int_equal(
    TestJob("-family mlp -grid_width 4 -grid_depth 3 -grid_seed 0-3", &other, &ogrid), 0);
  {
    PetscInt one[1] = {0};
    CommitPoints(other, ogrid, o, 1, one);
  }
  last[0] = 0;
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLStoreMerge(2, mixed, bad), 0);
  PetscPopErrorHandler();
  assert_non_null(strstr(last, "different options"));
  assert_int_not_equal(access(bad, F_OK), 0);
  last[0] = 0;
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLStoreMerge(2, missing, bad), 0);
  PetscPopErrorHandler();
  assert_non_null(strstr(last, "not a run directory"));
  assert_int_not_equal(access(bad, F_OK), 0);
  for (int s = 0; s < 2; s++) {
    NNLGridDestroy(&grid[s]);
    NNLJobDestroy(&job[s]);
  }
  NNLGridDestroy(&wgrid);
  NNLJobDestroy(&whole);
  NNLGridDestroy(&ogrid);
  NNLJobDestroy(&other);
}

/* The checkpointer copies committed groups into the store file while the writer is open: after a
   group of 1.5 MB (65 networks of depth 256, every layer) and one more commit 0.3 s later, it has
   run, and the store file (not only its WAL) holds those pages; the store then closes whole.
   Catches: a hook that never wakes the thread, a checkpoint that copies nothing (the file stays at
   its schema's few pages, as with SQLite's autocheckpoint at 64 MB), a thread left running or a
   connection left open at close (the switch out of WAL mode would fail and leave side files).
   SQLite's core mutexes are on (two threads use it, on two connections): a held mutex is busy to
   another try; in single-thread mode every mutex is a no-op and the try succeeds. */
static void test_checkpointer(void **state)
{
  NNLJob     *job  = NULL;
  NNLGrid    *grid = NULL;
  NNLStore    st   = NULL;
  char        dir[512], file[600];
  struct stat sb;
  int         done = -1;
  off_t       before;
  const char *opts = "-family resnet -grid_width 32 -grid_depth 256 -grid_seed 0-65 "
                     "-grid_activation relu -inputs 2 -record_layers all";

  (void)state;
  Path(dir, sizeof(dir), "ckpt");
  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  assert_int_equal(TestJob(opts, &job, &grid), 0);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  assert_non_null(st->ckpt);
  {
    sqlite3_mutex *mu = sqlite3_mutex_alloc(SQLITE_MUTEX_FAST);
    assert_non_null(mu);
    sqlite3_mutex_enter(mu);
    assert_int_equal(sqlite3_mutex_try(mu), SQLITE_BUSY);
    sqlite3_mutex_leave(mu);
    sqlite3_mutex_free(mu);
  }
  for (PetscInt i = 0; i < grid->npoints; i++) {
    NNLResult *res;
    if (i == grid->npoints - 1)
      nanosleep(&(struct timespec){0, 300000000},
                NULL); /* past the group's 0.25 s: this commit ends it */
    assert_int_equal(NNLTaskCompute(job, &grid->points[i], NULL, NULL, &res), 0);
    assert_int_equal(NNLStoreCommit(st, &grid->points[i], res), 0);
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLStoreCkptStop(st, &done), 0); /* joins: a checkpoint asked for has run */
  assert_null(st->ckpt);
  assert_true(done >= 1);
  assert_int_equal(stat(file, &sb), 0);
  before = sb.st_size;
  assert_int_equal(NNLStoreFinishRun(st, "complete"), 0);
  assert_int_equal(NNLStoreClose(&st), 0);
  AssertNoSideFiles(dir);
  assert_int_equal(stat(file, &sb), 0);
  assert_true(sb.st_size > 1000000); /* more than the checkpointer's 1 MB threshold */
  if (before < 0.9 * sb.st_size)
    fail_msg("store file %ld bytes before close, %ld after: the WAL was not copied", (long)before,
             (long)sb.st_size);
  {
    char *csv  = ExportOf(dir, "points");
    int   rows = 0, nets = 0;
    for (char *p = csv; *p; p++) rows += *p == '\n';
    for (PetscInt i = 0; i < grid->npoints; i++) nets += grid->points[i].kind == NNL_TASK_NETWORK;
    assert_int_equal(rows, 1 + nets); /* the header, then a row a network */
    free(csv);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/*
  A store that cannot leave WAL mode at its close (here a reader holds a snapshot; a full disk fails
  the final checkpoint the same way) says so on stderr, naming the -wal file that holds its last
  commits, and the next writer's close folds them in: no side files, no warning. Catches the
  PRAGMA's failure ignored (a run of a full disk said 'finished', exit 0, and its store file alone
  was malformed).
*/
static void test_leave_wal(void **state)
{
  NNLJob  *job  = NULL;
  NNLGrid *grid = NULL;
  NNLStore st   = NULL;
  sqlite3 *rd   = NULL;
  char     dir[512], file[600], errf[600], side[620], *err;
  long     len;
  PetscInt idx[2] = {0, 1};
  int      saved, fd;

  (void)state;
  Path(dir, sizeof(dir), "leavewal");
  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  snprintf(errf, sizeof(errf), "%s.err", dir);
  snprintf(side, sizeof(side), "%s-wal", file);
  assert_int_equal(
    TestJob("-family resnet -grid_width 8 -grid_depth 3 -grid_seed 0-4 -grid_activation relu", &job,
            &grid),
    0);
  CommitPoints(job, grid, dir, 1, idx);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  {
    NNLResult *res;
    assert_int_equal(NNLTaskCompute(job, &grid->points[1], NULL, NULL, &res), 0);
    assert_int_equal(NNLStoreCommit(st, &grid->points[1], res), 0);
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLStoreFinishRun(st, "complete"), 0);
  /* a reader's snapshot: its read transaction stays open until COMMIT */
  assert_int_equal(sqlite3_open_v2(file, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM points", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_busy_timeout(st->db, 0); /* not the store's 60 s */
  fflush(stderr);
  saved = dup(2);
  fd    = open(errf, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  assert_int_equal(NNLStoreClose(&st), 0);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(rd);
  err = Slurp(errf, &len);
  assert_non_null(err);
  if (!strstr(err, "warning: the store's last commits stay in") || !strstr(err, side) ||
      !strstr(err, "waits for a reader"))
    fail_msg("no warning of the store left in WAL mode: '%s'", err);
  free(err);
  assert_int_equal(access(side, F_OK), 0);
  /* the next writer folds the WAL in */
  CommitPoints(job, grid, dir, 0, idx);
  AssertNoSideFiles(dir);
  assert_int_equal(StoreSQL(dir, "SELECT count(*) FROM points WHERE kind = 'network'"), 2);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pack_roundtrip), cmocka_unit_test(test_commit_resume),
    cmocka_unit_test(test_refusals),       cmocka_unit_test(test_export),
    cmocka_unit_test(test_export_special), cmocka_unit_test(test_export_damaged),
    cmocka_unit_test(test_merge),          cmocka_unit_test(test_recommit_every_kind),
    cmocka_unit_test(test_checkpointer),   cmocka_unit_test(test_mark_failed_keeps_group),
    cmocka_unit_test(test_leave_wal),
  };
  int  rc;
  char cmd[300];

  snprintf(scratch, sizeof(scratch), "/tmp/nnl-test-store-XXXXXX");
  if (!mkdtemp(scratch)) return 1;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", scratch);
  return rc;
}
