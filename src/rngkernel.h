/* Private interface between the streams (rng.c) and their per-ISA kernels (rngkernel.c). */
#ifndef NNLIMITS_RNGKERNEL_H
#define NNLIMITS_RNGKERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "nnlimits/rng.h"

/* Blocks per batch (a multiple of 32, the widest kernel's step): 64 blocks = 256 values; the
 * buffers stay in L1. */
#define NNL_RNG_BATCH 64

/* A batch of nb <= NNL_RNG_BATCH blocks in two word arrays of 2·NNL_RNG_BATCH: wr[b] and
   wr[BATCH+b] are words 0 and 2 of block b, wa[b] and wa[BATCH+b] its words 1 and 3. A words kernel
   may fill up to the next multiple of 32 blocks. Value 4b+k of a batch (uniform or normal) comes
   from word k of block b alone. Block b of a batch has the counter (block + b mod bpl, c1 + b div
   bpl, c2, 0): bpl >= nb is a run of one stream's blocks; a smaller bpl, the first bpl blocks of
   the streams of consecutive layers (c1 is the layer), which a narrow network asks for a few at a
   time (NNLRngNormalsLayers). */
typedef struct {
  const char *name;
  /* words of the batch's blocks under key */
  void (*words)(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t bpl,
                size_t nb, uint64_t *wr, uint64_t *wa);
  /* normals 4b..4b+3 of blocks b < nb (as words does), in batch order, by the ziggurat's fast
     path; the positions t < 4·nb whose words it refused go to slow[] and the words to sloww[] (z[t]
     is not yet a normal), and their number is returned: slow (NNLRngZigguratSlow) finishes them */
  size_t (*normals)(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t bpl,
                    size_t nb, double *z, uint16_t *slow, uint64_t *sloww);
  void (*uniforms)(const uint64_t *wr, const uint64_t *wa, size_t nb, double *u);
  /* the slow paths of n <= NNL_RNG_SLOW_GROUP refused words w[l], normals index[l] of the streams
     with counter words (c1[l], c2), into z[l]: each NNLRngZigguratSlow(key, c1[l], c2, index[l],
     w[l]), bit for bit */
  void (*slow)(const uint64_t key[2], const uint64_t *c1, uint64_t c2, size_t n,
               const uint64_t *index, const uint64_t *w, double *z);
} NNLRngKernel;

/* bpl of a batch that is a run of one stream's blocks. */
#define NNL_RNG_ONE_STREAM SIZE_MAX

/* Refused words a slow call takes (a vector of 8). */
#define NNL_RNG_SLOW_GROUP 8

const NNLRngKernel *NNLRngKernelGet(void);
/* The portable kernel: one block costs one scalar Philox call (the AVX-512 kernel computes 32
   blocks at once), so the ragged ends of a request use it. */
const NNLRngKernel *NNLRngKernelPortable(void);

/* The normal number index of the stream (key; counter words c1, c2) whose word w the fast path
 * refused. */
double NNLRngZigguratSlow(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t index,
                          uint64_t w);

#endif
