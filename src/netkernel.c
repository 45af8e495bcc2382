/* The row kernels of the projection sampler, the dense sampler's product and the observations
   (netkernel.h): for m <= NNL_SMALL_M our own loops in each build of simd.h (netrows.h), else BLAS.
   Built at -O3 (CMakeLists.txt), as net.c: at -O2 GCC does not unroll the loops over the m columns,
   and the Gram's sums went through memory for every 8 rows (a file that takes these loops needs the
   same). */
#include <cblas.h>
#include <stdlib.h>
#include "netkernel.h"
#include "simd.h"

/* Small m (m ≪ n, the usual case): the projection's product Y ← βY + α Z R and the Gram AᵀA by our
   own loops, not BLAS. At m = 2 OpenBLAS spent far more on packing, its small-matrix dispatch and
   its allocator's locks than on the 2·n·m² flops (perf, jobs/hayou_yang_2023_commute.yaml: DGEMM,
   DSYRK and the locks were 23 % of the run), and its kernels (FMA, blocking) differ between CPUs;
   these loops give the same bits on every machine. */

/* 8 partial sums s added in a fixed tree, then t (the terms past the last multiple of 8), the
   ending of every sum below. */
static inline __attribute__((always_inline)) double SumsTree(const double *s, double t)
{
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

/* The end of a sum of products in NNLDot's order: the 8 partial sums s (rows i < n8, sum i mod 8)
   added in a fixed tree, then x_i y_i for the rows n8 <= i < n in order, added last. */
static inline __attribute__((always_inline)) double
DotFinish(const double *s, PetscInt n8, PetscInt n, const double *x, const double *y)
{
  double t = 0.0;

  for (PetscInt i = n8; i < n; i++) t += x[i] * y[i];
  return SumsTree(s, t);
}

/* K = scale · AᵀA + shift · 11ᵀ from the partial sums s (8 per pair a <= b in row order) over A's
   rows below n8 = the last multiple of 8: each entry's sums in a fixed tree, then the rows past n8
   (DotFinish). */
static inline __attribute__((always_inline)) void GramFinish(PetscInt n, PetscInt m,
                                                             const double *A, const double *s,
                                                             double scale, double shift, double *K)
{
  PetscInt n8 = n - n % 8;

  for (PetscInt a = 0, k = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++, k++)
      K[a + b * m] = K[b + a * m] =
        scale * DotFinish(s + 8 * k, n8, n, A + a * n, A + b * n) + shift;
}

/* F(n, M, ...) for M = m <= NNL_SMALL_M, M a constant in each case. */
#define NNL_SMALL_CASES(F, ...)                                                                    \
  switch (m) {                                                                                     \
  case 1: F(n, 1, __VA_ARGS__); break;                                                             \
  case 2: F(n, 2, __VA_ARGS__); break;                                                             \
  case 3: F(n, 3, __VA_ARGS__); break;                                                             \
  case 4: F(n, 4, __VA_ARGS__); break;                                                             \
  case 5: F(n, 5, __VA_ARGS__); break;                                                             \
  case 6: F(n, 6, __VA_ARGS__); break;                                                             \
  case 7: F(n, 7, __VA_ARGS__); break;                                                             \
  default: F(n, 8, __VA_ARGS__); break;                                                            \
  }

/* The kernels in each build of simd.h, its vectors as wide as its registers (netrows.h), and one
   function of each that runs the build in use. */
#if defined(__x86_64__) && defined(__GNUC__)
  #define NNL_ROWS_BUILD  AVX512
  #define NNL_ROWS_TARGET NNL_SIMD_AVX512
  #define NNL_ROWS_LANES  8
  #include "netrows.h"
  #define NNL_ROWS_BUILD  AVX2
  #define NNL_ROWS_TARGET NNL_SIMD_AVX2
  #define NNL_ROWS_LANES  4
  #include "netrows.h"
#endif
#define NNL_ROWS_BUILD Plain
#define NNL_ROWS_TARGET
#define NNL_ROWS_LANES 2
#include "netrows.h"
NNL_SIMD_DISPATCH(GramSmall,
                  (PetscInt n, PetscInt m, const double *A, double scale, double shift, double *K),
                  (n, m, A, scale, shift, K))
NNL_SIMD_DISPATCH(ProjectSmall,
                  (PetscInt n, PetscInt m, const double *Z, PetscInt ldz, const double *R,
                   double alpha, double beta, double *Y, PetscInt ldy),
                  (n, m, Z, ldz, R, alpha, beta, Y, ldy))
NNL_SIMD_DISPATCH(GramAccSmall, (PetscInt n, PetscInt m, const double *A, PetscInt lda, double *s),
                  (n, m, A, lda, s))
NNL_SIMD_DISPATCH(DenseAccSmall,
                  (PetscInt n, PetscInt m, const double *W, PetscInt ldw, PetscInt J,
                   const double *A, PetscInt lda, double *T, PetscInt ldt),
                  (n, m, W, ldw, J, A, lda, T, ldt))
NNL_SIMD_DISPATCH(DotSimd, (PetscInt n, const double *x, const double *y, double *out),
                  (n, x, y, out))
NNL_SIMD_DISPATCH(FourthSimd, (PetscInt n, const double *y, double q, double *out), (n, y, q, out))
NNL_SIMD_DISPATCH(DotAccSimd, (PetscInt n8, const double *x, const double *y, double *s),
                  (n8, x, y, s))

double NNLFourthSum(PetscInt n, const double *y, double q)
{
  double d;
  FourthSimd(n, y, q, &d);
  return d;
}

double NNLDot(PetscInt n, const double *x, const double *y)
{
  double d;
  DotSimd(n, x, y, &d);
  return d;
}

void NNLGram(PetscInt n, PetscInt m, const double *A, double scale, double shift, double *K)
{
  if (m <= NNL_SMALL_M) {
    GramSmall(n, m, A, scale, shift, K);
    return;
  }
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)m, (int)n, scale, A, (int)n, 0.0, K,
              (int)m);
  for (PetscInt j = 0; j < m; j++)
    for (PetscInt i = 0; i <= j; i++) {
      K[i + j * m] += shift;
      K[j + i * m] = K[i + j * m];
    }
}

/* NNLGramPacked's blocked pass: up to this many inputs (8 partial sums a pair: 264 KB at 128), its
   blocks this many bytes of the state (in L2) */
#define NNL_GRAM_BLOCKED_M   128
#define NNL_GRAM_BLOCK_BYTES (256 << 10)

void NNLGramPacked(PetscInt n, PetscInt m, const double *A, double *q)
{
  double *s;

  if (m <= NNL_SMALL_M) {
    /* one pass for every pair: entry (a, b) is 1·NNLDot + 0, which is NNLDot (never −0: its sums
     * start at +0) */
    double K[NNL_SMALL_M * NNL_SMALL_M];
    GramSmall(n, m, A, 1.0, 0.0, K);
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) q[k] = K[a + b * m] / (double)n;
  } else if (m <= NNL_GRAM_BLOCKED_M && (s = calloc(8 * (size_t)(m * (m + 1) / 2), sizeof(*s)))) {
    /* the pairs a row block at a time, each pair's 8 partial sums carried from block to block
       (NNLDot's order: the same bits), the block's m columns in cache: a pair at a time, each dot
       streamed its two columns from memory, m/2 passes over the state (41 % of a relu MLP at n =
       2·10^6, m = 32, depth 1) */
    const PetscInt n8 = n - n % 8,
                   nb = PetscMax(512, (NNL_GRAM_BLOCK_BYTES / (8 * m)) / 8 * 8); /* rows a block */
    for (PetscInt i0 = 0; i0 < n8; i0 += nb)
      for (PetscInt a = 0, k = 0; a < m; a++)
        for (PetscInt b = a; b < m; b++, k++)
          DotAccSimd(PetscMin(nb, n8 - i0), A + a * n + i0, A + b * n + i0, s + 8 * k);
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++)
        q[k] = DotFinish(s + 8 * k, n8, n, A + a * n, A + b * n) / (double)n;
    free(s);
  } else /* past NNL_GRAM_BLOCKED_M its sums would not fit a cache either */
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) q[k] = NNLDot(n, A + a * n, A + b * n) / (double)n;
}

void NNLProject(PetscInt n, PetscInt m, const double *Z, const double *R, double alpha, double beta,
                double *Y)
{
  if (m <= NNL_SMALL_M)
    ProjectSmall(n, m, Z, n, R, alpha, beta, Y, n);
  else
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)m, alpha, Z, (int)n,
                R, (int)m, beta, Y, (int)n);
}

void NNLProjectSmall(PetscInt n, PetscInt m, const double *Z, PetscInt ldz, const double *R,
                     double alpha, double beta, double *Y, PetscInt ldy)
{
  ProjectSmall(n, m, Z, ldz, R, alpha, beta, Y, ldy);
}

void NNLGramAccSmall(PetscInt n, PetscInt m, const double *A, PetscInt lda, double *s)
{
  GramAccSmall(n, m, A, lda, s);
}

void NNLDenseAccSmall(PetscInt n, PetscInt m, const double *W, PetscInt ldw, PetscInt J,
                      const double *A, PetscInt lda, double *T, PetscInt ldt)
{
  DenseAccSmall(n, m, W, ldw, J, A, lda, T, ldt);
}

void NNLGramFinish(PetscInt n, PetscInt m, const double *A, const double *s, double scale,
                   double shift, double *K)
{
  GramFinish(n, m, A, s, scale, shift, K);
}
