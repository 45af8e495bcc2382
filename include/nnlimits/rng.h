/* Counter-based random streams (Random123 Philox4x64-10): every number is a pure function of its
 * key and index. */
#ifndef NNLIMITS_RNG_H
#define NNLIMITS_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What the numbers of a stream are, as recorded in every store: a store of another version holds
   networks that this build would draw differently, so a run does not add to it. 1: Box–Muller
   normals; 2: ziggurat normals. */
#define NNL_RNG_STREAM_VERSION "2"

/* What a stream is used for; part of the key so that purposes never share numbers. */
typedef enum {
  NNL_PURPOSE_INPUT   = 1, /* input vectors, when random */
  NNL_PURPOSE_WEIGHT  = 2, /* dense sampler: the n×n (or n×d) weight matrix of a layer */
  NNL_PURPOSE_BIAS    = 3, /* bias vector of a layer */
  NNL_PURPOSE_PROJECT = 4, /* projection sampler: the n×m Gaussian matrix Z of a layer */
  NNL_PURPOSE_SDE =
    5, /* SDE tasks: Brownian increments of a step ("layer" = step), all paths of the task */
  NNL_PURPOSE_SDE_INIT = 6, /* SDE tasks: random initial conditions of the paths */
  NNL_PURPOSE_QUERY    = 7, /* attention: a layer's W^Q (dense sampler); projection: the χ² of its
                               logit factors (NNLAttentionLogitFactors), or at n_k < m its queries'
                               normals */
  NNL_PURPOSE_KEY = 8,    /* attention: a layer's W^K; projection: the normals of its logit factors,
                             or at n_k < m its keys' */
  NNL_PURPOSE_MLP_IN = 9, /* shaped_transformer's MLP sub-block: a layer's W₁ (dense), or the
                             normals of W₁Y/√n (projection) */
  NNL_PURPOSE_MLP_OUT =
    10, /* shaped_transformer's MLP sub-block: a layer's W₂, or the normals of its product */
  NNL_PURPOSE_SDE_BRIDGE =
    11, /* SDE tasks: Brownian-bridge midpoints of the steps NNLSDEPath halves ("layer" = step) */
  NNL_PURPOSE_TEST = 99 /* unit tests only */
} NNLRngPurpose;

/* A stream: Philox key = (run_seed, point_id); counter = (block, layer, purpose, 0). Plain value,
 * no state. */
typedef struct {
  uint64_t key[2];
  uint64_t layer;
  uint64_t purpose;
} NNLRngStream;

/**
  @brief Build the stream of (run seed, point id, layer, purpose). Not collective; no allocation.
*/
void NNLRngStreamInit(NNLRngStream *s, uint64_t run_seed, uint64_t point_id, uint64_t layer,
                      uint64_t purpose);

/**
  @brief Fill out[0..n) with standard normals number offset, offset+1, ... of the stream.
  Normal i depends only on the stream and i (so any split of [0, N) into calls gives the same
  numbers): it is the 1024-strip ziggurat of word i (src/ziggurat.h), with fresh words for its rare
  slow path from counters no stream word uses (stream version 2, NNL_RNG_STREAM_VERSION; version 1
  was Box–Muller).
*/
void NNLRngNormals(const NNLRngStream *s, uint64_t offset, size_t n, double *out);
/**
  @brief count ranges of NNLRngNormals in one request: normals offset + a·stride + i into out[a·n +
  i], i < n, a < count (the same values; their rare slow paths decided together, which is faster for
  short ranges).
*/
void NNLRngNormalsRanges(const NNLRngStream *s, uint64_t offset, uint64_t stride, size_t count,
                         size_t n, double *out);

/**
  @brief Normals 0..n−1 of the streams of layers s->layer + j (s's key and purpose), j < nlayers,
  into out[j·n + i]: the same values as NNLRngNormals of each layer's stream, several layers to a
  batch of the vector kernel (a narrow network's layer asks for a few blocks).
*/
void NNLRngNormalsLayers(const NNLRngStream *s, size_t nlayers, size_t n, double *out);
/** @brief How many layers of n normals NNLRngNormalsLayers draws in one batch (0 or 1: n fills
 * one); their normals, NNLRngLayersPerBatch(n)·n, are at most NNL_RNG_LAYERS_NORMALS. */
size_t NNLRngLayersPerBatch(size_t n);
#define NNL_RNG_LAYERS_NORMALS 256

/**
  @brief Fill out[0..n) with uniforms on the open interval (0,1), number offset, offset+1, ... of
  the stream. Same indexing rule as NNLRngNormals (uniform i comes from 64-bit word i of the
  stream).
*/
void NNLRngUniforms(const NNLRngStream *s, uint64_t offset, size_t n, double *out);

/**
  @brief out[j] = a χ² variable of df[j] degrees of freedom, df[j] = 1 or >= 2 (whole or not: the
  Gamma's shape df/2 must be 1/2 or >= 1), j < n, from the
  stream's normals and uniforms (2·Gamma(df/2) by Marsaglia–Tsang's exact rejection; df = 1 a
  normal's square). Numbers 0 .. 2n − 1 of the stream are every variable's first attempt, the
  rare further attempts come after; out[j] depends on the stream, n, j and df[j] alone (NaN for a
  df[j] outside the domain).
*/
void NNLRngChiSquares(const NNLRngStream *s, size_t n, const double *df, double *out);

/**
  @brief Choose the generator's kernel by name: "avx512", "avx2" or "portable" (NULL: the widest
  this CPU supports, the default). Every kernel gives the same bits; this exists for tests and
  benchmarks. Returns 0, or -1 when the name is unknown or the CPU lacks the ISA (the kernel is then
  unchanged). Not thread-safe; not collective.
*/
int NNLRngUseKernel(const char *name);

/** @brief Name of the kernel in use. */
const char *NNLRngKernelName(void);

/** @brief 64-bit mixing hash of a byte string (stable across platforms and releases); used for
 * point ids. */
uint64_t NNLHash64(const void *data, size_t len);
/* The same hash in pieces, for strings that share a prefix (the grid's points of one cell, seed
   apart): NNLHash64(s + t) = NNLHash64Final(NNLHash64Update(NNLHash64Update(NNL_HASH64_INIT, s),
   t)). */
#define NNL_HASH64_INIT 0xcbf29ce484222325ULL
uint64_t NNLHash64Update(uint64_t h, const void *data, size_t len);
uint64_t NNLHash64Final(uint64_t h);

#endif
