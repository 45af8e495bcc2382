/* Counter-based random streams: Philox4x64-10 words to uniforms and Box–Muller normals by index. */
#include "nnlimits/rng.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

/* Blocks per batch: amortises the loop, and the NNL_BATCH*32-byte word buffer stays in L1. */
#define NNL_BATCH 16

/* 2^-53: uniforms have 53 random bits, the width of a double mantissa. */
static const double nnl_two_m53 = 1.0 / 9007199254740992.0;

/**
  @brief The four 64-bit words of block `block` of stream s.
*/
static inline void RngBlock(const NNLRngStream *s, uint64_t block, uint64_t word[4])
{
  philox4x64_ctr_t ctr = {{block, s->layer, s->purpose, 0}};
  philox4x64_key_t key = {{s->key[0], s->key[1]}};
  philox4x64_ctr_t r   = philox4x64_R(10, ctr, key);
  word[0]              = r.v[0];
  word[1]              = r.v[1];
  word[2]              = r.v[2];
  word[3]              = r.v[3];
}

/**
  @brief Uniform on the open interval (0,1) from the top 53 bits of w; never 0, so log() in
  Box–Muller is finite.
*/
static inline double RngU01(uint64_t w)
{
  /* (double)(w >> 11), exactly, in two 2^52-magic halves: x86 has no vector uint64 → double before AVX-512. */
  double hi, lo;
  memcpy(&hi, &(uint64_t){0x4330000000000000ULL | (w >> 32)}, sizeof(hi));
  memcpy(&lo, &(uint64_t){0x4330000000000000ULL | ((w >> 11) & 0x1fffffULL)}, sizeof(lo));
  return ((hi - 4503599627370496.0) * 2097152.0 + (lo - 4503599627370496.0) + 0.5) * nnl_two_m53;
}

/* Box–Muller with our own log and sincos, written with + − × ÷ and sqrt only (correctly rounded in every SIMD
   width, and the build turns off FMA contraction): the loop vectorises, and a normal has the same bits on every
   x86-64 node and libm version. Accuracy: a few ulp (tests/test_rng.c checks against libm to 1e-14). */

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
  uint64_t       b = RngBits(u) + (0x3ff0000000000000ULL - half_sqrt2);
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

/**
  @brief Box–Muller on word pairs: z[2p], z[2p+1] from (w[2p] radius, w[2p+1] angle), p < npair.
  Cloned for AVX2 and plain x86-64 (picked at load time): IEEE operations give identical bits either way.
*/
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void RngBoxMuller(const uint64_t *w, size_t npair, double *z)
{
  for (size_t p = 0; p < npair; p++) {
    double r = sqrt(-2.0 * RngLog(RngU01(w[2 * p]))), sn, cs;
    RngSinCos2Pi(RngU01(w[2 * p + 1]), &sn, &cs);
    z[2 * p]     = r * cs;
    z[2 * p + 1] = r * sn;
  }
}

static inline void RngBoxMuller4(const uint64_t w[4], double z[4])
{
  RngBoxMuller(w, 2, z);
}

/** @brief Stream (seed, point, layer, purpose): key (seed, point), counter (·, layer, purpose). */
void NNLRngStreamInit(NNLRngStream *s, uint64_t run_seed, uint64_t point_id, uint64_t layer,
                      uint64_t purpose)
{
  s->key[0]  = run_seed;
  s->key[1]  = point_id;
  s->layer   = layer;
  s->purpose = purpose;
}

/* Which transform a fill uses: words -> uniforms one to one, or words -> normals four to four. */
typedef enum { RNG_UNIFORM, RNG_NORMAL } RngKind;

/**
  @brief Values [first, first+count) of one block (count <= 4), for the ragged ends of a request.
*/
static void RngPartialBlock(const NNLRngStream *s, RngKind kind, uint64_t block, unsigned first,
                            unsigned count, double *out)
{
  uint64_t w[4];
  double   v[4];

  RngBlock(s, block, w);
  if (kind == RNG_NORMAL) {
    RngBoxMuller4(w, v);
  } else {
    for (int k = 0; k < 4; k++) v[k] = RngU01(w[k]);
  }
  memcpy(out, v + first, count * sizeof(double));
}

/**
  @brief Whole blocks [block, block+nblock) into out[0..4*nblock).
  Words first into a local buffer, then the transform in a separate flat loop, so that the compiler
  can vectorise each loop on its own.
*/
static void RngFullBlocks(const NNLRngStream *s, RngKind kind, uint64_t block, size_t nblock,
                          double *out)
{
  uint64_t buf[4 * NNL_BATCH];

  while (nblock > 0) {
    size_t nb = nblock < NNL_BATCH ? nblock : NNL_BATCH;
    for (size_t b = 0; b < nb; b++) RngBlock(s, block + b, buf + 4 * b);
    if (kind == RNG_NORMAL) {
      RngBoxMuller(buf, 2 * nb, out);
    } else {
      for (size_t k = 0; k < 4 * nb; k++) out[k] = RngU01(buf[k]);
    }
    block += nb;
    nblock -= nb;
    out += 4 * nb;
  }
}

/**
  @brief Values offset..offset+n-1 of the stream: ragged head block, whole blocks, ragged tail
  block.
*/
static void RngFill(const NNLRngStream *s, RngKind kind, uint64_t offset, size_t n, double *out)
{
  uint64_t block = offset / 4;
  unsigned first = (unsigned)(offset % 4);

  if (n == 0) return;
  if (first != 0) {
    unsigned count = 4 - first;
    if (count > n) count = (unsigned)n;
    RngPartialBlock(s, kind, block, first, count, out);
    out += count;
    n -= count;
    block++;
  }
  RngFullBlocks(s, kind, block, n / 4, out);
  block += n / 4;
  out += 4 * (n / 4);
  if (n % 4) RngPartialBlock(s, kind, block, 0, (unsigned)(n % 4), out);
}

/**
  @brief Standard normals number offset..offset+n-1 of stream s (normal i depends only on s and i).
*/
void NNLRngNormals(const NNLRngStream *s, uint64_t offset, size_t n, double *out)
{
  RngFill(s, RNG_NORMAL, offset, n, out);
}

/**
  @brief Uniforms on (0,1) number offset..offset+n-1 of stream s (uniform i is word i of the
  stream).
*/
void NNLRngUniforms(const NNLRngStream *s, uint64_t offset, size_t n, double *out)
{
  RngFill(s, RNG_UNIFORM, offset, n, out);
}

/**
  @brief FNV-1a 64 over the bytes, then the splitmix64 finaliser (FNV alone mixes the last bytes
  poorly). FROZEN: stored point ids, and hence every stored random stream, depend on these exact
  constants and steps. Never change this function; add a new one if a different hash is ever needed.
*/
uint64_t NNLHash64(const void *data, size_t len)
{
  const unsigned char *p = (const unsigned char *)data;
  uint64_t             h = 0xcbf29ce484222325ULL;

  for (size_t i = 0; i < len; i++) {
    h ^= (uint64_t)p[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}
