/* The SDE integrator (src/sde.c) and the Fokker–Planck solver (src/fokker_planck.c):
   Euler–Maruyama's strong and weak orders on geometric Brownian motion (exact solution), mass
   conservation of the PDE, and the PDE density against SDE paths — of the 1-D correlation diffusion
   and of the shaped-MLP covariance SDE task (which checks the Itô reduction of MATH.md §2 from V to
   ρ). Fixed seeds: every number is deterministic. */
// ctest-label: unit
#include <string.h>
#include "testutil.h"
#include "simd.h"
#include "sdelanes.h"
#include "nnlimits/sde.h"
#include "nnlimits/laws.h"
#include "nnlimits/fokker_planck.h"

/* GBM dX = μX dt + σX dW, X_0 = 1: X_T = exp((μ − σ²/2)T + σW_T). */
typedef struct {
  double mu, sigma;
} GBM;

static PetscErrorCode GBMDrift(void *ctx, double t, const double *x, double *f)
{
  f[0] = ((GBM *)ctx)->mu * x[0];
  return 0;
}

static PetscErrorCode GBMNoise(void *ctx, double t, const double *x, const double *dW, double *g)
{
  g[0] = ((GBM *)ctx)->sigma * x[0] * dW[0];
  return 0;
}

/* Least-squares slope of log y against log x. */
static double Slope(int n, const double *x, const double *y)
{
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < n; i++) {
    double a = log(x[i]), b = log(y[i]);
    sx += a, sy += b, sxx += a * a, sxy += a * b;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

#define FINE                                                                                       \
  4096 /* fine steps on [0, 1]: every level's increments are sums of these (one Brownian path per  \
          level) */
#define NLEVEL 6 /* coarse steps h = 2^-3 … 2^-8 */
#define NPATH  4000

/* Strong order: E|X^h_T − X_T| ~ C h^{1/2}; weak order: E[X^h_T − X_T] = (1 + μh)^{1/h} − e^μ
   (exact for GBM, as E X^h_T = (1 + μh)^N) ~ C h. Both errors are estimated on the same Brownian
   paths as the exact solution, so the weak error's Monte Carlo noise is that of X^h_T − X_T
   (small), not of X_T. Tolerances: see the asserts. */
static void test_em_orders_gbm(void **state)
{
  GBM          p   = {0.5, 0.5};
  NNLSDE       sde = {1, 1, GBMDrift, GBMNoise, NULL, &p, NULL, NULL};
  double       h[NLEVEL], strong[NLEVEL], weak[NLEVEL], exact[NLEVEL];
  Moments      ms[NLEVEL] = {{0}}, mw[NLEVEL] = {{0}};
  double       dW, tmp, WT, work[2], *fine = malloc(sizeof(double) * FINE);
  const double hf = 1.0 / FINE;

  for (int path = 0; path < NPATH; path++) {
    /* the fine increments once; a coarse one is their sum, as NNLSDEIncrement(k > 1) gives it
     * (test_increments) */
    WT = 0;
    for (int i = 0; i < FINE; i++) {
      NNLSDEIncrement(7, 42, 1, path, i, 1, hf, &fine[i], &tmp);
      WT += fine[i];
    }
    for (int l = 0; l < NLEVEL; l++) {
      int    k = FINE >> (l + 3), N = FINE / k;
      double x = 1, xT = exp((p.mu - 0.5 * p.sigma * p.sigma) + p.sigma * WT);
      h[l] = 1.0 / N;
      for (int i = 0; i < N; i++) {
        dW = 0;
        for (int j = 0; j < k; j++) dW += fine[i * k + j];
        assert_int_equal(NNLSDEStepEM(&sde, i * h[l], h[l], &dW, &x, work), 0);
      }
      MomentsAdd(&ms[l], fabs(x - xT));
      MomentsAdd(&mw[l], x - xT);
    }
  }
  for (int l = 0; l < NLEVEL; l++) {
    char what[64];
    strong[l] = ms[l].mean;
    weak[l]   = -mw[l].mean;
    exact[l]  = exp(p.mu) - pow(1 + p.mu * h[l], 1 / h[l]);
    snprintf(what, sizeof(what), "weak error at h = %g", h[l]);
    ASSERT_WITHIN_4SE(what, weak[l], exact[l], MomentsSE(&mw[l]));
  }
  free(fine);
  {
    double ss = Slope(NLEVEL, h, strong), sw = Slope(NLEVEL, h, weak);
    print_message("em_orders strong_slope=%.4f weak_slope=%.4f exact_weak_slope=%.4f\n", ss, sw,
                  Slope(NLEVEL, h, exact));
    if (fabs(ss - 0.5) > 0.05) fail_msg("strong order: fitted slope %.4f, expected 0.5", ss);
    if (fabs(sw - 1.0) > 0.1) fail_msg("weak order: fitted slope %.4f, expected 1", sw);
  }
}

/* A coarse increment is the sum of its fine ones up to rounding; paths and steps use different
   numbers. Catches: an offset that ignores the path or the step (two paths or steps sharing
   numbers). */
static void test_increments(void **state)
{
  double a, b, c, tmp[3], p0[3], p1[3];
  NNLSDEIncrement(1, 2, 1, 5, 10, 1, 1.0, &a, tmp);
  NNLSDEIncrement(1, 2, 1, 5, 11, 1, 1.0, &b, tmp);
  NNLSDEIncrement(1, 2, 1, 5, 10, 2, 1.0, &c, tmp);
  assert_true(fabs(a + b - c) <= 1e-15 * (fabs(a) + fabs(b)));
  NNLSDEIncrement(1, 2, 3, 0, 0, 1, 1.0, p0, tmp);
  NNLSDEIncrement(1, 2, 3, 1, 0, 1, 1.0, p1, tmp);
  assert_true(a != b && p0[0] != p1[0] && p0[2] != p1[0]);
}

/* This release's cell edges in ρ, for n cells (the caller frees). */
static double *Edges(PetscInt n)
{
  double *e = malloc(sizeof(double) * (n + 1));
  for (PetscInt i = 0; i <= n; i++) e[i] = NNLFokkerPlanckEdge(NNL_FP_GRID, i, n);
  return e;
}

/* Fokker–Planck: mass is 1 to rounding at every time (zero-flux boundaries, conservative form), the
   density is non-negative, and its cdf is within KS distance crit + 0.005 of 10000 Euler–Maruyama
   paths of the same diffusion at t = 0.5 and at t = 4. crit = the 1e-4 level of the one-sample KS
   statistic, √(−½ ln(5e-5))/√10000 = 0.0222; 0.005 is the allowance for the two O(dt, h)
   discretisations (EM dt = 1e-3, PDE h = 28/400 in atanh ρ and backward Euler dt = 5e-4). Two
   drifts: c₊ − c₋ = 1 (jobs/li_nica_roy_2022_shaped.opts) and 3. At t = 4 the shaped ρ piles up
   within 1e-3 of 1: cells uniform in ρ (0.005 wide, the grid before NNL_FP_GRID) gave KS 0.185
   there. Catches: a flux sign, an Itô vs Stratonovich term (the −½ρ(1−ρ²) drift, the +ρ of the
   change to z = atanh ρ), a drift at the wrong face, lost mass, a grid too coarse where ρ piles up.
 */
static void test_fokker_planck_vs_sde(void **state)
{
  const PetscInt ncell = 400, P = 10000;
  const double   t[4] = {0.0, 0.25, 0.5, 4.0}, dc[2] = {1.0, 3.0},
               crit = sqrt(-0.5 * log(1e-4 / 2)) / sqrt((double)P);
  double *dens, *x, *edge = Edges(ncell);

  dens = malloc(sizeof(double) * 4 * ncell);
  x    = malloc(sizeof(double) * P);
  for (int c = 0; c < 2; c++) {
    double    k = dc[c] * dc[c] / (2 * M_PI), ks, w1;
    PetscBool ok;
    char      msg[256];
    NNLSDE    sde;
    assert_int_equal(NNLFokkerPlanckSolve(k, 0.5, ncell, 4, t, NULL, dens, &ok, msg, sizeof(msg),
                                          NULL, NULL, NULL),
                     0);
    if (!ok) fail_msg("%s", msg);
    for (int j = 0; j < 4; j++) {
      double mass = 0;
      for (int i = 0; i < ncell; i++) {
        assert_true(dens[j * ncell + i] >= -1e-14);
        mass += dens[j * ncell + i] * (edge[i + 1] - edge[i]);
      }
      if (fabs(mass - 1) > 1e-12) fail_msg("mass at t = %g: 1 %+.3g", t[j], mass - 1);
    }
    NNLSDECorrelation(&k, &sde);
    for (int j = 2; j < 4; j++) {
      for (PetscInt p = 0; p < P; p++) {
        x[p] = 0.5;
        assert_int_equal(
          NNLSDEPath(&sde, 3, 77 + c + 10 * j, p, t[j], (PetscInt)(t[j] * 1000 + 0.5), &x[p], NULL),
          0);
      }
      NNLLawsSort(P, x);
      NNLLawsDensityDistance(P, x, ncell, edge, dens + j * ncell, &ks, &w1);
      print_message("fokker_planck dc=%g t=%g ks=%.4f w1=%.5f crit=%.4f\n", dc[c], t[j], ks, w1,
                    crit);
      if (ks > crit + 0.005)
        fail_msg("dc = %g, t = %g: KS(SDE paths, PDE) = %.4f > %.4f", dc[c], t[j], ks,
                 crit + 0.005);
    }
  }
  free(dens);
  free(x);
  free(edge);
}

/* Fokker–Planck with many output times (every layer of a width-16, depth-64 shaped network: t =
   l/16 up to 63/16), under -limit_fp_ts_max_steps 40000 (the solve needs 63/16 / 5e-4 = 7875
   steps). The solution at every time is the same whether it is asked for at that time alone or
   among all 64 (within the steps' rounding). Catches: a step that shrinks from one output segment
   to the next (each segment's shortened last step kept for the next), which ran 10^7 steps into a
   failure. */
static void test_fokker_planck_many_times(void **state)
{
  const PetscInt ncell = 100, nt = 64;
  const double   k = 1.0 / (2 * M_PI);
  double         t[64], *dens, *one;
  PetscBool      ok;
  char           msg[256];

  (void)state;
  for (PetscInt j = 0; j < nt; j++) t[j] = (double)j / 16.0;
  dens = malloc(sizeof(double) * nt * ncell);
  one  = malloc(sizeof(double) * 2 * ncell);
  assert_int_equal(PetscOptionsSetValue(NULL, "-limit_fp_ts_max_steps", "40000"), 0);
  assert_int_equal(
    NNLFokkerPlanckSolve(k, 0.5, ncell, nt, t, NULL, dens, &ok, msg, sizeof(msg), NULL, NULL, NULL),
    0);
  if (!ok) fail_msg("%s", msg);
  {
    const double t2[2] = {0.0, t[nt - 1]};
    double       d     = 0;
    assert_int_equal(NNLFokkerPlanckSolve(k, 0.5, ncell, 2, t2, NULL, one, &ok, msg, sizeof(msg),
                                          NULL, NULL, NULL),
                     0);
    if (!ok) fail_msg("%s", msg);
    for (PetscInt i = 0; i < ncell; i++)
      d = PetscMax(d, fabs(one[ncell + i] - dens[(nt - 1) * ncell + i]));
    if (d > 1e-3)
      fail_msg("density at t = %g: %.3g apart solved with 64 output times and with 2", t[nt - 1],
               d);
  }
  assert_int_equal(PetscOptionsClearValue(NULL, "-limit_fp_ts_max_steps"), 0);
  free(dens);
  free(one);
}

/* The shaped-ReLU SDE task end to end: ρ_01 of its covariance-SDE paths (V, 2×2, no reduction to ρ)
   against its own Fokker–Planck density of the 1-D diffusion at T = 0.5, within the same kind of
   bound (3000 paths: crit = 0.0406). Catches: a wrong Itô reduction from V to ρ (MATH.md §2, marked
   derived), a wrong Σ^{1/2} (noise covariance of V), the density stored at the wrong time. */
static void test_covariance_sde_vs_fokker_planck(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  double    *rho, ks, w1, crit;
  PetscInt   P;

  assert_int_equal(TestJob("-family shaped_mlp -grid_activation relu -grid_width 64 -grid_depth 33 "
                           "-grid_seed 0 -inputs 2 "
                           "-input_correlation 0.5 -shape_c_plus 1 -shape_c_minus -1 -sde_paths "
                           "3000 -record_layers last",
                           &job, &grid),
                   0);
  assert_int_equal(grid->nsde, 1);
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  assert_int_equal(res->status, NNL_STATUS_DONE);
  assert_int_equal(res->ncell, 400);
  P    = res->npath;
  crit = sqrt(-0.5 * log(1e-4 / 2)) / sqrt((double)P);
  rho  = malloc(sizeof(double) * P);
  for (PetscInt p = 0; p < P; p++)
    rho[p] = res->paths[p * 5 + 1] / sqrt(res->paths[p * 5] * res->paths[p * 5 + 2]);
  NNLLawsSort(P, rho);
  {
    double *edge = Edges(res->ncell);
    NNLLawsDensityDistance(P, rho, res->ncell, edge, res->fp + (res->nrec - 1) * res->ncell, &ks,
                           &w1);
    free(edge);
  }
  print_message("covariance_sde_vs_fp ks=%.4f w1=%.5f crit=%.4f\n", ks, w1, crit);
  if (ks > crit + 0.005) fail_msg("KS(covariance SDE ρ, PDE) = %.4f > %.4f", ks, crit + 0.005);
  free(rho);
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The covariance SDEs' paths side by side (src/sdelanes.c: NNL_SDE_LANES paths a step, in lanes)
   against the scalar callbacks path by path, bit for bit, in every build of simd.h this CPU runs:
   the shaped ReLU and tanh MLPs, shaped attention and the shaped transformer, m = 2 … 9 (9: past
   NNL_SMALL_M, no lanes) and m = 1 and 7, 37 paths (a last group of 5 lanes) or 203 (two batches
   of paths at m = 8). Inputs of correlation 1 and long steps make the rare branches run: a
   singular V (the pivoted Cholesky factor), steps that leave the cone (taken again in halves, by
   the scalar code, in the first batch and the second), V put back on it (ConeFix), paths left
   outside after a last-level half, whose steps then stand. Catches any operation of a lane out of
   the scalar code's order, a lane's fallback written to another lane, a skipped step from
   outside, a later batch's halving on the first batch's bridge stream. */
static void test_lanes_bits(void **state)
{
  const char *cases[] = {
    "-family shaped_mlp -grid_activation relu -inputs 2 -input_correlation 1 -shape_c_minus -4 "
    "-sde_dt 0.05",
    "-family shaped_mlp -grid_activation relu -inputs 5 -input_correlation 0.3 -sde_dt 0.2",
    "-family shaped_mlp -grid_activation tanh -inputs 3 -input_correlation 0.9 -sde_dt 0.1",
    "-family shaped_attention -grid_activation linear -inputs 4 -input_correlation 0.99 "
    "-attn_tau0 0.2 -sde_dt 0.05",
    "-family shaped_attention -grid_activation linear -inputs 8 -input_correlation 1 "
    "-attn_tau0 0.3 -sde_dt 0.02",
    "-family shaped_attention -grid_activation linear -inputs 2 -input_correlation -0.5 "
    "-attn_tau0 0.5 -attn_gamma 0.9 -sde_dt 0.01",
    "-family shaped_transformer -grid_activation relu -inputs 3 -input_correlation 0.5 "
    "-attn_tau0 0.3 -sde_dt 0.05",
    "-family shaped_transformer -grid_activation relu -inputs 6 -input_correlation 1 "
    "-attn_tau0 0.25 -sde_dt 0.1",
    "-family shaped_attention -grid_activation linear -inputs 9 -input_correlation 0.5 -sde_dt "
    "0.05",
    /* paths outside after a last-level half (the lanes' step-from-outside branch), 2 lost */
    "-family shaped_mlp -grid_activation tanh -inputs 3 -input_correlation 0.5 -sde_dt 0.1 "
    "-grid_depth 64 -sde_paths 203",
    /* two batches (PathBatch 170 at m = 8): halvings with p0 > 0 */
    "-family shaped_attention -grid_activation linear -inputs 8 -input_correlation 0.5 "
    "-attn_tau0 0.2 -sde_dt 0.05 -grid_depth 64 -sde_paths 203",
    "-family shaped_mlp -grid_activation relu -inputs 1 -sde_dt 0.05",
    "-family shaped_transformer -grid_activation relu -inputs 7 -input_correlation 0.8 "
    "-attn_tau0 0.3 -sde_dt 0.05",
    /* the fixed-width ResNet SDE: n < 8 (the Gram's rows all past the partial sums), n = 13 (both),
       a singular K (inputs of correlation 1: the pivoted factor), φ by its own call (swish), m = 1,
       and m = 9 (no lanes) */
    "-family resnet -branch_alpha 0.5 -grid_activation relu -inputs 2 -grid_width 5 -sde_dt 0.01",
    "-family resnet -branch_alpha 0.5 -grid_activation tanh -inputs 3 -grid_width 13 -sde_dt 0.01",
    "-family resnet -branch_alpha 0.5 -grid_activation relu -inputs 8 -input_correlation 1 "
    "-sde_dt 0.01",
    "-family resnet -branch_alpha 0.5 -grid_activation swish -inputs 1 -grid_width 24 -sde_dt 0.01",
    "-family resnet -branch_alpha 0.5 -grid_activation relu -inputs 9 -grid_width 4 -sde_dt 0.02",
    /* a last group of 3 paths a path at a time, after lanes (cone; ResNet), and too few for lanes
     */
    "-family shaped_transformer -grid_activation relu -inputs 4 -input_correlation 0.5 "
    "-attn_tau0 0.3 -sde_dt 0.05 -sde_paths 11",
    "-family resnet -branch_alpha 0.5 -grid_activation tanh -inputs 2 -grid_width 7 -sde_dt 0.01 "
    "-sde_paths 35",
    "-family shaped_mlp -grid_activation relu -inputs 3 -sde_dt 0.05 -sde_paths 3"};
  const char *builds[] = {"avx512", "avx2", "plain"};
  PetscInt    halved = 0, lost = 0, nbuild = 0;

  (void)state;
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    char       opts[512];
    NNLJob    *job;
    NNLGrid   *grid;
    NNLResult *res[2];
    snprintf(opts, sizeof(opts),
             "-grid_width 16 -grid_depth 32 -grid_seed 0 -sde_paths 37 -record_layers last %s",
             cases[k]);
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    assert_int_equal(grid->nsde, 1);
    for (int b = 0; b < 3; b++) {
      if (NNLSimdUse(builds[b])) continue; /* this CPU lacks it */
      nbuild += k == 0;
      for (int lanes = 0; lanes < 2; lanes++) {
        const NNLPoint  *pt = &grid->points[grid->npoints - 1];
        const PetscInt64 s0 = NNLSDELaneSteps();
        /* lanes where m <= 8 and a group is at least half full (the ResNet's: NNLHayouUsesLanes) */
        const PetscBool want =
          lanes && job->inputs <= NNL_SMALL_M && job->sde_paths >= NNL_SDE_LANES / 2 &&
              (pt->family != NNL_FAMILY_RESNET || NNLHayouUsesLanes(pt->width, job->inputs))
            ? PETSC_TRUE
            : PETSC_FALSE;
        NNLSDEUseLanes(lanes ? PETSC_TRUE : PETSC_FALSE);
        assert_int_equal(NNLSDETaskCompute(job, pt, NULL, NULL, &res[lanes]), 0);
        if ((NNLSDELaneSteps() > s0) != want)
          fail_msg("case %zu (%s): lanes %s, expected %s", k, cases[k],
                   NNLSDELaneSteps() > s0 ? "ran" : "did not run", want ? "them" : "none");
      }
      if (memcmp(res[0]->paths, res[1]->paths,
                 sizeof(double) * (size_t)res[0]->npath *
                   (size_t)(job->inputs * (job->inputs + 3) / 2)))
        fail_msg("case %zu (%s), build %s: the lanes' paths differ from the scalar ones", k,
                 cases[k], builds[b]);
      assert_string_equal(res[0]->message, res[1]->message);
      if (b == 0 || nbuild == 1) {
        PetscInt n = 0;
        if (sscanf(res[1]->message, "%" PetscInt_FMT " of", &n) == 1) {
          if (strstr(res[1]->message, "halves"))
            halved += n;
          else
            lost += n;
        }
      }
      NNLResultDestroy(&res[0]);
      NNLResultDestroy(&res[1]);
    }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
  NNLSDEUseLanes(PETSC_TRUE);
  (void)NNLSimdUse(NULL);
  print_message("lanes_bits builds=%" PetscInt_FMT " paths halved=%" PetscInt_FMT
                " lost=%" PetscInt_FMT "\n",
                nbuild, halved, lost);
  assert_true(nbuild >= 1);
  assert_true(halved > 0); /* the halvings ran, from the lanes */
  assert_true(lost > 0);   /* and steps from outside, which stand */
}

/* Distances against hand-computed values. Catches: off-by-one cdf steps, W1 not integrating between
 * samples. */
static void test_distances(void **state)
{
  double x[2] = {-0.5, 0.5}, y[2] = {0.0, 0.5}, u[1] = {0.0}, ks, w1;
  double flat[4] = {0.5, 0.5, 0.5, 0.5}, quarters[5] = {-1, -0.5, 0, 0.5, 1},
         uneven[3] = {-1, 0.5, 1}, tall[2] = {0.5, 0.5};
  assert_true(fabs(NNLLawsKS(2, x, 2, y) - 0.5) < 1e-15);
  assert_true(fabs(NNLLawsW1(2, x, 2, y) - 0.25) < 1e-15);
  assert_true(fabs(NNLLawsQuantile(2, x, 0.25) + 0.25) < 1e-15);
  /* one sample at 0 against U(−1, 1): KS = ½, W1 = ∫|F − 1{s >= 0}| = 2 · (1 · ½ / 2) = ½ */
  NNLLawsDensityDistance(1, u, 4, quarters, flat, &ks, &w1);
  assert_true(fabs(ks - 0.5) < 1e-15 && fabs(w1 - 0.5) < 1e-15);
  /* the same law on two cells of unequal width, [−1, 0.5] and [0.5, 1]: the widths weigh the
   * densities */
  NNLLawsDensityDistance(1, u, 2, uneven, tall, &ks, &w1);
  assert_true(fabs(ks - 0.5) < 1e-15 && fabs(w1 - 0.5) < 1e-15);
  /* samples at ±½ against U(−1, 1) on one cell: F crosses the empirical cdf inside the cell, at 0;
     KS = ¼ and W1 = 1/16 + 1/8 + 1/16 = ¼ (by hand). Catches the crossing piece's |F − F_emp|
     integrated without its factor (3/8). */
  NNLLawsDensityDistance(2, x, 1, (const double[]){-1, 1}, (const double[]){0.5}, &ks, &w1);
  if (!(fabs(ks - 0.25) < 1e-15 && fabs(w1 - 0.25) < 1e-15))
    fail_msg("crossing: ks %.17g w1 %.17g", ks, w1);
  /* the correlation SDE's drift at ρ = −1: ν(−1) = k(0 + π) (MATH.md), so μ(−1) = kπ. Catches ν(−1)
   * = 0. */
  assert_true(fabs(NNLCorrelationDrift(0.3, -1) - 0.3 * M_PI) < 1e-15);
}

/* A probe of NNLSDEPath's halving: x = (W, τ), dW = the Brownian increment, dτ = dt. `inside`
   refuses the first arrival at each multiple of h/2 after 0 and records W at every multiple of h/4
   (the last arrival, the one that stands). So every step is halved once (node 1) and its first half
   once more (node 2): W at (i − ½)h and (i − ¾)h are the bridge's midpoints. */
#define BSTEP 25
typedef struct {
  double h;
  char   refused[2 * BSTEP + 1];
  double W[4 * BSTEP + 1];
} Probe;

static PetscErrorCode ProbeDrift(void *ctx, double t, const double *x, double *f)
{
  (void)ctx, (void)t, (void)x;
  f[0] = 0, f[1] = 1;
  return 0;
}

static PetscErrorCode ProbeNoise(void *ctx, double t, const double *x, const double *dW, double *g)
{
  (void)ctx, (void)t, (void)x;
  g[0] = dW[0], g[1] = 0;
  return 0;
}

static PetscBool ProbeInside(void *ctx, const double *x)
{
  Probe *pr = (Probe *)ctx;
  double q  = x[1] / (0.25 * pr->h);
  long   k  = lround(q);

  if (fabs(q - (double)k) > 1e-6 || k < 1 || k > 4 * BSTEP) return PETSC_TRUE;
  pr->W[k] = x[0];
  if (k % 2 == 0 && !pr->refused[k / 2]) return pr->refused[k / 2] = 1, PETSC_FALSE;
  return PETSC_TRUE;
}

/* The Brownian bridge of a halved step: given W at a step's ends, its midpoint is N(mean, h/4)
   (node 1), and the first half's midpoint N(mean, h/8) (node 2), independent of each other, of the
   step's increment and of the next step's. The halves sum to the step's increment: W_T is the plain
   path's. 400 paths × 25 steps, bounds of 4 s.e. Catches: a midpoint of the wrong scale (√h or
   √(h/2) for √h/2: variance ×4 or ×2), node 2 reusing node 1's normals (their correlation 1), the
   bridge reusing the increment's stream (correlation with dW), halves that do not sum to dW. */
static void test_halving_bridge(void **state)
{
  const int    P = 400;
  const double T = 1.0, h = T / BSTEP;
  Moments      d1 = {0}, d2 = {0};
  double       c12 = 0, c1w = 0, c11 = 0;
  long         npair = 0;

  (void)state;
  for (int p = 0; p < P; p++) {
    Probe    pr  = {h, {0}, {0}};
    NNLSDE   sde = {2, 1, ProbeDrift, ProbeNoise, NULL, &pr, ProbeInside, NULL}, plain = sde;
    double   x[2] = {0, 0}, y[2] = {0, 0}, prev = NAN;
    PetscInt nh;
    plain.inside = NULL;
    assert_int_equal(NNLSDEPath(&sde, 11, 5, p, T, BSTEP, x, &nh), 0);
    assert_int_equal(NNLSDEPath(&plain, 11, 5, p, T, BSTEP, y, NULL), 0);
    if (nh != 2 * BSTEP) fail_msg("path %d: %d halvings, want %d", p, (int)nh, 2 * BSTEP);
    if (!(fabs(x[0] - y[0]) <= 1e-13 && fabs(x[1] - T) <= 1e-12))
      fail_msg("path %d: W_T %.17g, plain %.17g; tau %.17g", p, x[0], y[0], x[1]);
    for (int i = 1; i <= BSTEP; i++) {
      const double *W = pr.W, a = (W[4 * i - 2] - 0.5 * (W[4 * i - 4] + W[4 * i])) / sqrt(h / 4),
                   b  = (W[4 * i - 3] - 0.5 * (W[4 * i - 4] + W[4 * i - 2])) / sqrt(h / 8),
                   dw = (W[4 * i] - W[4 * i - 4]) / sqrt(h);
      MomentsAdd(&d1, a);
      MomentsAdd(&d2, b);
      c12 += a * b, c1w += a * dw;
      if (i > 1) c11 += a * prev;
      prev = a, npair++;
    }
  }
  {
    const double n = (double)npair, se = 1 / sqrt(n), sev = sqrt(2 / n), v1 = MomentsVar(&d1),
                 v2 = MomentsVar(&d2);
    print_message("halving_bridge n=%ld mean1=%.4f var1=%.4f mean2=%.4f var2=%.4f corr12=%.4f "
                  "corr1w=%.4f corr11=%.4f\n",
                  npair, d1.mean, v1, d2.mean, v2, c12 / n, c1w / n, c11 / (n - P));
    ASSERT_WITHIN_4SE("node 1's midpoint, mean", d1.mean, 0, se);
    ASSERT_WITHIN_4SE("node 2's midpoint, mean", d2.mean, 0, se);
    ASSERT_WITHIN_4SE("node 1's midpoint, variance / (h/4)", v1, 1, sev);
    ASSERT_WITHIN_4SE("node 2's midpoint, variance / (h/8)", v2, 1, sev);
    ASSERT_WITHIN_4SE("nodes 1 and 2, correlation", c12 / n, 0, se);
    ASSERT_WITHIN_4SE("node 1 and the step's increment, correlation", c1w / n, 0, se);
    ASSERT_WITHIN_4SE("node 1 of consecutive steps, correlation", c11 / (n - P), 0,
                      1 / sqrt(n - P));
  }
}

/* Halving on geometric Brownian motion dX = σX dW (σ = 2, 20 steps on [0, 1]), inside X > 0: plain
   Euler–Maruyama leaves (1 + σ√h Z < 0, 1.3 % a step) on about a fifth of the paths; halved, none
   ends outside, and every path that needed no halving has exactly the plain path's bits. Catches:
   halving that changes the Brownian path or the steps of paths that never leave, an `inside` not
   consulted, a refused step that is kept. */
static PetscBool Positive(void *ctx, const double *x)
{
  (void)ctx;
  return x[0] > 0 ? PETSC_TRUE : PETSC_FALSE;
}

static void test_halving_gbm(void **state)
{
  GBM    g     = {0, 2};
  NNLSDE plain = {1, 1, GBMDrift, GBMNoise, NULL, &g, NULL, NULL}, sde = plain;
  int    left = 0, halved = 0, same = 0;

  (void)state;
  sde.inside = Positive;
  for (int p = 0; p < 2000; p++) {
    double   x = 1, y = 1;
    PetscInt nh;
    assert_int_equal(NNLSDEPath(&plain, 3, 9, p, 1.0, 20, &y, NULL), 0);
    assert_int_equal(NNLSDEPath(&sde, 3, 9, p, 1.0, 20, &x, &nh), 0);
    left += !(y > 0);
    halved += nh > 0;
    if (!(x > 0))
      fail_msg("path %d ends at %g with halving (plain %g, %d halvings)", p, x, y, (int)nh);
    if (!nh) {
      if (memcmp(&x, &y, sizeof(x)))
        fail_msg("path %d: no halving, yet %.17g against plain %.17g", p, x, y);
      same++;
    }
  }
  print_message("halving_gbm plain_left=%d halved=%d same_bits=%d of 2000\n", left, halved, same);
  if (left < 100 || halved < left)
    fail_msg("%d plain paths left, %d halved: the test does not exercise halving", left, halved);
}

/* NNLSDEPaths integrates a batch of paths a step at a time, each step's increments in one request:
   every path must have the bits NNLSDEPath gives it alone, its halvings too (GBM with `inside`, as
   test_halving_gbm: a fifth of the paths halve), from a first path p0 other than 0; and a poll that
   answers "abandon" ends it after that step (the steps counted by the drift's calls). Catches: a
   batch's increments taken at the wrong offset (another path's normals), a halving's bridge on
   another path's stream, halvings counted across paths, a poll not heeded. */
static int            polls, drifts;
static PetscErrorCode AbandonAt3(void *ctx, PetscBool *abandon)
{
  (void)ctx;
  *abandon = ++polls >= 3 ? PETSC_TRUE : PETSC_FALSE;
  return 0;
}

/* GBM's drift, counted: the steps taken (NNLPoll asks a poll nothing once it has said abandon, so
   the polls alone would not show steps taken after it) */
static PetscErrorCode CountedDrift(void *ctx, double t, const double *x, double *f)
{
  drifts++;
  return GBMDrift(ctx, t, x, f);
}

static void test_paths_batch(void **state)
{
  GBM       g     = {0.1, 2};
  NNLSDE    plain = {1, 1, GBMDrift, GBMNoise, NULL, &g, NULL, NULL}, sde = plain;
  double    x[300], y;
  PetscInt  nh[300], h, halved = 0;
  PetscBool abandon = PETSC_FALSE;

  (void)state;
  sde.inside = Positive;
  for (int k = 0; k < 2; k++) {
    const NNLSDE *e = k ? &sde : &plain;
    for (int c = 0; c < 300; c++) x[c] = 1;
    assert_int_equal(NNLSDEPaths(e, 3, 9, 17, 300, 1.0, 20, x, nh, NULL, NULL, NULL), 0);
    for (int c = 0; c < 300; c++) {
      y = 1;
      assert_int_equal(NNLSDEPath(e, 3, 9, 17 + c, 1.0, 20, &y, &h), 0);
      if (!k) { /* the plain path by hand too, from NNLSDEIncrement: NNLSDEPath goes through
                   NNLSDEPaths itself */
        double z = 1, dW, tmp, work[2];
        for (int i = 0; i < 20; i++) {
          NNLSDEIncrement(3, 9, 1, 17 + c, i, 1, 1.0 / 20, &dW, &tmp);
          assert_int_equal(NNLSDEStepEM(e, i / 20.0, 1.0 / 20, &dW, &z, work), 0);
        }
        if (memcmp(&z, &y, sizeof(y))) fail_msg("path %d: %.17g, by hand %.17g", 17 + c, y, z);
      }
      if (memcmp(&x[c], &y, sizeof(y)) || nh[c] != h)
        fail_msg("%s path %d: batch %.17g (%d halvings), alone %.17g (%d)", k ? "halved" : "plain",
                 17 + c, x[c], (int)nh[c], y, (int)h);
      halved += k && h > 0;
    }
  }
  if (halved < 30)
    fail_msg("only %d of 300 paths halved: the test does not exercise halving", (int)halved);
  for (int c = 0; c < 300; c++) x[c] = 1;
  polls = drifts = 0;
  plain.drift    = CountedDrift;
  assert_int_equal(NNLSDEPaths(&plain, 3, 9, 17, 300, 1.0, 20, x, nh, AbandonAt3, NULL, &abandon),
                   0);
  if (!abandon || polls != 3 || drifts != 3 * 300)
    fail_msg("abandon %d after %d polls and %d path-steps, want 1 after 3 and 900", (int)abandon,
             polls, drifts);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_distances),
    cmocka_unit_test(test_increments),
    cmocka_unit_test(test_paths_batch),
    cmocka_unit_test(test_em_orders_gbm),
    cmocka_unit_test(test_fokker_planck_vs_sde),
    cmocka_unit_test(test_fokker_planck_many_times),
    cmocka_unit_test(test_covariance_sde_vs_fokker_planck),
    cmocka_unit_test(test_halving_bridge),
    cmocka_unit_test(test_halving_gbm),
    cmocka_unit_test(test_lanes_bits),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
