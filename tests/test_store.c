// ctest-label: unit
/* The run store: result packing, commit and resume, refusals that leave the file untouched, export, merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "testutil.h"
#include "nnlimits/store.h"
#include "error.h"

static char scratch[256]; /* one directory per test program run */
static char last[1024];

static PetscErrorCode Record(MPI_Comm c, int l, const char *f, const char *fi, PetscErrorCode n, PetscErrorType p,
                             const char *m, void *ctx)
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
  fclose(f);
  return buf;
}

/* Commit points idx[0..n) of the job's grid into dir. */
static void CommitPoints(NNLJob *job, NNLGrid *grid, const char *dir, PetscInt n, const PetscInt *idx)
{
  NNLStore st = NULL;
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  for (PetscInt i = 0; i < n; i++) {
    NNLResult *res;
    assert_int_equal(NNLPointCompute(job, &grid->points[idx[i]], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    assert_int_equal(NNLStoreCommit(st, &grid->points[idx[i]], res), 0);
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLStoreFinishRun(st, "complete"), 0);
  assert_int_equal(NNLStoreClose(&st), 0);
  assert_null(st);
}

/* Export table of dir into a malloc'd string. */
static char *ExportOf(const char *dir, const char *table)
{
  NNLStore st = NULL;
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
   Catches: an array left out of the message, a layer index or status garbled in transit. */
static void test_pack_roundtrip(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res, *back, *empty;
  double    *buf;
  PetscInt   len;

  assert_int_equal(TestJob("-family mlp -grid_width 8 -grid_depth 4 -grid_seed 3 -inputs 3 -input_dim 4", &job, &grid), 0);
  assert_int_equal(NNLPointCompute(job, &grid->points[0], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
  res->status     = NNL_STATUS_FAILED;
  res->dead_layer = 2;
  snprintf(res->message, sizeof(res->message), "a message");
  len = NNLResultPackedSize(res->nrec, res->m);
  buf = malloc(sizeof(double) * (size_t)len);
  assert_int_equal(NNLResultPack(res, buf), 0);
  assert_int_equal(NNLResultUnpack(buf, len, &back), 0);
  assert_int_equal(back->point, res->point);
  assert_int_equal(back->status, NNL_STATUS_FAILED);
  assert_int_equal(back->dead_layer, 2);
  assert_int_equal(back->nrec, 4);
  assert_string_equal(back->message, "a message");
  assert_memory_equal(back->layers, res->layers, sizeof(PetscInt) * 4);
  assert_memory_equal(back->gram, res->gram, sizeof(double) * 4 * 6);
  assert_memory_equal(back->lognorm, res->lognorm, sizeof(double) * 4 * 3);
  assert_memory_equal(back->lognorm_post, res->lognorm_post, sizeof(double) * 4 * 3);
  assert_memory_equal(back->kurtosis, res->kurtosis, sizeof(double) * 4 * 3);
  assert_memory_equal(back->ks, res->ks, sizeof(double) * 3);
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLResultUnpack(buf, len - 1, &empty), 0);
  PetscPopErrorHandler();
  NNLResultDestroy(&back);
  /* nothing recorded (a point that failed before its first recorded layer) */
  assert_int_equal(NNLResultCreate(0, 2, &empty), 0);
  len = NNLResultPackedSize(0, 2);
  assert_int_equal(NNLResultPack(empty, buf), 0);
  assert_int_equal(NNLResultUnpack(buf, len, &back), 0);
  assert_int_equal(back->nrec, 0);
  NNLResultDestroy(&back);
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

/* Committed points are exactly the ones a reopened store reports; a point committed twice is refused and leaves
   the store as it was. Catches: a commit not made durable, resume recomputing or skipping the wrong points,
   duplicates silently accepted (they would double-count in every mean). */
static void test_commit_resume(void **state)
{
  NNLJob        *job;
  NNLGrid       *grid;
  NNLStore       st = NULL;
  NNLResult     *res;
  PetscInt       idx[3] = {4, 0, 2}, n;
  uint64_t      *ids, want[3];
  char           dir[512];
  char          *before, *after;
  PetscErrorCode ierr;

  Path(dir, sizeof(dir), "resume");
  assert_int_equal(TestJob("-family resnet -grid_width 8 -grid_depth 3 -grid_seed 0-6 -grid_activation relu", &job, &grid), 0);
  CommitPoints(job, grid, dir, 3, idx);
  assert_int_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  assert_int_equal(NNLStoreCommittedIds(st, &n, &ids), 0);
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) want[i] = grid->points[idx[i]].id;
  qsort(ids, 3, sizeof(uint64_t), CmpU64);
  qsort(want, 3, sizeof(uint64_t), CmpU64);
  assert_memory_equal(ids, want, sizeof(want));
  free(ids);
  before = ExportOf(dir, "gram");
  assert_int_equal(NNLPointCompute(job, &grid->points[0], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
  PetscPushErrorHandler(Record, NULL);
  ierr = NNLStoreCommit(st, &grid->points[0], res);
  PetscPopErrorHandler();
  assert_int_not_equal(ierr, 0);
  NNLResultDestroy(&res);
  assert_int_equal(NNLStoreClose(&st), 0);
  after = ExportOf(dir, "gram");
  assert_string_equal(before, after);
  free(before);
  free(after);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Refusals: a different job (naming the option), a different shard, a newer schema, a file that is not a store.
   Each leaves the file's bytes as they were, no -wal/-shm beside it, and a NULL handle.
   Catches: a resume that mixes two jobs' points, a store silently rewritten by an older build, a refused run that
   still touches the file. */
static void test_refusals(void **state)
{
  NNLJob     *job, *other;
  NNLGrid    *grid, *ogrid;
  NNLStore    st = NULL;
  PetscInt    idx[1] = {0};
  char        dir[512], file[600], side[640];
  char       *before, *after;
  long        lb, la;
  sqlite3    *db;
  const char *cases[][2] = {{"-grid_seed 0-4", "grid_seed"}, {"-grid_seed 0-3 -shard 1/2", "-shard"}};

  Path(dir, sizeof(dir), "refuse");
  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  assert_int_equal(TestJob("-family resnet -grid_width 8 -grid_depth 3 -grid_seed 0-3", &job, &grid), 0);
  CommitPoints(job, grid, dir, 1, idx);
  before = Slurp(file, &lb);
  for (int c = 0; c < 2; c++) {
    char opts[256];
    snprintf(opts, sizeof(opts), "-family resnet -grid_width 8 -grid_depth 3 %s", cases[c][0]);
    assert_int_equal(TestJob(opts, &other, &ogrid), 0);
    last[0] = 0;
    PetscPushErrorHandler(Record, NULL);
    assert_int_equal(NNLStoreOpen(dir, other, ogrid, &st), PETSC_ERR_USER_INPUT);
    PetscPopErrorHandler();
    assert_null(st);
    if (!strstr(last, cases[c][1])) fail_msg("'%s': message '%s' lacks '%s'", cases[c][0], last, cases[c][1]);
    NNLGridDestroy(&ogrid);
    NNLJobDestroy(&other);
  }
  after = Slurp(file, &la);
  assert_int_equal(la, lb);
  assert_memory_equal(before, after, (size_t)lb);
  free(after);
  snprintf(side, sizeof(side), "%s-wal", file);
  assert_int_not_equal(access(side, F_OK), 0);
  snprintf(side, sizeof(side), "%s-shm", file);
  assert_int_not_equal(access(side, F_OK), 0);

  /* a store from a newer nnlimits */
  assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema'", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  assert_non_null(strstr(last, "newer"));
  assert_int_not_equal(NNLStoreOpenRead(dir, &st), 0);
  assert_non_null(strstr(last, "newer"));
  PetscPopErrorHandler();
  assert_null(st);

  /* a file that is not a store */
  {
    FILE *f = fopen(file, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
  }
  free(before);
  before = Slurp(file, &lb);
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLStoreOpen(dir, job, grid, &st), 0);
  PetscPopErrorHandler();
  assert_null(st);
  assert_non_null(strstr(last, "not an nnlimits store"));
  after = Slurp(file, &la);
  assert_int_equal(la, lb);
  assert_memory_equal(before, after, (size_t)lb);
  free(before);
  free(after);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Export: exact headers; the same points committed in another order export to the same bytes; a dead network's
   undefined kurtosis (NaN) is an empty field. Catches: rows in arrival order (rank-count dependent output), a
   header drifting from the contract, "nan" text that breaks readers. */
static void test_export(void **state)
{
  NNLJob     *job;
  NNLGrid    *grid;
  PetscInt    fwd[4] = {0, 1, 2, 3}, rev[4] = {3, 2, 1, 0};
  char        a[512], b[512];
  const char *tables[][2] = {{"gram", "family,activation,width,depth,seed,layer,t,a,b,q\n"},
                             {"points", "family,activation,width,depth,seed,id,status,sampler,dead_layer\n"},
                             {"stats", "family,activation,width,depth,seed,layer,t,input,lognorm,lognorm_post,kurtosis,ks\n"}};

  Path(a, sizeof(a), "export-a");
  Path(b, sizeof(b), "export-b");
  /* width 2, depth 30 ReLU MLP: some seeds die, their kurtosis is NaN */
  assert_int_equal(TestJob("-family mlp -grid_width 2 -grid_depth 30 -grid_seed 0-4 -grid_activation relu -record_layers last",
                           &job, &grid), 0);
  CommitPoints(job, grid, a, 4, fwd);
  CommitPoints(job, grid, b, 4, rev);
  for (int t = 0; t < 3; t++) {
    char *x = ExportOf(a, tables[t][0]), *y = ExportOf(b, tables[t][0]);
    assert_true(!strncmp(x, tables[t][1], strlen(tables[t][1])));
    assert_string_equal(x, y);
    if (t == 2) {
      assert_non_null(strstr(x, ",-inf,-inf,,\n")); /* dead: log-norms -inf, kurtosis and KS empty */
      assert_null(strstr(x, "nan"));
    }
    free(x);
    free(y);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Merge: two shard stores merge into a store that exports like one store holding every point; merging again
   changes nothing; stores of different jobs are refused before the output exists.
   Catches: points lost or duplicated by merge, a non-idempotent merge (re-submitted Slurm merge step). */
static void test_merge(void **state)
{
  NNLJob     *job[2], *whole, *other;
  NNLGrid    *grid[2], *wgrid, *ogrid;
  char        s0[512], s1[512], w[512], m[512], o[512], bad[512];
  const char *dirs[2] = {s0, s1}, *mixed[2] = {s0, o};

  Path(s0, sizeof(s0), "merge-s0");
  Path(s1, sizeof(s1), "merge-s1");
  Path(w, sizeof(w), "merge-whole");
  Path(m, sizeof(m), "merge-out");
  Path(o, sizeof(o), "merge-other");
  Path(bad, sizeof(bad), "merge-refused");
  for (int s = 0; s < 2; s++) {
    char     opts[256];
    PetscInt n, *idx;
    snprintf(opts, sizeof(opts), "-family mlp,resnet -grid_width 4,8 -grid_depth 3 -grid_seed 0-3 -shard %d/2", s);
    assert_int_equal(TestJob(opts, &job[s], &grid[s]), 0);
    assert_int_equal(NNLGridShard(grid[s], s, 2, &n, &idx), 0);
    CommitPoints(job[s], grid[s], dirs[s], n, idx);
    PetscFree(idx);
  }
  assert_int_equal(TestJob("-family mlp,resnet -grid_width 4,8 -grid_depth 3 -grid_seed 0-3", &whole, &wgrid), 0);
  {
    PetscInt all[48];
    for (PetscInt i = 0; i < wgrid->npoints; i++) all[i] = i;
    CommitPoints(whole, wgrid, w, wgrid->npoints, all);
  }
  for (int round = 0; round < 2; round++) {
    assert_int_equal(NNLStoreMerge(2, dirs, m), 0);
    for (int t = 0; t < 3; t++) {
      const char *tab[] = {"gram", "points", "stats"};
      char       *x = ExportOf(w, tab[t]), *y = ExportOf(m, tab[t]);
      assert_string_equal(x, y);
      free(x);
      free(y);
    }
  }
  assert_int_equal(TestJob("-family mlp -grid_width 4 -grid_depth 3 -grid_seed 0-3", &other, &ogrid), 0);
  {
    PetscInt one[1] = {0};
    CommitPoints(other, ogrid, o, 1, one);
  }
  PetscPushErrorHandler(Record, NULL);
  assert_int_not_equal(NNLStoreMerge(2, mixed, bad), 0);
  PetscPopErrorHandler();
  assert_non_null(strstr(last, "different options"));
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

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pack_roundtrip), cmocka_unit_test(test_commit_resume), cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_export),         cmocka_unit_test(test_merge),
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
