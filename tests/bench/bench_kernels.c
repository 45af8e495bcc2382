/* Benchmark (prints key=value figures, asserts nothing): normal generator, DGEMM peak, dense and
   projection sampler per layer against their bounds. One process, one core (the script sets
   OPENBLAS_NUM_THREADS=1). Every time is the best of many short repetitions, so that a shared
   machine's preemptions drop out. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include <petscsys.h>
#include "rngkernel.h"
#include "nnlimits/grid.h"
#include "nnlimits/net.h"
#include "nnlimits/rng.h"

typedef void (*BenchFn)(void *ctx);

/**
  @brief Best wall time best[k] of one call fn(ctx[k]), k < n, the n called in turn, over
  repetitions lasting about `budget` seconds per context (at least 3 rounds): a burst of load on a
  shared host then hits every context alike.
*/
static void BestTimes(BenchFn fn, void *const ctx[], int n, double budget, double best[])
{
  double start;
  int    reps = 0;

  for (int k = 0; k < n; k++) {
    best[k] = 1e300;
    fn(ctx[k]); /* warm caches and page in buffers */
  }
  start = MPI_Wtime();
  while (reps < 3 || MPI_Wtime() - start < n * budget) {
    for (int k = 0; k < n; k++) {
      double t0 = MPI_Wtime(), t;
      fn(ctx[k]);
      t = MPI_Wtime() - t0;
      if (t < best[k]) best[k] = t;
    }
    reps++;
  }
}

/** @brief Best wall time of one call of fn over repetitions lasting about `budget` seconds in all
 * (at least 3). */
static double BestTime(BenchFn fn, void *ctx, double budget)
{
  double best;

  BestTimes(fn, &ctx, 1, budget, &best);
  return best;
}

typedef struct {
  size_t  n;
  double *z;
  int     uniform;
} RngCtx;

static void RunRng(void *c)
{
  RngCtx      *r = (RngCtx *)c;
  NNLRngStream s;

  NNLRngStreamInit(&s, 1, 2, 3, NNL_PURPOSE_TEST);
  if (r->uniform)
    NNLRngUniforms(&s, 0, r->n, r->z);
  else
    NNLRngNormals(&s, 0, r->n, r->z);
}

typedef struct {
  int     m, n, k;
  double *A, *B, *C;
} GemmCtx;

static void RunGemm(void *c)
{
  GemmCtx *g = (GemmCtx *)c;
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0, g->A, g->m, g->B,
              g->k, 0.0, g->C, g->m);
}

typedef struct {
  const NNLJob   *job;
  const NNLPoint *pt;
  NNLSamplerType  sampler;
} NetCtx;

static void RunNet(void *c)
{
  NetCtx    *x   = (NetCtx *)c;
  NNLResult *res = NULL;

  if (NNLPointCompute(x->job, x->pt, x->sampler, NULL, NULL, &res) || NNLResultDestroy(&res))
    PETSCABORT(PETSC_COMM_SELF, 1);
}

typedef struct {
  size_t  n;
  double *a, *b, *c;
} TriadCtx;

static void RunTriad(void *c)
{
  TriadCtx *t = (TriadCtx *)c;
  for (size_t i = 0; i < t->n; i++) t->a[i] = t->b[i] + 0.5 * t->c[i];
}

/* The Philox words alone (the kernel's first half, no transform): one 64-bit word per normal. */
typedef struct {
  size_t    n;
  uint64_t *w;
} WordsCtx;

static void RunWords(void *c)
{
  WordsCtx           *r      = (WordsCtx *)c;
  const NNLRngKernel *k      = NNLRngKernelGet();
  const uint64_t      key[2] = {1, 2};

  for (size_t b = 0; b < r->n / 4; b += NNL_RNG_BATCH)
    k->words(key, 3, 4, b, NNL_RNG_ONE_STREAM, NNL_RNG_BATCH, r->w, r->w + 2 * NNL_RNG_BATCH);
}

/* Normals and uniforms per second with every kernel this CPU has (the default is the first that
   works), and the Philox words alone: a normal costs one word plus the ziggurat's work on it, so
   words/s bounds normals/s. */
static PetscErrorCode BenchRng(double budget)
{
  const char *names[] = {"avx512", "avx2", "portable"};
  RngCtx      r       = {1 << 14, NULL, 0};
  uint64_t    wbuf[4 * NNL_RNG_BATCH];
  WordsCtx    w = {1 << 14, wbuf};

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(r.n, &r.z));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "bench=rng default_kernel=%s\n", NNLRngKernelName()));
  for (int k = 0; k < 3; k++) {
    double tn, tu, tw;
    if (NNLRngUseKernel(names[k])) {
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "bench=rng kernel=%s supported=0\n", names[k]));
      continue;
    }
    r.uniform = 0;
    tn        = BestTime(RunRng, &r, budget);
    r.uniform = 1;
    tu        = BestTime(RunRng, &r, budget);
    tw        = BestTime(RunWords, &w, budget);
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "bench=rng kernel=%s normals_per_s=%.4g uniforms_per_s=%.4g "
                          "words_per_s=%.4g ns_per_normal=%.3f "
                          "ns_words=%.3f ns_transform=%.3f\n",
                          names[k], r.n / tn, r.n / tu, w.n / tw, 1e9 * tn / r.n, 1e9 * tw / w.n,
                          1e9 * (tn / r.n - tw / w.n)));
  }
  (void)NNLRngUseKernel(NULL);
  PetscCall(PetscFree(r.z));
  PetscFunctionReturn(0);
}

static PetscErrorCode GemmAlloc(GemmCtx *g, int m, int n, int k)
{
  PetscFunctionBegin;
  g->m = m;
  g->n = n;
  g->k = k;
  PetscCall(PetscMalloc3((size_t)m * k, &g->A, (size_t)k * n, &g->B, (size_t)m * n, &g->C));
  for (size_t i = 0; i < (size_t)m * k; i++) g->A[i] = 1.0 / (1.0 + (double)(i % 97));
  for (size_t i = 0; i < (size_t)k * n; i++) g->B[i] = 1.0 / (1.0 + (double)(i % 89));
  PetscFunctionReturn(0);
}

/* This core's DGEMM peak: OpenBLAS on square matrices large enough to run at full speed. */
static PetscErrorCode BenchPeak(double budget, double *peak)
{
  GemmCtx g;
  double  t;

  PetscFunctionBegin;
  PetscCall(GemmAlloc(&g, 1024, 1024, 1024));
  t     = BestTime(RunGemm, &g, budget);
  *peak = 2.0 * 1024 * 1024 * 1024 / t * 1e-9;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "bench=dgemm_peak n=1024 threads=1 gflops=%.3f\n", *peak));
  PetscCall(PetscFree3(g.A, g.B, g.C));
  PetscFunctionReturn(0);
}

/* A one-point job: family, width n, depth L, m inputs, last layer recorded only (one observation).
 */
static PetscErrorCode NetJob(const char *family, PetscInt n, PetscInt L, PetscInt m, NNLJob **job,
                             NNLGrid **grid)
{
  char opts[512];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(opts, sizeof(opts),
                          "-family %s -grid_width %" PetscInt_FMT " -grid_depth %" PetscInt_FMT
                          " -grid_seed 0 -grid_activation relu -inputs %" PetscInt_FMT
                          " -input_dim 16 -record_layers last",
                          family, n, L, m));
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, opts));
  PetscCall(NNLJobCreate(PETSC_COMM_SELF, job));
  PetscCall(NNLGridCreate(*job, PETSC_TRUE, grid));
  PetscFunctionReturn(0);
}

/**
  @brief Time of one layer of an MLP (relu) of width n with m inputs: the time of a network of depth
  4L minus that of depth L, over 3L, so that what a point does once (set-up, inputs, the last
  layer's statistics and normality test) cancels and the sampler's layer step remains (sampling,
  activation, dead check). The two networks run alternately and each keeps its best time, so that a
  burst of load on a shared host hits both alike (a difference of two best-of times taken apart had
  come out below the layer's own normals).
*/
static PetscErrorCode LayerTime(const char *family, PetscInt n, PetscInt L, PetscInt m,
                                NNLSamplerType sampler, double budget, double *tl)
{
  NNLJob  *job[2];
  NNLGrid *grid[2];
  NetCtx   x[2];
  void    *ctx[2] = {&x[0], &x[1]};
  double   best[2];

  PetscFunctionBegin;
  for (int k = 0; k < 2; k++) {
    PetscCall(NetJob(family, n, k ? 4 * L : L, m, &job[k], &grid[k]));
    x[k] = (NetCtx){job[k], &grid[k]->points[0], sampler};
  }
  BestTimes(RunNet, ctx, 2, budget, best);
  for (int k = 0; k < 2; k++) {
    PetscCall(NNLGridDestroy(&grid[k]));
    PetscCall(NNLJobDestroy(&job[k]));
  }
  *tl = (best[1] - best[0]) / (double)(3 * L);
  PetscFunctionReturn(0);
}

/* Dense sampler: per-layer time against the time of its n² normals plus its n×n by n×m DGEMM. */
static PetscErrorCode BenchDense(double budget, double peak)
{
  const PetscInt widths[] = {256, 512, 1024, 2048}, m = 4, L = 8;

  PetscFunctionBegin;
  for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
    PetscInt n = widths[i];
    RngCtx   r = {(size_t)(n * n), NULL, 0};
    GemmCtx  g;
    double   tl, tn, tg, flops = 2.0 * n * n * m;
    PetscCall(LayerTime("mlp", n, L, m, NNL_SAMPLER_DENSE, budget, &tl));
    PetscCall(PetscMalloc1(r.n, &r.z));
    tn = BestTime(RunRng, &r, budget);
    PetscCall(PetscFree(r.z));
    PetscCall(GemmAlloc(&g, (int)n, (int)m, (int)n));
    tg = BestTime(RunGemm, &g, budget);
    PetscCall(PetscFree3(g.A, g.B, g.C));
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "bench=dense_layer family=mlp n=%" PetscInt_FMT " m=%" PetscInt_FMT
                          " layer_us=%.2f normals_us=%.2f dgemm_us=%.2f "
                          "ratio=%.3f target_ratio=1.5 gflops=%.3f frac_peak=%.4f\n",
                          n, m, 1e6 * tl, 1e6 * tn, 1e6 * tg, tl / (tn + tg), flops / tl * 1e-9,
                          flops / tl * 1e-9 / peak));
  }
  PetscFunctionReturn(0);
}

/* n normals drawn 1024 at a time into one buffer that stays in L1, as the fused layer draws them:
   their compute alone, where RunRng's array of n past the caches adds its writes to memory. */
static void RunRngL1(void *c)
{
  RngCtx      *r = (RngCtx *)c;
  NNLRngStream s;

  NNLRngStreamInit(&s, 1, 2, 3, NNL_PURPOSE_TEST);
  for (size_t i = 0; i < r->n; i += 1024) NNLRngNormals(&s, i, PetscMin(1024, r->n - i), r->z);
}

/* Projection sampler at m ≪ n, a layer that nothing observes (record_layers last): per-layer time
   against (a) its n·m normals (drawn in L1, as the layer draws them: compute), (b) its memory
   traffic at the triad bandwidth measured on arrays of the same size, (c) their sum, (d) the larger
   of the two (the roofline: the layer cannot be faster than its normals or its traffic). Doubles
   moved per layer (src/net.c, Streams): an MLP's none (Y and Phi stay in L1 block by block, the
   next layer reading only their Gram), a ResNet's 2nm (its stream Y, read and written; Phi stays in
   L1). Before such layers stayed in L1 every layer moved 3nm, and the steps one after the other
   7nm. The widths: in L1/L2, in L3, and past this machine's L3 (2^23 × 4 doubles: 256 MB an array).
 */
static PetscErrorCode BenchProjection(double budget, double peak, PetscInt nw,
                                      const PetscInt widths[])
{
  const PetscInt m = 4, L = 8;
  const char    *families[] = {"mlp", "resnet"};
  const double   words[]    = {0.0, 2.0};

  PetscFunctionBegin;
  for (PetscInt i = 0; i < nw; i++)
    for (int f = 0; f < 2; f++) {
      PetscInt n = widths[i];
      RngCtx   r = {(size_t)(n * m), NULL, 0};
      TriadCtx t = {(size_t)(n * m), NULL, NULL, NULL};
      double   tl, tn, tt, bw, tbytes, flops = 2.0 * n * m * m + 1.0 * n * m * (m + 1);
      PetscCall(LayerTime(families[f], n, L, m, NNL_SAMPLER_PROJECTION, budget, &tl));
      PetscCall(PetscMalloc1(1024, &r.z));
      tn = BestTime(RunRngL1, &r, budget);
      PetscCall(PetscFree(r.z));
      PetscCall(PetscMalloc3(t.n, &t.a, t.n, &t.b, t.n, &t.c));
      for (size_t k = 0; k < t.n; k++) t.b[k] = t.c[k] = 1.0;
      tt = BestTime(RunTriad, &t, budget);
      PetscCall(PetscFree3(t.a, t.b, t.c));
      bw     = 3.0 * 8.0 * (double)(n * m) / tt; /* bytes/s: two arrays read, one written */
      tbytes = words[f] * 8.0 * (double)(n * m) / bw;
      PetscCall(PetscPrintf(PETSC_COMM_SELF,
                            "bench=projection_layer family=%s n=%" PetscInt_FMT " m=%" PetscInt_FMT
                            " layer_us=%.3f normals_us=%.3f words_per_element=%g "
                            "traffic_bound_us=%.3f triad_gbs=%.2f ratio_normals=%.3f ",
                            families[f], n, m, 1e6 * tl, 1e6 * tn, words[f], 1e6 * tbytes,
                            bw * 1e-9, tl / tn));
      if (tbytes > 0)
        PetscCall(PetscPrintf(PETSC_COMM_SELF,
                              "ratio_traffic=%.3f ratio_traffic_plus_normals=%.3f ", tl / tbytes,
                              tl / (tbytes + tn)));
      PetscCall(PetscPrintf(
        PETSC_COMM_SELF, "ratio_roofline=%.3f target_ratio=2 gflops=%.3f frac_peak=%.4f\n",
        tl / (tbytes > tn ? tbytes : tn), flops / tl * 1e-9, flops / tl * 1e-9 / peak));
    }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  double    budget = 0.5, peak = 0;
  PetscBool flg;
  PetscInt  widths[8] = {1024, 16384, 262144, 8388608}, nw = 8;

  PetscCall(PetscInitialize(
    &argc, &argv, NULL,
    "bench_kernels [-budget seconds per measurement] [-projection_widths n,n,...]"));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-budget", &budget, &flg));
  PetscCall(PetscOptionsClearValue(NULL, "-budget"));
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-projection_widths", widths, &nw, &flg));
  if (!flg) nw = 4;
  PetscCall(BenchRng(budget));
  PetscCall(BenchPeak(budget, &peak));
  PetscCall(BenchDense(budget, peak));
  PetscCall(BenchProjection(budget, peak, nw, widths));
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscFinalize());
  return 0;
}
