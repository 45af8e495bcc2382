/* Counter-based random streams: Philox4x64-10 words to uniforms and Box–Muller normals by index. */
#include "nnlimits/rng.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

/* Blocks per batch: amortises the loop, and the NNL_BATCH*32-byte word buffer stays in L1. */
#define NNL_BATCH 16

/* 2^-53: uniforms have 53 random bits, the width of a double mantissa. */
static const double nnl_two_m53 = 1.0 / 9007199254740992.0;
static const double nnl_two_pi  = 6.283185307179586476925286766559;

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
  return ((double)(w >> 11) + 0.5) * nnl_two_m53;
}

/**
  @brief Box–Muller: the 4 words of one block -> 4 normals (pairs (w0,w1) and (w2,w3)).
*/
static inline void RngBoxMuller4(const uint64_t w[4], double z[4])
{
  for (int p = 0; p < 2; p++) {
    double r     = sqrt(-2.0 * log(RngU01(w[2 * p])));
    double a     = nnl_two_pi * RngU01(w[2 * p + 1]);
    z[2 * p]     = r * cos(a);
    z[2 * p + 1] = r * sin(a);
  }
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
      for (size_t b = 0; b < nb; b++) RngBoxMuller4(buf + 4 * b, out + 4 * b);
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
