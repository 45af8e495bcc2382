/* Philox4x64-10 word kernels for batches of blocks (a run of one stream, or of several layers):
 * AVX-512, AVX2 and portable, bit-identical. */
#include "rngkernel.h"
#include "simd.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

#include "ziggurat.h"

#if defined(__x86_64__) && defined(__GNUC__)
  #include <immintrin.h>
  #define NNL_RNG_X86 1
#endif

/* Philox round constants (Random123 philox.h, 4x64 variant). */
static const uint64_t nnl_m0 = 0xD2E7470EE14C6C93ULL, nnl_m1 = 0xCA5A826395121157ULL;
static const uint64_t nnl_w0 = 0x9E3779B97F4A7C15ULL, nnl_w1 = 0xBB67AE8584CAA73BULL;

/**
  @brief Counter words 0 and 1 of the batch's blocks b0 .. b0+n−1 into x0[], x1[] (block b: block
  + b mod bpl of layer c1 + b div bpl; see NNLRngKernel).
*/
static inline void RngBatchCounters(uint64_t block, uint64_t c1, size_t bpl, size_t b0, size_t n,
                                    uint64_t *x0, uint64_t *x1)
{
  size_t   i = b0 % bpl;
  uint64_t l = c1 + b0 / bpl;

  for (size_t t = 0; t < n; t++) {
    x0[t] = block + i;
    x1[t] = l;
    if (++i == bpl) {
      i = 0;
      l++;
    }
  }
}

/**
  @brief Portable kernel: Random123's own philox4x64_R per block (its 64×64→128 multiply is one mulx
  on x86-64).
*/
static void RngWordsPortable(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block,
                             size_t bpl, size_t nb, uint64_t *wr, uint64_t *wa)
{
  philox4x64_key_t k = {{key[0], key[1]}};
  size_t           i = 0;

  for (size_t b = 0; b < nb; b++, i++) {
    if (i == bpl) { /* the next layer's blocks */
      i = 0;
      c1++;
    }
    philox4x64_ctr_t c    = {{block + i, c1, c2, 0}};
    philox4x64_ctr_t r    = philox4x64_R(10, c, k);
    wr[b]                 = r.v[0];
    wa[b]                 = r.v[1];
    wr[NNL_RNG_BATCH + b] = r.v[2];
    wa[NNL_RNG_BATCH + b] = r.v[3];
  }
}

#ifdef NNL_RNG_X86
/* x86 has no vector 64×64→128 multiply: four 32×32→64 products (vpmuludq reads the low half of each
   lane), the schoolbook carries, and the low word reassembled from the low halves of p00 and t2
   (a·b mod 2^64). */
  #define NNL_MULHILO(V, P, a, b0, b1, mask, hi, lo)                                               \
    do {                                                                                           \
      V a1_ = P##_srli_epi64(a, 32);                                                               \
      V p00 = P##_mul_epu32(a, b0), p01 = P##_mul_epu32(a, b1), p10 = P##_mul_epu32(a1_, b0);      \
      V p11 = P##_mul_epu32(a1_, b1);                                                              \
      V t_  = P##_add_epi64(p10, P##_srli_epi64(p00, 32));                                         \
      V t2_ = P##_add_epi64(p01, P##_and_si##V##bits(t_, mask));                                   \
      hi    = P##_add_epi64(P##_add_epi64(p11, P##_srli_epi64(t_, 32)), P##_srli_epi64(t2_, 32));  \
      lo    = NNL_OR_AND(P, P##_slli_epi64(t2_, 32), p00, mask);                                   \
    } while (0)
  #define _mm512_and_si__m512ibits _mm512_and_si512
  #define _mm256_and_si__m256ibits _mm256_and_si256
  /* x | (y & mask): one ternary-logic instruction on AVX-512 */
  #define NNL_OR_AND(P, x, y, mask)     NNL_OR_AND_##P(x, y, mask)
  #define NNL_OR_AND__mm512(x, y, mask) _mm512_ternarylogic_epi64(x, y, mask, 0xF8)
  #define NNL_OR_AND__mm256(x, y, mask) _mm256_or_si256(x, _mm256_and_si256(y, mask))

/* Four vectors in flight: one round's multiply chain is ~10 cycles long, so a single vector would
 * wait on it. */
  #define NNL_GROUPS 4

/* The ten Philox4x64 rounds on ng <= NNL_GROUPS vectors of 8 counters each (x[k][g] word k), in
 * place. */
static inline __attribute__((always_inline, target("avx512f"))) void
RngRoundsAVX512(const uint64_t key[2], int ng, __m512i x[4][NNL_GROUPS])
{
  const __m512i mask = _mm512_set1_epi64(0xffffffffLL);
  const __m512i a0   = _mm512_set1_epi64((long long)(nnl_m0 & 0xffffffffu)),
                a1   = _mm512_set1_epi64((long long)(nnl_m0 >> 32));
  const __m512i b0   = _mm512_set1_epi64((long long)(nnl_m1 & 0xffffffffu)),
                b1   = _mm512_set1_epi64((long long)(nnl_m1 >> 32));
  uint64_t k0 = key[0], k1 = key[1];

  for (int r = 0; r < 10; r++) {
    const __m512i K0 = _mm512_set1_epi64((long long)k0), K1 = _mm512_set1_epi64((long long)k1);
    for (int g = 0; g < ng; g++) {
      __m512i hi0, lo0, hi1, lo1;
      NNL_MULHILO(__m512i, _mm512, x[0][g], a0, a1, mask, hi0, lo0);
      NNL_MULHILO(__m512i, _mm512, x[2][g], b0, b1, mask, hi1, lo1);
      x[0][g] = _mm512_ternarylogic_epi64(hi1, x[1][g], K0, 0x96); /* three-way xor */
      x[2][g] = _mm512_ternarylogic_epi64(hi0, x[3][g], K1, 0x96);
      x[1][g] = lo1;
      x[3][g] = lo0;
    }
    k0 += nnl_w0;
    k1 += nnl_w1;
  }
}

/**
  @brief Philox4x64-10 on AVX-512F: blocks g0 .. g0+8·ng−1 of a batch (ng <= NNL_GROUPS; see
  NNLRngKernel for bpl), word k of block g0+8g+l in lane l of x[k][g]. Inlined into the words kernel
  and into the fused normals kernel.
*/
static inline __attribute__((always_inline, target("avx512f"))) void
RngPhiloxAVX512(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t bpl,
                size_t g0, int ng, __m512i x[4][NNL_GROUPS])
{
  if (g0 + 8 * (size_t)ng <= bpl) /* one stream's run of blocks */
    for (int g = 0; g < ng; g++) {
      x[0][g] = _mm512_add_epi64(_mm512_set1_epi64((long long)(block + g0 + 8 * (uint64_t)g)),
                                 _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
      x[1][g] = _mm512_set1_epi64((long long)c1);
    }
  else {
    uint64_t x0[8 * NNL_GROUPS], x1[8 * NNL_GROUPS];
    RngBatchCounters(block, c1, bpl, g0, 8 * (size_t)ng, x0, x1);
    for (int g = 0; g < ng; g++) {
      x[0][g] = _mm512_loadu_si512((const void *)(x0 + 8 * g));
      x[1][g] = _mm512_loadu_si512((const void *)(x1 + 8 * g));
    }
  }
  for (int g = 0; g < ng; g++) {
    x[2][g] = _mm512_set1_epi64((long long)c2);
    x[3][g] = _mm512_setzero_si512();
  }
  RngRoundsAVX512(key, ng, x);
}

/**
  @brief AVX-512F kernel: 8 blocks per vector, NNL_GROUPS vectors at a time (nb rounded up to 32 in
  the buffer).
*/
__attribute__((target("avx512f"))) static void RngWordsAVX512(const uint64_t key[2], uint64_t c1,
                                                              uint64_t c2, uint64_t block,
                                                              size_t bpl, size_t nb, uint64_t *wr,
                                                              uint64_t *wa)
{
  for (size_t g0 = 0; g0 < nb; g0 += 8 * NNL_GROUPS) {
    __m512i x[4][NNL_GROUPS];
    RngPhiloxAVX512(key, c1, c2, block, bpl, g0, NNL_GROUPS, x);
    for (int g = 0; g < NNL_GROUPS; g++) {
      size_t b = g0 + 8 * (size_t)g;
      _mm512_storeu_si512((void *)(wr + b), x[0][g]);
      _mm512_storeu_si512((void *)(wa + b), x[1][g]);
      _mm512_storeu_si512((void *)(wr + NNL_RNG_BATCH + b), x[2][g]);
      _mm512_storeu_si512((void *)(wa + NNL_RNG_BATCH + b), x[3][g]);
    }
  }
}

/**
  @brief AVX2 kernel: 4 blocks per vector, NNL_GROUPS vectors at a time (nb rounded up to 16 in the
  buffer).
*/
__attribute__((target("avx2"))) static void RngWordsAVX2(const uint64_t key[2], uint64_t c1,
                                                         uint64_t c2, uint64_t block, size_t bpl,
                                                         size_t nb, uint64_t *wr, uint64_t *wa)
{
  const __m256i mask = _mm256_set1_epi64x(0xffffffffLL);
  const __m256i a0   = _mm256_set1_epi64x((long long)(nnl_m0 & 0xffffffffu)),
                a1   = _mm256_set1_epi64x((long long)(nnl_m0 >> 32));
  const __m256i b0   = _mm256_set1_epi64x((long long)(nnl_m1 & 0xffffffffu)),
                b1   = _mm256_set1_epi64x((long long)(nnl_m1 >> 32));

  for (size_t g0 = 0; g0 < nb; g0 += 4 * NNL_GROUPS) {
    __m256i  x0[NNL_GROUPS], x1[NNL_GROUPS], x2[NNL_GROUPS], x3[NNL_GROUPS];
    uint64_t k0 = key[0], k1 = key[1];
    if (g0 + 4 * NNL_GROUPS <= bpl) /* one stream's run of blocks */
      for (int g = 0; g < NNL_GROUPS; g++) {
        x0[g] = _mm256_add_epi64(_mm256_set1_epi64x((long long)(block + g0 + 4 * g)),
                                 _mm256_set_epi64x(3, 2, 1, 0));
        x1[g] = _mm256_set1_epi64x((long long)c1);
      }
    else {
      uint64_t c0v[4 * NNL_GROUPS], c1v[4 * NNL_GROUPS];
      RngBatchCounters(block, c1, bpl, g0, 4 * NNL_GROUPS, c0v, c1v);
      for (int g = 0; g < NNL_GROUPS; g++) {
        x0[g] = _mm256_loadu_si256((const void *)(c0v + 4 * g));
        x1[g] = _mm256_loadu_si256((const void *)(c1v + 4 * g));
      }
    }
    for (int g = 0; g < NNL_GROUPS; g++) {
      x2[g] = _mm256_set1_epi64x((long long)c2);
      x3[g] = _mm256_setzero_si256();
    }
    for (int r = 0; r < 10; r++) {
      const __m256i K0 = _mm256_set1_epi64x((long long)k0), K1 = _mm256_set1_epi64x((long long)k1);
      for (int g = 0; g < NNL_GROUPS; g++) {
        __m256i hi0, lo0, hi1, lo1;
        NNL_MULHILO(__m256i, _mm256, x0[g], a0, a1, mask, hi0, lo0);
        NNL_MULHILO(__m256i, _mm256, x2[g], b0, b1, mask, hi1, lo1);
        x0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[g]), K0);
        x2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[g]), K1);
        x1[g] = lo1;
        x3[g] = lo0;
      }
      k0 += nnl_w0;
      k1 += nnl_w1;
    }
    for (int g = 0; g < NNL_GROUPS; g++) {
      size_t b = g0 + 4 * (size_t)g;
      _mm256_storeu_si256((void *)(wr + b), x0[g]);
      _mm256_storeu_si256((void *)(wa + b), x1[g]);
      _mm256_storeu_si256((void *)(wr + NNL_RNG_BATCH + b), x2[g]);
      _mm256_storeu_si256((void *)(wa + NNL_RNG_BATCH + b), x3[g]);
    }
  }
}
#endif

/* --------------------------------------------------------------------------------------------------------------
   Uniforms and normals on the words. Every kernel gives the same bits (tests/test_rng.c compares
   them bitwise): the uniforms and the ziggurat's fast path use only exact integer steps, exact int
   → double conversions and one rounded product; the slow path is one scalar function shared by all
   kernels (and the build turns off FMA contraction).
   --------------------------------------------------------------------------------------------------------------
 */

/* 2^-53: uniforms have 53 random bits, the width of a double mantissa. */
static const double nnl_two_m53 = 1.0 / 9007199254740992.0;
static const double nnl_ln2_hi  = 6.93147180369123816490e-01,
                    nnl_ln2_lo  = 1.90821492927058770002e-10;

static inline uint64_t RngBits(double x)
{
  uint64_t b;
  memcpy(&b, &x, sizeof(b));
  return b;
}

static inline double RngDouble(uint64_t b)
{
  double x;
  memcpy(&x, &b, sizeof(x));
  return x;
}

/**
  @brief Uniform on the open interval (0,1) from the top 53 bits of w; never 0, so its log is
  finite.
*/
static inline double RngU01(uint64_t w, int cvt)
{
  /* (double)(w >> 11) is exact (< 2^53): with cvt, one conversion (AVX-512DQ has it for vectors),
     else in two 2^52-magic halves (x86 has no vector uint64 → double before AVX-512). Either way
     the same exact value, then the same rounded + 0.5. */
  double hi = RngDouble(0x4330000000000000ULL | (w >> 32));
  double lo = RngDouble(0x4330000000000000ULL | ((w >> 11) & 0x1fffffULL));
  double x =
    cvt ? (double)(w >> 11) : (hi - 4503599627370496.0) * 2097152.0 + (lo - 4503599627370496.0);
  return (x + 0.5) * nnl_two_m53;
}

/**
  @brief ln u for normal u > 0: u = 2^e m with m in [√½, √2) by integer steps on the bits (as in
  musl's log), then ln m = 2 atanh(s), s = (m−1)/(m+1), |s| <= 0.1716, by 13 terms of its series
  (error < 1e-19). Our own, not libm's, so that the slow path gives the same bits on every machine.
*/
static inline double RngLog(double u)
{
  const uint64_t half_sqrt2 = 0x3fe6a09e667f3bcdULL; /* bits of √½ */
  uint64_t       b          = RngBits(u) + (0x3ff0000000000000ULL - half_sqrt2);
  double         e =
    RngDouble(0x4330000000000000ULL | (b >> 52)) - (4503599627370496.0 + 1023.0); /* exact */
  double m = RngDouble((b & 0x000fffffffffffffULL) + half_sqrt2);
  double s = (m - 1.0) / (m + 1.0), s2 = s * s, s4 = s2 * s2, s8 = s4 * s4, p;

  /* p = Σ_{k=0}^{11} s2^k / (2k+3) by Estrin's scheme: pairs, quads, then s8 (a short dependency
     chain, for the scalar slow path of the ziggurat, where latency is the cost) */
  p = ((1.0 / 3 + s2 * (1.0 / 5)) + s4 * (1.0 / 7 + s2 * (1.0 / 9))) +
      s8 * (((1.0 / 11 + s2 * (1.0 / 13)) + s4 * (1.0 / 15 + s2 * (1.0 / 17))) +
            s8 * ((1.0 / 19 + s2 * (1.0 / 21)) + s4 * (1.0 / 23 + s2 * (1.0 / 25))));
  return e * nnl_ln2_hi + (e * nnl_ln2_lo + (2.0 * s + 2.0 * s * s2 * p));
}

/* The ziggurat's use of a word w: strip i = bits 0 .. NNL_ZIG_BITS−1, sign = bit NNL_ZIG_BITS, j =
   the top NNL_ZIG_JBITS; x = j·w_i (exact j, one rounding), accepted at once when j < k_i. These
   lines are the definition the vector kernels reproduce. */
#define NNL_ZIG_STRIP(w) ((w) & (NNL_ZIG_STRIPS - 1))
#define NNL_ZIG_SIGN(w)  (((w)&NNL_ZIG_STRIPS) << NNL_ZIG_JBITS)
#define NNL_ZIG_J(w)     ((w) >> (NNL_ZIG_BITS + 1))

static inline double RngZigSigned(double x, uint64_t sign)
{
  return RngDouble(RngBits(x) ^ sign);
}

/* Marsaglia's tail for normal number index: r + a, a ~ Exp(r), kept with probability exp(−a²/2),
   each try on the fresh words of the next attempt after the given one. */
static double RngZigTail(const philox4x64_key_t k, uint64_t c1, uint64_t c2, uint64_t index,
                         uint64_t sign, uint64_t attempt)
{
  for (;;) {
    philox4x64_ctr_t c = {{index, c1, c2, ++attempt}}, r = philox4x64_R(10, c, k);
    double           a = -RngLog(RngU01(r.v[0], 0)) / nnl_zig_r, b = -RngLog(RngU01(r.v[1], 0));
    if (b + b > a * a) return RngZigSigned(nnl_zig_r + a, sign);
  }
}

/* The slow path from word w, its fresh words from the attempts after the given one (see
 * NNLRngZigguratSlow). */
static double RngZigSlowFrom(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t index,
                             uint64_t w, uint64_t attempt)
{
  const philox4x64_key_t k = {{key[0], key[1]}};

  for (;;) {
    uint64_t         i = NNL_ZIG_STRIP(w), j = NNL_ZIG_J(w), sign = NNL_ZIG_SIGN(w);
    double           x = (double)j * nnl_zig_w[i];
    philox4x64_ctr_t c, r;

    if (j < nnl_zig_k[i]) return RngZigSigned(x, sign);        /* a fresh word's fast path */
    if (i == 0 && x < nnl_zig_r) return RngZigSigned(x, sign); /* the base strip: under the curve */
    if (i == 0)
      return RngZigTail(k, c1, c2, index, sign, attempt); /* beyond r stands for the tail */
    if (x < nnl_zig_w[i + 1] * (double)(1ULL << NNL_ZIG_JBITS))
      return RngZigSigned(x, sign); /* k_i was rounded down */
    c = (philox4x64_ctr_t){{index, c1, c2, ++attempt}};
    r = philox4x64_R(10, c, k);
    { /* the wedge: y under f(x)? */
      double y = nnl_zig_f[i] + RngU01(r.v[0], 0) * (nnl_zig_f[i + 1] - nnl_zig_f[i]);
      if (RngLog(y) < -0.5 * x * x) return RngZigSigned(x, sign);
    }
    w = r.v[1]; /* rejected: start again with a fresh word */
  }
}

/**
  @brief The slow path of normal number index (word w, which the fast path did not accept) of the
  stream with this key and counter words (c1, c2): the wedge test, the tail beyond r, and fresh
  words when they reject. Fresh words come from the blocks (index, c1, c2, attempt), attempt = 1, 2,
  ...: the fourth counter word is 0 for every word of the stream itself, so they are never stream
  words, and normal index keeps depending on index alone. Scalar; the AVX-512 kernel decides the
  first attempt of 8 at once (RngSlowAVX512) and comes here for what that leaves. About 0.43 % of
  normals come here.
*/
double NNLRngZigguratSlow(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t index,
                          uint64_t w)
{
  return RngZigSlowFrom(key, c1, c2, index, w, 0);
}

/* n <= 8 slow paths one after the other (the kernels without a vector slow path). */
static void RngSlowScalar(const uint64_t key[2], const uint64_t *c1, uint64_t c2, size_t n,
                          const uint64_t *index, const uint64_t *w, double *z)
{
  for (size_t l = 0; l < n; l++) z[l] = NNLRngZigguratSlow(key, c1[l], c2, index[l], w[l]);
}

/* Values 4b..4b+3 of block b in batch order from the kernel's four word arrays (see rngkernel.h).
 */
#define NNL_WORD(wr, wa, k, b) (((k)&1 ? (wa) : (wr))[((k) >> 1) * NNL_RNG_BATCH + (b)])

static inline __attribute__((always_inline)) void RngUniformsBody(const uint64_t *restrict wr,
                                                                  const uint64_t *restrict wa,
                                                                  size_t nb, double *restrict u,
                                                                  int    cvt)
{
  for (size_t b = 0; b < nb; b++) {
    u[4 * b]     = RngU01(wr[b], cvt);
    u[4 * b + 1] = RngU01(wa[b], cvt);
    u[4 * b + 2] = RngU01(wr[NNL_RNG_BATCH + b], cvt);
    u[4 * b + 3] = RngU01(wa[NNL_RNG_BATCH + b], cvt);
  }
}

/* Lanes l (bits of bad) of a vector of words k of blocks b+l that the fast path refused: their
   positions 4(b+l)+k in the batch and their words (w[l]) for the slow path. */
static inline size_t RngRefused(unsigned bad, size_t b, size_t nb, int k, const uint64_t *w,
                                uint16_t *slow, uint64_t *sloww, size_t ns)
{
  if (nb - b < 8) bad &= (1u << (nb - b)) - 1; /* lanes past nb are padding */
  while (bad) {
    unsigned l  = (unsigned)__builtin_ctz(bad);
    slow[ns]    = (uint16_t)(4 * (b + l) + (size_t)k);
    sloww[ns++] = w[l];
    bad &= bad - 1;
  }
  return ns;
}

static size_t RngNormalsPortable(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block,
                                 size_t bpl, size_t nb, double *restrict z, uint16_t *restrict slow,
                                 uint64_t *restrict sloww)
{
  uint64_t wr[2 * NNL_RNG_BATCH], wa[2 * NNL_RNG_BATCH];
  size_t   ns = 0;

  RngWordsPortable(key, c1, c2, block, bpl, nb, wr, wa);
  for (size_t b = 0; b < nb; b++)
    for (int k = 0; k < 4; k++) {
      uint64_t w = NNL_WORD(wr, wa, k, b), i = NNL_ZIG_STRIP(w), j = NNL_ZIG_J(w);
      z[4 * b + k] = RngZigSigned((double)j * nnl_zig_w[i], NNL_ZIG_SIGN(w));
      if (!(j < nnl_zig_k[i])) {
        slow[ns]    = (uint16_t)(4 * b + (size_t)k);
        sloww[ns++] = w;
      }
    }
  return ns;
}

static void RngUniformsPortable(const uint64_t *restrict wr, const uint64_t *restrict wa, size_t nb,
                                double *restrict u)
{
  RngUniformsBody(wr, wa, nb, u, 0);
}

#ifdef NNL_RNG_X86
  #ifdef __clang__ /* clang knows no prefer-vector-width in target() and would drop the whole      \
                      attribute */
    #define NNL_AVX512_ATTR __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
  #else
    #define NNL_AVX512_ATTR                                                                        \
      __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,prefer-vector-width=512")))
  #endif

/* The fast path of 8 words: ±j·w_i, and in *ok the lanes accepted (j < k_i, unsigned). Two gathers
 * from the tables. */
static inline __attribute__((always_inline)) NNL_AVX512_ATTR __m512d RngZigAVX512(__m512i   w,
                                                                                  __mmask8 *ok)
{
  const __m512i strip = _mm512_set1_epi64(NNL_ZIG_STRIPS - 1),
                sign  = _mm512_set1_epi64(NNL_ZIG_STRIPS);
  __m512i i = _mm512_and_si512(w, strip), j = _mm512_srli_epi64(w, NNL_ZIG_BITS + 1);
  __m512d wt = _mm512_i64gather_pd(i, nnl_zig_w, 8);
  __m512i kt = _mm512_i64gather_epi64(i, (const void *)nnl_zig_k, 8);
  __m512i x  = _mm512_castpd_si512(_mm512_mul_pd(_mm512_cvtepu64_pd(j), wt));

  *ok = _mm512_cmplt_epu64_mask(j, kt);
  return _mm512_castsi512_pd(
    _mm512_xor_si512(x, _mm512_slli_epi64(_mm512_and_si512(w, sign), NNL_ZIG_JBITS)));
}

/* Blocks g0 .. g0+8·ng−1 of the batch (ng <= NNL_GROUPS, a constant where inlined): Philox words in
   registers, the ziggurat's fast path on them, refused lanes listed after the ns already in slow[],
   and a 4×8 transpose into batch order. Returns the new count of refused. */
static inline __attribute__((always_inline)) NNL_AVX512_ATTR size_t RngNormalGroupsAVX512(
  const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t bpl, size_t g0, size_t nb,
  int ng, double *restrict z, uint16_t *restrict slow, uint64_t *restrict sloww, size_t ns)
{
  __m512i x[4][NNL_GROUPS];

  RngPhiloxAVX512(key, c1, c2, block, bpl, g0, ng, x);
  for (int g = 0; g < ng; g++) {
    size_t  b = g0 + 8 * (size_t)g, nv;
    __m512d r[4], a, bb, c, d, e, f, out[4];
    if (b >= nb) break;
    nv = 4 * (nb - b < 8 ? nb - b : 8); /* values of this group in the batch */
    for (int k = 0; k < 4; k++) {
      __mmask8 ok;
      r[k] = RngZigAVX512(x[k][g], &ok);
      if (ok != 0xff) {
        uint64_t w[8];
        _mm512_storeu_si512((void *)w, x[k][g]);
        ns = RngRefused((uint8_t)~ok, b, nb, k, w, slow, sloww, ns);
      }
    }
    /* lanes l of r[k] are values 4(b+l)+k: pairs (r0, r1) and (r2, r3) of lane l, then 128-bit
     * quarters */
    a      = _mm512_unpacklo_pd(r[0], r[1]);
    bb     = _mm512_unpackhi_pd(r[0], r[1]);
    c      = _mm512_unpacklo_pd(r[2], r[3]);
    d      = _mm512_unpackhi_pd(r[2], r[3]);
    e      = _mm512_shuffle_f64x2(a, c, 0x44);
    f      = _mm512_shuffle_f64x2(bb, d, 0x44);
    out[0] = _mm512_shuffle_f64x2(e, f, 0x88);
    out[1] = _mm512_shuffle_f64x2(e, f, 0xDD);
    e      = _mm512_shuffle_f64x2(a, c, 0xEE);
    f      = _mm512_shuffle_f64x2(bb, d, 0xEE);
    out[2] = _mm512_shuffle_f64x2(e, f, 0x88);
    out[3] = _mm512_shuffle_f64x2(e, f, 0xDD);
    for (size_t m = 0; m < 4 && 8 * m < nv; m++) {
      if (nv - 8 * m >= 8)
        _mm512_storeu_pd(z + 4 * b + 8 * m, out[m]);
      else
        _mm512_mask_storeu_pd(z + 4 * b + 8 * m, (__mmask8)((1u << (nv - 8 * m)) - 1), out[m]);
    }
  }
  return ns;
}

/**
  @brief AVX-512 normals, fused: Philox words stay in registers, the ziggurat's fast path runs on
  them (its gathers use the load ports while the multiplies use the vector ALUs), and a 4×8
  transpose puts the values in batch order. NNL_GROUPS vectors at a time, and at the end only the
  vectors the batch still needs (a column of a narrow layer asks for 8 blocks: four times the Philox
  work, before).
*/
NNL_AVX512_ATTR static size_t RngNormalsAVX512(const uint64_t key[2], uint64_t c1, uint64_t c2,
                                               uint64_t block, size_t bpl, size_t nb,
                                               double *restrict z, uint16_t *restrict slow,
                                               uint64_t *restrict sloww)
{
  size_t ns = 0, g0 = 0;

  for (; g0 + 8 * NNL_GROUPS <= nb; g0 += 8 * NNL_GROUPS)
    ns = RngNormalGroupsAVX512(key, c1, c2, block, bpl, g0, nb, NNL_GROUPS, z, slow, sloww, ns);
  switch ((nb - g0 + 7) / 8) { /* the rest: 0 to NNL_GROUPS vectors (the last one part full) */
  case 0: break;
  case 1: ns = RngNormalGroupsAVX512(key, c1, c2, block, bpl, g0, nb, 1, z, slow, sloww, ns); break;
  case 2: ns = RngNormalGroupsAVX512(key, c1, c2, block, bpl, g0, nb, 2, z, slow, sloww, ns); break;
  case 3: ns = RngNormalGroupsAVX512(key, c1, c2, block, bpl, g0, nb, 3, z, slow, sloww, ns); break;
  default:
    ns = RngNormalGroupsAVX512(key, c1, c2, block, bpl, g0, nb, NNL_GROUPS, z, slow, sloww, ns);
    break;
  }
  return ns;
}

/* The ziggurat's fast path on 4 words of one position k in 4 blocks (AVX2 has gathers, but 8 scalar
   loads are faster on AMD Zen 3); bit ok[l]: lane l accepted. */
static inline __attribute__((always_inline, target("avx2"))) __m256d RngZigAVX2(const uint64_t *p,
                                                                                int            *ok)
{
  const __m256i sign   = _mm256_set1_epi64x(NNL_ZIG_STRIPS),
                lo52   = _mm256_set1_epi64x(0xfffffffffffffLL);
  const __m256i  magic = _mm256_set1_epi64x(0x4330000000000000LL);
  const __m256d  two52 = _mm256_set1_pd(4503599627370496.0);
  const uint64_t i0 = NNL_ZIG_STRIP(p[0]), i1 = NNL_ZIG_STRIP(p[1]), i2 = NNL_ZIG_STRIP(p[2]),
                 i3 = NNL_ZIG_STRIP(p[3]);
  __m256i w = _mm256_loadu_si256((const void *)p), j = _mm256_srli_epi64(w, NNL_ZIG_BITS + 1);
  __m256d wt = _mm256_set_pd(nnl_zig_w[i3], nnl_zig_w[i2], nnl_zig_w[i1], nnl_zig_w[i0]);
  __m256i kt = _mm256_set_epi64x((long long)nnl_zig_k[i3], (long long)nnl_zig_k[i2],
                                 (long long)nnl_zig_k[i1], (long long)nnl_zig_k[i0]);
  /* j < 2^53 exactly: its low 52 bits by the 2^52 magic, plus 2^52 where bit 52 is set (moved to
   * the sign for blendv) */
  __m256d lo =
    _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(j, lo52), magic)), two52);
  __m256d jd = _mm256_add_pd(lo, _mm256_blendv_pd(_mm256_setzero_pd(), two52,
                                                  _mm256_castsi256_pd(_mm256_slli_epi64(j, 11))));
  __m256i x  = _mm256_castpd_si256(_mm256_mul_pd(jd, wt));

  *ok = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(kt, j))); /* both < 2^63 */
  return _mm256_castsi256_pd(
    _mm256_xor_si256(x, _mm256_slli_epi64(_mm256_and_si256(w, sign), NNL_ZIG_JBITS)));
}

/**
  @brief AVX2 normals: the words into L1 buffers, then the ziggurat's fast path on words k = 0..3 of
  4 blocks, and a 4×4 transpose into batch order.
*/
__attribute__((target("avx2"))) static size_t
RngNormalsAVX2(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t bpl,
               size_t nb, double *restrict z, uint16_t *restrict slow, uint64_t *restrict sloww)
{
  uint64_t wr[2 * NNL_RNG_BATCH], wa[2 * NNL_RNG_BATCH];
  size_t   ns = 0;

  RngWordsAVX2(key, c1, c2, block, bpl, nb, wr, wa);
  for (size_t b = 0; b < nb; b += 4) {
    const uint64_t *p[4] = {wr + b, wa + b, wr + NNL_RNG_BATCH + b, wa + NNL_RNG_BATCH + b};
    int             ok[4];
    __m256d         r0 = RngZigAVX2(p[0], &ok[0]), r1 = RngZigAVX2(p[1], &ok[1]),
            r2 = RngZigAVX2(p[2], &ok[2]);
    __m256d r3 = RngZigAVX2(p[3], &ok[3]);
    /* rows k, lanes blocks → rows blocks, lanes k */
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1),
            t2   = _mm256_unpacklo_pd(r2, r3);
    __m256d t3   = _mm256_unpackhi_pd(r2, r3);
    __m256d q[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                    _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};

    if (b + 4 <= nb) /* a whole vector of blocks: a constant count, unrolled; with the one test of
                        ok below, 1.44 -> 0.97 ns */
      for (int l = 0; l < 4; l++) _mm256_storeu_pd(z + 4 * (b + (size_t)l), q[l]);
    else
      for (int l = 0; b + (size_t)l < nb; l++) _mm256_storeu_pd(z + 4 * (b + (size_t)l), q[l]);
    if (__builtin_expect((ok[0] & ok[1] & ok[2] & ok[3]) != 0xf, 0))
      for (int k = 0; k < 4; k++)
        ns = RngRefused((unsigned)~ok[k] & 0xf, b, nb, k, p[k], slow, sloww, ns);
  }
  return ns;
}

__attribute__((target("avx2"))) static void RngUniformsAVX2(const uint64_t *restrict wr,
                                                            const uint64_t *restrict wa, size_t nb,
                                                            double *restrict u)
{
  RngUniformsBody(wr, wa, nb, u, 0);
}

/* RngU01 of 8 words (one exact conversion, then the same rounded steps). */
static inline __attribute__((always_inline)) NNL_AVX512_ATTR __m512d RngU01AVX512(__m512i w)
{
  return _mm512_mul_pd(
    _mm512_add_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(w, 11)), _mm512_set1_pd(0.5)),
    _mm512_set1_pd(nnl_two_m53));
}

/* RngLog of 8 values, operation for operation (the same bits). */
static inline __attribute__((always_inline)) NNL_AVX512_ATTR __m512d RngLogAVX512(__m512d u)
{
  const __m512i half_sqrt2 = _mm512_set1_epi64(0x3fe6a09e667f3bcdLL);
  const __m512d one        = _mm512_set1_pd(1.0);
  __m512i       b          = _mm512_add_epi64(_mm512_castpd_si512(u),
                                              _mm512_set1_epi64(0x3ff0000000000000LL - 0x3fe6a09e667f3bcdLL));
  __m512d       e          = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(
                                             _mm512_set1_epi64(0x4330000000000000LL), _mm512_srli_epi64(b, 52))),
                                           _mm512_set1_pd(4503599627370496.0 + 1023.0));
  __m512d       m          = _mm512_castsi512_pd(
                   _mm512_add_epi64(_mm512_and_si512(b, _mm512_set1_epi64(0x000fffffffffffffLL)), half_sqrt2));
  __m512d s = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one)), s2 = _mm512_mul_pd(s, s),
          s4 = _mm512_mul_pd(s2, s2);
  __m512d s8 = _mm512_mul_pd(s4, s4), p, q, t, s2s;
  #define NNL_PAIR(c0, c1) _mm512_add_pd(_mm512_set1_pd(c0), _mm512_mul_pd(s2, _mm512_set1_pd(c1)))
  p = _mm512_add_pd(NNL_PAIR(1.0 / 3, 1.0 / 5), _mm512_mul_pd(s4, NNL_PAIR(1.0 / 7, 1.0 / 9)));
  q = _mm512_add_pd(NNL_PAIR(1.0 / 11, 1.0 / 13), _mm512_mul_pd(s4, NNL_PAIR(1.0 / 15, 1.0 / 17)));
  t = _mm512_add_pd(NNL_PAIR(1.0 / 19, 1.0 / 21), _mm512_mul_pd(s4, NNL_PAIR(1.0 / 23, 1.0 / 25)));
  #undef NNL_PAIR
  p   = _mm512_add_pd(p, _mm512_mul_pd(s8, _mm512_add_pd(q, _mm512_mul_pd(s8, t))));
  s2s = _mm512_mul_pd(_mm512_set1_pd(2.0), s);
  return _mm512_add_pd(_mm512_mul_pd(e, _mm512_set1_pd(nnl_ln2_hi)),
                       _mm512_add_pd(_mm512_mul_pd(e, _mm512_set1_pd(nnl_ln2_lo)),
                                     _mm512_add_pd(s2s, _mm512_mul_pd(_mm512_mul_pd(s2s, s2), p))));
}

/**
  @brief The slow paths of n <= 8 refused words w[l] (normals index[l]) at once: their first
  attempt's fresh words by one vector of Philox, then the base strip's test and first tail try, or
  the strip's edge and wedge tests. A lane that rejects (a wedge or tail miss, ~8 % of them) goes on
  in the scalar slow path from its next attempt. Up to three words go the scalar way: a vector's
  latency (~190 ns here) is more than three scalar slow paths (~70 ns each); at 8, 42 ns a word.
*/
NNL_AVX512_ATTR static void RngSlowAVX512(const uint64_t key[2], const uint64_t *c1, uint64_t c2,
                                          size_t n, const uint64_t *index, const uint64_t *wv,
                                          double *z)
{
  const __mmask8 lanes = (__mmask8)((1u << n) - 1);
  const __m512i  w     = _mm512_maskz_loadu_epi64(lanes, wv),
                strips = _mm512_set1_epi64(NNL_ZIG_STRIPS - 1);
  const __m512i i = _mm512_and_si512(w, strips), i1 = _mm512_add_epi64(i, _mm512_set1_epi64(1));
  const __m512i sign =
    _mm512_slli_epi64(_mm512_and_si512(w, _mm512_set1_epi64(NNL_ZIG_STRIPS)), NNL_ZIG_JBITS);
  const __m512d  x    = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(w, NNL_ZIG_BITS + 1)),
                                      _mm512_i64gather_pd(i, nnl_zig_w, 8));
  const __m512d  zr   = _mm512_set1_pd(nnl_zig_r);
  const __mmask8 base = _mm512_mask_cmpeq_epi64_mask(lanes, i, _mm512_setzero_si512());
  __m512i        r[4][NNL_GROUPS];
  __m512d        fi, y, l0, a, b, val;
  __mmask8       keep, under, edge, wedge, tail;
  uint64_t       wnext[8];
  double         out[8];

  if (n < 4) {
    RngSlowScalar(key, c1, c2, n, index, wv, z);
    return;
  }
  /* the base strip under the curve, and a strip's part left of the next edge (k_i was rounded
   * down): x itself */
  under   = _mm512_mask_cmplt_pd_mask(base, x, zr);
  edge    = _mm512_mask_cmplt_pd_mask(lanes & ~base, x,
                                      _mm512_mul_pd(_mm512_i64gather_pd(i1, nnl_zig_w, 8),
                                                    _mm512_set1_pd((double)(1ULL << NNL_ZIG_JBITS))));
  r[0][0] = _mm512_maskz_loadu_epi64(lanes, index);
  r[1][0] = _mm512_maskz_loadu_epi64(lanes, c1);
  r[2][0] = _mm512_set1_epi64((long long)c2);
  r[3][0] = _mm512_set1_epi64(1); /* attempt 1 */
  RngRoundsAVX512(key, 1, r);
  /* the wedge's y, or the tail's first uniform; the tail's a = −ln u0 / r and b = −ln u1 */
  fi    = _mm512_i64gather_pd(i, nnl_zig_f, 8);
  y     = _mm512_add_pd(fi, _mm512_mul_pd(RngU01AVX512(r[0][0]),
                                          _mm512_sub_pd(_mm512_i64gather_pd(i1, nnl_zig_f, 8), fi)));
  l0    = RngLogAVX512(_mm512_mask_blend_pd(base, y, RngU01AVX512(r[0][0])));
  a     = _mm512_div_pd(_mm512_xor_pd(l0, _mm512_set1_pd(-0.0)),
                        zr); /* −ln u0 / r: a negation, as the scalar path's */
  b     = _mm512_xor_pd(RngLogAVX512(RngU01AVX512(r[1][0])), _mm512_set1_pd(-0.0));
  wedge = _mm512_mask_cmplt_pd_mask(lanes & ~base & ~edge, l0,
                                    _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(-0.5), x), x));
  tail  = _mm512_mask_cmplt_pd_mask(base & ~under, _mm512_mul_pd(a, a), _mm512_add_pd(b, b));
  val   = _mm512_mask_blend_pd(tail, x, _mm512_add_pd(zr, a));
  val   = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(val), sign));
  keep  = under | edge | wedge | tail;
  _mm512_storeu_pd(out, val);
  _mm512_storeu_si512((void *)wnext, r[1][0]);
  for (size_t l = 0; l < n; l++) {
    if (keep >> l & 1)
      z[l] = out[l];
    else if (base >> l & 1)
      z[l] = RngZigTail((philox4x64_key_t){{key[0], key[1]}}, c1[l], c2, index[l],
                        NNL_ZIG_SIGN(wv[l]), 1);
    else
      z[l] = RngZigSlowFrom(key, c1[l], c2, index[l], wnext[l], 1);
  }
}

NNL_AVX512_ATTR static void RngUniformsAVX512(const uint64_t *restrict wr,
                                              const uint64_t *restrict wa, size_t nb,
                                              double *restrict u)
{
  RngUniformsBody(wr, wa, nb, u, 1);
}
#endif

static const NNLRngKernel nnl_kernels[] = {
#ifdef NNL_RNG_X86
  {"avx512", RngWordsAVX512, RngNormalsAVX512, RngUniformsAVX512, RngSlowAVX512},
  {"avx2", RngWordsAVX2, RngNormalsAVX2, RngUniformsAVX2, RngSlowScalar},
#endif
  {"portable", RngWordsPortable, RngNormalsPortable, RngUniformsPortable, RngSlowScalar},
};
static const int nnl_nkernels = (int)(sizeof(nnl_kernels) / sizeof(nnl_kernels[0]));

static const NNLRngKernel *nnl_current = NULL;

static int RngKernelSupported(const NNLRngKernel *k)
{
  if (!strcmp(k->name, "avx512")) return NNLSimdSupported(NNL_ISA_AVX512);
  if (!strcmp(k->name, "avx2")) return NNLSimdSupported(NNL_ISA_AVX2);
  return 1;
}

/** @brief The kernel in use: the widest this CPU supports, unless NNLRngUseKernel chose another. */
const NNLRngKernel *NNLRngKernelGet(void)
{
  if (!nnl_current) {
    for (int i = 0; i < nnl_nkernels && !nnl_current; i++)
      if (RngKernelSupported(&nnl_kernels[i])) nnl_current = &nnl_kernels[i];
  }
  return nnl_current;
}

/** @brief The portable kernel (the last of the table). */
const NNLRngKernel *NNLRngKernelPortable(void)
{
  return &nnl_kernels[nnl_nkernels - 1];
}

/** @brief Choose the kernel by name (NULL: the widest supported); 0 on success, -1 if unknown or
 * unsupported. */
int NNLRngUseKernel(const char *name)
{
  if (!name) {
    nnl_current = NULL;
    (void)NNLRngKernelGet();
    return 0;
  }
  for (int i = 0; i < nnl_nkernels; i++)
    if (!strcmp(nnl_kernels[i].name, name)) {
      if (!RngKernelSupported(&nnl_kernels[i])) return -1;
      nnl_current = &nnl_kernels[i];
      return 0;
    }
  return -1;
}

/** @brief Name of the kernel in use ("avx512", "avx2" or "portable"). */
const char *NNLRngKernelName(void)
{
  return NNLRngKernelGet()->name;
}
