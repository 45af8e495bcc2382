/* Unit tests of the activation table (src/activation.c): φ, layout, parsing, canon names. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include "simd.h"

#include "nnlimits/activation.h"

static const double test_xs[] = {-3.0, -0.5, 0.0, 0.25, 2.0};
#define NX (sizeof(test_xs) / sizeof(test_xs[0]))

/** @brief Parse spec, failing the test (with the message) if it does not parse. */
static NNLActivation parse_ok(const char *spec)
{
  NNLActivation act;
  char          err[512] = "";
  int           rc       = NNLActivationParse(spec, &act, err, sizeof(err));
  if (rc) fail_msg("'%s' did not parse: %s", spec, err);
  return act;
}

/** @brief |got − want| ≤ 1e-15 max(1, |want|): φ must be accurate to rounding. */
static void assert_close(double got, double want, const char *what, double x)
{
  if (!(fabs(got - want) <= 1e-15 * fmax(1.0, fabs(want))))
    fail_msg("%s(%g) = %.17g, want %.17g", what, x, got, want);
}

/** @brief Reference φ written apart from src/activation.c (other identities where possible). */
static double ref_phi(const char *name, double x, const double p[])
{
  if (!strcmp(name, "linear")) return x;
  if (!strcmp(name, "relu")) return fmax(x, 0.0);
  if (!strcmp(name, "leaky_relu")) return p[0] * fmin(x, 0.0) + fmax(x, 0.0);
  if (!strcmp(name, "abs")) return x < 0 ? -x : x;
  if (!strcmp(name, "tanh")) return (exp(2 * x) - 1) / (exp(2 * x) + 1);
  if (!strcmp(name, "erf")) return erf(x);
  if (!strcmp(name, "gelu")) return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  if (!strcmp(name, "sin")) return p[0] * sin(p[1] * x + p[2]);
  if (!strcmp(name, "swish") || !strcmp(name, "silu")) return x / (1.0 + exp(-x));
  if (!strcmp(name, "softplus")) return log(1.0 + exp(x));
  fail_msg("no reference for '%s'", name);
  return NAN;
}

/**
  @brief The table has the documented rows, in order, with the documented smooth flags, parities and
  closed forms, and a row marked odd or even is so bit for bit on 80 arguments from 1e-9 to 50.
  Catches: a reordered or dropped row (row order is public), a kink marked smooth, a lost closed
  form, a φ marked odd or even that is not exactly (the quadrature would then sum half its nodes
  wrongly), a row without its cost per element (the cost model would take φ as free, and order a
  sweep of it as if it were relu).
*/
static void test_table_layout(void **state)
{
  (void)state;
  static const char *names[]  = {"linear", "relu", "leaky_relu", "abs",   "tanh",
                                 "erf",    "gelu", "sin",        "swish", "softplus"};
  static const int   smooth[] = {1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  static const int   dual[]   = {1, 1, 1, 1, 0, 1, 1, 1, 0, 0};
  static const int   parity[] = {-1, 0, 0, 1, -1, -1, 0, 0, 0, 0};

  assert_int_equal(NNLActivationCount(), 10);
  for (size_t i = 0; i < 10; i++) {
    const NNLActivationDef *d = NNLActivationDefGet(i);
    assert_non_null(d);
    assert_string_equal(d->name, names[i]);
    assert_int_equal(d->smooth, smooth[i]);
    assert_int_equal(d->dual != NULL, dual[i]);
    assert_int_equal(d->parity, parity[i]);
    for (double x = 1e-9; d->parity && x < 50;
         x *= 1.37) { /* the quadrature relies on it bit for bit */
      double p = d->phi(x, d->pdefault), q = d->phi(-x, d->pdefault);
      if (q != d->parity * p)
        fail_msg("%s(-%.17g) = %.17g, not %d × %.17g", d->name, x, q, d->parity, p);
    }
    assert_true(d->nparam >= 0 && d->nparam <= NNL_ACT_MAXPARAM);
    assert_non_null(d->help);
    assert_true(d->cost >= 0.01 && d->cost <= 1000);
  }
  assert_null(NNLActivationDefGet(10));
  /* silu is another name of swish: same row, same canonical name, hence the same point ids */
  assert_ptr_equal(parse_ok("silu").def, NNLActivationDefGet(8));
  assert_string_equal(parse_ok("silu").canon, "swish");
  assert_string_equal(
    NNLActivationNames(),
    "linear, relu, leaky_relu, abs, tanh, erf, gelu, sin, swish, softplus, silu (= swish)");
}

/**
  @brief φ at a few points for every row (default and non-default parameters), against independent
  formulas. Catches: a wrong formula, a wrong default, a parameter read from the wrong slot.
*/
static void test_phi_values(void **state)
{
  (void)state;
  static const char *extra[] = {"leaky_relu:0.2", "sin:2:0.5:0.25", "sin:-1.5"};

  for (size_t i = 0; i < NNLActivationCount(); i++) {
    NNLActivation act = parse_ok(NNLActivationDefGet(i)->name);
    for (size_t k = 0; k < NX; k++)
      assert_close(act.def->phi(test_xs[k], act.p), ref_phi(act.def->name, test_xs[k], act.p),
                   act.canon, test_xs[k]);
  }
  for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
    NNLActivation act = parse_ok(extra[i]);
    for (size_t k = 0; k < NX; k++)
      assert_close(act.def->phi(test_xs[k], act.p), ref_phi(act.def->name, test_xs[k], act.p),
                   act.canon, test_xs[k]);
  }
  assert_true(parse_ok("leaky_relu").def->phi(-1.0, parse_ok("leaky_relu").p) == -0.01);
}

/**
  @brief Far tails stay finite and accurate.
  Catches: exp overflow in softplus/swish (inf or NaN at |x| ~ 800), cancellation in gelu's left
  tail.
*/
static void test_phi_tails(void **state)
{
  (void)state;
  NNLActivation sp = parse_ok("softplus"), sw = parse_ok("swish"), ge = parse_ok("gelu");

  assert_true(sp.def->phi(800.0, sp.p) == 800.0);
  assert_close(sp.def->phi(-800.0, sp.p), 0.0, "softplus", -800.0);
  /* log(1 + e^x) = e^x − e^{2x}/2 + …: full relative accuracy needs log1p, not log(1 + e^x) */
  assert_close(sp.def->phi(-30.0, sp.p) / exp(-30.0), 1.0 - 0.5 * exp(-30.0), "softplus/e^x",
               -30.0);
  assert_true(sw.def->phi(800.0, sw.p) == 800.0);
  assert_true(isfinite(sw.def->phi(-800.0, sw.p)) && fabs(sw.def->phi(-800.0, sw.p)) < 1e-300);
  /* x Φ(x) at x = −10: 1-Φ(10) = 7.6198530241604696e-24, erfc keeps it; 1 + erf(x/√2) would give 0
   */
  assert_true(fabs(ge.def->phi(-10.0, ge.p) / (-10.0 * 7.6198530241604696e-24) - 1.0) < 1e-13);
}

/**
  @brief Every name of the table parses to its own row, with canonical form the bare name and
  default params. Catches: a name the parser cannot reach (prefix clash, e.g. "sin" vs "silu"),
  defaults not filled in.
*/
static void test_parse_every_name(void **state)
{
  (void)state;
  for (size_t i = 0; i < NNLActivationCount(); i++) {
    const NNLActivationDef *d   = NNLActivationDefGet(i);
    NNLActivation           act = parse_ok(d->name);
    assert_ptr_equal(act.def, d);
    assert_string_equal(act.canon, d->name);
    for (int k = 0; k < d->nparam; k++) assert_true(act.p[k] == d->pdefault[k]);
  }
}

/**
  @brief Canonical forms are unique: defaults collapse to the bare name, otherwise all params are
  spelled out. Catches: two spellings of one activation getting two names (two cache keys / two
  store rows for one thing).
*/
static void test_parse_canonical(void **state)
{
  (void)state;
  static const char *cases[][2] = {
    {"leaky_relu", "leaky_relu"},
    {"RELU", "relu"}, /* names are case-insensitive, as option names are; one canonical spelling */
    {"Leaky_ReLU:0.01", "leaky_relu"},
    {"SiLU", "swish"},
    {"leaky_relu:0.01", "leaky_relu"},
    {"leaky_relu:1e-2", "leaky_relu"},
    {"leaky_relu:0.2", "leaky_relu:0.20000000000000001"},
    {"leaky_relu:-0", "leaky_relu:0"},
    {"leaky_relu:0", "leaky_relu:0"},
    {"sin", "sin"},
    {"sin:1", "sin"},
    {"sin:1:1:0", "sin"},
    {"sin:1:2", "sin:1:2:0"},
    {"sin:1:2:0", "sin:1:2:0"},
    {"sin:2", "sin:2:1:0"},
    {"sin:0.5:1:-0", "sin:0.5:1:0"},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    NNLActivation act = parse_ok(cases[i][0]), again;
    if (strcmp(act.canon, cases[i][1]))
      fail_msg("'%s' -> '%s', want '%s'", cases[i][0], act.canon, cases[i][1]);
    again = parse_ok(act.canon); /* the canonical form is a fixed point with the same parameters */
    assert_string_equal(again.canon, act.canon);
    assert_memory_equal(again.p, act.p, sizeof(act.p));
  }
  assert_true(parse_ok("sin:2:0.5:0.25").p[0] == 2.0 && parse_ok("sin:2:0.5:0.25").p[2] == 0.25);
}

/* The name outputs show: each parameter in the fewest digits that read back as the canonical one's
   double, so a user finds "leaky_relu:0.2" as typed (exports showed leaky_relu:0.20000000000000001,
   and a query on what was typed found nothing); it parses back to the same activation. */
static void test_display_name(void **state)
{
  (void)state;
  static const char *cases[][2] = {
    {"leaky_relu:0.2", "leaky_relu:0.2"},
    {"relu", "relu"},
    {"sin:1:2", "sin:1:2:0"},
    {"sin:0.1:3e-7:-2.5", "sin:0.1:3e-07:-2.5"},
    {"leaky_relu:0.3333333333333333", "leaky_relu:0.3333333333333333"},
    {"leaky_relu:1e-300", "leaky_relu:1e-300"}};

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    NNLActivation act = parse_ok(cases[i][0]), again;
    char          name[128];
    NNLActivationDisplayName(act.canon, name, sizeof(name));
    if (strcmp(name, cases[i][1]))
      fail_msg("'%s' (canon '%s') shows as '%s', want '%s'", cases[i][0], act.canon, name,
               cases[i][1]);
    again = parse_ok(name);
    assert_string_equal(again.canon, act.canon);
  }
}

/** @brief spec must fail, and the message must contain each of the given substrings. */
static void parse_fails(const char *spec, const char *want1, const char *want2)
{
  NNLActivation act;
  char          err[512] = "";

  if (!NNLActivationParse(spec, &act, err, sizeof(err)))
    fail_msg("'%s' parsed (canon '%s')", spec, act.canon);
  if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
    fail_msg("'%s': message '%s' lacks '%s' / '%s'", spec, err, want1, want2 ? want2 : "");
}

/**
  @brief Bad specs fail with a message naming the spec (and the allowed names for an unknown one).
  Catches: typos silently accepted, trailing junk or inf/nan accepted as numbers, extra params
  ignored.
*/
static void test_parse_errors(void **state)
{
  (void)state;
  NNLActivation act;
  char          small[8];

  parse_fails("relux", "unknown activation 'relux'", "allowed: linear, relu, leaky_relu");
  parse_fails("", "unknown activation ''", "allowed:");
  parse_fails(":0.2", "unknown activation ''", NULL);
  parse_fails("RELUX", "unknown activation 'RELUX'", NULL);
  parse_fails("relu:1", "relu:1", "too many");
  parse_fails("sin:1:2:3:4", "sin:1:2:3:4", "too many");
  parse_fails("leaky_relu:abc", "leaky_relu:abc", "'abc'");
  parse_fails("leaky_relu:", "leaky_relu:", "not a finite number");
  parse_fails("leaky_relu:0.2x", "leaky_relu:0.2x", "not a finite number");
  parse_fails("leaky_relu: 0.2", "leaky_relu: 0.2", "not a finite number");
  parse_fails("leaky_relu:inf", "leaky_relu:inf", "not a finite number");
  parse_fails("leaky_relu:nan", "leaky_relu:nan", "not a finite number");
  parse_fails("leaky_relu:1e999", "leaky_relu:1e999", "not a finite number");
  parse_fails("sin:1::0", "sin:1::0", "parameter 2");
  parse_fails("sin:0", "sin:0", "a = 0 or b = 0 is constant"); /* φ ≡ 0: critical σ_w² inf */
  parse_fails("sin:1:0:0.5", "sin:1:0:0.5", "is constant");
  /* the longest canonical spelling (3 parameters of 24 characters each) fits canon[] untruncated */
  assert_string_equal(
    parse_ok("sin:-1.2345678901234567e-100:-1.2345678901234567e-100:-1.2345678901234567e-100")
      .canon,
    "sin:-1.2345678901234567e-100:-1.2345678901234567e-100:-1.2345678901234567e-100");
  /* a tiny err buffer is truncated, never overrun */
  assert_int_not_equal(NNLActivationParse("relux", &act, small, sizeof(small)), 0);
  assert_int_equal(strlen(small), sizeof(small) - 1);
  assert_int_not_equal(NNLActivationParse("relux", &act, NULL, 0), 0);
}

/**
  @brief Apply equals φ elementwise for every row, out of place and in place.
  Catches: a fast path (relu, linear) that disagrees with the table's φ, or breaks when x and y
  alias.
*/
static void test_apply(void **state)
{
  (void)state;
  enum { N = 37 };
  double x[N], y[N], z[N];

  for (int i = 0; i < N; i++) x[i] = -4.0 + 8.0 * i / (N - 1) + 1e-3;
  for (size_t r = 0; r < NNLActivationCount(); r++) {
    NNLActivation act = parse_ok(NNLActivationDefGet(r)->name);
    NNLActivationApply(&act, N, x, y);
    memcpy(z, x, sizeof(x));
    NNLActivationApply(&act, N, z, z);
    for (int i = 0; i < N; i++) {
      assert_true(y[i] == act.def->phi(x[i], act.p));
      assert_true(z[i] == y[i]);
    }
  }
}

/* |got − want| in units of the last place of want (a double's, from the long double truth). */
static double ulp_error(double got, long double want)
{
  int e;
  if (want == 0) return got == 0 ? 0.0 : INFINITY;
  frexpl(want, &e);
  return (double)(fabsl((long double)got - want) / ldexpl(1.0L, e - 53));
}

/* The builds of simd.h that tanh and exp run in: each is checked, and all must give the same bits.
 */
static const char *const builds[] = {"plain", "avx2", "avx512"};

/* Values x (NaN, infinities, zeros, subnormals among them) through f in every build this CPU has:
   each build's y must be the first one's, bit for bit. */
static void same_in_every_build(const char   *what, void (*f)(const double *, double *, int),
                                const double *x, int n)
{
  double y0[1024], y[1024];
  int    nb = 0;

  assert_true(n <= 1024);
  for (int b = 0; b < 3; b++) {
    if (NNLSimdUse(builds[b])) continue;
    f(x, nb ? y : y0, n);
    for (int i = 0; i < n && nb; i++)
      if (memcmp(&y[i], &y0[i], sizeof(double)))
        fail_msg("%s(%.17g): %.17g in build %s, %.17g in the first", what, x[i], y[i], builds[b],
                 y0[i]);
    nb++;
  }
  (void)NNLSimdUse(NULL);
  assert_true(nb >= 1);
}

static void tanh_array(const double *x, double *y, int n)
{
  NNLActivation act = parse_ok("tanh");
  NNLActivationApply(&act, (size_t)n, x, y);
}

static void exp_array(const double *x, double *y, int n)
{
  memcpy(y, x, (size_t)n * sizeof(double));
  NNLExpArray((size_t)n, y, y); /* in place, as the quadrature calls it */
}

/**
  @brief tanh is our own arithmetic (src/activation.c), not libm's, in each build of simd.h this CPU
  has (plain, with libm's fma; AVX2; AVX-512): within 3 ulp of tanhl on 2.6e6 points from 1e-12 to
  30 (measured 2.50; glibc's tanh: 2.15), exactly odd, exact at 0, ±∞, NaN, tiny and subnormal
  arguments, 1 from |x| = 20 on; and every build gives the same bits on arrays with specials.
  Catches: a wrong coefficient among the series' first 13 or the exponential's, a wrong range
  reduction or 2^k, a threshold moved past the series' reach, a lost sign, NaN turned into ±1, a
  build that rounds differently (an fma written as a product and a sum in one of them).
*/
static void test_tanh(void **state)
{
  (void)state;
  NNLActivation act = parse_ok("tanh");
  double        x[1024];

  for (int b = 0; b < 3; b++) {
    double worst = 0, at = 0;
    long   n = 0;
    if (NNLSimdUse(builds[b])) continue;
    for (double a = 1e-12; a < 30; a *= 1.000012) {
      double t = act.def->phi(a, act.p), e = ulp_error(t, tanhl((long double)a));
      if (e > worst) worst = e, at = a;
      if (act.def->phi(-a, act.p) != -t) fail_msg("tanh(-%.17g) != -tanh(%.17g)", a, a);
      n++;
    }
    print_message("tanh, build %s: %.3f ulp at most (at %.17g, %ld points)\n", builds[b], worst, at,
                  n);
    if (!(worst <= 3.0))
      fail_msg("tanh, build %s: %.3f ulp at %.17g (%ld points)", builds[b], worst, at, n);
    assert_true(act.def->phi(0.0, act.p) == 0.0 && !signbit(act.def->phi(0.0, act.p)));
    assert_true(act.def->phi(-0.0, act.p) == 0.0 && signbit(act.def->phi(-0.0, act.p)));
    assert_true(act.def->phi(INFINITY, act.p) == 1.0 && act.def->phi(-INFINITY, act.p) == -1.0);
    assert_true(isnan(act.def->phi(NAN, act.p)));
    assert_true(act.def->phi(1e-300, act.p) == 1e-300 && act.def->phi(4e-320, act.p) == 4e-320);
    for (double a = 20; a < 1e6; a *= 1.7) assert_true(act.def->phi(a, act.p) == 1.0);
  }
  (void)NNLSimdUse(NULL);
  for (int i = 0; i < 1024; i++)
    x[i] = (i % 7 == 0 ? 1e-3 : 1.0) * 25.0 * sin(1.0 + i) * (1 + (i % 3));
  x[5] = NAN, x[17] = INFINITY, x[18] = -INFINITY, x[33] = -0.0, x[34] = 0.4, x[35] = -0.4,
  x[36] = 4e-320;
  same_in_every_build("tanh", tanh_array, x, 1023); /* odd: a vector build's remainder loop too */
}

/**
  @brief Our exponential (NNLExp, NNLExpArray: the Gaussian weights of every quadrature panel), in
  each build of simd.h this CPU has, is within 2 ulp of expl on 1.4e6 points over its whole range
  [−708, 709]; exact 1 at 0; +∞ above 709, 0 below −708 and at −∞, NaN kept; and every build gives
  the same bits on arrays with specials. Catches: a wrong series coefficient or range-reduction
  constant, a 2^k built wrongly at either end of the range (k = −1021 or 1023), the clamps moved,
  NaN lost, a build that rounds differently.
*/
static void test_exp(void **state)
{
  (void)state;
  double x[1024];

  for (int b = 0; b < 3; b++) {
    double worst = 0, at = 0;
    long   n = 0;
    if (NNLSimdUse(builds[b])) continue;
    for (double a = -708.0; a <= 709.0; a += 0.001003) {
      double e = ulp_error(NNLExp(a), expl((long double)a));
      if (e > worst) worst = e, at = a;
      n++;
    }
    for (double a = 1e-12; a < 1; a *= 1.0001) { /* small arguments, where e^x ≈ 1 + x */
      double e = fmax(ulp_error(NNLExp(a), expl((long double)a)),
                      ulp_error(NNLExp(-a), expl(-(long double)a)));
      if (e > worst) worst = e, at = a;
      n += 2;
    }
    print_message("exp, build %s: %.3f ulp at most (at %.17g, %ld points)\n", builds[b], worst, at,
                  n);
    if (!(worst <= 2.0))
      fail_msg("exp, build %s: %.3f ulp at %.17g (%ld points)", builds[b], worst, at, n);
    assert_true(NNLExp(0.0) == 1.0 && NNLExp(-0.0) == 1.0);
    assert_true(NNLExp(709.5) == INFINITY && NNLExp(INFINITY) == INFINITY &&
                NNLExp(1e300) == INFINITY);
    assert_true(NNLExp(-708.5) == 0.0 && NNLExp(-INFINITY) == 0.0 && NNLExp(-1e300) == 0.0);
    assert_true(isnan(NNLExp(NAN)));
  }
  (void)NNLSimdUse(NULL);
  for (int i = 0; i < 1024; i++) x[i] = (i % 5 == 0 ? 700.0 : 40.0) * sin(1.0 + i);
  x[5] = NAN, x[17] = INFINITY, x[18] = -INFINITY, x[33] = -0.0, x[34] = 709.0, x[35] = -708.0,
  x[36] = 4e-320;
  same_in_every_build("exp", exp_array, x, 1023);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table_layout),
    cmocka_unit_test(test_phi_values),
    cmocka_unit_test(test_phi_tails),
    cmocka_unit_test(test_parse_every_name),
    cmocka_unit_test(test_parse_canonical),
    cmocka_unit_test(test_display_name),
    cmocka_unit_test(test_parse_errors),
    cmocka_unit_test(test_apply),
    cmocka_unit_test(test_tanh),
    cmocka_unit_test(test_exp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
