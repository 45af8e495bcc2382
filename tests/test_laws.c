// ctest-label: law
/* Exact laws of MATH.md §4 checked on the project's own sampler output (NNLPointCompute, as workers run it).
   Fixed seeds make every test deterministic; bounds are 4 standard errors, so a correct sampler passes and a
   wrong variance, branch scale, bias, square root or stream mix-up fails. */
#include "testutil.h"
#include "nnlimits/gauss.h"

static PetscInt PairIndex(PetscInt m, PetscInt a, PetscInt b)
{
  return a * m - a * (a - 1) / 2 + (b - a);
}

/* Accumulate the Gram entry (a,b) at recorded layer r over all seeds of the grid's points. */
static void GramMoments(NNLJob *job, NNLGrid *grid, NNLSamplerType sampler, PetscInt r, PetscInt a, PetscInt b, Moments *mo)
{
  for (PetscInt p = 0; p < grid->nnets; p++) {
    NNLResult *res;
    assert_int_equal(NNLPointCompute(job, &grid->points[p], sampler, NULL, NULL, &res), 0);
    assert_int_equal(res->status, NNL_STATUS_DONE);
    MomentsAdd(mo, res->gram[r * (job->inputs * (job->inputs + 1) / 2) + PairIndex(job->inputs, a, b)]);
    NNLResultDestroy(&res);
  }
}

/* §4.1 Linear ResNet, α = 1/2: E V_ℓ(a,b) = (1 + 1/L)^ℓ C(a,b) at every layer, both samplers.
   Catches: a wrong branch scale L^-α, a missing skip connection, a wrong embedding variance, a biased sampler. */
static void test_linear_resnet_mean(void **state)
{
  const char *samplers[] = {"projection", "dense"};
  for (int s = 0; s < 2; s++) {
    NNLJob  *job;
    NNLGrid *grid;
    char     opts[512];
    snprintf(opts, sizeof(opts), "-family resnet -grid_activation linear -grid_width 24 -grid_depth 8 -grid_seed 0-1500 "
                                 "-inputs 2 -input_correlation 0.5 -sampler %s", samplers[s]);
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    for (PetscInt l = 0; l <= 8; l += 4)
      for (PetscInt a = 0; a < 2; a++) {
        Moments mo = {0};
        char    what[128];
        GramMoments(job, grid, NNL_SAMPLER_AUTO, l, a, 1, &mo);
        snprintf(what, sizeof(what), "%s layer %d V(%d,1)", samplers[s], (int)l, (int)a);
        ASSERT_WITHIN_4SE(what, mo.mean, pow(1 + 1.0 / 8, (double)l) * (a == 1 ? 1.0 : 0.5), MomentsSE(&mo));
      }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

static double Digamma(double x)
{
  double r = 0, f;
  while (x < 8) r -= 1 / x, x += 1;
  f = 1 / (x * x);
  return r + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

static double Trigamma(double x)
{
  double r = 0, f;
  while (x < 8) r += 1 / (x * x), x += 1;
  f = 1 / (x * x);
  return r + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30))));
}

/* Mean and variance of ln R, R = (2/n) χ²_K, K ~ Bin(n, 1/2) given K >= 1 (MATH.md §4.3). */
static void LogRatioMoments(int n, double *mean, double *var)
{
  double pk = pow(0.5, n), z = 1 - pk, e1 = 0, e2 = 0, et = 0;
  for (int k = 1; k <= n; k++) {
    pk *= (double)(n - k + 1) / k; /* C(n,k) 2^-n */
    e1 += pk / z * Digamma(k / 2.0);
    e2 += pk / z * Digamma(k / 2.0) * Digamma(k / 2.0);
    et += pk / z * Trigamma(k / 2.0);
  }
  *mean = log(4.0 / n) + e1;
  *var  = et + e2 - e1 * e1;
}

/* §4.3 ReLU MLP at criticality: ln(‖x^L‖²/n) is a sum of L iid ln((2/n)χ²_K). Catches: a wrong σ_w² or fan-in,
   a sampler whose norms have the right mean but the wrong spread (e.g. reusing normals across layers). */
static void test_relu_mlp_lognorm(void **state)
{
  const char *samplers[] = {"projection", "dense"};
  const int   n = 32, L = 6;
  double      mu, var;
  LogRatioMoments(n, &mu, &var);
  for (int s = 0; s < 2; s++) {
    NNLJob  *job;
    NNLGrid *grid;
    Moments  mo = {0};
    char     opts[512];
    snprintf(opts, sizeof(opts), "-family mlp -grid_activation relu -grid_width %d -grid_depth %d -grid_seed 0-3000 "
                                 "-inputs 1 -record_layers last -sampler %s", n, L, samplers[s]);
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      NNLResult *res;
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
      MomentsAdd(&mo, res->lognorm_post[0]);
      NNLResultDestroy(&res);
    }
    ASSERT_WITHIN_4SE(samplers[s], mo.mean, L * mu, MomentsSE(&mo));
    /* Variance: se from the sample's own fourth moment would need a second pass; the sum is near Gaussian, so
       se(s²) ≈ s² sqrt(2/(S-1)). */
    ASSERT_WITHIN_4SE(samplers[s], MomentsVar(&mo), L * var, MomentsVar(&mo) * sqrt(2.0 / (mo.n - 1)));
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* §4.5 MLP layer 2: E V_2 = σ_w² F_φ(σ_w² C) + σ_b² exactly at any width; ReLU diagonal exact at every depth.
   Catches: a wrong bias variance, a wrong activation in the sampler, a first layer that is not exactly Gaussian. */
static void test_mlp_layer2_nngp(void **state)
{
  const char *acts[] = {"tanh", "relu", "gelu"};
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 3; i++) {
      NNLJob  *job;
      NNLGrid *grid;
      char     opts[512];
      snprintf(opts, sizeof(opts), "-family mlp -grid_activation %s -grid_width 16 -grid_depth 2 -grid_seed 0-2500 -inputs 2 "
                                   "-input_correlation 0.3 -sigma_w2 1.5 -sigma_b2 0.1 -sampler %s", acts[i], s ? "dense" : "projection");
      assert_int_equal(TestJob(opts, &job, &grid), 0);
      for (PetscInt a = 0; a < 2; a++) {
        Moments mo = {0};
        double  c = a == 1 ? 1.0 : 0.3, exact = 1.5 * NNLGaussDual(&job->act[0], 1.5, 1.5, 1.5 * c) + 0.1;
        GramMoments(job, grid, NNL_SAMPLER_AUTO, 1, a, 1, &mo);
        ASSERT_WITHIN_4SE(acts[i], mo.mean, exact, MomentsSE(&mo));
      }
      NNLGridDestroy(&grid);
      NNLJobDestroy(&job);
    }
}

static void test_relu_mlp_diagonal_every_layer(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  assert_int_equal(TestJob("-family mlp -grid_activation relu -grid_width 12 -grid_depth 6 -grid_seed 0-2000 -inputs 1 "
                           "-sigma_w2 2.5 -sigma_b2 0.2", &job, &grid), 0);
  for (PetscInt l = 1; l <= 6; l++) {
    Moments mo = {0};
    double  q  = 2.5;
    for (PetscInt k = 2; k <= l; k++) q = 2.5 * q / 2 + 0.2;
    GramMoments(job, grid, NNL_SAMPLER_AUTO, l - 1, 0, 0, &mo);
    ASSERT_WITHIN_4SE("relu diagonal", mo.mean, q, MomentsSE(&mo));
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

static int CmpD(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Two-sample Kolmogorov–Smirnov statistic of x[0..n) and y[0..n) (sorted in place). */
static double KS2(int n, double *x, double *y)
{
  int    i = 0, j = 0;
  double d = 0;
  qsort(x, (size_t)n, sizeof(double), CmpD);
  qsort(y, (size_t)n, sizeof(double), CmpD);
  while (i < n && j < n) {
    double v = x[i] < y[j] ? x[i] : y[j];
    while (i < n && x[i] <= v) i++;
    while (j < n && y[j] <= v) j++;
    if (fabs((double)i / n - (double)j / n) > d) d = fabs((double)i / n - (double)j / n);
  }
  return d;
}

/* §4.9 Projection vs dense: the same law. At small width (n = 6, strongly non-Gaussian) and tanh, the last layer's
   ln V_00 and ρ_01 from both samplers pass a two-sample KS test at level 1e-4 (fixed seeds: deterministic).
   Catches: a projection square root that is off (RᵀR ≠ K), a transposed R, reusing Z across inputs. */
static void test_projection_equals_dense_in_law(void **state)
{
  const int S = 3000;
  double   *x[2][2];
  for (int s = 0; s < 2; s++) {
    NNLJob  *job;
    NNLGrid *grid;
    char     opts[512];
    snprintf(opts, sizeof(opts), "-family resnet -grid_activation tanh -grid_width 6 -grid_depth 5 -grid_seed 0-%d -inputs 3 "
                                 "-input_correlation 0.4 -record_layers last -sampler %s", S, s ? "dense" : "projection");
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    x[s][0] = malloc(sizeof(double) * S);
    x[s][1] = malloc(sizeof(double) * S);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      NNLResult *res;
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
      x[s][0][p] = log(res->gram[0]);
      x[s][1][p] = res->gram[1] / sqrt(res->gram[0] * res->gram[3]);
      NNLResultDestroy(&res);
    }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
  for (int k = 0; k < 2; k++) {
    double d = KS2(S, x[0][k], x[1][k]), crit = sqrt(-0.5 * log(1e-4 / 2)) * sqrt(2.0 / S);
    if (d > crit) fail_msg("statistic %d: KS distance %.4f > critical %.4f", k, d, crit);
    free(x[0][k]);
    free(x[1][k]);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_linear_resnet_mean),           cmocka_unit_test(test_relu_mlp_lognorm),
    cmocka_unit_test(test_mlp_layer2_nngp),              cmocka_unit_test(test_relu_mlp_diagonal_every_layer),
    cmocka_unit_test(test_projection_equals_dense_in_law),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
