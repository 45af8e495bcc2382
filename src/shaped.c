/* Shaped activations: the shaped ReLU and smooth shaping φ_s(x) = s φ(x/s), their gain and their
 * SDE drift. */
#include <math.h>
#include <string.h>
#include "nnlimits/shaped.h"
#include "relufactor.h"

PetscBool NNLShapedIsRelu(const NNLActivation *act)
{
  return strcmp(act->def->name, "relu") ? PETSC_FALSE : PETSC_TRUE;
}

int NNLShapedCheck(const NNLActivation *act, char err[], size_t len)
{
  const double h = 1e-5, f0 = act->def->phi(0.0, act->p);
  const double d1 = (act->def->phi(h, act->p) - act->def->phi(-h, act->p)) / (2 * h);

  if (NNLShapedIsRelu(act)) return 0;
  /* s φ(x/s) → x as s → ∞ only if φ(0) = 0 and φ'(0) = 1 (φ differentiable at 0) */
  if (fabs(f0) > 1e-12 || fabs(d1 - 1.0) > 1e-6) {
    char name[128];
    NNLActivationDisplayBase(act->canon, name, sizeof(name)); /* leaky_relu:0.2, as given */
    snprintf(err, len,
             "activation '%s' has phi(0) = %.3g, phi'(0) = %.6g; shaping needs relu, or phi(0) = 0 "
             "and phi'(0) = 1 "
             "(e.g. tanh, linear)",
             name, f0 + 0.0, d1); /* + 0.0: -0 (leaky_relu:-0.5's phi(0)) as 0 */
    return 1;
  }
  return 0;
}

void NNLShapedSlopes(const NNLJob *job, PetscInt n, double *sp, double *sm)
{
  *sp = 1.0 + job->shape_c_plus / sqrt((double)n);
  *sm = 1.0 + job->shape_c_minus / sqrt((double)n);
}

double NNLShapedGain(const NNLJob *job, const NNLActivation *act, PetscInt n)
{
  double sp, sm;

  if (!NNLShapedIsRelu(act)) return 1.0;
  NNLShapedSlopes(job, n, &sp, &sm);
  return 2.0 / (sp * sp + sm * sm);
}

void NNLShapedApply(const NNLJob *job, const NNLActivation *act, PetscInt n, size_t count,
                    const double *x, double *y)
{
  if (NNLShapedIsRelu(act)) {
    double sp, sm;
    NNLShapedSlopes(job, n, &sp, &sm);
    NNLTwoSlopeApply(count, x, y, sp, sm);
  } else {
    /* s φ(x/s) in three passes, so that φ takes NNLActivationApply's array form (tanh
       vectorised, the same bits as one value's call, which took 10 % of a shaped tanh job) */
    const double s = job->shape_a * sqrt((double)n);
    for (size_t i = 0; i < count; i++) y[i] = x[i] / s;
    NNLActivationApply(act, count, y, y);
    for (size_t i = 0; i < count; i++) y[i] *= s;
  }
}

void NNLShapedDerivatives(const NNLActivation *act, double *d2, double *d3)
{
  const double h = 1e-3;
  double       f[5];

  for (int k = -2; k <= 2; k++) f[k + 2] = act->def->phi(k * h, act->p);
  *d2 = (f[3] - 2 * f[2] + f[1]) / (h * h);
  *d3 = (f[4] - 2 * f[3] + 2 * f[1] - f[0]) / (2 * h * h * h);
}

double NNLShapedReluFactor(double rho)
{
  return NNLReluFactorInline(rho);
}

double NNLShapedDrift(const NNLJob *job, const NNLActivation *act, double d2, double d3, double vaa,
                      double vbb, double vab)
{
  if (NNLShapedIsRelu(act)) {
    const double dc = job->shape_c_plus - job->shape_c_minus, s = sqrt(vaa * vbb);
    double       rho;
    if (!(s > 0)) return 0.0;
    rho = vab / s;
    if (rho >= 1) /* F(1) = +0 (relufactor.h): the same bits without computing it (V's diagonal, a
                     third or more of the pairs) */
      return dc * dc / (2 * M_PI) * s * 0.0;
    if (rho < -1) rho = -1;
    return dc * dc / (2 * M_PI) * s * NNLShapedReluFactor(rho);
  }
  return (d2 * d2 / 4 * (vaa * vbb + 2 * vab * vab) + d3 / 2 * vab * (vaa + vbb)) /
         (job->shape_a * job->shape_a);
}
