/* Unit tests of the counter-based streams (src/rng.c): indexing, independence, law. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <Random123/philox.h>

#include "nnlimits/rng.h"
#include "testutil.h"
#include "rngkernel.h"
#include "ziggurat.h"

static const double test_pi = 3.141592653589793238462643383279;

/**
  @brief Philox4x64-10 known answer (Random123 kat_vectors, zero counter and key).
  Catches: a Random123 build with another round count or a broken 128-bit multiply.
*/
static void test_philox_kat(void **state)
{
  (void)state;
  philox4x64_ctr_t c = {{0, 0, 0, 0}};
  philox4x64_key_t k = {{0, 0}};
  philox4x64_ctr_t r = philox4x64_R(10, c, k);
  assert_true(r.v[0] == 0x16554d9eca36314cULL);
  assert_true(r.v[1] == 0xdb20fe9d672d0fdcULL);
  assert_true(r.v[2] == 0xd7e772cee186176bULL);
  assert_true(r.v[3] == 0x7e68b68aec7ba23bULL);
}

/**
  @brief Pinned numbers of one stream (stream version 2) and pinned hashes, all exact: uniforms,
  normals and their slow path use only exactly rounded arithmetic and our own log, never libm.
  Catches: any change of key/counter layout, uniform or ziggurat mapping, ziggurat table, slow-path
  counters, or hash — each would silently change every stored run. If this fails, the change is the
  bug (or needs a new NNL_RNG_STREAM_VERSION, never an edit here). The last two normals pinned come
  from the slow path.
*/
static void test_pinned_values(void **state)
{
  (void)state;
  const double   u_ref[4] = {0.28546210960164647, 0.88763055026529925, 0.52905274440099403,
                             0.30129426483782989};
  const uint64_t zi[6]    = {0, 1, 2, 3, 36, 10940}; /* 36: a wedge; 10940: the tail beyond r */
  const double   z_ref[6] = {0.26546735197680332,  -0.90113439436875697, 0.99427191766465361,
                             -0.55301777525281592, 0.78440615712491524,  4.6740397767584625};
  NNLRngStream   s;
  double         u[4], z;

  NNLRngStreamInit(&s, 12345, 678, 9, NNL_PURPOSE_TEST);
  assert_true(s.key[0] == 12345 && s.key[1] == 678 && s.layer == 9 &&
              s.purpose == NNL_PURPOSE_TEST);
  NNLRngUniforms(&s, 0, 4, u);
  for (int i = 0; i < 4; i++)
    assert_true(u[i] == u_ref[i]); /* exact: integer arithmetic and one exact scaling */
  for (int i = 0; i < 6; i++) {
    NNLRngNormals(&s, zi[i], 1, &z);
    if (z != z_ref[i]) fail_msg("normal %d: %.17g, pinned %.17g", (int)zi[i], z, z_ref[i]);
  }
  assert_string_equal(NNL_RNG_STREAM_VERSION, "2");
  assert_true(NNLHash64("", 0) == 0xf52a15e9a9b5e89bULL);
  assert_true(NNLHash64("abc", 3) == 0x0dd490490804b508ULL);
  assert_true(NNLHash64("nnlimits", 8) == 0x5af6699f4143bd94ULL);
  assert_true(NNLHash64("abd", 3) != NNLHash64("abc", 3));
}

/* f(x) = exp(-x²/2) and the ziggurat's strip edges x_i, from the tables. */
static double zig_f(double x)
{
  return exp(-0.5 * x * x);
}

static const double zig_scale = (double)(1ULL << NNL_ZIG_JBITS); /* j has NNL_ZIG_JBITS bits */

static double zig_x(int i)
{
  return nnl_zig_w[i] * zig_scale;
}

/**
  @brief The ziggurat's tables: every strip has area v (x_i (f(x_{i+1}) − f(x_i)) for i >= 1, x_0
  f(r) for the base), v is r f(r) plus the tail's area, the top strip closes at f(0) = 1, k_i =
  ⌊2^JBITS x_{i+1}/x_i⌋ (k_0 from r), and f_i = f(x_i); checked with libm. Catches: a table
  regenerated with another strip count or tail cut r, a hand edit, a row shifted by one.
*/
static void test_ziggurat_tables(void **state)
{
  (void)state;
  const double r = nnl_zig_r, v = nnl_zig_v, tol = 1e-12;

  assert_true(zig_x(1) == r && zig_x(NNL_ZIG_STRIPS) == 0.0);
  assert_true(fabs(r * zig_f(r) + sqrt(test_pi / 2) * erfc(r / sqrt(2.0)) - v) <= tol * v);
  assert_true(fabs(zig_x(0) * zig_f(r) - v) <= tol * v);
  assert_true(nnl_zig_k[0] == (uint64_t)floor(zig_scale * r / zig_x(0)));
  for (int i = 1; i < NNL_ZIG_STRIPS; i++) {
    double area = zig_x(i) * (zig_f(zig_x(i + 1)) - zig_f(zig_x(i))),
           k    = zig_scale * zig_x(i + 1) / zig_x(i);
    if (!(fabs(area - v) <= 1e-9 * v)) fail_msg("strip %d: area %.17g, v %.17g", i, area, v);
    if (!((double)nnl_zig_k[i] <= k && k < (double)nnl_zig_k[i] + 2))
      fail_msg("strip %d: k %llu, 2^JBITS ratio %.17g", i, (unsigned long long)nnl_zig_k[i], k);
    if (!(fabs(nnl_zig_f[i] - zig_f(zig_x(i))) <= tol * zig_f(zig_x(i))))
      fail_msg("strip %d: f", i);
  }
  assert_true(nnl_zig_f[0] == 0.0 && nnl_zig_f[NNL_ZIG_STRIPS] == 1.0);
}

/* Reference of the stream's normal number index from its word w: the ziggurat written out again
 *with libm's log; path is 0 (fast), 1 (slow, strips), 2 (the tail). */
static double zig_reference(const NNLRngStream *s, uint64_t index, uint64_t w, int *path)
{
  philox4x64_key_t k       = {{s->key[0], s->key[1]}};
  uint64_t         attempt = 0;

  *path = 0;
  for (;;) {
    uint64_t         i = w % NNL_ZIG_STRIPS, j = w >> (NNL_ZIG_BITS + 1);
    double           sg = (w >> NNL_ZIG_BITS) & 1 ? -1.0 : 1.0, x = (double)j * nnl_zig_w[i];
    philox4x64_ctr_t c, rr;
    if (j < nnl_zig_k[i]) return sg * x;
    *path = 1;
    c     = (philox4x64_ctr_t){{index, s->layer, s->purpose, ++attempt}};
    rr    = philox4x64_R(10, c, k);
    if (i == 0) {
      if (x < nnl_zig_r) return sg * x;
      *path = 2;
      for (;;) {
        double a = -log(((double)(rr.v[0] >> 11) + 0.5) / 9007199254740992.0) / nnl_zig_r;
        double b = -log(((double)(rr.v[1] >> 11) + 0.5) / 9007199254740992.0);
        if (2 * b > a * a) return sg * (nnl_zig_r + a);
        c  = (philox4x64_ctr_t){{index, s->layer, s->purpose, ++attempt}};
        rr = philox4x64_R(10, c, k);
      }
    }
    if (x < zig_x((int)i + 1)) return sg * x;
    if (nnl_zig_f[i] +
          ((double)(rr.v[0] >> 11) + 0.5) / 9007199254740992.0 * (nnl_zig_f[i + 1] - nnl_zig_f[i]) <
        zig_f(x))
      return sg * x;
    w = rr.v[1];
  }
}

/**
  @brief Normal i is the ziggurat of word i of Random123's Philox (stream counter (i/4, layer,
  purpose, 0), word i%4): 400000 normals against a second implementation of the whole ziggurat with
  libm's log, exactly on the fast path and to 1e-14 on the slow path (about 1700 of them: wedges and
  the tail). Catches: a word taken from the wrong block or lane, a wrong strip/sign/j split, the
  slow path's fresh words from the wrong counter, a tail or wedge test inverted, a slow value
  written back to the wrong place.
*/
static void test_normals_from_words(void **state)
{
  (void)state;
  enum { N = 400000, OFF = 100 };
  NNLRngStream     s;
  double          *z = malloc(N * sizeof(double));
  philox4x64_key_t k;
  int              nslow = 0, ntail = 0;

  assert_non_null(z);
  NNLRngStreamInit(&s, 7, 8, 1, NNL_PURPOSE_TEST);
  k = (philox4x64_key_t){{s.key[0], s.key[1]}};
  NNLRngNormals(&s, OFF, N, z);
  for (uint64_t t = OFF; t < OFF + N; t++) {
    philox4x64_ctr_t c = {{t / 4, s.layer, s.purpose, 0}}, r = philox4x64_R(10, c, k);
    int              path;
    double           ref = zig_reference(&s, t, r.v[t % 4], &path), got = z[t - OFF];
    nslow += path > 0;
    ntail += path == 2;
    if (path ? !(fabs(got - ref) <= 1e-14 * fabs(ref)) : got != ref)
      fail_msg("normal %llu (%s path): %.17g, reference %.17g", (unsigned long long)t,
               path ? "slow" : "fast", got, ref);
  }
  /* the slow path ran about 0.43 % of the time (4 binomial s.e. around 1711) and reached the tail
   * (expected ~21) */
  if (!(abs(nslow - 1711) <= 4 * 41 && ntail >= 5))
    fail_msg("slow path %d times, tail %d times", nslow, ntail);
  free(z);
}

/**
  @brief Fill [offset, offset+n) with many calls of odd offsets/lengths and compare bitwise with one
  call.
*/
static void check_split(const NNLRngStream *s, uint64_t base, int normal)
{
  enum { N = 1000 };
  static const size_t lens[] = {1, 2, 3, 5, 7, 11, 0, 4, 13, 1, 9, 31, 6, 8, 17, 3};
  double             *all = malloc(N * sizeof(double)), *part = malloc(N * sizeof(double));
  size_t              done = 0;

  assert_non_null(all);
  assert_non_null(part);
  if (normal)
    NNLRngNormals(s, base, N, all);
  else
    NNLRngUniforms(s, base, N, all);
  for (size_t c = 0; done < N; c++) {
    size_t n = lens[c % (sizeof(lens) / sizeof(lens[0]))];
    if (n > N - done) n = N - done;
    if (normal)
      NNLRngNormals(s, base + done, n, part + done);
    else
      NNLRngUniforms(s, base + done, n, part + done);
    done += n;
  }
  assert_memory_equal(all, part, N * sizeof(double));
  free(all);
  free(part);
}

/**
  @brief Same stream and index -> same number whatever the split of calls, at offset 0 and at a huge
  odd offset. Catches: wrong ragged head/tail handling (off-by-one block, a slow-path value placed
  by its position in the call instead of in the stream).
*/
static void test_split_invariance(void **state)
{
  (void)state;
  NNLRngStream s;

  NNLRngStreamInit(&s, 2024, 17, 3, NNL_PURPOSE_TEST);
  check_split(&s, 0, 1);
  check_split(&s, 0, 0);
  check_split(&s, 3, 1);
  check_split(&s, ((uint64_t)1 << 40) + 5, 1);
  check_split(&s, ((uint64_t)1 << 40) + 5, 0);
}

/**
  @brief Streams differing in exactly one of seed, point, layer, purpose share no numbers.
  Catches: a field of the stream left out of the key or counter.
*/
static void test_streams_differ(void **state)
{
  (void)state;
  NNLRngStream s[5];
  double       z[5][16];

  NNLRngStreamInit(&s[0], 1, 2, 3, NNL_PURPOSE_WEIGHT);
  NNLRngStreamInit(&s[1], 9, 2, 3, NNL_PURPOSE_WEIGHT);
  NNLRngStreamInit(&s[2], 1, 9, 3, NNL_PURPOSE_WEIGHT);
  NNLRngStreamInit(&s[3], 1, 2, 9, NNL_PURPOSE_WEIGHT);
  NNLRngStreamInit(&s[4], 1, 2, 3, NNL_PURPOSE_BIAS);
  for (int k = 0; k < 5; k++) NNLRngNormals(&s[k], 0, 16, z[k]);
  for (int a = 0; a < 5; a++)
    for (int b = a + 1; b < 5; b++)
      for (int i = 0; i < 16; i++) assert_true(z[a][i] != z[b][i]);
}

/**
  @brief Sample moments of 10^6 normals within 4 exact standard errors of 0, 1, 0, 3.
  Catches: a biased transform (e.g. a missing factor 2 in −2 ln u, radians vs turns, reused words).
*/
static void test_normal_moments(void **state)
{
  (void)state;
  enum { N = 1000000 };
  double      *z        = malloc(N * sizeof(double));
  double       m[5]     = {0};
  const double exact[5] = {0, 0, 1, 0, 3}, var[5] = {0, 1, 2, 15, 96};
  NNLRngStream s;

  assert_non_null(z);
  NNLRngStreamInit(&s, 31337, 1, 0, NNL_PURPOSE_TEST);
  NNLRngNormals(&s, 0, N, z);
  for (size_t i = 0; i < N; i++) {
    double x2 = z[i] * z[i];
    m[1] += z[i];
    m[2] += x2;
    m[3] += x2 * z[i];
    m[4] += x2 * x2;
  }
  for (int k = 1; k <= 4; k++) {
    double se = sqrt(var[k] / N);
    assert_true(fabs(m[k] / N - exact[k]) <= 4 * se);
  }
  free(z);
}

/**
  @brief NNLRngChiSquares: χ² of df = 1, 2, 3, 4, 10 and 60, 3·10^5 each (three variables of one df
  a call, over 10^5 streams): mean df, variance 2df and third central moment 8df within 4 s.e.
  (the s.e. from the χ² law's own moments), and at df = 2 and 4 the exact distribution function
  1 − e^{−x/2}(1 + [df = 4] x/2) at five points within 4 binomial s.e.; one call of three
  different df (the attention's nk, nk − 1, nk − 2) gives each its own law. Catches d·v returned
  for 2d·v (mean halved), d = df/2 without the −1/3 (mean off by 2/3), the squeeze accepting what
  it should refuse or the log test's sign turned (distribution function off by tens of s.e.; run
  as mutants), and df = 1 drawn as a Gamma (its shape 1/2 is outside Marsaglia–Tsang's reach).
*/
static void test_chi_squares(void **state)
{
  enum { N = 100000 };
  const double dfs[] = {1, 2, 3, 4, 10, 60}, xs[5] = {0.25, 1.0, 2.5, 5.0, 10.0};
  (void)state;
  for (size_t c = 0; c < sizeof(dfs) / sizeof(dfs[0]) + 1; c++) {
    const int    mixed = c == sizeof(dfs) / sizeof(dfs[0]); /* the last pass: df 9, 8, 7 a call */
    double       df[3], x[3], s1[3] = {0}, s2[3] = {0}, s3[3] = {0}, below[3][5] = {{0}};
    NNLRngStream s;
    for (int j = 0; j < 3; j++) df[j] = mixed ? 9.0 - j : dfs[c];
    for (int i = 0; i < N; i++) {
      NNLRngStreamInit(&s, 4242, 7 + c, (uint64_t)i, NNL_PURPOSE_TEST);
      NNLRngChiSquares(&s, 3, df, x);
      for (int j = 0; j < 3; j++) {
        const double d = x[j] - df[j];
        assert_true(x[j] > 0 && isfinite(x[j]));
        s1[j] += d, s2[j] += d * d, s3[j] += d * d * d;
        for (int k = 0; k < 5; k++) below[j][k] += x[j] <= xs[k];
      }
    }
    for (int j = 0; j < (mixed ? 3 : 1); j++) {
      const double k = df[j], n = mixed ? N : 3.0 * N, m2 = 2 * k, m4 = 12 * k * k + 48 * k,
                   m6 = 120 * k * k * k + 2080 * k * k + 3840 * k; /* central moments */
      double t1 = s1[j], t2 = s2[j], t3 = s3[j];
      if (!mixed)
        for (int r = 1; r < 3; r++) t1 += s1[r], t2 += s2[r], t3 += s3[r];
      print_message("chi2 df %g: mean %.5f var %.5f third %.4f\n", k, k + t1 / n, t2 / n, t3 / n);
      ASSERT_WITHIN_4SE("chi2 mean", t1 / n, 0.0, sqrt(m2 / n));
      ASSERT_WITHIN_4SE("chi2 variance", t2 / n, m2, sqrt((m4 - m2 * m2) / n));
      ASSERT_WITHIN_4SE("chi2 third moment", t3 / n, 8 * k, sqrt((m6 - 64 * k * k) / n));
      if (k == 2 || k == 4)
        for (int q = 0; q < 5; q++) {
          double p = 1 - exp(-xs[q] / 2) * (k == 4 ? 1 + xs[q] / 2 : 1), f = 0;
          for (int r = 0; r < 3; r++) f += below[r][q];
          ASSERT_WITHIN_4SE("chi2 distribution function", f / n, p, sqrt(p * (1 - p) / n));
        }
    }
  }
}

/**
  @brief NNLRngChiSquares' numbers, bit for bit, from the stream at the indices its header gives:
  attempt t of variable j of n takes normal 2nt + j and uniform 2nt + n + j; n = 10 (two blocks of
  8), df 2 … 11 and 1, 20000 streams, so that retries happen (about 5 % at df = 2; at least 200 are
  asserted). Catches a block's first normals or uniforms taken from the wrong index, a retry's
  uniform on its normal's word, a retry that keeps its old uniform, a variable's df taken from
  another.
*/
static void test_chi_square_indices(void **state)
{
  enum { NV = 10, NS = 20000 };
  double df[NV], out[NV];
  int    retries = 0;

  (void)state;
  for (int j = 0; j < NV; j++) df[j] = j == NV - 1 ? 1.0 : 2.0 + j;
  for (int i = 0; i < NS; i++) {
    NNLRngStream s;
    NNLRngStreamInit(&s, 99, 5, (uint64_t)i, NNL_PURPOSE_TEST);
    NNLRngChiSquares(&s, NV, df, out);
    for (int j = 0; j < NV; j++) {
      const double d = 0.5 * df[j] - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
      double       x, y, want = -1;
      for (uint64_t t = 0; want < 0; t++) {
        NNLRngNormals(&s, 2 * NV * t + (uint64_t)j, 1, &x);
        NNLRngUniforms(&s, 2 * NV * t + NV + (uint64_t)j, 1, &y);
        if (df[j] == 1.0)
          want = x * x;
        else {
          double v = 1.0 + c * x;
          v        = v * v * v;
          if (1.0 + c * x > 0 && (y < 1.0 - 0.0331 * (x * x) * (x * x) ||
                                  log(y) < 0.5 * x * x + d * (1.0 - v + log(v))))
            want = 2.0 * d * v;
          else
            retries++;
        }
      }
      assert_true(out[j] == want);
    }
  }
  print_message("chi2 indices: %d retries in %d variables\n", retries, NV * NS);
  assert_true(retries >= 200);
}

/**
  @brief 10^6 uniforms all strictly inside (0,1), mean within 4 standard errors of 1/2.
  Catches: a mapping that can return 0 (log(0) = −inf in the slow path's tail) or 1.
*/
static void test_uniforms_open(void **state)
{
  (void)state;
  enum { N = 1000000 };
  double      *u = malloc(N * sizeof(double)), sum = 0;
  NNLRngStream s;

  assert_non_null(u);
  NNLRngStreamInit(&s, 5, 6, 7, NNL_PURPOSE_TEST);
  NNLRngUniforms(&s, 0, N, u);
  for (size_t i = 0; i < N; i++) {
    assert_true(u[i] > 0.0 && u[i] < 1.0);
    sum += u[i];
  }
  assert_true(fabs(sum / N - 0.5) <= 4 * sqrt(1.0 / 12.0 / N));
  free(u);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/**
  @brief Kolmogorov–Smirnov of 10^5 normals against Φ at the 1% critical value 1.63/√N (fixed seed).
  Catches: a wrong shape that the first four moments miss (e.g. a distorted tail or a gap in the
  uniforms).
*/
static void test_normal_ks(void **state)
{
  (void)state;
  enum { N = 100000 };
  double      *z = malloc(N * sizeof(double)), d = 0;
  NNLRngStream s;

  assert_non_null(z);
  NNLRngStreamInit(&s, 99, 42, 2, NNL_PURPOSE_TEST);
  NNLRngNormals(&s, 0, N, z);
  qsort(z, N, sizeof(double), cmp_double);
  for (size_t i = 0; i < N; i++) {
    double f  = 0.5 * erfc(-z[i] / sqrt(2.0));
    double lo = f - (double)i / N, hi = (double)(i + 1) / N - f;
    if (lo > d) d = lo;
    if (hi > d) d = hi;
  }
  assert_true(d < 1.63 / sqrt((double)N));
  free(z);
}

/**
  @brief Correlation of two streams differing only in point id within 4/√N of 0 (N = 10^6).
  Catches: the point id not reaching Philox (or entering only weakly), i.e. correlated "independent"
  points.
*/
static void test_point_correlation(void **state)
{
  (void)state;
  enum { N = 1000000 };
  double      *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double));
  double       sab = 0, saa = 0, sbb = 0;
  NNLRngStream s1, s2;

  assert_non_null(a);
  assert_non_null(b);
  NNLRngStreamInit(&s1, 77, 1000, 4, NNL_PURPOSE_WEIGHT);
  NNLRngStreamInit(&s2, 77, 1001, 4, NNL_PURPOSE_WEIGHT);
  NNLRngNormals(&s1, 0, N, a);
  NNLRngNormals(&s2, 0, N, b);
  for (size_t i = 0; i < N; i++) {
    sab += a[i] * b[i];
    saa += a[i] * a[i];
    sbb += b[i] * b[i];
  }
  assert_true(fabs(sab / sqrt(saa * sbb)) <= 4.0 / sqrt((double)N));
  free(a);
  free(b);
}

/**
  @brief Every kernel this CPU has (AVX-512, AVX2, portable) gives the same bits, for normals and
  uniforms, at ragged offsets and lengths and at a counter above 2^32 blocks; and the words are
  Random123's own Philox. Catches: a vector kernel's carry or lane-order mistake in the 64×64→128
  multiply (Philox), an ISA-dependent rounding in the ziggurat (an FMA contraction, an inexact int →
  double), a batch-boundary slip, a lost slow value.
*/
static void test_kernels_identical(void **state)
{
  (void)state;
  enum { N = 20011 };
  const char  *names[] = {"avx512", "avx2", "portable"};
  const size_t lens[]  = {N, 1, 3, 255, 256, 257, 1023};
  double      *ref = malloc(N * sizeof(double)), *z = malloc(N * sizeof(double));
  NNLRngStream s;
  int          nk = 0;

  assert_non_null(ref);
  assert_non_null(z);
  assert_int_equal(NNLRngUseKernel("portable"), 0);
  assert_string_equal(NNLRngKernelName(), "portable");
  assert_int_equal(NNLRngUseKernel("no_such_isa"), -1);
  assert_string_equal(NNLRngKernelName(), "portable");
  for (int normal = 0; normal < 2; normal++)
    for (int k = 0; k < 3; k++)
      for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        uint64_t off = (l % 2 ? ((uint64_t)1 << 36) + 2 * l + 1 : 3 * l);
        NNLRngStreamInit(&s, 0xfedcba9876543210ULL + l, 0x0123456789abcdefULL * (l + 1), 5 + l,
                         NNL_PURPOSE_TEST);
        assert_int_equal(NNLRngUseKernel("portable"), 0);
        if (normal)
          NNLRngNormals(&s, off, lens[l], ref);
        else
          NNLRngUniforms(&s, off, lens[l], ref);
        if (NNLRngUseKernel(names[k])) continue; /* this CPU lacks the ISA */
        if (l == 0 && normal) nk++;
        if (normal)
          NNLRngNormals(&s, off, lens[l], z);
        else
          NNLRngUniforms(&s, off, lens[l], z);
        if (memcmp(ref, z, lens[l] * sizeof(double)))
          fail_msg("kernel %s differs from portable (%s, length %zu)", names[k],
                   normal ? "normals" : "uniforms", lens[l]);
      }
  assert_true(nk >= 1);
  /* the words themselves: uniform i is (word i >> 11 + 0.5) 2^-53 of Random123's philox4x64_R,
   * exactly */
  assert_int_equal(NNLRngUseKernel(NULL), 0);
  NNLRngStreamInit(&s, 0x8000000000000001ULL, 0xffffffffffffffffULL, 0xffffffff00000000ULL,
                   NNL_PURPOSE_TEST);
  NNLRngUniforms(&s, 0, 4096, z);
  for (uint64_t b = 0; b < 1024; b++) {
    philox4x64_ctr_t c = {{b, s.layer, s.purpose, 0}};
    philox4x64_key_t k = {{s.key[0], s.key[1]}};
    philox4x64_ctr_t r = philox4x64_R(10, c, k);
    for (int j = 0; j < 4; j++)
      assert_true(z[4 * b + j] == ((double)(r.v[j] >> 11) + 0.5) / 9007199254740992.0);
  }
  free(ref);
  free(z);
}

/**
  @brief Every kernel's slow path (AVX-512 decides the first attempt of 8 refused words at once)
  equals the scalar NNLRngZigguratSlow bit for bit: 2^17 words refused by the fast path (j >= k_i),
  128 per strip of every strip, in groups of 1 to 8 (about 10 % of the wedge words and 5 % of the
  tail words miss at the first attempt and go on in the scalar path). Catches: a vector wedge or
  tail test that differs from the scalar one (an operation reordered in the log, a negation or a
  threshold missed), fresh words from the wrong attempt, lane or layer (each word has its own
  counter word c1), a lane past n written, a rejected lane resumed from the wrong attempt or word.
*/
static void test_slow_kernels(void **state)
{
  (void)state;
  enum { PER = 128, N = NNL_ZIG_STRIPS * PER };
  const char    *names[] = {"avx512", "avx2", "portable"};
  const uint64_t key[2] = {0x0123456789abcdefULL, 42}, c2 = NNL_PURPOSE_TEST;
  uint64_t      *w = malloc(N * sizeof(uint64_t)), *idx = malloc(N * sizeof(uint64_t)),
           *c1 = malloc(N * sizeof(uint64_t)), h = 0x9e3779b97f4a7c15ULL;
  double *ref = malloc(N * sizeof(double)), *z = malloc((N + 8) * sizeof(double));
  int     tails = 0, wedges = 0, nk = 0;

  assert_non_null(w);
  assert_non_null(idx);
  assert_non_null(c1);
  assert_non_null(ref);
  assert_non_null(z);
  for (int t = 0; t < N; t++) { /* strip t % STRIPS, either sign, j uniform on [k_i, 2^53) */
    uint64_t i = (uint64_t)t % NNL_ZIG_STRIPS, span = (1ULL << NNL_ZIG_JBITS) - nnl_zig_k[i], j;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    j      = nnl_zig_k[i] + h % span;
    w[t]   = (j << (NNL_ZIG_BITS + 1)) | ((h >> 60 & 1) << NNL_ZIG_BITS) | i;
    idx[t] = h >> 7;
    c1[t]  = 7 + (uint64_t)t % 5; /* each word its own layer, as NNLRngNormalsLayers' are */
    ref[t] = NNLRngZigguratSlow(key, c1[t], c2, idx[t], w[t]);
    if (i == 0 && (double)j * nnl_zig_w[0] >= nnl_zig_r) tails++;
    if (i > 0 && (double)j * nnl_zig_w[i] >= nnl_zig_w[i + 1] * (double)(1ULL << NNL_ZIG_JBITS))
      wedges++;
  }
  assert_true(tails > 60 && wedges > N / 2); /* the tail and the wedges are reached */
  for (int k = 0; k < 3; k++) {
    if (NNLRngUseKernel(names[k])) continue;
    nk++;
    for (int t = 0, n = 1; t < N; t += n, n = n % NNL_RNG_SLOW_GROUP + 1) {
      int m    = t + n <= N ? n : N - t;
      z[t + m] = 12345.0;
      NNLRngKernelGet()->slow(key, c1 + t, c2, (size_t)m, idx + t, w + t, z + t);
      if (z[t + m] != 12345.0) fail_msg("kernel %s wrote past %d values", names[k], m);
    }
    for (int t = 0; t < N; t++)
      if (memcmp(&z[t], &ref[t], sizeof(double)))
        fail_msg("kernel %s, word %d (strip %d): %.17g, scalar %.17g", names[k], t,
                 t % NNL_ZIG_STRIPS, z[t], ref[t]);
  }
  assert_true(nk >= 1);
  assert_int_equal(NNLRngUseKernel(NULL), 0);
  free(w);
  free(idx);
  free(c1);
  free(ref);
  free(z);
}

/**
  @brief NNLRngNormalsRanges gives, range by range, NNLRngNormals' values bit for bit: ragged
  offsets and lengths, strides shorter than a range, equal to it (adjacent ranges, which it draws as
  one) and longer (overlapping, adjacent and apart), 1 to 9 ranges, lengths 0 to 1100, in every
  kernel. Catches: a pending slow value written into the wrong range or left unwritten at the end of
  the request, a range placed at the wrong offset in the output, adjacent ranges drawn as one too
  long.
*/
static void test_normal_ranges(void **state)
{
  (void)state;
  const char  *names[] = {"avx512", "avx2", "portable"};
  const size_t lens[]  = {0, 1, 3, 5, 128, 131, 509, 1100};
  double      *got = malloc((9 * 1100 + 1) * sizeof(double)), *ref = malloc(1100 * sizeof(double));
  NNLRngStream s;
  int          nslow = 0;

  assert_non_null(got);
  assert_non_null(ref);
  for (int k = 0; k < 3; k++) {
    if (NNLRngUseKernel(names[k])) continue;
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
      for (size_t count = 1; count <= 9; count += 4) {
        uint64_t off = 7 * l + 1, stride = l % 3 == 0 ? lens[l]
                                           : l % 2    ? 3
                                                      : lens[l] + 10 * count; /* = n: adjacent */
        NNLRngStreamInit(&s, 11, 13 + l, 17, NNL_PURPOSE_TEST);
        got[count * lens[l]] = 12345.0; /* past the ranges: must stay */
        NNLRngNormalsRanges(&s, off, stride, count, lens[l], got);
        if (got[count * lens[l]] != 12345.0)
          fail_msg("kernel %s, length %zu: written past %zu ranges", names[k], lens[l], count);
        for (size_t a = 0; a < count; a++) {
          NNLRngNormals(&s, off + a * stride, lens[l], ref);
          if (memcmp(got + a * lens[l], ref, lens[l] * sizeof(double)))
            fail_msg("kernel %s, length %zu, range %zu of %zu, stride %llu", names[k], lens[l], a,
                     count, (unsigned long long)stride);
          for (size_t i = 0; i < lens[l]; i++) { /* normals whose word the fast path refuses */
            uint64_t         t  = off + a * stride + i;
            philox4x64_ctr_t c  = {{t / 4, s.layer, s.purpose, 0}};
            philox4x64_key_t kk = {{s.key[0], s.key[1]}};
            uint64_t         w  = philox4x64_R(10, c, kk).v[t % 4];
            nslow += (w >> (NNL_ZIG_BITS + 1)) >= nnl_zig_k[w % NNL_ZIG_STRIPS];
          }
        }
      }
  }
  if (nslow < 30) fail_msg("only %d slow-path normals in the ranges", nslow); /* ~0.43 % of ~10^5 */
  assert_int_equal(NNLRngUseKernel(NULL), 0);
  free(got);
  free(ref);
}

/**
  @brief NNLRngNormalsLayers gives, layer by layer, NNLRngNormals' values of each layer's stream bit
  for bit: n = 1 to 20 (ragged blocks: a block's values past n are not kept), 33 to 128 (9 to 32
  blocks a layer: a vector of 8 blocks or more within one layer, where a kernel may take a run of
  one stream's blocks), 130 (one layer per batch: the plain path); 1 to 150 layers (several
  batches; a lone layer of one to five blocks, the scalar kernel); in every kernel, with hundreds of
  slow-path normals among them. Catches: a layer's blocks drawn with the wrong counter (block or
  layer word, as RngBatchCounters gives them, or a vector taken for one stream's run of blocks when
  it crosses into the next layer), a slow value with another layer's counter or written to the
  wrong place, a refused word past n taken for one of the layer's, a value written past the output.
*/
static void test_normal_layers(void **state)
{
  (void)state;
  const char  *names[] = {"avx512", "avx2", "portable"};
  const size_t ns[]    = {1,  2,  3,  4,  5,  6,  7,   8,   9,   12, 13,
                          16, 17, 20, 33, 64, 65, 100, 124, 128, 130};
  const size_t nls[]   = {1, 2, 7, 150};
  double      *got = malloc((150 * 130 + 1) * sizeof(double)), *ref = malloc(130 * sizeof(double));
  NNLRngStream s, t;
  int          nslow = 0, nk = 0;

  assert_non_null(got);
  assert_non_null(ref);
  for (int k = 0; k < 3; k++) {
    if (NNLRngUseKernel(names[k])) continue;
    nk++;
    for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
      for (size_t b = 0; b < sizeof(nls) / sizeof(nls[0]); b++) {
        const size_t n = ns[a], nl = nls[b];
        NNLRngStreamInit(&s, 11, 19 + a, 1000 + b, NNL_PURPOSE_PROJECT);
        got[nl * n] = 12345.0; /* past the layers: must stay */
        NNLRngNormalsLayers(&s, nl, n, got);
        if (got[nl * n] != 12345.0)
          fail_msg("kernel %s, n %zu: written past %zu layers", names[k], n, nl);
        for (size_t j = 0; j < nl; j++) {
          t = s;
          t.layer += j;
          NNLRngNormals(&t, 0, n, ref);
          if (memcmp(got + j * n, ref, n * sizeof(double)))
            fail_msg("kernel %s, n %zu, layer %zu of %zu", names[k], n, j, nl);
          for (size_t i = 0; i < n; i++) { /* normals whose word the fast path refuses */
            philox4x64_ctr_t c  = {{i / 4, t.layer, t.purpose, 0}};
            philox4x64_key_t kk = {{t.key[0], t.key[1]}};
            uint64_t         w  = philox4x64_R(10, c, kk).v[i % 4];
            nslow += (w >> (NNL_ZIG_BITS + 1)) >= nnl_zig_k[w % NNL_ZIG_STRIPS];
          }
        }
      }
  }
  assert_true(nk >= 1);
  if (nslow < 100 * nk) fail_msg("only %d slow-path normals in the layers", nslow); /* ~0.43 % */
  assert_int_equal(NNLRngUseKernel(NULL), 0);
  free(got);
  free(ref);
}

/**
  @brief Tail frequencies of 4·10^6 normals: P(|Z| > t) for t = 2, 3, 4, 4.5 within 4 binomial
  standard errors. Catches: a tail cut short or inflated (a log that loses accuracy near u → 0 or 1,
  too few uniform bits, radius words reused as angles), which moments and the KS distance, dominated
  by the bulk, barely see.
*/
static void test_normal_tails(void **state)
{
  (void)state;
  enum { N = 4000000 };
  const double t[4]   = {2.0, 3.0, 4.0, 4.5};
  double      *z      = malloc(N * sizeof(double));
  size_t       cnt[4] = {0};
  NNLRngStream s;

  assert_non_null(z);
  NNLRngStreamInit(&s, 2718, 28, 18, NNL_PURPOSE_TEST);
  NNLRngNormals(&s, 0, N, z);
  for (size_t i = 0; i < N; i++)
    for (int k = 0; k < 4; k++) cnt[k] += fabs(z[i]) > t[k];
  for (int k = 0; k < 4; k++) {
    double p = erfc(t[k] / sqrt(2.0)), se = sqrt(p * (1 - p) / N);
    if (!(fabs((double)cnt[k] / N - p) <= 4 * se))
      fail_msg("P(|Z| > %g): observed %.6g, exact %.6g, %.2f se", t[k], (double)cnt[k] / N, p,
               fabs((double)cnt[k] / N - p) / se);
  }
  free(z);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_philox_kat),         cmocka_unit_test(test_pinned_values),
    cmocka_unit_test(test_ziggurat_tables),    cmocka_unit_test(test_normals_from_words),
    cmocka_unit_test(test_split_invariance),   cmocka_unit_test(test_streams_differ),
    cmocka_unit_test(test_normal_moments),     cmocka_unit_test(test_uniforms_open),
    cmocka_unit_test(test_normal_ks),          cmocka_unit_test(test_point_correlation),
    cmocka_unit_test(test_kernels_identical),  cmocka_unit_test(test_slow_kernels),
    cmocka_unit_test(test_normal_ranges),      cmocka_unit_test(test_normal_layers),
    cmocka_unit_test(test_normal_tails),       cmocka_unit_test(test_chi_squares),
    cmocka_unit_test(test_chi_square_indices),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
