/* Per-layer statistics of a network: Gram of pre-activations, log-norms, kurtosis, normality distance. */
#include <math.h>
#include <stdlib.h>
#include <cblas.h>
#include "observe.h"

PetscBool NNLObserveIsDead(PetscInt n, PetscInt m, const double *Phi)
{
  for (PetscInt a = 0; a < m; a++) {
    PetscInt i = 0;
    while (i < n && Phi[i + a * n] == 0.0) i++;
    if (i == n) return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

PetscErrorCode NNLObserveLayer(PetscInt n, PetscInt m, const double *Y, const double *Phi, NNLResult *res, PetscInt r,
                               PetscBool *ok)
{
  const PetscInt np = m * (m + 1) / 2;
  double        *gram = res->gram + r * np;
  PetscInt       k = 0;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++, k++) gram[k] = cblas_ddot((int)n, Y + a * n, 1, Y + b * n, 1) / (double)n;
  for (PetscInt a = 0, diag = 0; a < m; diag += m - a, a++) {
    const double *y = Y + a * n;
    double        q = gram[diag], s4 = 0, post = cblas_ddot((int)n, Phi + a * n, 1, Phi + a * n, 1) / (double)n;
    /* fourth moment of y/√q, not of y: y⁴ overflows long before y² does (deep networks) */
    for (PetscInt i = 0; i < n && q > 0; i++) { /* q = 0: a dead input, kurtosis undefined (NaN), not a failure */
      double z2 = y[i] * y[i] / q;
      s4 += z2 * z2;
    }
    res->lognorm[r * m + a]      = log(q);
    res->lognorm_post[r * m + a] = log(post);
    res->kurtosis[r * m + a]     = q > 0 ? s4 / (double)n - 3.0 : NAN;
    if (!isfinite(q) || !isfinite(post) || !isfinite(s4)) *ok = PETSC_FALSE;
  }
  for (PetscInt i = 0; i < np; i++)
    if (!isfinite(gram[i])) *ok = PETSC_FALSE;
  PetscFunctionReturn(0);
}

static int CmpDouble(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double NNLKSNormal(PetscInt n, double *x)
{
  double d = 0;

  qsort(x, (size_t)n, sizeof(double), CmpDouble);
  for (PetscInt i = 0; i < n; i++) {
    double F = 0.5 * erfc(-x[i] / sqrt(2.0)), lo = F - (double)i / n, hi = (double)(i + 1) / n - F;
    if (lo > d) d = lo;
    if (hi > d) d = hi;
  }
  return d;
}

PetscErrorCode NNLObserveNormality(PetscInt n, PetscInt m, const double *Y, NNLResult *res)
{
  double *x;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n, &x));
  for (PetscInt a = 0; a < m; a++) {
    double s = sqrt(cblas_ddot((int)n, Y + a * n, 1, Y + a * n, 1) / (double)n);
    if (!(s > 0) || !isfinite(s)) {
      res->ks[a] = NAN;
      continue;
    }
    for (PetscInt i = 0; i < n; i++) x[i] = Y[i + a * n] / s;
    res->ks[a] = NNLKSNormal(n, x);
  }
  PetscCall(PetscFree(x));
  PetscFunctionReturn(0);
}
