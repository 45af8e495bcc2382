/* Spectra on one rank (LAPACK from OpenBLAS) and the scalars derived from any spectrum: ranks,
 * participation ratio. */
#include <float.h>
#include <math.h>
#include "nnlimits/spectra.h"

/* LAPACK, Fortran calling convention (no LAPACKE: one BLAS, OpenBLAS, provides these symbols). */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork,
             int *iwork, int *info);

const char *const NNLSpectraMatrices[] = {"gram", "features", NULL};

void NNLSpectraStatsCompute(PetscInt k, const double v[], int e, PetscBool sq, PetscInt rows,
                            PetscInt cols, double rtol, NNLSpectraStats *st)
{
  double vmax = 0, vmin = INFINITY, tol;

  for (PetscInt i = 0; i < k; i++) {
    double x = v[i] > 0 ? v[i] : 0; /* a Gram's rounding negatives count as zero */
    vmax     = PetscMax(vmax, x);
    vmin     = PetscMin(vmin, x);
  }
  /* the ranks, the participation ratio and the condition number are ratios of values: those of v
     are those of the true values v·2^e (exactly: powers of two), which may be inf */
  tol           = (double)PetscMax(rows, cols) * DBL_EPSILON * vmax;
  st->k         = k;
  st->rank      = 0;
  st->rank_rtol = 0;
  for (PetscInt i = 0; i < k; i++) {
    if (v[i] > tol) st->rank++;
    if (v[i] > rtol * vmax) st->rank_rtol++;
  }
  /* Scale by the largest before squaring again: Σσ⁴ overflows for deep unnormalised networks long
     before σ does. Singular values whose largest square leaves double's normal range (σ past
     1.3e154 or below 1.5e-154) are scaled before squaring: σ² / σ_max² was inf/inf, a NaN
     participation ratio. (v, not the true values, decides: a network's spectrum then gives the
     same bits at any power-of-two scale.) */
  if (vmax > 0) {
    const PetscBool pre =
      !sq && !(vmax * vmax <= DBL_MAX && vmax * vmax >= DBL_MIN) ? PETSC_TRUE : PETSC_FALSE;
    double a = 0, b = 0, ref = sq ? vmax : vmax * vmax;
    for (PetscInt i = 0; i < k; i++) {
      double x = v[i] > 0 ? v[i] : 0, x2 = pre ? (x / vmax) * (x / vmax) : (sq ? x : x * x) / ref;
      a += x2;
      b += x2 * x2;
    }
    st->pr = a * a / b;
  } else
    st->pr = NAN;
  st->vmax = k > 0 ? ldexp(vmax, e) : NAN;
  st->vmin = k > 0 ? ldexp(vmin, e) : NAN;
  st->cond = k > 0 && vmax > 0 ? vmax / vmin : NAN;
}

PetscErrorCode NNLSpectraEigLocal(PetscInt m, const double *K, double *w, PetscBool *ok, char msg[],
                                  size_t len)
{
  int     n = (int)m, lda = PetscMax(1, (int)m), lwork = -1, liwork = -1, info = 0, iq = 0;
  double *A, wq = 0;
  double *work;
  int    *iwork;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  if (m == 0) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(m * m, &A));
  PetscCall(PetscArraycpy(A, K, m * m));
  dsyevd_("N", "U", &n, A, &lda, w, &wq, &lwork, &iq, &liwork, &info);
  lwork  = (int)wq + 64; /* padded: some LAPACKs round the optimal size down */
  liwork = iq + 64;
  PetscCall(PetscMalloc2(lwork, &work, liwork, &iwork));
  dsyevd_("N", "U", &n, A, &lda, w, work, &lwork, iwork, &liwork, &info);
  PetscCall(PetscFree2(work, iwork));
  PetscCall(PetscFree(A));
  if (info) {
    *ok = PETSC_FALSE;
    snprintf(msg, len, "dsyevd failed (info %d) on a %d x %d Gram", info, n, n);
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < m / 2; i++) { /* ascending → descending */
    double t     = w[i];
    w[i]         = w[m - 1 - i];
    w[m - 1 - i] = t;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraSVDLocal(PetscInt r, PetscInt c, const double *A, double *s, PetscBool *ok,
                                  char msg[], size_t len)
{
  int     mr = (int)r, nc = (int)c, lda = PetscMax(1, (int)r), one = 1, lwork = -1, info = 0;
  double *B, wq = 0, *work, du = 0;
  int    *iwork;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  if (r == 0 || c == 0) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(r * c, &B));
  PetscCall(PetscArraycpy(B, A, r * c));
  dgesdd_("N", &mr, &nc, B, &lda, s, &du, &one, &du, &one, &wq, &lwork, NULL, &info);
  lwork = (int)wq + 64;
  PetscCall(PetscMalloc2(lwork, &work, 8 * PetscMin(r, c), &iwork));
  dgesdd_("N", &mr, &nc, B, &lda, s, &du, &one, &du, &one, work, &lwork, iwork, &info);
  PetscCall(PetscFree2(work, iwork));
  PetscCall(PetscFree(B));
  if (info) {
    *ok = PETSC_FALSE;
    snprintf(msg, len, "dgesdd failed (info %d) on a %d x %d matrix", info, mr, nc);
  }
  PetscFunctionReturn(0);
}
