/* Philox4x64-10 word kernels for batches of consecutive blocks: AVX-512, AVX2 and portable, bit-identical. */
#include "rngkernel.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

#if defined(__x86_64__) && defined(__GNUC__)
  #include <immintrin.h>
  #define NNL_RNG_X86 1
#endif

/* Philox round constants (Random123 philox.h, 4x64 variant). */
static const uint64_t nnl_m0 = 0xD2E7470EE14C6C93ULL, nnl_m1 = 0xCA5A826395121157ULL;
static const uint64_t nnl_w0 = 0x9E3779B97F4A7C15ULL, nnl_w1 = 0xBB67AE8584CAA73BULL;

/**
  @brief Portable kernel: Random123's own philox4x64_R per block (its 64×64→128 multiply is one mulx on x86-64).
*/
static void RngWordsPortable(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t nb,
                             uint64_t *wr, uint64_t *wa)
{
  philox4x64_key_t k = {{key[0], key[1]}};

  for (size_t b = 0; b < nb; b++) {
    philox4x64_ctr_t c = {{block + b, c1, c2, 0}};
    philox4x64_ctr_t r = philox4x64_R(10, c, k);
    wr[b]              = r.v[0];
    wa[b]              = r.v[1];
    wr[NNL_RNG_BATCH + b] = r.v[2];
    wa[NNL_RNG_BATCH + b] = r.v[3];
  }
}

#ifdef NNL_RNG_X86
/* x86 has no vector 64×64→128 multiply: four 32×32→64 products (vpmuludq reads the low half of each lane), the
   schoolbook carries, and the low word reassembled from the low halves of p00 and t2 (a·b mod 2^64). */
  #define NNL_MULHILO(V, P, a, b0, b1, mask, hi, lo)                                                              \
    do {                                                                                                          \
      V a1_ = P##_srli_epi64(a, 32);                                                                              \
      V p00 = P##_mul_epu32(a, b0), p01 = P##_mul_epu32(a, b1), p10 = P##_mul_epu32(a1_, b0);                     \
      V p11 = P##_mul_epu32(a1_, b1);                                                                             \
      V t_   = P##_add_epi64(p10, P##_srli_epi64(p00, 32));                                                       \
      V t2_  = P##_add_epi64(p01, P##_and_si##V##bits(t_, mask));                                                 \
      hi     = P##_add_epi64(P##_add_epi64(p11, P##_srli_epi64(t_, 32)), P##_srli_epi64(t2_, 32));                \
      lo     = NNL_OR_AND(P, P##_slli_epi64(t2_, 32), p00, mask);                                                  \
    } while (0)
  #define _mm512_and_si__m512ibits _mm512_and_si512
  #define _mm256_and_si__m256ibits _mm256_and_si256
  /* x | (y & mask): one ternary-logic instruction on AVX-512 */
  #define NNL_OR_AND(P, x, y, mask) NNL_OR_AND_##P(x, y, mask)
  #define NNL_OR_AND__mm512(x, y, mask) _mm512_ternarylogic_epi64(x, y, mask, 0xF8)
  #define NNL_OR_AND__mm256(x, y, mask) _mm256_or_si256(x, _mm256_and_si256(y, mask))

/* Four vectors in flight: one round's multiply chain is ~10 cycles long, so a single vector would wait on it. */
  #define NNL_GROUPS 4

/**
  @brief AVX-512F kernel: 8 blocks per vector, NNL_GROUPS vectors at a time (nb rounded up to 32 in the buffer).
*/
__attribute__((target("avx512f"))) static void RngWordsAVX512(const uint64_t key[2], uint64_t c1, uint64_t c2,
                                                                uint64_t block, size_t nb, uint64_t *wr, uint64_t *wa)
{
  const __m512i mask = _mm512_set1_epi64(0xffffffffLL);
  const __m512i a0 = _mm512_set1_epi64((long long)(nnl_m0 & 0xffffffffu)), a1 = _mm512_set1_epi64((long long)(nnl_m0 >> 32));
  const __m512i b0 = _mm512_set1_epi64((long long)(nnl_m1 & 0xffffffffu)), b1 = _mm512_set1_epi64((long long)(nnl_m1 >> 32));

  for (size_t g0 = 0; g0 < nb; g0 += 8 * NNL_GROUPS) {
    __m512i  x0[NNL_GROUPS], x1[NNL_GROUPS], x2[NNL_GROUPS], x3[NNL_GROUPS];
    uint64_t k0 = key[0], k1 = key[1];
    for (int g = 0; g < NNL_GROUPS; g++) {
      x0[g] = _mm512_add_epi64(_mm512_set1_epi64((long long)(block + g0 + 8 * g)), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
      x1[g] = _mm512_set1_epi64((long long)c1);
      x2[g] = _mm512_set1_epi64((long long)c2);
      x3[g] = _mm512_setzero_si512();
    }
    for (int r = 0; r < 10; r++) {
      const __m512i K0 = _mm512_set1_epi64((long long)k0), K1 = _mm512_set1_epi64((long long)k1);
      for (int g = 0; g < NNL_GROUPS; g++) {
        __m512i hi0, lo0, hi1, lo1;
        NNL_MULHILO(__m512i, _mm512, x0[g], a0, a1, mask, hi0, lo0);
        NNL_MULHILO(__m512i, _mm512, x2[g], b0, b1, mask, hi1, lo1);
        x0[g] = _mm512_ternarylogic_epi64(hi1, x1[g], K0, 0x96); /* three-way xor */
        x2[g] = _mm512_ternarylogic_epi64(hi0, x3[g], K1, 0x96);
        x1[g] = lo1;
        x3[g] = lo0;
      }
      k0 += nnl_w0;
      k1 += nnl_w1;
    }
    for (int g = 0; g < NNL_GROUPS; g++) {
      size_t b = g0 + 8 * (size_t)g;
      _mm512_storeu_si512((void *)(wr + b), x0[g]);
      _mm512_storeu_si512((void *)(wa + b), x1[g]);
      _mm512_storeu_si512((void *)(wr + NNL_RNG_BATCH + b), x2[g]);
      _mm512_storeu_si512((void *)(wa + NNL_RNG_BATCH + b), x3[g]);
    }
  }
}

/**
  @brief AVX2 kernel: 4 blocks per vector, NNL_GROUPS vectors at a time (nb rounded up to 16 in the buffer).
*/
__attribute__((target("avx2"))) static void RngWordsAVX2(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block,
                                                         size_t nb, uint64_t *wr, uint64_t *wa)
{
  const __m256i mask = _mm256_set1_epi64x(0xffffffffLL);
  const __m256i a0 = _mm256_set1_epi64x((long long)(nnl_m0 & 0xffffffffu)), a1 = _mm256_set1_epi64x((long long)(nnl_m0 >> 32));
  const __m256i b0 = _mm256_set1_epi64x((long long)(nnl_m1 & 0xffffffffu)), b1 = _mm256_set1_epi64x((long long)(nnl_m1 >> 32));

  for (size_t g0 = 0; g0 < nb; g0 += 4 * NNL_GROUPS) {
    __m256i  x0[NNL_GROUPS], x1[NNL_GROUPS], x2[NNL_GROUPS], x3[NNL_GROUPS];
    uint64_t k0 = key[0], k1 = key[1];
    for (int g = 0; g < NNL_GROUPS; g++) {
      x0[g] = _mm256_add_epi64(_mm256_set1_epi64x((long long)(block + g0 + 4 * g)), _mm256_set_epi64x(3, 2, 1, 0));
      x1[g] = _mm256_set1_epi64x((long long)c1);
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
   Box–Muller and uniforms on the words. One body, compiled for each ISA below: it uses only + − × ÷, sqrt and
   integer bit operations, all exactly rounded in every SIMD width, and the build turns off FMA contraction, so
   every ISA gives the same bits (tests/test_rng.c compares all kernels bitwise).
   -------------------------------------------------------------------------------------------------------------- */

/* 2^-53: uniforms have 53 random bits, the width of a double mantissa. */
static const double nnl_two_m53 = 1.0 / 9007199254740992.0;
/* 2^52 + 2^51 as an adder rounds to an integer in the low mantissa bits; 2^52 as an exponent bias. */
static const double nnl_round_magic = 6755399441055744.0;
static const double nnl_ln2_hi = 6.93147180369123816490e-01, nnl_ln2_lo = 1.90821492927058770002e-10;
static const double nnl_two_pi_hi = 6.28318530717958623200, nnl_two_pi_lo = 2.44929359829470635445e-16;

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
  @brief Uniform on the open interval (0,1) from the top 53 bits of w; never 0, so log() in Box–Muller is finite.
*/
static inline double RngU01(uint64_t w, int cvt)
{
  /* (double)(w >> 11) is exact (< 2^53): with cvt, one conversion (AVX-512DQ has it for vectors), else in two
     2^52-magic halves (x86 has no vector uint64 → double before AVX-512). Either way the same exact value, then
     the same rounded + 0.5. */
  double hi = RngDouble(0x4330000000000000ULL | (w >> 32));
  double lo = RngDouble(0x4330000000000000ULL | ((w >> 11) & 0x1fffffULL));
  double x  = cvt ? (double)(w >> 11) : (hi - 4503599627370496.0) * 2097152.0 + (lo - 4503599627370496.0);
  return (x + 0.5) * nnl_two_m53;
}

/* Selections are integer masks, not branches, so that the compiler's vectoriser sees straight-line code. */
static inline double RngSelect(uint64_t mask, double a, double b) /* mask all ones: a, zero: b */
{
  return RngDouble((RngBits(a) & mask) | (RngBits(b) & ~mask));
}

/**
  @brief ln u for normal u > 0: u = 2^e m with m in [√½, √2) by integer steps on the bits (as in musl's log),
  then ln m = 2 atanh(s), s = (m−1)/(m+1), |s| <= 0.1716, by 12 terms of its series (error < 1e-18).
*/
static inline double RngLog(double u)
{
  const uint64_t half_sqrt2 = 0x3fe6a09e667f3bcdULL; /* bits of √½ */
  uint64_t       b          = RngBits(u) + (0x3ff0000000000000ULL - half_sqrt2);
  double e = RngDouble(0x4330000000000000ULL | (b >> 52)) - (4503599627370496.0 + 1023.0); /* exact */
  double m = RngDouble((b & 0x000fffffffffffffULL) + half_sqrt2);
  double s = (m - 1.0) / (m + 1.0), s2 = s * s, p;

  p = 1.0 / 23;
  p = 1.0 / 21 + s2 * p;
  p = 1.0 / 19 + s2 * p;
  p = 1.0 / 17 + s2 * p;
  p = 1.0 / 15 + s2 * p;
  p = 1.0 / 13 + s2 * p;
  p = 1.0 / 11 + s2 * p;
  p = 1.0 / 9 + s2 * p;
  p = 1.0 / 7 + s2 * p;
  p = 1.0 / 5 + s2 * p;
  p = 1.0 / 3 + s2 * p;
  return e * nnl_ln2_hi + (e * nnl_ln2_lo + (2.0 * s + 2.0 * s * s2 * p));
}

/** @brief sin and cos of 2πv for v in [0, 1]: quarter turns k = round(4v), then Taylor series on |x| <= π/4. */
static inline void RngSinCos2Pi(double v, double *sn, double *cs)
{
  double   t = 4.0 * v + nnl_round_magic;
  uint64_t k = RngBits(t), odd = 0 - (k & 1), sign_s = (k & 2) << 62, sign_c = ((k + 1) & 2) << 62;
  double   f = v - 0.25 * (t - nnl_round_magic), x = f * nnl_two_pi_hi + f * nnl_two_pi_lo, x2 = x * x;
  double   ps, pc, s, c;

  /* sin x = x (1 − y/3! + y²/5! − … + y⁸/17!), cos x = 1 − y/2! + … − y⁹/18!, y = x² <= 0.617 */
  ps = 1.0 / 355687428096000.0;
  ps = -1.0 / 1307674368000.0 + x2 * ps;
  ps = 1.0 / 6227020800.0 + x2 * ps;
  ps = -1.0 / 39916800.0 + x2 * ps;
  ps = 1.0 / 362880.0 + x2 * ps;
  ps = -1.0 / 5040.0 + x2 * ps;
  ps = 1.0 / 120.0 + x2 * ps;
  ps = -1.0 / 6.0 + x2 * ps;
  s  = x + x * x2 * ps;
  pc = -1.0 / 6402373705728000.0;
  pc = 1.0 / 20922789888000.0 + x2 * pc;
  pc = -1.0 / 87178291200.0 + x2 * pc;
  pc = 1.0 / 479001600.0 + x2 * pc;
  pc = -1.0 / 3628800.0 + x2 * pc;
  pc = 1.0 / 40320.0 + x2 * pc;
  pc = -1.0 / 720.0 + x2 * pc;
  pc = 1.0 / 24.0 + x2 * pc;
  pc = -0.5 + x2 * pc;
  c  = 1.0 + x2 * pc;
  /* angle = kπ/2 + x: k odd swaps sin and cos; k = 2, 3 negate sin; k = 1, 2 negate cos */
  *sn = RngDouble(RngBits(RngSelect(odd, c, s)) ^ sign_s);
  *cs = RngDouble(RngBits(RngSelect(odd, s, c)) ^ sign_c);
}

/* Box–Muller on contiguous (radius word, angle word) arrays: z = r cos θ into zc, r sin θ into zs. */
static inline __attribute__((always_inline)) void RngBoxMullerBody(const uint64_t *restrict wr, const uint64_t *restrict wa,
                                                                   size_t np, double *restrict zc, double *restrict zs, int cvt)
{
  for (size_t p = 0; p < np; p++) {
    double r = sqrt(-2.0 * RngLog(RngU01(wr[p], cvt))), sn, cs;
    RngSinCos2Pi(RngU01(wa[p], cvt), &sn, &cs);
    zc[p] = r * cs;
    zs[p] = r * sn;
  }
}

/* Block b of a batch gives normals 4b..4b+3: (r cos, r sin) of words (0, 1), then of words (2, 3). */
static inline __attribute__((always_inline)) void RngNormalsBody(const uint64_t *restrict wr, const uint64_t *restrict wa,
                                                                 size_t nb, double *restrict z, int cvt)
{
  double zc[2 * NNL_RNG_BATCH], zs[2 * NNL_RNG_BATCH];

  RngBoxMullerBody(wr, wa, nb, zc, zs, cvt);
  RngBoxMullerBody(wr + NNL_RNG_BATCH, wa + NNL_RNG_BATCH, nb, zc + NNL_RNG_BATCH, zs + NNL_RNG_BATCH, cvt);
  for (size_t b = 0; b < nb; b++) {
    z[4 * b]     = zc[b];
    z[4 * b + 1] = zs[b];
    z[4 * b + 2] = zc[NNL_RNG_BATCH + b];
    z[4 * b + 3] = zs[NNL_RNG_BATCH + b];
  }
}

static inline __attribute__((always_inline)) void RngUniformsBody(const uint64_t *restrict wr, const uint64_t *restrict wa,
                                                                  size_t nb, double *restrict u, int cvt)
{
  for (size_t b = 0; b < nb; b++) {
    u[4 * b]     = RngU01(wr[b], cvt);
    u[4 * b + 1] = RngU01(wa[b], cvt);
    u[4 * b + 2] = RngU01(wr[NNL_RNG_BATCH + b], cvt);
    u[4 * b + 3] = RngU01(wa[NNL_RNG_BATCH + b], cvt);
  }
}

/* The same bodies compiled per ISA (GCC inlines a generic always_inline body into a wider target). */
#define NNL_TRANSFORMS(suffix, attr, cvt)                                                                         \
  attr static void RngNormals##suffix(const uint64_t *restrict wr, const uint64_t *restrict wa, size_t nb,      \
                                      double *restrict z)                                                       \
  {                                                                                                             \
    RngNormalsBody(wr, wa, nb, z, cvt);                                                                         \
  }                                                                                                             \
  attr static void RngUniforms##suffix(const uint64_t *restrict wr, const uint64_t *restrict wa, size_t nb,     \
                                       double *restrict u)                                                      \
  {                                                                                                             \
    RngUniformsBody(wr, wa, nb, u, cvt);                                                                        \
  }

NNL_TRANSFORMS(Portable, , 0)
#ifdef NNL_RNG_X86
NNL_TRANSFORMS(AVX2, __attribute__((target("avx2"))), 0)
NNL_TRANSFORMS(AVX512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,prefer-vector-width=512"))), 1)
#endif

static const NNLRngKernel nnl_kernels[] = {
#ifdef NNL_RNG_X86
  {"avx512", RngWordsAVX512, RngNormalsAVX512, RngUniformsAVX512},
  {"avx2",   RngWordsAVX2,   RngNormalsAVX2,   RngUniformsAVX2  },
#endif
  {"portable", RngWordsPortable, RngNormalsPortable, RngUniformsPortable},
};
static const int nnl_nkernels = (int)(sizeof(nnl_kernels) / sizeof(nnl_kernels[0]));

static const NNLRngKernel *nnl_current = NULL;

static int RngKernelSupported(const NNLRngKernel *k)
{
#ifdef NNL_RNG_X86
  if (!strcmp(k->name, "avx512"))
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw");
  if (!strcmp(k->name, "avx2")) return __builtin_cpu_supports("avx2");
#endif
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

/** @brief Choose the kernel by name (NULL: the widest supported); 0 on success, -1 if unknown or unsupported. */
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
