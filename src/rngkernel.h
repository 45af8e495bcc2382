/* Private interface between the streams (rng.c) and their per-ISA kernels (rngkernel.c). */
#ifndef NNLIMITS_RNGKERNEL_H
#define NNLIMITS_RNGKERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "nnlimits/rng.h"

/* Blocks per batch (a multiple of 32, the widest kernel's step): 64 blocks = 256 values; the buffers stay in L1. */
#define NNL_RNG_BATCH 64

/* A batch of nb <= NNL_RNG_BATCH blocks in two word arrays of 2·NNL_RNG_BATCH: wr[b] and wr[BATCH+b] are words 0
   and 2 of block b (Box–Muller radii), wa[b] and wa[BATCH+b] its words 1 and 3 (angles). A words kernel may fill
   up to the next multiple of 32 blocks. */
typedef struct {
  const char *name;
  /* words of blocks (block .. block+nb-1, c1, c2, 0) under key */
  void (*words)(const uint64_t key[2], uint64_t c1, uint64_t c2, uint64_t block, size_t nb, uint64_t *wr, uint64_t *wa);
  /* values 4b..4b+3 of block b < nb, in stream order */
  void (*normals)(const uint64_t *wr, const uint64_t *wa, size_t nb, double *z);
  void (*uniforms)(const uint64_t *wr, const uint64_t *wa, size_t nb, double *u);
} NNLRngKernel;

const NNLRngKernel *NNLRngKernelGet(void);

#endif
