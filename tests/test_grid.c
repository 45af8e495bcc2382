/* Grid expansion, canonical order, stable ids, sharding and integer-list parsing. */
// ctest-label: unit
#include <string.h>
#include "testutil.h"
#include "parse.h"
#include "nnlimits/rng.h"

/* Expansion follows family, activation, width, depth, seed with seed fastest, then one limit task
   per (family, activation, depth) in that order; catches a reordered loop, a limit per width or
   seed, or a limit missing. */
static void test_canonical_order(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  assert_int_equal(
    TestJob(
      "-family mlp,resnet -grid_activation relu,tanh -grid_width 8,16 -grid_depth 3 -grid_seed 0-3",
      &job, &grid),
    0);
  assert_int_equal(grid->nnets, 2 * 2 * 2 * 1 * 3);
  assert_int_equal(grid->nlimits, 2 * 2 * 1);
  assert_int_equal(grid->npoints, grid->nnets + grid->nlimits);
  for (PetscInt i = 0; i < grid->npoints; i++)
    assert_int_equal(grid->points[i].kind, i < grid->nnets ? NNL_TASK_NETWORK : NNL_TASK_LIMIT);
  assert_int_equal(grid->points[grid->nnets + 1].act, 1);
  assert_int_equal(grid->points[grid->nnets + 2].family, NNL_FAMILY_RESNET);
  assert_int_equal(grid->points[grid->nnets + 2].depth, 3);
  assert_int_equal(grid->points[0].seed, 0);
  assert_int_equal(grid->points[1].seed, 1);
  assert_int_equal(grid->points[3].width, 16);
  assert_int_equal(grid->points[6].act, 1);
  assert_int_equal(grid->points[12].family, NNL_FAMILY_RESNET);
  for (PetscInt i = 0; i < grid->npoints; i++) assert_int_equal(grid->points[i].ord, i);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* A point's id depends only on its own parameters: adding axis values or reordering them leaves it
   unchanged. Catches ids built from the position in the grid (which would break resume and merge).
 */
static void test_ids_stable(void **state)
{
  NNLJob  *j1, *j2;
  NNLGrid *g1, *g2;
  assert_int_equal(
    TestJob("-family resnet -grid_activation relu -grid_width 8 -grid_depth 3 -grid_seed 5", &j1,
            &g1),
    0);
  assert_int_equal(TestJob("-family mlp,resnet -grid_activation tanh,relu -grid_width 32,8 "
                           "-grid_depth 9,3 -grid_seed 0-10",
                           &j2, &g2),
                   0);
  {
    PetscInt hits = 0;
    for (PetscInt i = 0; i < g2->npoints; i++) hits += g2->points[i].id == g1->points[0].id;
    assert_int_equal(hits, 1);
  }
  /* The id of this point is frozen: stores written by earlier versions must still resume. */
  {
    char canon[256];
    NNLPointCanonical(j1, &g1->points[0], canon, sizeof(canon));
    assert_string_equal(canon, "family=resnet;activation=relu;width=8;depth=3;seed=5");
  }
  NNLGridDestroy(&g1);
  NNLGridDestroy(&g2);
  NNLJobDestroy(&j1);
  NNLJobDestroy(&j2);
}

/* A worker's grid is not expanded: it decodes point k from its cell. Every field of every point
   (networks, limits and SDE tasks; several families, activations with parameters, seeds out of
   order and past 2^31 / 10 digits) must equal the expanded grid's, and every id the hash of the
   point's canonical text, frozen for one point. Catches a wrong cell or seed for k, a prefix cut
   short or long, a digit string unlike printf's, and a cell whose cost or memory is not its
   points'. */
/* Every point of lazy decoded, in ascending, descending and a scattered order (k -> 7k mod n), has
   the id and seed of full's (its expanded twin). */
static void ExpectDecodedInOrders(const NNLGrid *full, const NNLGrid *lazy)
{
  PetscInt n = full->npoints;

  assert_true(n % 7 != 0);
  for (int order = 0; order < 3; order++)
    for (PetscInt i = 0; i < n; i++) {
      PetscInt k = order == 0 ? i : order == 1 ? n - 1 - i : (PetscInt)((7 * (int64_t)i) % n);
      NNLPoint b;
      NNLGridPoint(lazy, k, &b);
      assert_true(b.id == full->points[k].id);
      assert_int_equal(b.seed, full->points[k].seed);
      assert_int_equal(b.ord, k);
    }
}

static void test_decode_equals_expanded(void **state)
{
  NNLJob  *job;
  NNLGrid *full, *lazy;
  char     canon[512];

  assert_int_equal(TestJob("-family mlp,resnet -grid_activation relu,tanh,leaky_relu:0.2 "
                           "-grid_width 3,8 -grid_depth 4,1,2 "
                           "-grid_seed 7,0,10,999999,1234567890 -sde_paths 4",
                           &job, &full),
                   0);
  assert_int_equal(NNLGridCreate(job, PETSC_FALSE, &lazy), 0);
  assert_null(lazy->points);
  assert_int_equal(lazy->npoints, full->npoints);
  assert_true(full->nsde > 0);
  assert_int_equal(lazy->ncells, 2 * 3 * 2 * 3 + full->nlimits + full->nsde);
  for (PetscInt k = 0; k < full->npoints; k++) {
    NNLPoint a = full->points[k], b;
    NNLGridPoint(lazy, k, &b);
    assert_int_equal(a.ord, k);
    assert_true(a.id == b.id);
    assert_int_equal(a.ord, b.ord);
    assert_int_equal(a.kind, b.kind);
    assert_int_equal(a.family, b.family);
    assert_int_equal(a.act, b.act);
    assert_int_equal(a.width, b.width);
    assert_int_equal(a.depth, b.depth);
    assert_int_equal(a.seed, b.seed);
    assert_true(a.cost == b.cost && a.mem == b.mem);
    NNLPointCanonical(job, &a, canon, sizeof(canon));
    assert_true(a.id == NNLHash64(canon, strlen(canon)));
  }
  ExpectDecodedInOrders(full, lazy);
  NNLGridDestroy(&full);
  NNLGridDestroy(&lazy);
  NNLJobDestroy(&job);
  /* The decoder remembers its last cell and tens of seeds: every cell holds seeds 12 and 13 (one
     tens), so that remembering across cells gives the next cell's 12 the last one's id. */
  assert_int_equal(TestJob("-family mlp,resnet -grid_activation relu -grid_width 3,8 -grid_depth "
                           "2,5 -grid_seed 12,13,0,99,100",
                           &job, &full),
                   0);
  assert_int_equal(NNLGridCreate(job, PETSC_FALSE, &lazy), 0);
  ExpectDecodedInOrders(full, lazy);
  NNLGridDestroy(&full);
  NNLGridDestroy(&lazy);
  NNLJobDestroy(&job);
  /* Seeds in a progression are decoded as seed0 + j·step, others read from the job: a range,
     descending ones, a step of 10^9 (up to 2·10^9 + 1), and lists that
     leave a progression at their last seed or their third. Catches a progression taken for one it
     is not (a check that stops early, or none), a wrong first seed or step, and an overflow. */
  {
    static const char *seeds[] = {"0-40",
                                  "30,25,20,15,10,5,0",
                                  "21,19,17,15,13,11,9",
                                  "1,1000000001,2000000001",
                                  "0,1,2,3,4,5,6,7,8,9,10,12",
                                  "3,5,8,10,12,14,16"};
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
      char opts[256];
      snprintf(opts, sizeof(opts),
               "-family mlp,resnet -grid_activation relu -grid_width 3 -grid_depth 2,5 "
               "-grid_seed %s",
               seeds[i]);
      assert_int_equal(TestJob(opts, &job, &full), 0);
      assert_int_equal(NNLGridCreate(job, PETSC_FALSE, &lazy), 0);
      ExpectDecodedInOrders(full, lazy);
      for (PetscInt k = 0; k < full->nnets; k++) /* the expanded grid is decoded too */
        assert_int_equal(full->points[k].seed, job->seed[k % job->nseed]);
      NNLGridDestroy(&full);
      NNLGridDestroy(&lazy);
      NNLJobDestroy(&job);
    }
  }
  /* NNLGridCheckIds finds two points of one id, wherever they fall: a grid of 3·10^5 points (2^16
     buckets of ~4 ids), its ids checked clean, then again after a cell is given another's prefix
     (its 10^5 points then collide with that cell's), and in 20 trials where one seed is made
     another's (the seeds are only read at decoding: one collision in each of the three cells, each
     time in other buckets). Catches a cell or bucket left unchecked, and buckets left unsorted (two
     equal ids among a bucket's others are next to each other in some trials only). */
  assert_int_equal(
    TestJob("-family mlp -grid_activation relu -grid_width 4,5,6 -grid_depth 2 -grid_seed 0-100000",
            &job, NULL),
    0);
  assert_int_equal(NNLGridCreate(job, PETSC_FALSE, &lazy), 0);
  assert_int_equal(NNLGridCheckIds(lazy), 0);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  {
    uint64_t keep   = lazy->prefix[2];
    lazy->prefix[2] = lazy->prefix[0];
    assert_int_not_equal(NNLGridCheckIds(lazy), 0);
    lazy->prefix[2] = keep;
    assert_int_equal(NNLGridCheckIds(lazy), 0);
    for (PetscInt t = 0; t < 20; t++) {
      PetscInt i = 7 + 1013 * t, j = 50000 + 1777 * t;
      keep         = (uint64_t)job->seed[j];
      job->seed[j] = job->seed[i];
      assert_int_not_equal(NNLGridCheckIds(lazy), 0);
      job->seed[j] = (PetscInt)keep;
    }
    assert_int_equal(NNLGridCheckIds(lazy), 0);
  }
  PetscPopErrorHandler();
  NNLGridDestroy(&lazy);
  NNLJobDestroy(&job);
  /* NNLGridCheckIds on ids set by hand (an expanded grid's): 301 ids that share their top bits fill
     one bucket, which must be sorted before its neighbours are compared; distinct, none is
     reported; two equal ones 247 apart (the ids descend, so that the bucket is not sorted already)
     are, and so are the two largest (the last two once sorted). Then 4 ids a bucket, in order: the
     first and last equal. Catches a large bucket left unsorted (its ids are compared only with the
     next 7), and the array's last ids or a bucket left out of the comparison. */
  assert_int_equal(
    TestJob("-family mlp -grid_activation relu -grid_width 4 -grid_depth 2 -grid_seed 0-300", &job,
            &full),
    0);
  assert_int_equal(full->npoints, 301);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  for (PetscInt k = 0; k < full->npoints; k++) full->points[k].id = 5000 - 3 * (uint64_t)k;
  assert_int_equal(NNLGridCheckIds(full), 0);
  full->points[250].id = full->points[3].id;
  assert_int_not_equal(NNLGridCheckIds(full), 0);
  full->points[250].id = 5000 - 3 * 250;
  full->points[1].id   = full->points[0].id;
  assert_int_not_equal(NNLGridCheckIds(full), 0);
  for (PetscInt k = 0; k < full->npoints; k++) full->points[k].id = ((uint64_t)k << 55) | 1;
  assert_int_equal(NNLGridCheckIds(full), 0);
  full->points[0].id = full->points[300].id;
  assert_int_not_equal(NNLGridCheckIds(full), 0);
  PetscPopErrorHandler();
  NNLGridDestroy(&full);
  NNLJobDestroy(&job);
  /* the id of this point is frozen: stores written by earlier versions must still resume */
  assert_int_equal(
    TestJob("-family resnet -grid_activation relu -grid_width 8 -grid_depth 3 -grid_seed 5", &job,
            &lazy),
    0);
  assert_true(lazy->points[0].id == 0xb80e81a717edc62eULL);
  NNLGridDestroy(&lazy);
  NNLJobDestroy(&job);
}

/* Shards partition the grid, each sorted by decreasing cost, with balanced cost.
   Catches lost or duplicated points across shards and a shard holding all the large points. */
static PetscErrorCode RecordShard(void *ctx, PetscInt point, PetscInt shard)
{
  ((PetscInt *)ctx)[point] = shard;
  return 0;
}

static void test_shards_partition_and_balance(void **state)
{
  NNLJob   *job;
  NNLGrid  *grid;
  PetscInt *seen;
  const int k       = 4;
  double    load[4] = {0}, max = 0, min = 1e300, big = 0;
  assert_int_equal(TestJob("-family resnet -grid_activation relu -grid_width 16,64,256 -grid_depth "
                           "4,16,64 -grid_seed 0-20",
                           &job, &grid),
                   0);
  seen = calloc((size_t)grid->npoints, sizeof(PetscInt));
  for (int s = 0; s < k; s++) {
    PetscInt n, *idx;
    assert_int_equal(NNLGridShard(grid, s, k, &n, &idx), 0);
    for (PetscInt i = 0; i < n; i++) {
      seen[idx[i]]++;
      load[s] += grid->points[idx[i]].cost;
      if (i) assert_true(grid->points[idx[i]].cost <= grid->points[idx[i - 1]].cost);
    }
    NNLGridFreeIndices(&idx);
  }
  for (PetscInt i = 0; i < grid->npoints; i++) {
    assert_int_equal(seen[i], 1);
    if (grid->points[i].cost > big) big = grid->points[i].cost;
  }
  for (int s = 0; s < k; s++)
    max = load[s] > max ? load[s] : max, min = load[s] < min ? load[s] : min;
  /* LPT guarantee: the spread is at most the largest single point. */
  assert_true(max - min <= big);
  /* one pass (plan's) assigns as NNLGridShard does, shard by shard */
  memset(seen, 0xff, sizeof(PetscInt) * (size_t)grid->npoints);
  assert_int_equal(NNLGridShardEach(grid, k, RecordShard, seen), 0);
  for (int s = 0; s < k; s++) {
    PetscInt n, *idx;
    assert_int_equal(NNLGridShard(grid, s, k, &n, &idx), 0);
    for (PetscInt i = 0; i < n; i++) assert_int_equal(seen[idx[i]], s);
    NNLGridFreeIndices(&idx);
  }
  /* More shards than points: shards past the points' count are empty, and no memory grows with k (a
     heap of k bins took 34 GB at k = 2^31 - 1) */
  {
    PetscInt n, big_k = 2147483647;
    assert_int_equal(NNLGridShard(grid, 0, big_k, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(NNLGridShard(grid, grid->npoints - 1, big_k, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(NNLGridShard(grid, grid->npoints, big_k, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(NNLGridShard(grid, big_k - 1, big_k, &n, NULL), 0);
    assert_int_equal(n, 0);
  }
  free(seen);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* NNLGridOrderTiesById (a large store's hand-out order, grid.c): a permutation of the shard's
   points, still by decreasing cost, each run of equal cost in the order of its ids' top bits (here
   at least the sign: SQLite's signed INTEGER order), and the same order from a lazy grid (ids
   computed a cell's seeds at a time) as from the expanded one. Catches a reordering across costs
   (the schedule's balance), a lost or repeated point, and lazy ids that are not the points'. */
static void test_order_ties_by_id(void **state)
{
  NNLJob  *job;
  NNLGrid *full, *lazy;
  PetscInt n, n2, *a, *b;
  char    *seen;
  PetscInt runs = 0;

  assert_int_equal(
    TestJob("-family mlp,resnet -grid_activation relu -grid_width 8,16 -grid_depth 2 "
            "-grid_seed 0-9000",
            &job, &full),
    0);
  assert_int_equal(NNLGridCreate(job, PETSC_FALSE, &lazy), 0);
  assert_int_equal(NNLGridShard(full, 0, 1, &n, &a), 0);
  assert_int_equal(NNLGridShard(lazy, 0, 1, &n2, &b), 0);
  assert_int_equal(n, n2);
  assert_int_equal(NNLGridOrderTiesById(full, n, a), 0);
  assert_int_equal(NNLGridOrderTiesById(lazy, n, b), 0);
  seen = calloc((size_t)n, 1);
  for (PetscInt i = 0; i < n; i++) {
    assert_int_equal(a[i], b[i]);
    assert_true(a[i] >= 0 && a[i] < n && !seen[a[i]]);
    seen[a[i]] = 1;
    if (i && full->points[a[i]].cost > full->points[a[i - 1]].cost)
      fail_msg("position %d: cost %g after %g", (int)i, full->points[a[i]].cost,
               full->points[a[i - 1]].cost);
    if (i && full->points[a[i]].cost == full->points[a[i - 1]].cost) {
      const int64_t x = (int64_t)full->points[a[i]].id, y = (int64_t)full->points[a[i - 1]].id;
      if (x < 0 && y >= 0) fail_msg("position %d: a negative id after a positive one", (int)i);
      if (x >= 0 && y < 0) runs++;
    }
  }
  assert_true(runs >= 4); /* each cell's seeds: negative ids, then positive */
  free(seen);
  NNLGridFreeIndices(&a);
  NNLGridFreeIndices(&b);
  NNLGridDestroy(&full);
  NNLGridDestroy(&lazy);
  NNLJobDestroy(&job);
}

/* The cost model grows with width and depth and prefers projection when m < n; catches a flat model
   that would make scheduling order and shard balance meaningless. */
static void test_cost_model(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  assert_int_equal(
    TestJob("-family mlp -grid_activation relu -grid_width 16,256 -grid_depth 4,64 -grid_seed 0",
            &job, &grid),
    0);
  assert_true(grid->points[1].cost > grid->points[0].cost); /* deeper */
  assert_true(grid->points[2].cost > grid->points[0].cost); /* wider */
  assert_int_equal(NNLPointSampler(job, &grid->points[0]), NNL_SAMPLER_PROJECTION);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
  assert_int_equal(TestJob("-family mlp -grid_activation relu -grid_width 4 -grid_depth 4 "
                           "-grid_seed 0 -inputs 4 -input_dim 4",
                           &job, &grid),
                   0);
  assert_int_equal(NNLPointSampler(job, &grid->points[0]), NNL_SAMPLER_DENSE); /* m >= n */
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The model against what this machine measured (tests/bench/fit_cost_model.py, 2026-12): 10^5 tiny
   networks (mlp, width 16, depth 4, one input) took ~1 µs each and ~4.4 µs a commit, and a row of
   the store besides the point's ~0.81-0.93 µs (jobs/makwana_2025_effective_dimension.opts: 3840
   spectrum rows a network). Catches fixed costs back at the former fit's 11.7 µs a tiny task, and a
   commit priced by bytes alone (0.2 µs a spectrum row). */
static void test_cost_model_fixed(void **state)
{
  NNLJob  *job, *spec;
  NNLGrid *grid, *sgrid;
  assert_int_equal(TestJob("-family mlp -grid_activation relu -grid_width 16 -grid_depth 4 "
                           "-grid_seed 0 -inputs 1 -record_layers last",
                           &job, &grid),
                   0);
  assert_true(grid->points[0].cost > 2e3 && grid->points[0].cost < 1e4);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
  /* width 128, depth 30, 64 inputs: per spectra layer 2 summary rows and 64 + 64 values, 30 layers
   */
  assert_int_equal(TestJob("-family mlp -grid_activation relu -grid_width 128 -grid_depth 30 "
                           "-grid_seed 0 -inputs 64 -input_dim 64 -record_layers last",
                           &job, &grid),
                   0);
  assert_int_equal(
    TestJob("-family mlp -grid_activation relu -grid_width 128 -grid_depth 30 -grid_seed 0 -inputs "
            "64 -input_dim 64 -record_layers last -spectra_layers all",
            &spec, &sgrid),
    0);
  assert_true(sgrid->points[0].cost - grid->points[0].cost > 0.6e3 * 30 * (2 + 64 + 64));
  NNLGridDestroy(&grid);
  NNLGridDestroy(&sgrid);
  NNLJobDestroy(&job);
  NNLJobDestroy(&spec);
}

/* Integer lists follow PETSc's reading (a-b excludes b) and compact back to one canonical spelling.
 */
static void test_int_lists(void **state)
{
  PetscInt *v, n;
  char     *s;
  assert_int_equal(NNLParseIntList("-x", "1,2,5-8,-3", -10, &v, &n), 0);
  assert_int_equal(n, 6);
  assert_int_equal(v[2], 5);
  assert_int_equal(v[4], 7);
  assert_int_equal(v[5], -3);
  assert_int_equal(NNLFormatIntList(v, n, &s), 0);
  assert_string_equal(s, "1,2,5-8,-3");
  PetscFree(s);
  PetscFree(v);
  assert_int_equal(NNLParseIntList("-x", "0-64", 0, &v, &n), 0);
  assert_int_equal(n, 64);
  assert_int_equal(v[63], 63);
  PetscFree(v);
  assert_int_equal(NNLParseIntList("-x", " 8, 16 ,5-8", 0, &v, &n),
                   0); /* spaced, as YAML is written ("8, 16") */
  assert_int_equal(n, 5);
  assert_int_equal(v[1], 16);
  assert_int_equal(v[4], 7);
  PetscFree(v);
  {
    char   **w;
    PetscInt nw;
    assert_int_equal(NNLParseWords("-x", "relu, tanh ,erf", &w, &nw), 0);
    assert_int_equal(nw, 3);
    assert_string_equal(w[0], "relu");
    assert_string_equal(w[1], "tanh");
    assert_string_equal(w[2], "erf");
    NNLParseFreeWords(&w, nw);
  }
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(NNLParseIntList("-x", "1, ,2", 0, &v, &n), 0);
  /* LLONG_MAX + 1 overflowed: the value dropped out of the list silently (an axis could end up
   * empty) */
  assert_int_not_equal(NNLParseIntList("-x", "5,9223372036854775807", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "9223372036854775807", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "2147483648", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "1,,2", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "abc", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "5-5", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "3,3", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "0", 1, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "1.5", 0, &v, &n), 0);
  assert_int_not_equal(NNLParseIntList("-x", "", 0, &v, &n), 0);
  PetscPopErrorHandler();
}

/* Recorded layers: all, last, K log-spaced (ends included, ascending, no duplicates). */
static void test_record_layers(void **state)
{
  NNLJob  *job;
  PetscInt n, *l;
  assert_int_equal(TestJob("-record_layers 5", &job, NULL), 0);
  assert_int_equal(NNLJobRecordLayers(job, NNL_FAMILY_MLP, 100, &n, &l), 0);
  assert_int_equal(n, 5);
  assert_int_equal(l[0], 1);
  assert_int_equal(l[4], 100);
  for (PetscInt i = 1; i < n; i++) assert_true(l[i] > l[i - 1]);
  PetscFree(l);
  assert_int_equal(NNLJobRecordLayers(job, NNL_FAMILY_RESNET, 3, &n, &l), 0);
  assert_int_equal(l[0], 0);
  assert_int_equal(l[n - 1], 3);
  for (PetscInt i = 1; i < n; i++) assert_true(l[i] > l[i - 1]);
  PetscFree(l);
  NNLJobDestroy(&job);
  assert_int_equal(TestJob("-record_layers all", &job, NULL), 0);
  assert_int_equal(NNLJobRecordLayers(job, NNL_FAMILY_RESNET, 7, &n, &l), 0);
  assert_int_equal(n, 8);
  PetscFree(l);
  NNLJobDestroy(&job);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_canonical_order),
    cmocka_unit_test(test_ids_stable),
    cmocka_unit_test(test_decode_equals_expanded),
    cmocka_unit_test(test_shards_partition_and_balance),
    cmocka_unit_test(test_order_ties_by_id),
    cmocka_unit_test(test_cost_model),
    cmocka_unit_test(test_cost_model_fixed),
    cmocka_unit_test(test_int_lists),
    cmocka_unit_test(test_record_layers),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
