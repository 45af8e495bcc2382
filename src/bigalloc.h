/* Large arrays in 2 MB transparent huge pages where the kernel allows them (bigalloc.c). */
#ifndef NNLIMITS_BIGALLOC_H
#define NNLIMITS_BIGALLOC_H

#include <stddef.h>
#include <petscsys.h>

/* Arrays written once by rank 0 (the grid's id check, a shard's indices): huge pages from 256 KB.
 */
#define NNL_BIG_ONCE ((size_t)256 << 10)
/* Arrays of a task (the dense sampler's whole W): huge pages from 32 MB, glibc's largest mmap
   threshold, above which malloc maps fresh small pages for every task anyway; below it, the heap
   keeps them touched from one task to the next. */
#define NNL_BIG_TASK ((size_t)32 << 20)

/** @brief bytes, 64-byte aligned, in huge pages if bytes >= huge_from (else from PetscMalloc);
    freed by NNLBigFree. */
PetscErrorCode NNLBigAlloc(size_t bytes, size_t huge_from, void **p);
/** @brief Free what NNLBigAlloc gave (NULL: nothing). */
PetscErrorCode NNLBigFree(void *p);

#endif
