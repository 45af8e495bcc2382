/* Private interface of the projection sampler's small-m kernels (src/net.c), for the network code and its tests. */
#ifndef NNLIMITS_NETKERNEL_H
#define NNLIMITS_NETKERNEL_H

#include <petscsys.h>

/* The largest m the kernels below take (more goes to BLAS). */
#define NNL_SMALL_M 8

/* K = scale · AᵀA + shift · 11ᵀ, A n×m column-major, K m×m full; m <= NNL_SMALL_M. The same bits on every machine. */
void NNLGramSmall(PetscInt n, PetscInt m, const double *A, double scale, double shift, double *K);

/* Y ← beta·Y + alpha · Z R, Z and Y n×m, R m×m, column-major (Y not read when beta = 0); m <= NNL_SMALL_M. The same
   bits on every machine. */
void NNLProjectSmall(PetscInt n, PetscInt m, const double *Z, const double *R, double alpha, double beta, double *Y);

#endif
