/* Unit tests of the dual kernels F_φ: closed forms, the panel rule, Gauss–Hermite (src/gauss.c,
 * src/activation.c). */
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

/* (k11, k22, k12): ρ = ±0.999999, ±0.99, 0, generic; tiny (1e-6), unit, large (10, 100, 1e4) and
   zero variances, equal and very unequal. ρ ≈ −0.99 at large variance is where F ≪ E|φ(Z1)φ(Z2)|
   (cancellation). */
static const double test_k[][3] = {
  {1, 1, 0.5},
  {1, 1, 0.999999},
  {1, 1, -0.999999},
  {1, 1.5, 0},
  {1e-6, 1e-6, 5e-7},
  {1e-6, 1, 0.3e-3},
  {1.5, 0.5, -0.7},
  {10, 10, 5},
  {10, 10, 9.99999},
  {10, 10, -9.99999},
  {10, 1e-6, 1e-3},
  {0, 1, 0},
  {1, 0, 0},
  {10, 2, 0},
  {100, 100, 50},
  {100, 100, 99.9999},
  {100, 100, -99.9999},
  {100, 100, -99},
  {100, 1, -9},
  {1e4, 1e4, 5e3},
  {1e4, 1e4, 9999.99},
  {1e4, 1e4, -9999.99},
  {1e4, 1e4, -9900},
  {1e4, 3e3, -5422.45},
  {1e4, 1, 30},
  {1e4, 1e-6, 0.05},
  {1e4, 100, -999.999},
  {0, 1e4, 0},
  {1e4, 0, 0},
};
#define NK (sizeof(test_k) / sizeof(test_k[0]))

/* The panel rule resolves a·sin(bx + c) to 1e-12 only while b·√k <= 4 (measured over ρ, c and
   k22/k11: 3.6e-14 at 3.75, 7.8e-13 at 4, 6.6e-12 at 5, 2e-9 at 7); the tests compare it there with
   a margin. */
#define SIN_BSQRTK_MAX 3.5

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

/* Reference for the panel rule: adaptive Gauss–Kronrod 7/15 (the QUADPACK qk15 constants), nested
   for 2-D, on [−10, 10]. It knows nothing of where φ has its feature and shares no code with
   src/gauss.c: it bisects wherever the 15- and 7-point rules disagree. Nodes gk_x descending to 0;
   the Gauss nodes are gk_x[1], [3], [5], [7]. */
static const double gk_x[8] = {
  0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
  0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
  0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
  0.207784955007898467600689403773245, 0.000000000000000000000000000000000};
static const double gk_wk[8] = {
  0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
  0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
  0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
  0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
static const double gk_wg[4] = {
  0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
  0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

typedef double (*TestFn)(double x, const void *ctx);

/**
  @brief ∫_a^b f by Gauss–Kronrod 7/15, bisecting until the two rules agree to tol (halved with each
  bisection), or to 1e-14 of the local ∫|f| (rounding: an absolute tol alone cannot be met where |f|
  is large).
*/
static double AdaptGK(TestFn f, const void *ctx, double a, double b, double tol, int depth)
{
  double m = 0.5 * (a + b), h = 0.5 * (b - a), fc = f(m, ctx);
  double k = gk_wk[7] * fc, g = gk_wg[3] * fc, kabs = gk_wk[7] * fabs(fc);

  for (int i = 0; i < 7; i++) {
    double fp = f(m + h * gk_x[i], ctx), fm = f(m - h * gk_x[i], ctx);
    k += gk_wk[i] * (fp + fm);
    kabs += gk_wk[i] * (fabs(fp) + fabs(fm));
    if (i % 2 == 1) g += gk_wg[i / 2] * (fp + fm);
  }
  k *= h;
  g *= h;
  kabs *= h;
  if (depth == 0 || fabs(k - g) <= fmax(tol, 1e-14 * kabs)) return k;
  return AdaptGK(f, ctx, a, m, 0.5 * tol, depth - 1) + AdaptGK(f, ctx, m, b, 0.5 * tol, depth - 1);
}

/** @brief ∫_{−10}^{10} f, started on unit intervals (f includes the N(0,1) density). */
static double IntegrateGK(TestFn f, const void *ctx)
{
  double sum = 0.0;
  for (int i = -10; i < 10; i++) sum += AdaptGK(f, ctx, i, i + 1, 1e-16, 40);
  return sum;
}

typedef struct {
  const NNLActivation *act;
  double               s1, s2, rho, c, x;
} RefCtx;

static double NormalPdf(double z)
{
  return exp(-0.5 * z * z) / sqrt(2.0 * test_pi);
}

/** @brief y ↦ φ(s2(ρx + cy)) N(y). */
static double RefInner(double y, const void *v)
{
  const RefCtx *r = v;
  return r->act->def->phi(r->s2 * (r->rho * r->x + r->c * y), r->act->p) * NormalPdf(y);
}

/** @brief x ↦ φ(s1 x) E_y φ(s2(ρx + cy)) N(x). */
static double RefOuter(double x, const void *v)
{
  RefCtx r  = *(const RefCtx *)v;
  double f1 = r.act->def->phi(r.s1 * x, r.act->p);
  r.x       = x;
  return f1 == 0.0 ? 0.0 : f1 * IntegrateGK(RefInner, &r) * NormalPdf(x);
}

/** @brief x ↦ φ(s1 x)² N(x): the integrand of F at ρ = 1, k11 = k22. */
static double RefSquare(double x, const void *v)
{
  const RefCtx *r = v;
  double        f = r->act->def->phi(r->s1 * x, r->act->p);
  return f * f * NormalPdf(x);
}

/** @brief F_φ(K) by the nested adaptive reference (about 1e6 φ evaluations: for a handful of cases
 * only). */
static double RefDual(const NNLActivation *act, double k11, double k22, double k12)
{
  RefCtx r = {act, sqrt(k11), sqrt(k22), 0.0, 0.0, 0.0};
  if (r.s1 > 0 && r.s2 > 0) r.rho = fmax(-1.0, fmin(1.0, k12 / (r.s1 * r.s2)));
  r.c = sqrt((1 - r.rho) * (1 + r.rho));
  return IntegrateGK(RefOuter, &r);
}

/** @brief Largest b·√k of a sin row over K (0 for other rows): where the panel rule is valid for
 * it. */
static double SinBSqrtK(const NNLActivation *act, const double K[3])
{
  return strcmp(act->def->name, "sin") ? 0.0 : fabs(act->p[1]) * sqrt(fmax(K[0], K[1]));
}

/**
  @brief Smooth rows with a closed form (linear, erf, gelu, sin) against Gauss–Hermite of order 256,
  where that rule is accurate: variances ≤ 1.5 (GH converges like exp(−c√(order/k)): order 96 at k =
  10 is off by 4.6e-4 for erf; larger variances are NNLGaussDualPanel's, tested below). Within 1e-12
  max(1,|closed|). Catches: a wrong closed form (MATH.md §3), checked by a method that shares
  nothing with the panel rule.
*/
static void test_closed_vs_hermite(void **state)
{
  (void)state;
  static const char *specs[] = {"linear",          "erf",           "gelu", "sin",
                                "sin:1.5:0.7:0.3", "sin:0.5:1.2:-1"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    assert_non_null(act.def->dual);
    assert_int_equal(act.def->smooth, 1);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      if (fmax(K[0], K[1]) > 1.5) continue;
      double closed = act.def->dual(K[0], K[1], K[2], act.p);
      double quad   = NNLGaussDualQuad(&act, K[0], K[1], K[2], 256);
      if (!(fabs(closed - quad) <= 1e-12 * fmax(1.0, fabs(closed))))
        fail_msg("%s K=(%g,%g,%g): closed %.17g GH256 %.17g", act.canon, K[0], K[1], K[2], closed,
                 quad);
    }
  }
}

/**
  @brief Every row with a closed form, smooth and kinked, against NNLGaussDualPanel at every test K
  (variances 0 to 1e4, ρ to ±0.999999; sin only while b·√k ≤ SIN_BSQRTK_MAX). Two bounds: 1e-12
  max(1,|F|), the accuracy promised to callers, and 5e-14 max(|F|, √(F11 F22)) with Fii =
  F(kii,kii,kii) ≥ E φ(Zi)², which the first bound leaves unchecked at tiny variances. Measured
  worst: 1.7e-13 of the first (gelu, k = 1e4, ρ ≈ −1: the closed form's own rounding, which quad
  precision puts at 3.9e-13 there), 1.2e-14 of the second (sin at b·√k = 3.2), else ≤ 4e-15.
  Catches: the panel rule losing accuracy as the variance grows (Gauss–Hermite 96 had 4.6e-4 for erf
  at k = 10), a feature point or width off (ignoring the smoothed kink of g near |ρ| = 1 left ReLU
  1e-9 off), grading that stops short (2e-12 for gelu at K = (1e4, 3e3, ρ = −0.99)), a kink between
  breakpoints, zero variances or |ρ| → 1 mishandled; and closed forms that lose digits (sin at k =
  1e-6 was 5e-11 off, ReLU at ρ = −0.999999, k = 1e4, 7e-13).
*/
/**
  @brief Closed forms at huge variances, where products overflow and differences cancel. gelu on the
  diagonal against its cancellation-free form (δ² = 1 + 2k there) to 1e-13, and off it against
  relu's dual (gelu → relu as the scale grows: relative gap O(k^-1/2)); erf at k = 1e300 (F → (2/π)
  asin(ρ)). Catches: gelu's δ² formed as (1+k11)(1+k22) − k12² (δ = 0 on the diagonal past k = 2^53:
  inf at k = 1e16, NaN after), erf's (1+2k11)(1+2k22) overflowing past 1e154 (F = 0).
*/
static void test_closed_large_variance(void **state)
{
  (void)state;
  NNLActivation       gelu = parse_ok("gelu"), relu = parse_ok("relu"), erfa = parse_ok("erf");
  static const double ks[] = {1e-3, 1, 1e8, 4e16, 1e20, 1e100, 1e200};
  for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
    const double k = ks[i], d = sqrt(1 + 2 * k);
    const double want = k / 4 + (k * atan(k / d) + 2 * k / (1 + k) * k / d) / (2 * M_PI),
                 got  = gelu.def->dual(k, k, k, gelu.p);
    if (!(fabs(got - want) <= 1e-13 * want))
      fail_msg("gelu diagonal k=%g: %.17g, want %.17g", k, got, want);
  }
  for (int r = 0; r < 3; r++) {
    const double rho = r == 0   ? 0.5
                       : r == 1 ? 0.999
                                : -0.3,
                 k1 = 1e16, k2 = 3e16, k12 = rho * sqrt(k1 * k2);
    const double g = gelu.def->dual(k1, k2, k12, gelu.p), f = relu.def->dual(k1, k2, k12, relu.p);
    if (!(fabs(g - f) <= 1e-6 * f))
      fail_msg("gelu k=(%g,%g) rho=%g: %.17g, relu's %.17g", k1, k2, rho, g, f);
  }
  {
    const double f = erfa.def->dual(1e300, 1e300, 0.5e300, erfa.p);
    if (!(fabs(f - 1.0 / 3.0) <= 1e-12))
      fail_msg("erf at k = 1e300, rho = 0.5: %.17g, want 1/3", f);
  }
}

/*
  The min/max duals (relu, leaky_relu, abs) are homogeneous of degree 1: F(sK) = s F(K), here for s
  = 2^-700 … 2^700 (q of a ReLU MLP 700 layers deep at σ_w² = 1 and 4), to 1e-15 relative, ρ = 0.999
  and −0.3, and in each variance alone (2^300 and 2^-780). Catches: k11 k22 formed as such, which
  overflowed past ~1e154 (q_nngp of ρ inf) and underflowed below ~1e-154 (det 0: F = 0 at ρ = −0.3,
  and ρ frozen near 1), and one scale for both variances (the smaller one 0).
*/
static void test_closed_homogeneous(void **state)
{
  (void)state;
  static const char  *specs[] = {"relu", "leaky_relu:0.2", "abs"};
  static const double K[2][3] = {{1, 3, 0.999 * 1.7320508075688772}, {1, 1, -0.3}},
                      s[]     = {0x1p-700, 0x1p-520, 0x1p-300, 0x1p300, 0x1p520, 0x1p700};
  for (size_t a = 0; a < 3; a++) {
    NNLActivation act = parse_ok(specs[a]);
    for (int k = 0; k < 2; k++) {
      const double f = act.def->dual(K[k][0], K[k][1], K[k][2], act.p);
      for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        const double g = act.def->dual(s[i] * K[k][0], s[i] * K[k][1], s[i] * K[k][2], act.p);
        if (!(fabs(g / s[i] - f) <= 1e-15 * fabs(f)))
          fail_msg("%s K=%d scale 2^%d: F/s %.17g, F(K) %.17g", specs[a], k, ilogb(s[i]), g / s[i],
                   f);
      }
    }
    /* variances 2^1080 apart: F(2^300, 2^-780, ρ 2^-240) = 2^-240 F(1, 1, ρ) (one scale for both
       made 2^-780 a 0, and F = 0) */
    {
      const double f = act.def->dual(1, 1, 0.5, act.p),
                   g = act.def->dual(0x1p300, 0x1p-780, 0.5 * 0x1p-240, act.p);
      if (!(fabs(g / 0x1p-240 - f) <= 1e-15 * fabs(f)))
        fail_msg("%s K = (2^300, 2^-780, 0.5 2^-240): F 2^240 = %.17g, F(1, 1, 0.5) = %.17g",
                 specs[a], g / 0x1p-240, f);
    }
  }
}

static void test_closed_vs_panel(void **state)
{
  (void)state;
  static const char *specs[] = {"linear",
                                "erf",
                                "gelu",
                                "sin",
                                "sin:1.5:0.7:0.3",
                                "sin:0.5:1.2:-1",
                                "relu",
                                "leaky_relu:0.2",
                                "leaky_relu:-0.5",
                                "abs"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    assert_non_null(act.def->dual);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      if (SinBSqrtK(&act, K) > SIN_BSQRTK_MAX) continue;
      double closed = act.def->dual(K[0], K[1], K[2], act.p),
             panel  = NNLGaussDualPanel(&act, K[0], K[1], K[2]);
      double scale =
        sqrt(act.def->dual(K[0], K[0], K[0], act.p) * act.def->dual(K[1], K[1], K[1], act.p));
      if (!(fabs(closed - panel) <= 1e-12 * fmax(1.0, fabs(closed))) ||
          !(fabs(closed - panel) <= 5e-14 * fmax(fabs(closed), scale)))
        fail_msg("%s K=(%g,%g,%g): closed %.17g panel %.17g", act.canon, K[0], K[1], K[2], closed,
                 panel);
    }
  }
}

/**
  @brief Rows without a closed form at variances ≤ 1: NNLGaussDualPanel agrees with Gauss–Hermite of
  order 256 to 1e-13 max(1,|F|) (measured worst 1.3e-15, softplus; order 96 was 1.2e-11 off for
  tanh), and so does NNLGaussDual (here the trapezoid rule; measured worst 2.2e-15). Catches: a
  panel or trapezoid rule wrong for these φ at unit scale.
*/
static void test_panel_vs_hermite(void **state)
{
  (void)state;
  static const char *specs[] = {"tanh", "swish", "silu", "softplus"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    assert_null(act.def->dual);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      if (fmax(K[0], K[1]) > 1.0) continue;
      double panel = NNLGaussDualPanel(&act, K[0], K[1], K[2]),
             q256  = NNLGaussDualQuad(&act, K[0], K[1], K[2], 256);
      double dual  = NNLGaussDual(&act, K[0], K[1], K[2]);
      if (!(fabs(panel - q256) <= 1e-13 * fmax(1.0, fabs(q256))))
        fail_msg("%s K=(%g,%g,%g): panel %.17g GH256 %.17g", act.canon, K[0], K[1], K[2], panel,
                 q256);
      if (!(fabs(dual - q256) <= 1e-13 * fmax(1.0, fabs(q256))))
        fail_msg("%s K=(%g,%g,%g): NNLGaussDual %.17g GH256 %.17g", act.canon, K[0], K[1], K[2],
                 dual, q256);
    }
  }
}

/**
  @brief Rows without a closed form at variances ≥ 10 (where no Gauss–Hermite order is accurate)
  against the nested adaptive Gauss–Kronrod reference, to 1e-12 max(1,|F|) (measured worst 1.9e-15,
  softplus). The reference is first held to the erf and gelu closed forms on the same K
  (worst 1.7e-13, gelu's closed form), so that it is known to be accurate there. Catches: a panel
  rule that is wrong at large variance only for φ with exponential (not Gaussian) tails, such as
  tanh, swish, softplus: feature width or grading too coarse, truncation of |z| at 9 too tight for
  growing φ.
*/
static void test_panel_large_variance(void **state)
{
  (void)state;
  static const char *specs[] = {"erf", "gelu", "tanh", "swish", "softplus"};

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      if (fmax(K[0], K[1]) < 10.0) continue;
      double ref = RefDual(&act, K[0], K[1], K[2]);
      double got = act.def->dual ? act.def->dual(K[0], K[1], K[2], act.p)
                                 : NNLGaussDualPanel(&act, K[0], K[1], K[2]);
      if (!(fabs(got - ref) <= 1e-12 * fmax(1.0, fabs(ref))))
        fail_msg("%s K=(%g,%g,%g): %s %.17g adaptive GK %.17g", act.canon, K[0], K[1], K[2],
                 act.def->dual ? "closed" : "panel", got, ref);
    }
  }
}

/* φ = tanh, counting its calls: the cost test's activation. */
static long count_calls;

static double CountingTanh(double x, const double p[])
{
  (void)p;
  count_calls++;
  return tanh(x);
}

/**
  @brief The trapezoid rule against the panel rule for the rows it serves (tanh, swish, silu,
  softplus), on a grid of variances 1e-4 to 100, ratios k22/k11 of 0.01 to 2 and ρ from −1 to 1, and
  at every test K: within 2e-11 of the scale √(F(k11,k11,k11) F(k22,k22,k22)) (measured
  worst 6.9e-12, swish at k = 0.3; mostly ~1e-13, the panel rule's own error). Where it applies,
  NNLGaussDual is its value, bit for bit; where it declines, the panel rule's. It must apply at
  variances ≤ 10 and decline at 1e4 (else the test would not be testing it), and it must stay cheap:
  ≤ 2000 evaluations of tanh at k = 1, ρ = 0.5 (measured 1737; the panel rule takes 23100). Catches
  (each tried): a step from the full strip (STRIP = 1: 2e-11 off, at ρ near 1), too few digits (D =
  25: 5e-10), an inner rule not centred on the conditional mean (O(1)); and weights without h or
  1/√(2π).
*/
static void test_trapezoid(void **state)
{
  (void)state;
  static const char  *specs[] = {"tanh", "swish", "silu", "softplus"};
  static const double ks[] = {1e-4, 1e-2, 0.1, 0.3, 1, 3, 10, 30, 100}, ratio[] = {1, 0.5, 2, 0.01};
  static const double rhos[] = {-1, -0.999, -0.9, -0.5, 0, 0.3, 0.7, 0.9, 0.99, 0.9999, 1};
  const NNLActivationDef def = {"tanh", "tanh, counted", 0, {0}, CountingTanh, NULL, 1, -1, 0.77,
                                NULL,   test_pi / 2};
  NNLActivation          counted = {.def = &def};
  double                 F, worst = 0.0;

  for (size_t a = 0; a < sizeof(specs) / sizeof(specs[0]); a++) {
    NNLActivation act = parse_ok(specs[a]);
    for (size_t n = 0; n < NK + sizeof(ks) / sizeof(ks[0]) * 4 * 11; n++) {
      double K[3];
      if (n < NK)
        memcpy(K, test_k[n], sizeof(K));
      else {
        size_t g = n - NK, r = g % 11, q = g / 11 % 4, k = g / 44;
        K[0] = ks[k];
        K[1] = ks[k] * ratio[q];
        K[2] = rhos[r] * sqrt(K[0] * K[1]);
      }
      if (!NNLGaussDualTrapezoid(&act, K[0], K[1], K[2], &F)) {
        if (n >= NK && fmax(K[0], K[1]) <= 10)
          fail_msg("%s K=(%g,%g,%g): the trapezoid rule declined", act.canon, K[0], K[1], K[2]);
        assert_true(NNLGaussDual(&act, K[0], K[1], K[2]) ==
                    NNLGaussDualPanel(&act, K[0], K[1], K[2]));
        continue;
      }
      assert_true(NNLGaussDual(&act, K[0], K[1], K[2]) == F);
      double panel = NNLGaussDualPanel(&act, K[0], K[1], K[2]);
      double scale =
        sqrt(NNLGaussDualPanel(&act, K[0], K[0], K[0]) * NNLGaussDualPanel(&act, K[1], K[1], K[1]));
      if (!(fabs(F - panel) <= 2e-11 * scale))
        fail_msg("%s K=(%g,%g,%g): trapezoid %.17g panel %.17g (scale %g)", act.canon, K[0], K[1],
                 K[2], F, panel, scale);
      if (scale > 0) worst = fmax(worst, fabs(F - panel) / scale);
    }
    assert_false(NNLGaussDualTrapezoid(&act, 1e4, 1e4, 5e3, &F));
  }
  print_message("trapezoid vs panel: worst %.2g of the scale\n", worst);
  count_calls = 0;
  assert_true(NNLGaussDualTrapezoid(&counted, 1.0, 1.0, 0.5, &F));
  print_message("trapezoid: %ld evaluations of tanh at k = 1, rho = 0.5\n", count_calls);
  if (count_calls > 2000) fail_msg("%ld evaluations", count_calls);
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
  @brief F(k11,k22,k12) = F(k22,k11,k12) for every row at every test K: exactly (to rounding, 4e-16)
  for closed forms; for the panel rule, which swaps the roles of outer and inner integral, to 1e-12
  max(1,|F|) (measured worst 1.9e-15), also for the closed-form rows where the panel rule is valid.
  Catches: k11 and k22 swapped or mixed up in a formula, an inner or outer feature width that is
  right for one ordering only.
*/
static void test_symmetry(void **state)
{
  (void)state;
  for (size_t a = 0; a < NNLActivationCount(); a++) {
    NNLActivation act = parse_ok(NNLActivationDefGet(a)->name);
    for (size_t k = 0; k < NK; k++) {
      const double *K = test_k[k];
      double f = NNLGaussDual(&act, K[0], K[1], K[2]), g = NNLGaussDual(&act, K[1], K[0], K[2]);
      double tol = act.def->dual ? 4e-16 : 1e-12;
      if (!(fabs(f - g) <= tol * fmax(1.0, fabs(f))))
        fail_msg("%s K=(%g,%g,%g): %.17g vs swapped %.17g", act.canon, K[0], K[1], K[2], f, g);
      if (SinBSqrtK(&act, K) > SIN_BSQRTK_MAX) continue;
      f = NNLGaussDualPanel(&act, K[0], K[1], K[2]);
      g = NNLGaussDualPanel(&act, K[1], K[0], K[2]);
      if (!(fabs(f - g) <= 1e-12 * fmax(1.0, fabs(f))))
        fail_msg("%s K=(%g,%g,%g): panel %.17g vs swapped %.17g", act.canon, K[0], K[1], K[2], f,
                 g);
    }
  }
}

/**
  @brief At ρ = 1 (k11 = k22 = k12 = k, k from 0 to 1e4), F = E φ(√k Z)², computed here by 1-D
  adaptive Gauss–Kronrod, for every row and some non-default parameters: NNLGaussDual (closed form
  or panel rule) and NNLGaussDualPanel (where valid for sin) within 1e-12 max(1,|F|) (measured
  worst 1.9e-15). Catches: a closed form wrong at the boundary ρ = 1 (θ = 0, δ, clamping), NaN from
  √(negative det), the panel rule's 1-D diagonal path (σ = 0) being wrong or losing accuracy at
  large variance.
*/
static void test_rho_one(void **state)
{
  (void)state;
  static const double ks[] = {0.0, 1e-6, 0.5, 1.0, 100.0, 1e4};

  for (size_t a = 0; a < NNLActivationCount() + 2; a++) {
    NNLActivation act =
      a < NNLActivationCount()
        ? parse_ok(NNLActivationDefGet(a)->name)
        : parse_ok(a == NNLActivationCount() ? "leaky_relu:0.2" : "sin:1.5:0.7:0.3");
    for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
      const double K[3] = {ks[k], ks[k], ks[k]};
      RefCtx       r    = {&act, sqrt(ks[k]), 0.0, 0.0, 0.0, 0.0};
      double       want = IntegrateGK(RefSquare, &r), got = NNLGaussDual(&act, ks[k], ks[k], ks[k]);
      if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("%s k=%g: F %.17g, E phi^2 %.17g", act.canon, ks[k], got, want);
      if (SinBSqrtK(&act, K) > SIN_BSQRTK_MAX) continue;
      got = NNLGaussDualPanel(&act, ks[k], ks[k], ks[k]);
      if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("%s k=%g: panel %.17g, E phi^2 %.17g", act.canon, ks[k], got, want);
    }
  }
}

/**
  @brief φ evaluations per F of the panel rule, for tanh (odd: half the outer nodes): off the
  diagonal ≤ 2.5e4 at k = 1 (measured 23100) and ≤ 7.5e4 at k = 1e4 (66780); on the diagonal ρ = 1 ≤
  250 at any k ≤ 1e4 (100 at k = 1, 180 at 1e4). The NNGP recursion calls F about 3·depth times,
  depth up to 1024. Catches: the diagonal no longer taking the 1-D path (it would cost ~1e5), the
  grading running to its 1e-6 floor when it need not, an odd φ no longer summing half the outer
  nodes (46200 at k = 1).
*/
static void test_panel_cost(void **state)
{
  (void)state;
  static const double    ks[] = {1e-6, 1.0, 100.0, 1e4};
  const NNLActivationDef def  = {
     "tanh", "tanh, counted", 0, {0}, CountingTanh, NULL, 1, -1, 0.77, NULL, 0};
  NNLActivation act = {.def = &def};

  for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
    long max_off = ks[k] <= 1.0 ? 25000 : 75000;
    count_calls  = 0;
    (void)NNLGaussDualPanel(&act, ks[k], ks[k], 0.5 * ks[k]);
    if (count_calls > max_off) fail_msg("k=%g, rho=0.5: %ld evaluations", ks[k], count_calls);
    count_calls = 0;
    (void)NNLGaussDualPanel(&act, ks[k], ks[k], ks[k]);
    if (count_calls > 250) fail_msg("k=%g, rho=1: %ld evaluations", ks[k], count_calls);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hermite_rules),
    cmocka_unit_test(test_closed_vs_hermite),
    cmocka_unit_test(test_closed_vs_panel),
    cmocka_unit_test(test_closed_large_variance),
    cmocka_unit_test(test_closed_homogeneous),
    cmocka_unit_test(test_panel_vs_hermite),
    cmocka_unit_test(test_panel_large_variance),
    cmocka_unit_test(test_trapezoid),
    cmocka_unit_test(test_closed_kinks),
    cmocka_unit_test(test_relu_arccos),
    cmocka_unit_test(test_symmetry),
    cmocka_unit_test(test_rho_one),
    cmocka_unit_test(test_panel_cost),
  };
  return cmocka_run_group_tests(tests, mc_setup, mc_teardown);
}
