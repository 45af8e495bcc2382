/* The square root R (RᵀR = K) of a positive semi-definite m×m K (Cholesky; when K is singular, the
 * pivoted Cholesky up to NNL_SMALL_M, the eigen square root past it), and the job's inputs from it.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "nnlimits/net.h"
#include "netkernel.h"

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info);

/* Upper Cholesky factor R (RᵀR = K) of an m×m K, m <= NNL_SMALL_M, as LAPACK's unblocked dpotf2
   computes it but in plain C (the same bits on every machine; OpenBLAS's dot kernels differ between
   CPUs): 0, or -1 when a pivot is not positive (K not positive definite, or NaN). */
static int CholeskySmall(PetscInt m, const double *K, double *R)
{
  for (PetscInt j = 0; j < m; j++) {
    double d = K[j + j * m];
    for (PetscInt k = 0; k < j; k++) d -= R[k + j * m] * R[k + j * m];
    if (!(d > 0.0)) return -1;
    R[j + j * m] = sqrt(d);
    for (PetscInt i = j + 1; i < m; i++) {
      double t = K[j + i * m];
      for (PetscInt k = 0; k < j; k++) t -= R[k + j * m] * R[k + i * m];
      R[j + i * m] = t / R[j + j * m];
      R[i + j * m] = 0.0;
    }
  }
  return 0;
}

/* K = FᵀF for a K that is positive semidefinite up to rounding (CholeskySmall failed), m <=
   NNL_SMALL_M: LAPACK dpstf2's pivoted Cholesky in plain C, so the same bits on every machine
   (dsyev, used before, rounds differently with each CPU's OpenBLAS kernels from m = 3, and cost 13
   % of jobs/hayou_2022_fixed_width.opts). Each step takes the largest remaining diagonal as pivot,
   and stops when it is <= m·ε·max K_aa (dpstrf's default tolerance): the rank found, r. F's rows
   r.. are zero; row j < r has the pivot's column of the factor, F[j][piv[i]] = L[i][j]. A K with a
   non-finite entry gives F all NaN, which the network's overflow check then reports. */
static void PivotedCholeskySmall(PetscInt m, const double *K, double *F)
{
  double A[NNL_SMALL_M * NNL_SMALL_M], dmax = 0, tol;
  int    piv[NNL_SMALL_M];

  for (PetscInt i = 0; i < m * m; i++) {
    if (!isfinite(K[i])) {
      for (PetscInt k = 0; k < m * m; k++) F[k] = NAN;
      return;
    }
    A[i] = K[i];
    F[i] = 0.0;
  }
  for (PetscInt i = 0; i < m; i++) {
    piv[i] = (int)i;
    dmax   = fmax(dmax, K[i + i * m]);
  }
  tol = (double)m * DBL_EPSILON * dmax;
  for (PetscInt j = 0; j < m; j++) {
    PetscInt p = j;
    double   ajj;
    for (PetscInt i = j + 1; i < m; i++)
      if (A[i + i * m] > A[p + p * m]) p = i;
    if (!(A[p + p * m] > tol)) break;
    if (p != j) { /* swap rows and columns j and p of the symmetric remainder (all of A is kept) */
      int t  = piv[j];
      piv[j] = piv[p];
      piv[p] = t;
      for (PetscInt k = 0; k < m; k++) {
        double u     = A[j + k * m];
        A[j + k * m] = A[p + k * m];
        A[p + k * m] = u;
      }
      for (PetscInt k = 0; k < m; k++) {
        double u     = A[k + j * m];
        A[k + j * m] = A[k + p * m];
        A[k + p * m] = u;
      }
    }
    ajj          = sqrt(A[j + j * m]);
    A[j + j * m] = ajj;
    for (PetscInt i = j + 1; i < m; i++) A[i + j * m] /= ajj; /* column j of L */
    for (PetscInt k = j + 1; k < m; k++)
      for (PetscInt i = j + 1; i < m; i++) A[i + k * m] -= A[i + j * m] * A[k + j * m];
    for (PetscInt i = j; i < m; i++) F[j + piv[i] * m] = A[i + j * m];
  }
}

/* NNLSqrtPSD of a K without duplicate columns */
static PetscErrorCode SqrtDistinct(PetscInt m, const double *K, double *R)
{
  int     mm = (int)m, info = 0, lwork = 3 * (int)m * (int)m + 64;
  double *w, *work;

  PetscFunctionBegin;
  if (m <= NNL_SMALL_M) {
    if (CholeskySmall(m, K, R) != 0) PivotedCholeskySmall(m, K, R);
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < m * m; i++)
    if (!isfinite(K[i])) { /* as PivotedCholeskySmall: R all NaN, which the caller's overflow check
                              reports (dsyev failed on it, info > 0, and the run aborted: an SDE
                              path of 9 inputs that left double's range) */
      for (PetscInt k = 0; k < m * m; k++) R[k] = NAN;
      PetscFunctionReturn(0);
    }
  PetscCall(PetscArraycpy(R, K, m * m));
  dpotrf_("U", &mm, R, &mm, &info);
  if (info == 0) {
    for (PetscInt j = 0; j < m; j++)
      for (PetscInt i = j + 1; i < m; i++) R[i + j * m] = 0;
    PetscFunctionReturn(0);
  }
  /* Singular (dead inputs, r = 1, rounding): K = Q Λ Qᵀ, R = Λ^{1/2} Qᵀ. */
  PetscCall(PetscMalloc2(m, &w, lwork, &work));
  PetscCall(PetscArraycpy(work, K, m * m));
  dsyev_("V", "U", &mm, work, &mm, w, work + m * m, &(int){lwork - mm * mm}, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyev failed: info %d", info);
  for (PetscInt i = 0; i < m; i++) {
    double s = w[i] > 0 ? sqrt(w[i]) : 0.0;
    for (PetscInt j = 0; j < m; j++) R[i + j * m] = s * work[j + i * m];
  }
  PetscCall(PetscFree2(w, work));
  PetscFunctionReturn(0);
}

int NNLPSDCopySign(PetscInt m, const double *K, PetscInt stride, PetscInt j, PetscInt k)
{
  if (!(K[(j + j * m) * stride] == K[(k + k * m) * stride])) return 0;
  for (int s = 1; s >= -1; s -= 2) {
    PetscInt i = 0;
    while (i < m && (i == j || K[(i + j * m) * stride] == s * K[(i + k * m) * stride])) i++;
    if (i == m) return s;
  }
  return 0;
}

PetscInt NNLPSDCopies(PetscInt m, const double *K, PetscInt *dup)
{
  PetscInt r = 0;

  for (PetscInt j = 0; j < m; j++) {
    dup[j] = 0;
    for (PetscInt k = 0; k < j && !dup[j]; k++)
      if (!dup[k]) dup[j] = NNLPSDCopySign(m, K, 1, j, k) * (k + 1);
    r += !dup[j];
  }
  return r;
}

/* A column of K that is ± an earlier one (NNLPSDCopies) gets ± that column's factor, so that such
   columns stay equal (or opposite) to the last bit through every layer: factored with the others,
   its pivot K_jj − R_kj² would be a rounding's worth, which Cholesky takes when it is > 0, giving
   the column an independent part of √ε relative (q_00 and q_01 of inputs of correlation 1 apart by
   1e-8 in the next layer). The other columns are factored as a K of their own. A non-finite K gives
   R all NaN (as SqrtDistinct: no entry is a copy of a NaN). */
PetscErrorCode NNLSqrtPSD(PetscInt m, const double *K, double *R)
{
  PetscInt dup[NNL_SMALL_M], *d = dup, r, p = 0;
  double  *Kr, *Rr;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < m * m; i++)
    if (!isfinite(K[i])) {
      PetscCall(SqrtDistinct(m, K, R));
      PetscFunctionReturn(0);
    }
  if (m > NNL_SMALL_M) PetscCall(PetscMalloc1(m, &d));
  r = NNLPSDCopies(m, K, d);
  if (r == m) {
    if (d != dup) PetscCall(PetscFree(d));
    PetscCall(SqrtDistinct(m, K, R));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc2(r * r, &Kr, r * r, &Rr));
  for (PetscInt j = 0, q = 0; j < m; j++) {
    if (d[j]) continue;
    for (PetscInt i = 0, o = 0; i < m; i++)
      if (!d[i]) Kr[o++ + q * r] = K[i + j * m];
    q++;
  }
  PetscCall(SqrtDistinct(r, Kr, Rr));
  for (PetscInt j = 0; j < m; j++) {
    for (PetscInt i = 0; i < m; i++)
      R[i + j * m] = d[j] ? (d[j] > 0 ? 1.0 : -1.0) * R[i + (PetscAbsInt(d[j]) - 1) * m]
                          : (i < r ? Rr[i + p * r] : 0.0);
    p += !d[j];
  }
  PetscCall(PetscFree2(Kr, Rr));
  if (d != dup) PetscCall(PetscFree(d));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLInputs(const NNLJob *job, double *X)
{
  PetscInt m = job->inputs, d = job->input_dim;
  double  *C, *R, sd = sqrt((double)d);

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(m * m, &C, m * m, &R));
  NNLJobInputCov(job, C);
  PetscCall(NNLSqrtPSD(m, C, R));
  /* x_a = √d · (column a of R, padded with zeros): x_a·x_b/d = (RᵀR)_ab = C_ab. */
  PetscCall(PetscArrayzero(X, d * m));
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt i = 0; i < m; i++) X[i + a * d] = sd * R[i + a * m];
  PetscCall(PetscFree2(C, R));
  PetscFunctionReturn(0);
}
