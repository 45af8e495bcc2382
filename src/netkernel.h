/* Private interface of the kernels a layer of the projection sampler (and the fixed-width SDE) is
   made of (src/netkernel.c), for the network, observation and SDE code and their tests. For m <=
   NNL_SMALL_M they are our own vectorised loops with the same bits on every machine and compiler
   (BLAS kernels round differently on different CPUs, and at small m cost more in packing and
   dispatch than in flops); larger m goes to BLAS. */
#ifndef NNLIMITS_NETKERNEL_H
#define NNLIMITS_NETKERNEL_H

#include <petscsys.h>

#define NNL_SMALL_M 8

/* Columns j of the m×m K equal, to the last bit, to s·(an earlier column k), s = ±1 (K_ij = s·K_ik
   for every i ≠ j and K_jj = K_kk): inputs of correlation 1 or -1 and the layers that follow them.
   copy[j] = s·(k + 1) with k itself no such column, 0 where none. Returns the count of the others.
   NNLSqrtPSD (src/sqrtpsd.c) gives such a column ± its original's factor. */
PetscInt NNLPSDCopies(PetscInt m, const double *K, PetscInt *copy);
/* s = 1 or -1 when column j of the m×m K is s times its column k to the last bit (K_jj = K_kk, K_ij
   = s·K_ik for every i ≠ j), else 0; entry (i, j) at K[(i + j m)·stride] (a lane of src/sdelanes.c:
   stride NNL_SDE_LANES). */
int NNLPSDCopySign(PetscInt m, const double *K, PetscInt stride, PetscInt j, PetscInt k);

/* The exponent e at which a network's state is rescaled (a Gram entry beyond 2^±e; src/net.c, Net):
   512; e <= 0 restores it. For tests: a network's statistics do not depend on it, to the bit. */
void NNLNetRescaleThreshold(int e);

/* The controlled ResNet's shared n×n A is drawn once and held when it takes at most this many bytes
   (n <= 2896), else drawn again at every layer (the same normals, so the same bits either way:
   DenseAccSmall adds each entry's products in order of j, whatever the chunks). src/net.c; the cost
   and memory model, src/cost.c. */
#define NNL_SHARED_HOLD_BYTES (64.0 * 1024 * 1024)
/* For tests: hold A up to this many bytes instead (< 0 restores NNL_SHARED_HOLD_BYTES; 0 never
 * holds it). */
void NNLNetSharedHoldBytes(double bytes);
/* Whether a controlled ResNet of width n holds its A (NNLNetSharedHoldBytes). */
PetscBool NNLNetHoldsShared(PetscInt n);

/* Purposes a narrow network draws ahead (src/net.c LayerNormals; a transformer's five: its values'
   projection, queries, keys, and the MLP sub-block's two), NNL_RNG_LAYERS_NORMALS doubles each in
   its allocation (the memory estimate, src/cost.c). */
#define NNL_NET_AHEAD 5

/* Normals of W a dense layer draws at a time for m <= NNL_SMALL_M (whole columns, at least one; 512
   KB): its memory, where W in full is n² doubles (src/net.c DenseLayer; the memory estimate,
   src/cost.c). */
#define NNL_DENSE_CHUNK 65536

/* Columns of the n×k W that a dense layer with m inputs holds at a time: all k past NNL_SMALL_M
   (DGEMM), else a chunk of NNL_DENSE_CHUNK normals or fewer, at least one column. */
static inline PetscInt NNLDenseColumns(PetscInt n, PetscInt m, PetscInt k)
{
  return m > NNL_SMALL_M ? k : PetscMax(1, PetscMin(k, NNL_DENSE_CHUNK / PetscMax(n, 1)));
}

/* K = scale · AᵀA + shift · 11ᵀ, A n×m column-major, K m×m full. For m <= NNL_SMALL_M, entry (a, b)
   is scale · NNLDot(n, A_a, A_b) + shift. */
void NNLGram(PetscInt n, PetscInt m, const double *A, double scale, double shift, double *K);

/* q_k = NNLDot(n, A_a, A_b) / n for the pairs a <= b in row order (packed upper triangle, pair k),
   A n×m: the observed Gram of a layer. For m <= NNL_SMALL_M one pass over A (NNLGram's sums, which
   are NNLDot's). */
void NNLGramPacked(PetscInt n, PetscInt m, const double *A, double *q);

/* Y ← beta·Y + alpha · Z R, Z and Y n×m, R m×m, column-major (Y not read when beta = 0). For m <=
   NNL_SMALL_M each entry is beta·y + alpha·Σ_a z_a R_ab summed in order of a (beta = 0: alpha·Σ).
 */
void NNLProject(PetscInt n, PetscInt m, const double *Z, const double *R, double alpha, double beta,
                double *Y);

/* Σ x_i y_i in 8 interleaved partial sums (x_i y_i into sum i mod 8, in order), added as
   ((s0+s1)+(s2+s3)) +
   ((s4+s5)+(s6+s7)), then the terms past the last multiple of 8 summed in order, added last. */
double NNLDot(PetscInt n, const double *x, const double *y);

/* Σ (y_i²/q)² (the fourth moment's sum of y/√q, which does not overflow where y⁴ would), in
   NNLDot's order: (y_i²/q)² into partial sum i mod 8, the same tree, then the terms past the last
   multiple of 8. */
double NNLFourthSum(PetscInt n, const double *y, double q);

/* The fused layers' pieces, m <= NNL_SMALL_M, each in NNLDot's order (src/netrows.h). */
/* Y ← beta·Y + alpha · Z R on n rows, Z and Y with leading dimensions ldz and ldy (NNLProject's
 * entries). */
void NNLProjectSmall(PetscInt n, PetscInt m, const double *Z, PetscInt ldz, const double *R,
                     double alpha, double beta, double *Y, PetscInt ldy);
/* The Gram's partial sums of rows 0 .. n−1 (n a multiple of 8) of A added into s (8 doubles per
   pair a <= b in row order): called on consecutive row blocks, the sums of one call over all. */
void NNLGramAccSmall(PetscInt n, PetscInt m, const double *A, PetscInt lda, double *s);
/* T += W A on n rows, W n×J (ldw), A J×m (lda): each entry's products added in order of j. */
void NNLDenseAccSmall(PetscInt n, PetscInt m, const double *W, PetscInt ldw, PetscInt J,
                      const double *A, PetscInt lda, double *T, PetscInt ldt);
/* K = scale · AᵀA + shift · 11ᵀ from NNLGramAccSmall's sums s over A's rows below the last
   multiple of 8 (A n×m, leading dimension n): NNLGram's bits. */
void NNLGramFinish(PetscInt n, PetscInt m, const double *A, const double *s, double scale,
                   double shift, double *K);

#endif
