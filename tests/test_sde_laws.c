/* Exact laws of the fixed-width and proportional limits (MATH.md §4.6, §4.7) on the project's own
   output: finite networks as workers sample them (NNLPointCompute) and SDE tasks as workers run
   them (NNLSDETaskCompute). Fixed seeds; bounds of 4 standard errors, with the finite-size bias
   computed or bounded in each comment. */
// ctest-label: law
#include <float.h>
#include "testutil.h"
#include "nnlimits/sde.h"
#include "nnlimits/laws.h"
#include "nnlimits/shaped.h"
#include "relufactor.h"

/* Sample variance and its standard error for a normal law, var·√(2/(N−1)). */
static void AssertMeanVar(const char *what, const Moments *mo, double mean, double var)
{
  char buf[128];
  snprintf(buf, sizeof(buf), "%s: mean", what);
  ASSERT_WITHIN_4SE(buf, mo->mean, mean, MomentsSE(mo));
  snprintf(buf, sizeof(buf), "%s: variance", what);
  ASSERT_WITHIN_4SE(buf, MomentsVar(mo), var, var * sqrt(2.0 / (mo->n - 1)));
  print_message("%s mean=%.4f (exact %.4f, se %.4f) var=%.4f (exact %.4f)\n", what, mo->mean, mean,
                MomentsSE(mo), MomentsVar(mo), var);
}

/* §4.6 fixed-width linear ResNet: ln(‖Y_1‖²/‖Y_0‖²) ~ N(1 − 2/n, 4/n) as L → ∞, here n = 4, L =
   512, 1500 seeds. Finite L: one block multiplies ‖Y‖² by (1 + g₁/√(nL))² + Σ_{i>1} g_i²/(nL), g ~
   N(0, I_n); expanding ln to order L⁻², the mean over L blocks is 1 − 2/n − (n−2)(n−4)/(2n²L) +
   O(L⁻²) — zero first-order bias at n = 4 — and the variance 4/n + O(1/L) (~0.2% here), far below
   the 4 s.e. (0.10 on the mean). Catches: a branch scale other than L^-1/2 (the mean moves to 0 or
   grows with L), the wrong noise covariance (ΦᵀΦ/n), a drift in the SDE, a wrong embedding. */
static void test_fixed_width_linear_resnet(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  Moments    mo = {0};
  const int  n  = 4;

  assert_int_equal(TestJob("-family resnet -grid_activation linear -grid_width 4 -grid_depth 512 "
                           "-grid_seed 0-1500 -inputs 1 "
                           "-record_layers 2 -sde_paths 2000",
                           &job, &grid),
                   0);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    assert_int_equal(res->layers[0], 0);
    MomentsAdd(&mo, res->lognorm[res->nrec - 1] - res->lognorm[0]);
    NNLResultDestroy(&res);
  }
  AssertMeanVar("network ln(|Y_1|^2/|Y_0|^2)", &mo, 1 - 2.0 / n, 4.0 / n);
  /* The SDE task keeps ln(‖Y_1‖²/n) = ln(‖Y_0‖²/n) + the ratio, independent (rotation invariance);
     ‖Y_0‖²/n ~ χ²_n/n. EM at dt = 1e-3 is a ResNet of depth 1000 in law, with the same (vanishing
     at n = 4) bias. */
  assert_int_equal(grid->nsde, 1);
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  memset(&mo, 0, sizeof(mo));
  for (PetscInt p = 0; p < res->npath; p++) MomentsAdd(&mo, log(res->paths[p * 2]));
  AssertMeanVar("SDE ln(|Y_1|^2/n)", &mo, Digamma(n / 2.0) - log(n / 2.0) + 1 - 2.0 / n,
                Trigamma(n / 2.0) + 4.0 / n);
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* §4.7 shaped ReLU: ln V_aa(T) ~ N(ln V_aa(0) − T, 2T), here T = L/n = 1 at n = 256, 1000 seeds, 2
   inputs; V(0) = C, the inputs' Gram (V_aa(0) = 1), so layer L is L random steps from it, the first
   layer's included (MATH.md §0: t = ℓ/n). Finite n: ln V_aa moves by ln(χ²_n/n) per layer plus a
   term of order (s₊² − s₋²)·(1/√n) fluctuation = O(1/n) per layer; the χ² part alone has mean
   L(ψ(n/2) − ln(n/2)) = −1.0013 and variance Lψ'(n/2) = 2.008: bias ~0.2% of the limit, below the 4
   s.e. (0.18 on the mean). Also: the law of ρ_01 at T over the seeds against the SDE task's
   covariance paths, two-sample KS below its 1e-4 critical value 2.22·√(1/1000 + 1/2000) = 0.086.
   Catches: the gain c = 2/(s₊² + s₋²), the slopes s± = 1 + c±/√n, a width-independent activation (ρ
   → 1 like the unshaped ReLU), the SDE's drift or noise. */
static void test_shaped_relu_log_variance(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  Moments    mo = {0};
  double    *rnet, *rsde, ks, crit;
  PetscInt   nnet = 0;

  assert_int_equal(
    TestJob(
      "-family shaped_mlp -grid_activation relu -grid_width 256 -grid_depth 256 -grid_seed 0-1000 "
      "-inputs 2 -input_correlation 0.5 -record_layers 2 -sde_paths 2000",
      &job, &grid),
    0);
  rnet = malloc(sizeof(double) * grid->nnets);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    const double *g;
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    assert_int_equal(res->layers[0], 1);
    MomentsAdd(&mo, res->lognorm[(res->nrec - 1) * 2]); /* − ln V_00(0) = 0 */
    g            = res->gram + (res->nrec - 1) * 3;
    rnet[nnet++] = g[1] / sqrt(g[0] * g[2]);
    NNLResultDestroy(&res);
  }
  AssertMeanVar("shaped network ln V_00(T)/V_00(0)", &mo, -1.0, 2.0);
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  memset(&mo, 0, sizeof(mo));
  rsde = malloc(sizeof(double) * res->npath);
  for (PetscInt p = 0; p < res->npath; p++) {
    const double *v = res->paths + p * 5;
    MomentsAdd(&mo, log(v[0]));
    rsde[p] = v[1] / sqrt(v[0] * v[2]);
  }
  AssertMeanVar("shaped SDE ln V_00(T)", &mo, -1.0, 2.0);
  NNLLawsSort(nnet, rnet);
  NNLLawsSort(res->npath, rsde);
  ks   = NNLLawsKS(nnet, rnet, res->npath, rsde);
  crit = sqrt(-0.5 * log(1e-4 / 2)) * sqrt(1.0 / nnet + 1.0 / res->npath);
  print_message("shaped rho_T network vs SDE: ks=%.4f crit=%.4f\n", ks, crit);
  if (ks > crit) fail_msg("ρ_T: KS(network, SDE) = %.4f > %.4f", ks, crit);
  free(rnet);
  free(rsde);
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The SDE time of a shaped network's layer ℓ is ℓ/n (MATH.md §0), where the first layer's Gram is
   already one random (Wishart) step from the inputs' C = V(0). Shaped identity (c± = 0: s± = 1) at
   n = 8, L = 8: the SDE task's paths end at T = 1, where ln V_00 ~ N(−1, 2) exactly for the SDE
   (drift 0); 4000 paths, 4 s.e. = 0.09 on the mean. The network's own law there, Σ of 8 ln(χ²_8/8):
   mean 8(ψ(4) − ln 4) = −1.04, var 8ψ'(4) = 2.27, is the SDE's at T = 1 up to O(1/n), not at 7/8
   (−0.875, 1.75). Catches: the SDE run to (L − 1)/n, as before this test (mean −0.875, 5.6 s.e.
   off), and the export's t column or the Fokker–Planck times on another convention. */
static void test_shaped_sde_time(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  Moments    sde = {0}, net = {0};

  (void)state;
  assert_int_equal(
    TestJob("-family shaped_mlp -grid_activation relu -shape_c_plus 0 -shape_c_minus 0 -grid_width "
            "8 -grid_depth 8 "
            "-grid_seed 0-4000 -inputs 2 -input_correlation 0.5 -record_layers all -sde_paths 4000",
            &job, &grid),
    0);
  assert_true(fabs(NNLSDETime(NNL_FAMILY_SHAPED, 8, 8, 8) - 1.0) == 0);
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  for (PetscInt p = 0; p < res->npath; p++) MomentsAdd(&sde, log(res->paths[p * 5]));
  NNLResultDestroy(&res);
  AssertMeanVar("shaped identity SDE ln V_00 at T = L/n = 1", &sde, -1.0, 2.0);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    assert_int_equal(res->layers[res->nrec - 1], 8);
    MomentsAdd(&net, res->lognorm[(res->nrec - 1) * 2]);
    NNLResultDestroy(&res);
  }
  AssertMeanVar("shaped identity network ln V_00 at L = 8 (exact: 8 ln(chi2_8/8))", &net,
                8 * (Digamma(4) - log(4.0)), 8 * Trigamma(4));
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Smooth shaping (MATH.md §2, marked derived): tanh with s = a√n, a = 0.5, has b_aa = (φ'''(0)/a²)
   V_aa² = −8 V_aa² and b_01 = −4 V_01 (V_00 + V_11): a strong drift (E ln V_00 falls to −3.0 by T =
   1, −1 without it). The networks at n = 256, T = 1 (1000 seeds) and the SDE task (2000 paths) must
   agree on ln V_00 and on V_01 at T: means within 4 s.e. of their difference, plus a finite-width
   allowance of 0.05 on ln V_00 and 0.01 on V_01 (the O(1/√n) corrections of the shaped activation;
   measured differences are well inside). Without the drift (or with twice it) the SDE mean of ln
   V_00 moves by > 0.5. Catches: a wrong smooth-shaping drift or sign, φ_s(x) = s φ(x/s) with the
   wrong s, the gain of smooth shaping. */
static void test_smooth_shaped_tanh(void **state)
{
  NNLJob      *job;
  NNLGrid     *grid;
  NNLResult   *res;
  Moments      net[2] = {{0}}, sde[2] = {{0}};
  const char  *name[2]  = {"ln V_00(T)", "V_01(T)"};
  const double allow[2] = {0.05, 0.01};

  assert_int_equal(
    TestJob(
      "-family shaped_mlp -grid_activation tanh -shape_a 0.5 -grid_width 256 -grid_depth 256 "
      "-grid_seed 0-1000 -inputs 2 -input_correlation 0.5 -record_layers last -sde_paths 2000",
      &job, &grid),
    0);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    MomentsAdd(&net[0], log(res->gram[0]));
    MomentsAdd(&net[1], res->gram[1]);
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  assert_int_equal(res->ncell, 0); /* no 1-D diffusion for smooth shaping */
  for (PetscInt p = 0; p < res->npath; p++) {
    MomentsAdd(&sde[0], log(res->paths[p * 5]));
    MomentsAdd(&sde[1], res->paths[p * 5 + 1]);
  }
  for (int k = 0; k < 2; k++) {
    double se = sqrt(MomentsVar(&net[k]) / net[k].n + MomentsVar(&sde[k]) / sde[k].n),
           d  = net[k].mean - sde[k].mean;
    print_message("smooth shaped tanh %s: network %.4f, SDE %.4f, diff %.4f, se %.4f\n", name[k],
                  net[k].mean, sde[k].mean, d, se);
    if (fabs(d) > 4 * se + allow[k])
      fail_msg("%s: network %.4f vs SDE %.4f (4 se + allowance = %.4f)", name[k], net[k].mean,
               sde[k].mean, 4 * se + allow[k]);
  }
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Fixed-width ReLU ResNet (Hayou 2022): at n = 4, L = 1000 (600 seeds) the law of ln(‖φ(y_0)‖²/n)
   at t = 1 over live inputs matches the SDE task's paths (1500): two-sample KS below its 1e-4
   critical value 2.22·√(1/n₁ + 1/n₂) ≈ 0.107 (EM at dt = 1e-3 is itself a depth-1000 ResNet in law,
   so no finite-depth allowance is needed). Dead inputs (all coordinates of the embedding negative,
   probability 2^-n; then the ResNet is frozen) must be as frequent in both, within 4 s.e. Catches:
   an SDE whose noise uses the Gram of Y instead of φ(Y) (the noise scale of ReLU is half the linear
   one), a wrong initial law, post-activation norms of the wrong input. */
static void test_fixed_width_relu_resnet(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  double    *x, *y, ks, crit, pnet, psde;
  PetscInt   nx = 0, ny = 0, deadx = 0, deady = 0;

  assert_int_equal(TestJob("-family resnet -grid_activation relu -grid_width 4 -grid_depth 1000 "
                           "-grid_seed 0-600 -inputs 1 "
                           "-record_layers last -sde_paths 1500",
                           &job, &grid),
                   0);
  x = malloc(sizeof(double) * grid->nnets);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    if (isfinite(res->lognorm_post[0]))
      x[nx++] = res->lognorm_post[0];
    else
      deadx++;
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  y = malloc(sizeof(double) * res->npath);
  for (PetscInt p = 0; p < res->npath; p++) {
    if (isfinite(res->paths[p * 2 + 1]))
      y[ny++] = res->paths[p * 2 + 1];
    else
      deady++;
  }
  NNLLawsSort(nx, x);
  NNLLawsSort(ny, y);
  ks   = NNLLawsKS(nx, x, ny, y);
  crit = sqrt(-0.5 * log(1e-4 / 2)) * sqrt(1.0 / nx + 1.0 / ny);
  pnet = (double)deadx / grid->nnets;
  psde = (double)deady / res->npath;
  print_message("relu resnet n=4: ks=%.4f crit=%.4f dead network %.4f SDE %.4f (2^-4 = 0.0625)\n",
                ks, crit, pnet, psde);
  if (ks > crit) fail_msg("ln|phi(y)|^2 at t = 1: KS(network, SDE) = %.4f > %.4f", ks, crit);
  ASSERT_WITHIN_4SE("dead fraction, network vs SDE", pnet, psde,
                    sqrt(0.0625 * 0.9375 * (1.0 / grid->nnets + 1.0 / res->npath)));
  free(x);
  free(y);
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The same ResNet with two inputs of correlation 0.5 (n = 4, L = 1000, 600 seeds, 1500 paths): the
   law of ρ_01 = V_01/√(V_00 V_11) of Y at t = 1 matches the SDE's, two-sample KS below its 1e-4
   critical value. The one-input test above sees each input's law alone; this one sees how the
   inputs move together. Catches: the SDE's noise not shared across the inputs (dB R with R the
   square root of ΦᵀΦ/n couples them), its cross term dropped or transposed, the paths' pairs
   stored in another order. */
static void test_fixed_width_relu_resnet_pair(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  double    *x, *y, ks, crit;
  PetscInt   nx = 0, ny = 0;

  (void)state;
  assert_int_equal(TestJob("-family resnet -grid_activation relu -grid_width 4 -grid_depth 1000 "
                           "-grid_seed 0-600 -inputs 2 -input_correlation 0.5 "
                           "-record_layers last -sde_paths 1500",
                           &job, &grid),
                   0);
  x = malloc(sizeof(double) * grid->nnets);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    const double *g;
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    g = res->gram + (res->nrec - 1) * 3; /* pairs (0,0), (0,1), (1,1) */
    if (g[0] > 0 && g[2] > 0) x[nx++] = g[1] / (sqrt(g[0]) * sqrt(g[2]));
    NNLResultDestroy(&res);
  }
  assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  y = malloc(sizeof(double) * res->npath);
  for (PetscInt p = 0; p < res->npath; p++) {
    const double *v = res->paths + p * 5; /* V_00, V_01, V_11, then ln‖φ‖²/n of each input */
    if (v[0] > 0 && v[2] > 0) y[ny++] = v[1] / (sqrt(v[0]) * sqrt(v[2]));
  }
  NNLLawsSort(nx, x);
  NNLLawsSort(ny, y);
  ks   = NNLLawsKS(nx, x, ny, y);
  crit = sqrt(-0.5 * log(1e-4 / 2)) * sqrt(1.0 / nx + 1.0 / ny);
  print_message("relu resnet n=4, 2 inputs: rho_01 ks=%.4f crit=%.4f (%" PetscInt_FMT
                " networks, %" PetscInt_FMT " paths)\n",
                ks, crit, nx, ny);
  if (nx < 550 || ny < 1400)
    fail_msg("too few inputs alive: %d networks, %d paths", (int)nx, (int)ny);
  if (ks > crit) fail_msg("rho_01 at t = 1: KS(network, SDE) = %.4f > %.4f", ks, crit);
  free(x);
  free(y);
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The shaped MLP's two samplers have the same law (MATH.md §4.9): shaped ReLU and smooth-shaped
   tanh at n = 32, L = 17, 500 seeds each, the means of ln V_00 and of ρ_01 at the last layer agree
   within 4 s.e. of their difference. The dense sampler draws W, the projection sampler Z (ΦᵀΦ
   c/n)^{1/2}: catches a gain, slope or shaping applied in one and not the other. */
static void test_shaped_samplers_agree(void **state)
{
  const char *acts[2] = {"relu", "tanh"};

  for (int a = 0; a < 2; a++) {
    Moments mo[2][2] = {{{0}}};
    for (int smp = 0; smp < 2; smp++) {
      NNLJob    *job;
      NNLGrid   *grid;
      NNLResult *res;
      char       opts[512];
      snprintf(
        opts, sizeof(opts),
        "-family shaped_mlp -grid_activation %s -shape_a 0.5 -shape_c_minus -2 -grid_width 32 "
        "-grid_depth 17 -grid_seed %d-%d -inputs 2 -record_layers last -sampler %s",
        acts[a], smp * 1000, smp * 1000 + 500, smp ? "dense" : "projection");
      assert_int_equal(TestJob(opts, &job, &grid), 0);
      for (PetscInt p = 0; p < grid->nnets; p++) {
        assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                         0);
        MomentsAdd(&mo[smp][0], log(res->gram[0]));
        MomentsAdd(&mo[smp][1], res->gram[1] / sqrt(res->gram[0] * res->gram[2]));
        NNLResultDestroy(&res);
      }
      NNLGridDestroy(&grid);
      NNLJobDestroy(&job);
    }
    for (int k = 0; k < 2; k++) {
      char what[64];
      snprintf(what, sizeof(what), "%s %s dense vs projection", acts[a], k ? "rho" : "ln V_00");
      ASSERT_WITHIN_4SE(
        what, mo[1][k].mean, mo[0][k].mean,
        sqrt(MomentsVar(&mo[0][k]) / mo[0][k].n + MomentsVar(&mo[1][k]) / mo[1][k].n));
    }
  }
}

/* The smooth shaped drift against MATH.md §2's formula, with a φ''(0) that no shipped activation
   has (every smooth one that can be shaped is odd: φ''(0) = 0): a⁻²[(d2²/4)(V_aa V_bb + 2 V_ab²) +
   (d3/2) V_ab (V_aa + V_bb)] at a = 1, d2 = 1, d3 = 0, V = (1, 2, 0.5): ¼(2 + 2·¼) = 0.625; and the
   d3 term alone (d2 = 0, d3 = 1): ½·0.5·3 = 0.75. Catches a dropped factor of the V_ab² term
   (0.5625) or of the d3 term. */
static void test_shaped_drift_formula(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;

  (void)state;
  assert_int_equal(TestJob("-family shaped_mlp -grid_activation tanh -shape_a 1 -grid_width 8 "
                           "-grid_depth 8 -grid_seed 0-1 -inputs 2",
                           &job, &grid),
                   0);
  assert_true(fabs(NNLShapedDrift(job, &job->act[0], 1, 0, 1, 2, 0.5) - 0.625) < 1e-15);
  assert_true(fabs(NNLShapedDrift(job, &job->act[0], 0, 1, 1, 2, 0.5) - 0.75) < 1e-15);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The shaped ReLU's drift k·s·(sin θ − θ cos θ), θ = acos ρ, s = √(V_aa V_bb), k = (c₊ − c₋)²/(2π)
   (c₊ = 0, c₋ = −1: k = 1/(2π)) at its ends and between: ρ = 0 gives k·s (V = (1, 4, 0): 1/π), ρ =
   −1 gives k·s·π (1), ρ = 1 (a diagonal entry, V_ab = s) and ρ > 1 (clipped) give +0, and ρ = 1 −
   10⁻⁶ its cube law k·s·θ³/3 to 10⁻⁵ (θ² ≈ 2·10⁻⁶; the next term is θ²/10 of it). Catches the ρ >=
   1 shortcut returning k·s or −0, or taking ρ just below 1 as 1. */
static void test_shaped_relu_drift_ends(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  double   d, th;

  (void)state;
  assert_int_equal(TestJob("-family shaped_mlp -grid_activation relu -shape_c_plus 0 "
                           "-shape_c_minus -1 -grid_width 8 -grid_depth 8 -grid_seed 0-1 -inputs 2",
                           &job, &grid),
                   0);
  assert_true(fabs(NNLShapedDrift(job, &job->act[0], 0, 0, 1, 4, 0) - 1 / M_PI) < 1e-15);
  assert_true(fabs(NNLShapedDrift(job, &job->act[0], 0, 0, 1, 4, -2) - 1) < 1e-15);
  d = NNLShapedDrift(job, &job->act[0], 0, 0, 2, 2, 2);
  assert_true(d == 0 && !signbit(d));
  d = NNLShapedDrift(job, &job->act[0], 0, 0, 1, 4, 2.5);
  assert_true(d == 0 && !signbit(d));
  d  = NNLShapedDrift(job, &job->act[0], 0, 0, 1, 1, 1 - 1e-6);
  th = acos(1 - 1e-6);
  assert_true(d > 0 && fabs(d / (th * th * th / 3 / (2 * M_PI)) - 1) < 1e-5);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* F(ρ) = √(1−ρ²) − ρθ, θ = acos ρ, of the shaped ReLU's drift (NNLShapedReluFactor) and its θ
   (NNLAcosInline, src/relufactor.h) against long double: θ by acosl; F near ρ = 1 (θ < 0.3) by its
   series in θ summed to 30 terms, each from the last (a recurrence, not relufactor.h's table), and
   elsewhere by √((1−ρ)(1+ρ)) − ρθ, whose cancellation there costs long double at most 5 of its 11
   extra bits. ρ over [−1, 1] evenly, and 1 − 10⁻ᵏ, −1 + 10⁻ᵏ for k up to 16, and around ±½, where
   the branches meet. Bounds: θ within 2 ulps of 1 (DBL_EPSILON, relative), F within 8 (measured:
   1.1 and 4.1; F ∝ θ³ near 1 triples θ's error). Catches: libm's sin θ − θ cos θ near ρ = 1 (its
   relative error reaches 10¹⁵ ulps at ρ = 1 − 10⁻¹⁶, and exceeds 8 ulps from θ ≈ 0.05), a branch
   taken on the wrong side of ±½ (θ = 2 asin u of the wrong u), a wrong leading coefficient of
   either series. (π/2 and π without their remainders stay within the bounds: they lower the mean
   error.) */
static void test_relu_factor_accuracy(void **state)
{
  double worst_t = 0, worst_f = 0;
  long   n = 0;

  (void)state;
  for (int i = 0; i <= 400000; i++) {
    const int    k    = i % 5;
    const double frac = (double)(i / 5) / 80000.0;
    double       rho;
    long double  th, f;
    if (k == 0)
      rho = -1 + 2 * frac;
    else if (k == 1)
      rho = 1 - pow(10.0, -16 * frac);
    else if (k == 2)
      rho = -1 + pow(10.0, -16 * frac);
    else
      rho = (k == 3 ? 0.5 : -0.5) + 1e-3 * (frac - 0.5);
    if (!(rho < 1 && rho >= -1)) continue;
    th = acosl((long double)rho);
    if (th < 0.3L) {
      const long double t2   = th * th;
      long double       term = th * t2 / 3;
      f                      = 0;
      for (int j = 1; j <= 30; j++) {
        f += term;
        term *= -t2 / ((2.0L * j) * (2.0L * j + 3));
      }
    } else
      f = sqrtl((1 - (long double)rho) * (1 + (long double)rho)) - rho * th;
    worst_t = fmax(worst_t, (double)fabsl((NNLAcosInline(rho) - th) / th) / DBL_EPSILON);
    worst_f = fmax(worst_f, (double)fabsl((NNLShapedReluFactor(rho) - f) / f) / DBL_EPSILON);
    n++;
  }
  print_message("relu factor: %ld values of rho, theta within %.2f ulps, F within %.2f\n", n,
                worst_t, worst_f);
  assert_true(n > 390000);
  assert_true(worst_t <= 2);
  assert_true(worst_f <= 8);
  assert_true(NNLShapedReluFactor(1) == 0 && !signbit(NNLShapedReluFactor(1)));
  assert_true(NNLShapedReluFactor(-1) == M_PI && NNLAcosInline(-1) == M_PI);
  assert_true(NNLAcosInline(0.5) == acos(0.5) && NNLAcosInline(0) == M_PI_2);
}

/* The smooth-shaped φ_n(x) = s φ(x/s), s = a√n = 2.4 (not a power of two, whose reciprocal would
   give the same bits), over an array is, bit for bit, s times one value's φ (the activation's own
   call) at x/s, in place or not, for a length that leaves a vector's tail.
   Catches the division or the product dropped or swapped (s φ(xs), φ(x/s)/s), the array form
   reading a neighbour's value, or a pass that skips the tail. */
static void test_shaped_apply_bits(void **state)
{
  enum { N = 37 };
  NNLJob  *job;
  NNLGrid *grid;
  double   x[N], y[N], z[N];

  (void)state;
  assert_int_equal(TestJob("-family shaped_mlp -grid_activation tanh -shape_a 0.3 -grid_width 64 "
                           "-grid_depth 8 -grid_seed 0-1 -inputs 2",
                           &job, &grid),
                   0);
  for (int i = 0; i < N; i++) x[i] = z[i] = 6.0 * sin(1.7 * i + 0.3); /* |x/s| up to 2.5 */
  NNLShapedApply(job, &job->act[0], 64, N, x, y);
  NNLShapedApply(job, &job->act[0], 64, N, z, z);
  for (int i = 0; i < N; i++) {
    const double s = 0.3 * 8.0, want = s * job->act[0].def->phi(x[i] / s, job->act[0].p);
    assert_true(y[i] == want && z[i] == want);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_shaped_drift_formula),
    cmocka_unit_test(test_shaped_relu_drift_ends),
    cmocka_unit_test(test_relu_factor_accuracy),
    cmocka_unit_test(test_shaped_apply_bits),
    cmocka_unit_test(test_fixed_width_linear_resnet),
    cmocka_unit_test(test_fixed_width_relu_resnet),
    cmocka_unit_test(test_fixed_width_relu_resnet_pair),
    cmocka_unit_test(test_shaped_relu_log_variance),
    cmocka_unit_test(test_shaped_sde_time),
    cmocka_unit_test(test_smooth_shaped_tanh),
    cmocka_unit_test(test_shaped_samplers_agree),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
