/* Unit tests of Gauss–Hermite rules and dual kernels F_φ (src/gauss.c, src/activation.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nnlimits/gauss.h"
#include "nnlimits/rng.h"

static const double test_pi = 3.141592653589793238462643383279;

/* (k11, k22, k12): ρ = ±0.999999, 0, generic; tiny (1e-6), large (10) and zero variances. */
static const double test_k[][3] = {
    {1, 1, 0.5},       {1, 1, 0.999999}, {1, 1, -0.999999}, {1, 1.5, 0},       {1e-6, 1e-6, 5e-7},
    {1e-6, 1, 0.3e-3}, {1.5, 0.5, -0.7}, {10, 10, 5},       {10, 10, 9.99999}, {10, 10, -9.99999},
    {10, 1e-6, 1e-3},  {0, 1, 0},        {1, 0, 0},         {10, 2, 0},
};
#define NK (sizeof(test_k) / sizeof(test_k[0]))

/** @brief Parse spec, failing the test if it does not parse. */
static NNLActivation parse_ok(const char *spec)
{
  NNLActivation act;
  char          err[512] = "";
  if (NNLActivationParse(spec, &act, err, sizeof(err)))
    fail_msg("'%s' did not parse: %s", spec, err);
  return act;
}

/**
  @brief Every order 1..256: nodes ascending and symmetric, Σw = 1, and E Z^{2k} = (2k−1)!! to 1e-12
  relative for k ≤ 10 (where the rule is exact, 2k < 2·order); odd moments vanish. Also the cache
  returns the same arrays. Catches: Newton/bisection converging to a root twice or missing one (seen
  at order >= 199 with asymptotic guesses), physicists' instead of probabilists' scaling, wrong
  weights.
*/
static void test_hermite_rules(void **state)
{
  (void)state;
  for (int n = 1; n <= 256; n++) {
    const double *x = NULL, *w = NULL, *x2 = NULL, *w2 = NULL;
    double        dfact = 1.0;
    NNLGaussHermite(n, &x, &w);
    for (int i = 0; i < n; i++) {
      if (i > 0 && !(x[i] > x[i - 1])) fail_msg("order %d: nodes not ascending at %d", n, i);
      assert_true(x[i] == -x[n - 1 - i] && w[i] == w[n - 1 - i] && w[i] > 0.0);
    }
    for (int k = 0; k <= 10 && k < n; k++) {
      double even = 0.0, odd = 0.0;
      if (k > 0) dfact *= 2 * k - 1;
      for (int i = 0; i < n; i++) {
        even += w[i] * pow(x[i], 2 * k);
        odd += w[i] * pow(x[i], 2 * k + 1);
      }
      if (!(fabs(even - dfact) <= 1e-12 * dfact))
        fail_msg("order %d: E Z^%d = %.17g, want %g", n, 2 * k, even, dfact);
      if (2 * k + 1 < 2 * n) assert_true(fabs(odd) <= 1e-12 * dfact * 10);
    }
    NNLGaussHermite(n, &x2, &w2);
    assert_ptr_equal(x, x2);
    assert_ptr_equal(w, w2);
  }
}

/**
  @brief Smooth rows with a closed form (linear, erf, gelu, sin): |closed − quad96| ≤ 1e-12
  max(1,|closed|). Where a variance exceeds 1.5 the bound for erf and gelu is 1e-3 instead: φ(√k x)
  steepens and Gauss–Hermite with 96 nodes converges only like exp(−π√96/√k) (measured at k =
  10: 4.6e-4 erf, 9.2e-6 gelu; at k = 2 erf is 1e-11). That loss is real and is what NNLGaussDual
  gives tanh/swish/softplus at such variances. Catches: a wrong closed form (MATH.md §3), a wrong ρ
  or √(1−ρ²) in the quadrature, zero variances mishandled.
*/
static void test_closed_vs_quad_smooth(void **state)
{
  (void)state;
  static const char *specs[] = {"linear",          "erf",           "gelu", "sin",
                                "sin:1.5:0.7:0.3", "sin:0.5:1.2:-1"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act   = parse_ok(specs[a]);
    int           steep = !strcmp(act.def->name, "erf") || !strcmp(act.def->name, "gelu");
    assert_non_null(act.def->dual);
    assert_int_equal(act.def->smooth, 1);
    for (size_t k = 0; k < NK; k++) {
      const double *K      = test_k[k];
      double        closed = act.def->dual(K[0], K[1], K[2], act.p);
      double        quad   = NNLGaussDualQuad(&act, K[0], K[1], K[2], 96);
      double        tol    = (steep && fmax(K[0], K[1]) > 1.5) ? 1e-3 : 1e-12;
      if (!(fabs(closed - quad) <= tol * fmax(1.0, fabs(closed))))
        fail_msg("%s K=(%g,%g,%g): closed %.17g quad %.17g", act.canon, K[0], K[1], K[2], closed,
                 quad);
    }
  }
}

/**
  @brief Rows without a closed form: quad96 agrees with quad256 to 1e-10 at variances ≤ 1 (measured
  worst: tanh, 1.2e-11 at k = 1). Catches: NNLGaussDual being far less accurate than its callers
  assume at unit scale.
*/
static void test_quad_self_convergence(void **state)
{
  (void)state;
  static const char *specs[] = {"tanh", "swish", "silu", "softplus"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    assert_null(act.def->dual);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      if (fmax(K[0], K[1]) > 1.0) continue;
      double q96  = NNLGaussDual(&act, K[0], K[1], K[2]),
             q256 = NNLGaussDualQuad(&act, K[0], K[1], K[2], 256);
      assert_true(q96 ==
                  NNLGaussDualQuad(&act, K[0], K[1], K[2], 96)); /* the documented fallback */
      if (!(fabs(q96 - q256) <= 1e-10 * fmax(1.0, fabs(q256))))
        fail_msg("%s K=(%g,%g,%g): q96 %.17g q256 %.17g", act.canon, K[0], K[1], K[2], q96, q256);
    }
  }
}

/* Monte Carlo draws shared by the kink tests: g1, g2 iid N(0,1), 10^6 each, project streams. */
enum { MC_N = 1000000 };
static double *mc_g1, *mc_g2;

static int mc_setup(void **state)
{
  (void)state;
  NNLRngStream s1, s2;
  mc_g1 = malloc(MC_N * sizeof(double));
  mc_g2 = malloc(MC_N * sizeof(double));
  if (!mc_g1 || !mc_g2) return -1;
  NNLRngStreamInit(&s1, 20240601, 1, 0, NNL_PURPOSE_TEST);
  NNLRngStreamInit(&s2, 20240601, 1, 1, NNL_PURPOSE_TEST);
  NNLRngNormals(&s1, 0, MC_N, mc_g1);
  NNLRngNormals(&s2, 0, MC_N, mc_g2);
  return 0;
}

static int mc_teardown(void **state)
{
  (void)state;
  free(mc_g1);
  free(mc_g2);
  return 0;
}

/**
  @brief Kinked rows (relu, leaky_relu, abs): closed form vs quadrature of order 200 and vs Monte
  Carlo. Quadrature: within 5e-3 √(k11 k22). Gauss–Hermite on a kink converges only like 1/order
  (measured: E|Z| with 200 nodes is off by 2.1e-3 relative, and the 2-D error is about twice that),
  so 1e-3 is not reachable; the bound still catches any wrong term of the formula. Monte Carlo (10^6
  pairs): within 4 standard errors, plus 1e-12 √(k11 k22) for cases where every sample is 0 (ρ ≈ −1
  for ReLU: the standard error is then 0). Catches: a wrong coefficient in the a·min + b·max
  formula, θ measured from the wrong side, a sign error.
*/
static void test_closed_kinks(void **state)
{
  (void)state;
  static const char *specs[] = {"relu", "leaky_relu", "leaky_relu:0.2", "leaky_relu:-0.5", "abs"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    assert_int_equal(act.def->smooth, 0);
    for (size_t k = 0; k < NK; k++) {
      const double *K      = test_k[k];
      double        scale  = sqrt(K[0] * K[1]);
      double        closed = NNLGaussDual(&act, K[0], K[1], K[2]);
      double        quad   = NNLGaussDualQuad(&act, K[0], K[1], K[2], 200);
      double        s1 = sqrt(K[0]), s2 = sqrt(K[1]), rho = scale > 0 ? K[2] / scale : 0.0;
      double        c = sqrt((1 - rho) * (1 + rho)), sum = 0.0, sum2 = 0.0, mean, se;
      if (!(fabs(closed - quad) <= 5e-3 * scale))
        fail_msg("%s K=(%g,%g,%g): closed %.17g quad200 %.17g", act.canon, K[0], K[1], K[2], closed,
                 quad);
      for (size_t i = 0; i < MC_N; i++) {
        double f = act.def->phi(s1 * mc_g1[i], act.p) *
                   act.def->phi(s2 * (rho * mc_g1[i] + c * mc_g2[i]), act.p);
        sum += f;
        sum2 += f * f;
      }
      mean = sum / MC_N;
      se   = sqrt(fmax(sum2 / MC_N - mean * mean, 0.0) / (MC_N - 1));
      if (!(fabs(closed - mean) <= 4 * se + 1e-12 * scale))
        fail_msg("%s K=(%g,%g,%g): closed %.17g MC %.17g ± %.3g", act.canon, K[0], K[1], K[2],
                 closed, mean, se);
    }
  }
}

/**
  @brief ReLU closed form equals √(k11 k22)(sin θ + (π−θ) cos θ)/(2π), θ = arccos ρ, at moderate ρ.
  Catches: the general a·min + b·max formula not reducing to the classic arc-cosine kernel.
*/
static void test_relu_arccos(void **state)
{
  (void)state;
  static const double rhos[] = {-0.9, -0.3, 0.0, 0.4, 0.95};
  NNLActivation       act    = parse_ok("relu");
  const double        k11 = 2.0, k22 = 0.7;

  for (size_t r = 0; r < sizeof(rhos) / sizeof(rhos[0]); r++) {
    double th   = acos(rhos[r]);
    double want = sqrt(k11 * k22) * (sin(th) + (test_pi - th) * cos(th)) / (2 * test_pi);
    double got  = NNLGaussDual(&act, k11, k22, rhos[r] * sqrt(k11 * k22));
    assert_true(fabs(got - want) <= 1e-14 * sqrt(k11 * k22));
  }
}

/**
  @brief F(k11,k22,k12) = F(k22,k11,k12) for every row: exactly (to rounding) for closed forms, to
  quadrature accuracy (1e-10, variances ≤ 1) otherwise. Catches: k11 and k22 swapped or mixed up in
  a formula.
*/
static void test_symmetry(void **state)
{
  (void)state;
  for (size_t a = 0; a < NNLActivationCount(); a++) {
    NNLActivation act = parse_ok(NNLActivationDefGet(a)->name);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      if (!act.def->dual && fmax(K[0], K[1]) > 1.0) continue;
      double f = NNLGaussDual(&act, K[0], K[1], K[2]), g = NNLGaussDual(&act, K[1], K[0], K[2]);
      double tol = act.def->dual ? 4e-16 : 1e-10;
      if (!(fabs(f - g) <= tol * fmax(1.0, fabs(f))))
        fail_msg("%s K=(%g,%g,%g): %.17g vs swapped %.17g", act.canon, K[0], K[1], K[2], f, g);
    }
  }
}

/**
  @brief At ρ = 1 (k11 = k22 = k12 = k), F = E φ(√k Z)², computed here by a 1-D rule of order 256,
  for every row and some non-default parameters; for the kinked rows the 1-D rule is exact by
  symmetry (φ² is x² on each side). Catches: a closed form wrong at the boundary ρ = 1 (θ = 0, δ,
  clamping), NaN from √(negative det).
*/
static void test_rho_one(void **state)
{
  (void)state;
  static const double ks[] = {1e-6, 0.5, 1.0};
  const double       *x = NULL, *w = NULL;

  NNLGaussHermite(256, &x, &w);
  for (size_t a = 0; a < NNLActivationCount() + 2; a++) {
    NNLActivation act =
        a < NNLActivationCount()
            ? parse_ok(NNLActivationDefGet(a)->name)
            : parse_ok(a == NNLActivationCount() ? "leaky_relu:0.2" : "sin:1.5:0.7:0.3");
    for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
      double s = sqrt(ks[k]), want = 0.0, got = NNLGaussDual(&act, ks[k], ks[k], ks[k]);
      double tol = act.def->dual ? 1e-12 : 1e-10;
      for (int i = 0; i < 256; i++) {
        double f = act.def->phi(s * x[i], act.p);
        want += w[i] * f * f;
      }
      if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
        fail_msg("%s k=%g: F %.17g, E phi^2 %.17g", act.canon, ks[k], got, want);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hermite_rules),
      cmocka_unit_test(test_closed_vs_quad_smooth),
      cmocka_unit_test(test_quad_self_convergence),
      cmocka_unit_test(test_closed_kinks),
      cmocka_unit_test(test_relu_arccos),
      cmocka_unit_test(test_symmetry),
      cmocka_unit_test(test_rho_one),
  };
  return cmocka_run_group_tests(tests, mc_setup, mc_teardown);
}
