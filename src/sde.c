/* Euler–Maruyama on counter-based Brownian increments, and the shaped-ReLU correlation diffusion. */
#include <math.h>
#include "nnlimits/sde.h"
#include "nnlimits/rng.h"

void NNLSDEIncrement(uint64_t run_seed, uint64_t id, PetscInt nnoise, PetscInt path, PetscInt k0, PetscInt k, double h,
                     double *dW, double *tmp)
{
  const double sh = sqrt(h);

  for (PetscInt j = 0; j < nnoise; j++) dW[j] = 0;
  for (PetscInt i = k0; i < k0 + k; i++) {
    NNLRngStream s;
    NNLRngStreamInit(&s, run_seed, id, (uint64_t)i, NNL_PURPOSE_SDE);
    NNLRngNormals(&s, (uint64_t)path * (uint64_t)nnoise, (size_t)nnoise, tmp);
    for (PetscInt j = 0; j < nnoise; j++) dW[j] += tmp[j];
  }
  for (PetscInt j = 0; j < nnoise; j++) dW[j] *= sh;
}

PetscErrorCode NNLSDEStepEM(const NNLSDE *sde, double t, double dt, const double *dW, double *x, double *work)
{
  double *f = work, *g = work + sde->dim;

  PetscFunctionBegin;
  /* both terms at the old state before x changes: that is what makes it Itô (Euler–Maruyama) */
  if (sde->drift) PetscCall(sde->drift(sde->ctx, t, x, f));
  PetscCall(sde->noise(sde->ctx, t, x, dW, g));
  for (PetscInt i = 0; i < sde->dim; i++) x[i] += (sde->drift ? f[i] * dt : 0.0) + g[i];
  if (sde->project) sde->project(sde->ctx, x);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSDEPath(const NNLSDE *sde, uint64_t run_seed, uint64_t id, PetscInt path, double T, PetscInt nsteps, double *x)
{
  const double dt = nsteps > 0 ? T / (double)nsteps : 0.0;
  double      *dW, *tmp, *work;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(sde->nnoise, &dW, sde->nnoise, &tmp, (size_t)2 * sde->dim, &work));
  for (PetscInt i = 0; i < nsteps; i++) {
    NNLSDEIncrement(run_seed, id, sde->nnoise, path, i, 1, dt, dW, tmp);
    PetscCall(NNLSDEStepEM(sde, i * dt, dt, dW, x, work));
  }
  PetscCall(PetscFree3(dW, tmp, work));
  PetscFunctionReturn(0);
}

double NNLCorrelationDrift(double k, double rho)
{
  double th;

  if (rho >= 1) return 0.0;
  if (rho <= -1) return k * M_PI;
  th = acos(rho);
  return k * (sin(th) - th * cos(th)) - 0.5 * rho * (1 - rho * rho);
}

static PetscErrorCode CorrDrift(void *ctx, double t, const double *x, double *f)
{
  (void)t;
  f[0] = NNLCorrelationDrift(*(const double *)ctx, x[0]);
  return 0;
}

static PetscErrorCode CorrNoise(void *ctx, double t, const double *x, const double *dW, double *g)
{
  (void)ctx;
  (void)t;
  g[0] = (1 - x[0] * x[0]) * dW[0];
  return 0;
}

/* An Euler step can overshoot |ρ| = 1, where the exact process never goes (the noise vanishes there). */
static void CorrProject(void *ctx, double *x)
{
  (void)ctx;
  if (x[0] > 1) x[0] = 1;
  if (x[0] < -1) x[0] = -1;
}

void NNLSDECorrelation(double *k, NNLSDE *sde)
{
  sde->dim     = 1;
  sde->nnoise  = 1;
  sde->drift   = CorrDrift;
  sde->noise   = CorrNoise;
  sde->project = CorrProject;
  sde->ctx     = k;
}

double NNLSDETime(NNLFamily family, PetscInt width, PetscInt depth, PetscInt layer)
{
  if (NNLFamilyHasProportionalSDE(family)) return (double)layer / (double)width;
  return (double)layer / (double)depth;
}
