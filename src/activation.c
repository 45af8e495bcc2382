/* The activation table: φ for each activation, closed-form dual kernels, spec parsing. */
#include "nnlimits/activation.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "simd.h"

static const double nnl_pi = 3.141592653589793238462643383279;

/** @brief Identity. */
static double PhiLinear(double x, const double p[])
{
  (void)p;
  return x;
}

/** @brief max(x, 0). */
static double PhiRelu(double x, const double p[])
{
  (void)p;
  return x > 0.0 ? x : 0.0;
}

/** @brief α min(x,0) + max(x,0), α = p[0]. */
static double PhiLeakyRelu(double x, const double p[])
{
  return x > 0.0 ? x : p[0] * x;
}

/** @brief |x|. */
static double PhiAbs(double x, const double p[])
{
  (void)p;
  return fabs(x);
}

/* y = k ln 2 + r (Cody–Waite, |r| ≤ ln 2/2): returns 2^k, built in the exponent bits (−1021 ≤ k ≤
   1023 for y in [−708, 709], so 2^k is a normal number), and r in *r. */
static inline __attribute__((always_inline)) double ExpReduce(double y, double *r)
{
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10,
               log2e = 1.4426950408889634;
  const double shift =
    6755399441055744.0; /* 1.5·2^52: adding it rounds to an integer, left in the low bits */
  double   ks = y * log2e + shift, kd = ks - shift, t;
  uint64_t bits;

  *r = fma(-kd, ln2_lo, y - kd * ln2_hi); /* kd·ln2_hi is exact (ln2_hi ends in 21 zero bits, |k| <=
                                             1024), so is the difference */
  memcpy(&bits, &ks, sizeof(bits));
  bits = (bits + 1023) << 52; /* 2^k: k is in the low bits of ks */
  memcpy(&t, &bits, sizeof(t));
  return t;
}

/* (e^r − 1 − r)/r² for |r| ≤ ln 2/2: the series 1/2 + r/6 + … + r^11/13! (truncation < 5e-18
   relative in e^r), by Horner's rule in fused multiply-adds (one rounding per step, and half the
   operations: 1.5× faster than a product then a sum, as this CPU has one 512-bit FMA unit). */
static inline __attribute__((always_inline)) double ExpSeries(double r)
{
  double e = 1.0 / 6227020800.0;

  e = fma(e, r, 1.0 / 479001600.0);
  e = fma(e, r, 1.0 / 39916800.0);
  e = fma(e, r, 1.0 / 3628800.0);
  e = fma(e, r, 1.0 / 362880.0);
  e = fma(e, r, 1.0 / 40320.0);
  e = fma(e, r, 1.0 / 5040.0);
  e = fma(e, r, 1.0 / 720.0);
  e = fma(e, r, 1.0 / 120.0);
  e = fma(e, r, 1.0 / 24.0);
  e = fma(e, r, 1.0 / 6.0);
  return fma(e, r, 0.5);
}

/**
  @brief e^y for y in [−708, 709], by arithmetic alone (no libm but its correctly rounded fma in the
  plain build): the same bits on every machine and in every build of simd.h. 2^k e^r with e^r by its
  series to r^13 (ExpReduce, ExpSeries).
*/
static inline __attribute__((always_inline)) double ExpCore(double y)
{
  double r, t = ExpReduce(y, &r), e = ExpSeries(r);

  e = fma(e, r, 1.0);
  e = fma(e, r, 1.0);
  return e * t;
}

/* e^y − 1 for y in [0, 40], without cancellation near 0: 2^k (e^r − 1) + (2^k − 1), e^r − 1 = r +
   r² ExpSeries(r) (2^k − 1 is exact here). */
static inline __attribute__((always_inline)) double Expm1Core(double y)
{
  double r, t = ExpReduce(y, &r), e = ExpSeries(r);

  e = fma(r * r, e, r);
  return fma(t, e, t - 1.0);
}

/**
  @brief e^x within 2 ulp of expl: NaN stays NaN, x > 709 gives +∞ (e^709.79 overflows), x < −708
  gives 0 (flushing what would be subnormal or below; e^−708 = 3.3e-308).
*/
static inline __attribute__((always_inline)) double Exp(double x)
{
  double y = x > 709.0 ? 709.0 : x < -708.0 ? -708.0 : x, e = ExpCore(y);

  e = x > 709.0 ? HUGE_VAL : x < -708.0 ? 0.0 : e;
  return x == x ? e : x;
}

/**
  @brief tanh x within 2.5 ulp (libm's: 2.2), by arithmetic alone: loops over it vectorise, and it
  gives the same bits on every machine and in every build of simd.h (as Exp). libm's tanh and the
  expm1 under it were half the time of a sweep with tanh networks and their limits. tanh |x| = E/(E
  + 2), E = e^{2|x|} − 1 (Expm1Core, no cancellation near 0); |x| is capped at 20, where tanh rounds
  to 1. One series per value: the Taylor series of tanh for |x| < 0.4 beside e^{−2|x|} otherwise,
  both computed in a vector, took 1.5× as long. tests/test_activation.c bounds the error against
  tanhl.
*/
static inline __attribute__((always_inline)) double Tanh(double x)
{
  double a = fabs(x), E = Expm1Core(2.0 * (a < 20.0 ? a : 20.0)), res = E / (E + 2.0);

  res = copysign(res, x);
  return x == x ? res : x;
}

/* relu, tanh and exp over arrays, vectorised for the widest unit this CPU has (simd.h). */
static inline __attribute__((always_inline)) void TanhLoop(size_t n, const double *x, double *y)
{
  for (size_t i = 0; i < n; i++) y[i] = Tanh(x[i]);
}
static inline __attribute__((always_inline)) void ExpLoop(size_t n, const double *x, double *y)
{
  for (size_t i = 0; i < n; i++) y[i] = Exp(x[i]);
}
static inline __attribute__((always_inline)) void ReluLoop(size_t n, const double *x, double *y)
{
  for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0 ? x[i] : 0.0;
}
/* y = s₊x for x > 0, s₋x otherwise (leaky ReLU, the shaped ReLU): the slope chosen, then one
   product, which vectorises as a blend (a branch on random signs mispredicts half the time); a
   slope of 1 gives x exactly. */
static inline __attribute__((always_inline)) void TwoSlopeLoop(size_t n, const double *x, double *y,
                                                               double sp, double sm)
{
  for (size_t i = 0; i < n; i++) y[i] = (x[i] > 0.0 ? sp : sm) * x[i];
}
NNL_SIMD_FUNCTION(TanhArray, (size_t n, const double *x, double *y), (n, x, y), TanhLoop)
NNL_SIMD_FUNCTION(ReluArray, (size_t n, const double *x, double *y), (n, x, y), ReluLoop)
NNL_SIMD_FUNCTION(ExpArray, (size_t n, const double *x, double *y), (n, x, y), ExpLoop)
NNL_SIMD_FUNCTION(TwoSlopeArray, (size_t n, const double *x, double *y, double sp, double sm),
                  (n, x, y, sp, sm), TwoSlopeLoop)

void NNLTwoSlopeApply(size_t n, const double *x, double *y, double sp, double sm)
{
  TwoSlopeArray(n, x, y, sp, sm);
}

/** @brief tanh x: one value through the array form, whose build has the fma instruction (the plain
 * one calls libm). */
static double PhiTanh(double x, const double p[])
{
  double y;

  (void)p;
  TanhArray(1, &x, &y);
  return y;
}

void NNLExpArray(size_t n, const double *x, double *y)
{
  ExpArray(n, x, y);
}

double NNLExp(double x)
{
  double y;

  ExpArray(1, &x, &y);
  return y;
}

/** @brief erf x. */
static double PhiErf(double x, const double p[])
{
  (void)p;
  return erf(x);
}

/** @brief Exact GELU x Φ(x); erfc keeps full relative accuracy of Φ in the left tail. */
static double PhiGelu(double x, const double p[])
{
  (void)p;
  return 0.5 * x * erfc(-x * 0.70710678118654752440084436210485);
}

/** @brief a sin(b x + c), (a, b, c) = p. */
static double PhiSin(double x, const double p[])
{
  return p[0] * sin(p[1] * x + p[2]);
}

/** @brief x sigmoid(x), written so that exp never overflows. */
static double PhiSwish(double x, const double p[])
{
  (void)p;
  if (x >= 0.0) return x / (1.0 + exp(-x));
  double e = exp(x);
  return x * e / (1.0 + e);
}

/** @brief log(1 + e^x) = max(x,0) + log1p(e^{-|x|}): no overflow, no loss for large |x|. */
static double PhiSoftplus(double x, const double p[])
{
  (void)p;
  return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/** @brief Dual of the identity: E[Z1 Z2] = k12. */
static double DualLinear(double k11, double k22, double k12, const double p[])
{
  (void)k11;
  (void)k22;
  (void)p;
  return k12;
}

/**
  @brief Dual of a min(x,0) + b max(x,0) (MATH.md §3).
  θ from atan2 of (√det, k12) instead of arccos(ρ): arccos loses half the digits near ρ = ±1, and a
  rounded |ρ| > 1 would give NaN. For k12 < 0 the same F is written with ψ = π − θ = atan2(√det,
  −k12) as c(√det − ψ|k12|) + ab·k12 (since (a²+b²)/2 − cπ = ab): near ρ = −1 the textbook form
  subtracts terms of size |k12| to leave F ~ |k12|(1+ρ)^{3/2}, which cost ReLU 7e-13 absolute at k =
  1e4, ρ = −0.999999. A zero variance makes that Z identically 0, and φ(0) = 0 for these φ.
  F(αk11, βk22, √(αβ) k12) = √(αβ) F(K): a variance beyond 2^±256 is scaled into [1, 4) by an even
  power of two of its own (exact, and so is √(αβ)), since k11 k22 overflowed past ~1e154 (an
  exploding network: q_nngp of ρ inf) and underflowed below ~1e-154 (an ordered one, σ_w² = 1: det
  0, so ρ froze at its value there). Each its own: one scale for both made the smaller 0 when they
  were 2^1000 apart.
*/
static double DualMinMax(double a, double b, double k11, double k22, double k12)
{
  if (!(k11 > 0.0) || !(k22 > 0.0)) return 0.0;
  if (isfinite(k11) && isfinite(k22) &&
      (k11 > 0x1p256 || k11 < 0x1p-256 || k22 > 0x1p256 || k22 < 0x1p-256)) {
    const int i = ilogb(k11) >> 1, j = ilogb(k22) >> 1; /* floor(e/2): k/4^i in [1, 4) */
    return ldexp(DualMinMax(a, b, ldexp(k11, -2 * i), ldexp(k22, -2 * j), ldexp(k12, -(i + j))),
                 i + j);
  }
  double det = k11 * k22 - k12 * k12;
  double s   = sqrt(det > 0.0 ? det : 0.0);
  double c   = (a - b) * (a - b) / (2.0 * nnl_pi);
  if (k12 < 0.0) return c * (s + atan2(s, -k12) * k12) + a * b * k12;
  return c * s + (0.5 * (a * a + b * b) - c * atan2(s, k12)) * k12;
}

/** @brief Dual of ReLU. */
static double DualRelu(double k11, double k22, double k12, const double p[])
{
  (void)p;
  return DualMinMax(0.0, 1.0, k11, k22, k12);
}

/** @brief Dual of leaky ReLU with slope p[0]. */
static double DualLeakyRelu(double k11, double k22, double k12, const double p[])
{
  return DualMinMax(p[0], 1.0, k11, k22, k12);
}

/** @brief Dual of |x|. */
static double DualAbs(double k11, double k22, double k12, const double p[])
{
  (void)p;
  return DualMinMax(-1.0, 1.0, k11, k22, k12);
}

/** @brief Dual of erf: (2/π) arcsin(2 k12 / √((1+2k11)(1+2k22))). */
static double DualErf(double k11, double k22, double k12, const double p[])
{
  (void)p;
  double a = (1.0 + 2.0 * k11) * (1.0 + 2.0 * k22);
  /* past 1e154 the product overflows (r = 0: the limit fell to 0 at σ_w² = 1e300); apart, as the
   * product's bits were */
  double r = 2.0 * k12 / (isfinite(a) ? sqrt(a) : sqrt(1.0 + 2.0 * k11) * sqrt(1.0 + 2.0 * k22));
  if (r > 1.0) r = 1.0; /* rounding only: |r| < 1 for any valid covariance */
  if (r < -1.0) r = -1.0;
  return (2.0 / nnl_pi) * asin(r);
}

/**
  @brief Dual of exact GELU (MATH.md §3): k12/4 + [k12 atan2(k12, δ) + (k12² + k11 k22
  δ²)/((1+k11)(1+k22) δ)]/(2π), with δ² = (1+k11)(1+k22) − k12² ≥ 1 for a valid covariance;
  atan2(k12, δ) is arcsin(k12/√((1+k11)(1+k22))) without rounding past ±1. δ² is formed as 1 + k11 +
  k22 + (k11 k22 − k12²), the determinant by a difference of products with FMA (Kahan's: within 2
  ulp of it): (1+k11)(1+k22) − k12² lost k·eps of δ² to cancellation, δ was 0 on the diagonal once k
  passed 2^53, and the limit of a gelu MLP at σ_w² = 4 turned inf at layer 54 (q ≈ 4e16). The rest
  is in ratios that stay finite as long as δ² does.
*/
static double DualGelu(double k11, double k22, double k12, const double p[])
{
  (void)p;
  const double w = k12 * k12, det = fma(k11, k22, -w) + fma(-k12, k12, w);
  const double delta = sqrt(1.0 + k11 + k22 + (det > 0.0 ? det : 0.0));
  const double u1 = k11 / (1.0 + k11), u2 = k22 / (1.0 + k22), t1 = k12 / (1.0 + k11),
               t2 = k12 / (1.0 + k22);
  return 0.25 * k12 +
         (k12 * atan2(k12, delta) + t1 * t2 / delta + u1 * u2 * delta) / (2.0 * nnl_pi);
}

/**
  @brief Dual of a sin(bx + c): (a²/2)[e^{b²(k12 − m)} − e^{−b²(k12 + m)} cos 2c], m = (k11+k22)/2,
  evaluated as (a²/2)[−sgn(k12) e^{b²(|k12| − m)} expm1(−2b²|k12|) + 2 e^{−b²(k12 + m)} sin²c]. The
  two exponentials of the textbook form are both ≈ 1 at small variances, and their difference lost
  ~1e-16 absolute: 5e-11 relative for sin at k = 1e-6. Every exponent here is ≤ 0 (|k12| ≤ m), so
  nothing overflows at large variances.
*/
static double DualSin(double k11, double k22, double k12, const double p[])
{
  double a = p[0], b2 = p[1] * p[1], m = 0.5 * (k11 + k22), s = sin(p[2]), u = fabs(k12);
  double odd = -exp(b2 * (u - m)) * expm1(-2.0 * b2 * u);
  return 0.5 * a * a * ((k12 < 0.0 ? -odd : odd) + 2.0 * exp(-b2 * (k12 + m)) * s * s);
}

/* Row order is public (NNLActivationDefGet(i), help text): append new rows at the end.
   help: "[:p=default...]" lists the parameters, then the formula. */
/* clang-format off */
/* Critical σ_w² = 1/φ'(0)² of the odd smooth φ (the table's last column). */
static double CriticalTanh(const double p[])
{
  (void)p;
  return 1.0;
}
static double CriticalErf(const double p[])
{
  (void)p;
  return M_PI / 4; /* erf'(0)² = 4/π */
}
static double CriticalSin(const double p[])
{
  return p[2] == 0 && p[0] * p[1] != 0 ? 1 / ((p[0] * p[1]) * (p[0] * p[1])) : 0; /* odd only without the phase c */
}

static const NNLActivationDef nnl_act_table[] = {
  {"linear",     "x",                               0, {0},       PhiLinear,    DualLinear,    1, -1,  0.10, NULL, 0},
  {"relu",       "max(x,0)",                        0, {0},       PhiRelu,      DualRelu,      0,  0,  0.14, NULL, 0},
  {"leaky_relu", "[:a=0.01] a min(x,0) + max(x,0)", 1, {0.01},    PhiLeakyRelu, DualLeakyRelu, 0,  0,   1.4, NULL, 0},
  {"abs",        "|x|",                             0, {0},       PhiAbs,       DualAbs,       0,  1,   1.8, NULL, 0},
  {"tanh",       "tanh(x), dual by quadrature",     0, {0},       PhiTanh,      NULL,          1, -1,  0.77, CriticalTanh, M_PI / 2},
  {"erf",        "erf(x)",                          0, {0},       PhiErf,       DualErf,       1, -1,   9.6, CriticalErf, 0},
  {"gelu",       "x Phi(x), Phi the normal cdf",    0, {0},       PhiGelu,      DualGelu,      1,  0,   9.0, NULL, 0},
  {"sin",        "[:a=1[:b=1[:c=0]]] a sin(bx+c)",  3, {1, 1, 0}, PhiSin,       DualSin,       1,  0,    10, CriticalSin, 0},
  {"swish",      "x sigmoid(x), by quadrature",     0, {0},       PhiSwish,     NULL,          1,  0,   7.4, NULL, M_PI},
  {"softplus",   "log(1+e^x), by quadrature",       0, {0},       PhiSoftplus,  NULL,          1,  0,    15, NULL, M_PI},
};
/* clang-format on */

#define NNL_ACT_COUNT (sizeof(nnl_act_table) / sizeof(nnl_act_table[0]))

/* Other names of a row. An alias parses to its row's canonical name, so that one activation never
   gets two point ids (two spellings would otherwise sample, store and average as two different
   activations). */
static const struct {
  const char *alias, *name;
} nnl_act_alias[] = {{"silu", "swish"}};

/** @brief Number of rows in the table. */
size_t NNLActivationCount(void)
{
  return NNL_ACT_COUNT;
}

/** @brief Row i of the table, NULL when i is out of range. */
const NNLActivationDef *NNLActivationDefGet(size_t i)
{
  return i < NNL_ACT_COUNT ? &nnl_act_table[i] : NULL;
}

/** @brief "linear, relu, ..." built on first call (the table is fixed at compile time). */
const char *NNLActivationNames(void)
{
  static char names[512];

  if (names[0] == '\0') {
    size_t len = 0;
    for (size_t i = 0; i < NNL_ACT_COUNT; i++) {
      int k =
        snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", nnl_act_table[i].name);
      if (k < 0 || (size_t)k >= sizeof(names) - len)
        break; /* table outgrew the buffer: keep the prefix */
      len += (size_t)k;
    }
    for (size_t a = 0; a < sizeof(nnl_act_alias) / sizeof(nnl_act_alias[0]); a++) {
      int k = snprintf(names + len, sizeof(names) - len, ", %s (= %s)", nnl_act_alias[a].alias,
                       nnl_act_alias[a].name);
      if (k < 0 || (size_t)k >= sizeof(names) - len) break;
      len += (size_t)k;
    }
  }
  return names;
}

/**
  @brief Parse parameter text [s, end) as one finite double. Leading blanks, trailing junk, empty
  text, inf and nan are refused: a spec is a name for a result, so every spelling must be
  unambiguous.
*/
static int ParseParam(const char *s, const char *end, double *v)
{
  char   buf[64];
  size_t len  = (size_t)(end - s);
  char  *stop = NULL;

  if (len == 0 || len >= sizeof(buf) || isspace((unsigned char)s[0])) return 1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno    = 0;
  *v       = strtod(buf, &stop);
  if (stop != buf + len || errno == ERANGE || !isfinite(*v)) return 1;
  /* -0 -> +0: "-0" and "0" are the same activation and must share one canonical spelling */
  *v += 0.0;
  return 0;
}

/* The fewest digits that read back as the double num holds (num unchanged if it holds no number).
 */
static void ShortestNumber(char num[64])
{
  char  *end;
  double v = strtod(num, &end);

  for (int p = 1; num[0] && !*end && p <= 17; p++) {
    char t[64];
    snprintf(t, sizeof(t), "%.*g", p, v);
    if (strtod(t, NULL) == v) {
      memcpy(num, t, sizeof(t));
      break;
    }
  }
}

void NNLActivationDisplayName(const char canon[], char out[], size_t len)
{
  const char *c = canon + strcspn(canon, ":;");
  size_t      n;

  snprintf(out, len, "%.*s", (int)(c - canon), canon);
  n = strlen(out);
  /* ":p" parameters, then ";key=value" settings of a job's entry: each number in its shortest
   * spelling */
  while (*c && n < len) {
    const char *next = c + 1 + strcspn(c + 1, ":;"),
               *eq   = *c == ';' ? memchr(c, '=', (size_t)(next - c)) : NULL;
    const char *v    = eq ? eq + 1 : c + 1;
    char        num[64];
    snprintf(num, sizeof(num), "%.*s", (int)(next - v), v);
    ShortestNumber(num);
    n += (size_t)snprintf(out + n, len - n, "%.*s%s", (int)(v - c), c, num);
    c = next;
  }
}

const char *NNLActivationDisplayBase(const char canon[], char out[], size_t len)
{
  NNLActivationDisplayName(canon, out, len);
  out[strcspn(out, ";")] = 0; /* numbers hold no ';': the display of the canon up to its first */
  return out;
}

/**
  @brief Canonical spelling: the bare name when every parameter is at its default, else the name and
  all nparam parameters with %.17g (round-trips), so that equal activations always get equal
  strings.
*/
static int Canonicalise(NNLActivation *act)
{
  const NNLActivationDef *def         = act->def;
  int                     all_default = 1;
  size_t                  len;

  for (int i = 0; i < def->nparam; i++)
    if (act->p[i] != def->pdefault[i]) all_default = 0;
  len = (size_t)snprintf(act->canon, sizeof(act->canon), "%s", def->name);
  for (int i = 0; !all_default && i < def->nparam && len < sizeof(act->canon); i++)
    len += (size_t)snprintf(act->canon + len, sizeof(act->canon) - len, ":%.17g", act->p[i]);
  return len >= sizeof(act->canon);
}

/**
  @brief Parse "name" or "name:p1[:p2[:p3]]" into act; missing trailing parameters take their
  defaults.
  @return 0 on success; 1 with a one-line message in err on failure (act is then left in an
  unspecified state).
*/
int NNLActivationParse(const char spec[], NNLActivation *act, char err[], size_t errlen)
{
  const char *colon;
  size_t      namelen;
  int         nparam = 0;

  if (!spec || !act) {
    if (err && errlen)
      snprintf(err, errlen, "activation: no spec given (allowed: %s)", NNLActivationNames());
    return 1;
  }
  colon    = strchr(spec, ':');
  namelen  = colon ? (size_t)(colon - spec) : strlen(spec);
  act->def = NULL;
  {
    const char *name = spec;
    for (size_t a = 0; a < sizeof(nnl_act_alias) / sizeof(nnl_act_alias[0]); a++)
      if (strlen(nnl_act_alias[a].alias) == namelen &&
          !strncasecmp(spec, nnl_act_alias[a].alias, namelen)) {
        name    = nnl_act_alias[a].name;
        namelen = strlen(name);
      }
    for (size_t i = 0; i < NNL_ACT_COUNT; i++)
      if (strlen(nnl_act_table[i].name) == namelen &&
          !strncasecmp(name, nnl_act_table[i].name, namelen))
        act->def = &nnl_act_table[i];
  }
  if (!act->def) {
    if (err && errlen)
      snprintf(err, errlen, "unknown activation '%.*s' (allowed: %s)", (int)namelen, spec,
               NNLActivationNames());
    return 1;
  }
  for (int i = 0; i < NNL_ACT_MAXPARAM; i++) act->p[i] = act->def->pdefault[i];
  while (colon) {
    const char *s    = colon + 1;
    const char *next = strchr(s, ':');
    const char *end  = next ? next : s + strlen(s);
    if (nparam >= act->def->nparam) {
      if (err && errlen)
        snprintf(err, errlen, "activation '%s': too many parameters (%s takes %d: %s)", spec,
                 act->def->name, act->def->nparam, act->def->help);
      return 1;
    }
    if (ParseParam(s, end, &act->p[nparam])) {
      if (err && errlen)
        snprintf(err, errlen, "activation '%s': parameter %d '%.*s' is not a finite number (%s)",
                 spec, nparam + 1, (int)(end - s), s, act->def->help);
      return 1;
    }
    nparam++;
    colon = next;
  }
  if (act->def->phi == PhiSin && (act->p[0] == 0 || act->p[1] == 0)) {
    if (err && errlen) /* no network to speak of, and its critical sigma_w2 = 1/(ab)^2 inf */
      snprintf(err, errlen, "activation '%s': a sin(bx+c) with a = 0 or b = 0 is constant", spec);
    return 1;
  }
  if (Canonicalise(act)) {
    if (err && errlen)
      snprintf(err, errlen, "activation '%s': canonical form longer than %zu characters", spec,
               sizeof(act->canon) - 1);
    return 1;
  }
  return 0;
}

double NNLActivationCriticalSigmaW2(const NNLActivation *act)
{
  return act->def->sigma_w2_critical ? act->def->sigma_w2_critical(act->p) : 0.0;
}

int NNLActivationIsHomogeneous(const NNLActivation *act)
{
  const double x = 1.3;

  return act->def->phi(2 * x, act->p) == 2 * act->def->phi(x, act->p) &&
         act->def->phi(-2 * x, act->p) == 2 * act->def->phi(-x, act->p);
}

/** @brief y[i] = φ(x[i]); relu, tanh and linear skip the indirect call, as they dominate sweeps
 * (tanh vectorised). */
void NNLActivationApply(const NNLActivation *act, size_t n, const double *x, double *y)
{
  NNLPhiFn      phi = act->def->phi;
  const double *p   = act->p;

  if (phi == PhiRelu) {
    ReluArray(n, x, y);
  } else if (phi == PhiTanh) {
    TanhArray(n, x, y);
  } else if (phi == PhiLeakyRelu) {
    TwoSlopeArray(n, x, y, 1.0, p[0]);
  } else if (phi == PhiLinear) {
    if (y != x) memmove(y, x, n * sizeof(double));
  } else {
    for (size_t i = 0; i < n; i++) y[i] = phi(x[i], p);
  }
}
