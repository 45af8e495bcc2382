/* Counter-based random streams: Philox4x64-10 words to uniforms and ziggurat normals by index
 * (stream version 2). */
#include "nnlimits/rng.h"

#include <math.h>
#include <string.h>

#include "rngkernel.h"

/** @brief Stream (seed, point, layer, purpose): key (seed, point), counter (·, layer, purpose). */
void NNLRngStreamInit(NNLRngStream *s, uint64_t run_seed, uint64_t point_id, uint64_t layer,
                      uint64_t purpose)
{
  s->key[0]  = run_seed;
  s->key[1]  = point_id;
  s->layer   = layer;
  s->purpose = purpose;
}

/* Which transform a fill uses: word i -> uniform i, or word i -> normal i (the ziggurat). */
typedef enum { RNG_UNIFORM, RNG_NORMAL } RngKind;

/* Refused words waiting for the slow path, across the batches and ranges of one request: decided
   NNL_RNG_SLOW_GROUP at a time (a vector on AVX-512), then written where their normals go. */
typedef struct {
  uint64_t idx[NNL_RNG_SLOW_GROUP], w[NNL_RNG_SLOW_GROUP], layer[NNL_RNG_SLOW_GROUP];
  double  *out[NNL_RNG_SLOW_GROUP];
  size_t   n;
} RngPending;

static void RngPendingFlush(const NNLRngKernel *k, const NNLRngStream *s, RngPending *p)
{
  double z[NNL_RNG_SLOW_GROUP];

  if (p->n) k->slow(s->key, p->layer, s->purpose, p->n, p->idx, p->w, z);
  for (size_t l = 0; l < p->n; l++) *p->out[l] = z[l];
  p->n = 0;
}

/* Normal index of the stream's layer whose word w the fast path refused, to be written at out. */
static void RngPendingAdd(const NNLRngKernel *k, const NNLRngStream *s, RngPending *p,
                          uint64_t layer, uint64_t index, uint64_t w, double *out)
{
  p->idx[p->n]   = index;
  p->w[p->n]     = w;
  p->layer[p->n] = layer;
  p->out[p->n++] = out;
  if (p->n == NNL_RNG_SLOW_GROUP) RngPendingFlush(k, s, p);
}

/* Up to this many blocks, a request's values come from the portable kernel: one vector of the
   AVX-512 kernel takes ~170 ns for 1 to 8 blocks (its Philox rounds wait on each other), scalar
   Philox 60 + 17 ns a block. A narrow network draws several layers at once (NNLRngNormalsLayers).
 */
#define NNL_RNG_SCALAR_BLOCKS 5

/* The kernel for a batch of nb blocks: k, or the portable one for a few (NNL_RNG_SCALAR_BLOCKS). */
static const NNLRngKernel *RngKernelFor(const NNLRngKernel *k, size_t nb)
{
  return nb <= NNL_RNG_SCALAR_BLOCKS ? NNLRngKernelPortable() : k;
}

/**
  @brief Values of whole blocks [block, block+nblock) into out[0..4*nblock), a batch at a time by
  the ISA's kernel (the portable one for a few blocks): uniforms from words in L1-resident buffers;
  normals by the ziggurat's fast path, their refused words (about one in 230) added to p for the
  slow path.
*/
static void RngFullBlocks(const NNLRngKernel *k, const NNLRngStream *s, RngKind kind,
                          uint64_t block, size_t nblock, double *out, RngPending *p)
{
  uint64_t wr[2 * NNL_RNG_BATCH], wa[2 * NNL_RNG_BATCH], sloww[4 * NNL_RNG_BATCH];
  uint16_t slow[4 * NNL_RNG_BATCH];

  k = RngKernelFor(k, nblock);
  while (nblock > 0) {
    size_t nb = nblock < NNL_RNG_BATCH ? nblock : NNL_RNG_BATCH;
    if (kind == RNG_NORMAL) {
      size_t ns =
        k->normals(s->key, s->layer, s->purpose, block, NNL_RNG_ONE_STREAM, nb, out, slow, sloww);
      for (size_t i = 0; i < ns; i++)
        RngPendingAdd(k, s, p, s->layer, 4 * block + slow[i], sloww[i], out + slow[i]);
    } else {
      k->words(s->key, s->layer, s->purpose, block, NNL_RNG_ONE_STREAM, nb, wr, wa);
      k->uniforms(wr, wa, nb, out);
    }
    block += nb;
    nblock -= nb;
    out += 4 * nb;
  }
}

/**
  @brief Values [first, first+count) of one block (count <= 4), for the ragged ends of a request: by
  the portable kernel, the same bits for one scalar Philox call where a vector kernel would compute
  32 blocks (a request of a row block of a column, as the fused projection layer makes, has two such
  ends).
*/
static void RngPartialBlock(const NNLRngStream *s, RngKind kind, uint64_t block, unsigned first,
                            unsigned count, double *out)
{
  const NNLRngKernel *k = NNLRngKernelPortable();
  RngPending          p = {.n = 0};
  double              v[4];

  RngFullBlocks(k, s, kind, block, 1, v, &p);
  RngPendingFlush(k, s, &p);
  memcpy(out, v + first, count * sizeof(double));
}

/**
  @brief Values offset..offset+n-1 of the stream: ragged head block, whole blocks, ragged tail
  block; the whole blocks' refused words go to p.
*/
static void RngFill(const NNLRngKernel *k, const NNLRngStream *s, RngKind kind, uint64_t offset,
                    size_t n, double *out, RngPending *p)
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
  RngFullBlocks(k, s, kind, block, n / 4, out, p);
  block += n / 4;
  out += 4 * (n / 4);
  if (n % 4) RngPartialBlock(s, kind, block, 0, (unsigned)(n % 4), out);
}

/**
  @brief Standard normals number offset + a·stride + i into out[a·n + i], i < n, a < count: count
  ranges in one request, whose slow paths are decided together (the fused projection layer asks for
  one range per input column of each row block: a few hundred normals each, where a lone range would
  leave 1-3 refused words for the scalar path). Normal i still depends only on s and i.
*/
void NNLRngNormalsRanges(const NNLRngStream *s, uint64_t offset, uint64_t stride, size_t count,
                         size_t n, double *out)
{
  const NNLRngKernel *k = NNLRngKernelGet();
  RngPending          p = {.n = 0};

  if (stride == n) { /* the ranges follow each other: one range (fewer ragged ends; a narrow layer's
                        columns) */
    n *= count;
    count = 1;
  }
  for (size_t a = 0; a < count; a++)
    RngFill(k, s, RNG_NORMAL, offset + a * stride, n, out + a * n, &p);
  RngPendingFlush(k, s, &p);
}

/**
  @brief Standard normals number offset..offset+n-1 of stream s (normal i depends only on s and i).
*/
void NNLRngNormals(const NNLRngStream *s, uint64_t offset, size_t n, double *out)
{
  NNLRngNormalsRanges(s, offset, 0, 1, n, out);
}

_Static_assert(NNL_RNG_LAYERS_NORMALS == 4 * NNL_RNG_BATCH, "a batch's normals");

/** @brief Layers of n normals (whole blocks each) in one batch. */
size_t NNLRngLayersPerBatch(size_t n)
{
  return NNL_RNG_BATCH / (n ? (n + 3) / 4 : 1);
}

/**
  @brief Normals 0..n−1 of the streams of layers s->layer + j, j < nlayers: as many layers' blocks
  in one batch of the vector kernel as it holds, where one layer's few would leave most of it
  idle (or go to the scalar kernel). A block's last values past n are drawn and not kept; the
  refused words of all the batches are decided together.
*/
void NNLRngNormalsLayers(const NNLRngStream *s, size_t nlayers, size_t n, double *out)
{
  const size_t        bpl = (n + 3) / 4, per = NNLRngLayersPerBatch(n);
  double              z[4 * NNL_RNG_BATCH];
  uint64_t            sloww[4 * NNL_RNG_BATCH];
  uint16_t            slow[4 * NNL_RNG_BATCH];
  RngPending          p    = {.n = 0};
  const NNLRngKernel *kisa = NNLRngKernelGet();

  if (n == 0) return;
  if (per < 2) { /* a layer fills a batch */
    for (size_t j = 0; j < nlayers; j++) {
      NNLRngStream t = *s;
      t.layer += j;
      NNLRngNormals(&t, 0, n, out + j * n);
    }
    return;
  }
  for (size_t j0 = 0; j0 < nlayers; j0 += per) {
    const size_t        nl = nlayers - j0 < per ? nlayers - j0 : per, nb = nl * bpl;
    const NNLRngKernel *k     = RngKernelFor(kisa, nb);
    const uint64_t      layer = s->layer + j0;
    size_t              ns    = k->normals(s->key, layer, s->purpose, 0, bpl, nb, z, slow, sloww);

    for (size_t j = 0; j < nl; j++) memcpy(out + (j0 + j) * n, z + 4 * bpl * j, n * sizeof(double));
    for (size_t i = 0; i < ns; i++) {
      const size_t j = slow[i] / (4 * bpl), r = slow[i] % (4 * bpl);
      if (r < n) RngPendingAdd(kisa, s, &p, layer + j, r, sloww[i], out + (j0 + j) * n + r);
    }
  }
  RngPendingFlush(kisa, s, &p);
}

/**
  @brief Uniforms on (0,1) number offset..offset+n-1 of stream s (uniform i is word i of the
  stream).
*/
void NNLRngUniforms(const NNLRngStream *s, uint64_t offset, size_t n, double *out)
{
  RngPending p = {.n = 0}; /* stays empty: uniforms have no slow path */

  RngFill(NNLRngKernelGet(), s, RNG_UNIFORM, offset, n, out, &p);
}

/**
  @brief n χ² variables of df[j] = 1 or >= 2 degrees of freedom from s: df = 1 as a normal's square,
  else 2·Gamma(df/2) by Marsaglia and Tsang's rejection (2000; exact: a normal z, v = (1 + cz)³, c =
  1/√(9d), d = df/2 − 1/3, a uniform u, and d·v taken when u < 1 − 0.0331 z⁴ or ln u < z²/2 + d(1
  − v + ln v)). Attempt t of variable j takes normal 2nt + j and uniform 2nt + n + j: every
  variable's first attempt is two requests, and a variable's numbers depend on n, j and t alone.
  Rejections are rare (about 5 % at df = 2, 2 % at 4, 0.3 % at 20).
*/
void NNLRngChiSquares(const NNLRngStream *s, size_t n, const double *df, double *out)
{
  for (size_t j0 = 0; j0 < n; j0 += 8) {
    const size_t nb = n - j0 < 8 ? n - j0 : 8;
    double       z[8], u[8];
    NNLRngNormals(s, j0, nb, z);
    NNLRngUniforms(s, n + j0, nb, u);
    for (size_t j = j0; j < j0 + nb; j++) {
      const double d = 0.5 * df[j] - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
      double       x = z[j - j0], y = u[j - j0];
      if (df[j] == 1.0) {
        out[j] = x * x;
        continue;
      }
      if (!(df[j] >= 2.0)) { /* outside the domain (df < 2 but 1, NaN) */
        out[j] = NAN;
        continue;
      }
      for (uint64_t t = 1;; t++) {
        double v = 1.0 + c * x;
        if (v > 0) {
          v = v * v * v;
          if (y < 1.0 - 0.0331 * (x * x) * (x * x) ||
              log(y) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            out[j] = 2.0 * d * v;
            break;
          }
        }
        NNLRngNormals(s, 2 * n * t + j, 1, &x);
        NNLRngUniforms(s, 2 * n * t + n + j, 1, &y);
      }
    }
  }
}

/**
  @brief FNV-1a 64 over the bytes, then the splitmix64 finaliser (FNV alone mixes the last bytes
  poorly). FROZEN: stored point ids, and hence every stored random stream, depend on these exact
  constants and steps. Never change this function; add a new one if a different hash is ever needed.
*/
uint64_t NNLHash64Update(uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = (const unsigned char *)data;

  for (size_t i = 0; i < len; i++) {
    h ^= (uint64_t)p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t NNLHash64Final(uint64_t h)
{
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint64_t NNLHash64(const void *data, size_t len)
{
  return NNLHash64Final(NNLHash64Update(NNL_HASH64_INIT, data, len));
}
