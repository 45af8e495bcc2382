/* Euler–Maruyama on counter-based Brownian increments, and the shaped-ReLU correlation diffusion.
 */
#include <math.h>
#include "nnlimits/sde.h"
#include "nnlimits/rng.h"

void NNLSDEIncrement(uint64_t run_seed, uint64_t id, PetscInt nnoise, PetscInt path, PetscInt k0,
                     PetscInt k, double h, double *dW, double *tmp)
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

PetscErrorCode NNLSDEStepEM(const NNLSDE *sde, double t, double dt, const double *dW, double *x,
                            double *work)
{
  double *f = work, *g = work + sde->dim;

  PetscFunctionBegin;
  /* both terms at the old state before x changes: that is what makes it Itô (Euler–Maruyama) */
  if (sde->drift) PetscCall(sde->drift(sde->ctx, t, x, f));
  PetscCall(sde->noise(sde->ctx, t, x, dW, g));
  for (PetscInt i = 0; i < sde->dim; i++) x[i] += (sde->drift ? f[i] * dt : 0.0) + g[i];
  if (sde->project) PetscCall(sde->project(sde->ctx, x));
  PetscFunctionReturn(0);
}

/* Scratch of the halvings: per level, the two halves' increments (2·nnoise) and the state before a
 * half (dim). */
typedef struct {
  const NNLSDE *sde;
  NNLRngStream  bridge; /* the step's bridge stream */
  uint64_t      base;   /* this path's first bridge normal */
  double       *work, *tmp, *lvl;
  PetscInt      nhalved;
} Halver;

/* x ← the state after [t, t + h], from x (inside) by halves of the increment dW: `node` in the
   step's tree, at `level`. A half that leaves is halved again; a half that starts outside (one that
   left at the last level) is not. *in: is the state it ends in inside. */
static PetscErrorCode Halve(Halver *H, double t, double h, const double *dW, PetscInt node,
                            PetscInt level, double *x, PetscBool *in)
{
  const NNLSDE  *sde = H->sde;
  const PetscInt q = sde->nnoise, d = sde->dim;
  double        *half = H->lvl + (size_t)(level - 1) * (2 * q + d), *x0 = half + 2 * q;
  const double   s = 0.5 * sqrt(h);

  PetscFunctionBegin;
  H->nhalved++;
  NNLRngNormals(&H->bridge, H->base + (uint64_t)node * (uint64_t)q, (size_t)q, H->tmp);
  for (PetscInt j = 0; j < q; j++) {
    half[j]     = 0.5 * dW[j] + s * H->tmp[j];
    half[q + j] = dW[j] - half[j];
  }
  *in = PETSC_TRUE;
  for (PetscInt k = 0; k < 2; k++) {
    const PetscBool was = *in;
    if (was) PetscCall(PetscArraycpy(x0, x, d));
    PetscCall(NNLSDEStepEM(sde, t + k * 0.5 * h, 0.5 * h, half + k * q, x, H->work));
    *in = sde->inside(sde->ctx, x);
    if (was && !*in && level < NNL_SDE_MAX_HALVINGS) {
      PetscCall(PetscArraycpy(x, x0, d));
      PetscCall(Halve(H, t + k * 0.5 * h, 0.5 * h, half + k * q, 2 * node + k, level + 1, x, in));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSDEPath(const NNLSDE *sde, uint64_t run_seed, uint64_t id, PetscInt path,
                          double T, PetscInt nsteps, double *x, PetscInt *nhalved)
{
  const double dt = nsteps > 0 ? T / (double)nsteps : 0.0;
  const size_t nl = sde->inside ? (size_t)NNL_SDE_MAX_HALVINGS * (2 * sde->nnoise + sde->dim) : 0;
  double      *dW, *tmp, *work, *x0 = NULL;
  Halver       H  = {sde, {{0, 0}, 0, 0}, 0, NULL, NULL, NULL, 0};
  PetscBool    in = sde->inside ? sde->inside(sde->ctx, x) : PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(sde->nnoise, &dW, sde->nnoise, &tmp, (size_t)2 * sde->dim, &work));
  if (sde->inside) PetscCall(PetscMalloc2(sde->dim, &x0, nl, &H.lvl));
  H.work = work, H.tmp = tmp;
  H.base = (uint64_t)path * (uint64_t)sde->nnoise << NNL_SDE_MAX_HALVINGS;
  for (PetscInt i = 0; i < nsteps; i++) {
    NNLSDEIncrement(run_seed, id, sde->nnoise, path, i, 1, dt, dW, tmp);
    PetscBool now;
    if (in) PetscCall(PetscArraycpy(x0, x, sde->dim));
    PetscCall(NNLSDEStepEM(sde, i * dt, dt, dW, x, work));
    if (!sde->inside) continue;
    now = sde->inside(sde->ctx, x);
    if (in && !now) { /* a step from outside (the start, or a half step that left at the last level)
                         stands */
      PetscCall(PetscArraycpy(x, x0, sde->dim));
      NNLRngStreamInit(&H.bridge, run_seed, id, (uint64_t)i, NNL_PURPOSE_SDE_BRIDGE);
      PetscCall(Halve(&H, i * dt, dt, dW, 1, 1, x, &now));
    }
    in = now;
  }
  if (sde->inside) PetscCall(PetscFree2(x0, H.lvl));
  PetscCall(PetscFree3(dW, tmp, work));
  if (nhalved) *nhalved = H.nhalved;
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

/* An Euler step can overshoot |ρ| = 1, where the exact process never goes (the noise vanishes
 * there). */
static PetscErrorCode CorrProject(void *ctx, double *x)
{
  (void)ctx;
  if (x[0] > 1) x[0] = 1;
  if (x[0] < -1) x[0] = -1;
  return 0;
}

void NNLSDECorrelation(double *k, NNLSDE *sde)
{
  sde->dim     = 1;
  sde->nnoise  = 1;
  sde->drift   = CorrDrift;
  sde->noise   = CorrNoise;
  sde->project = CorrProject;
  sde->ctx     = k;
  sde->inside  = NULL;
}

double NNLSDETime(NNLFamily family, PetscInt width, PetscInt depth, PetscInt layer)
{
  if (NNLFamilyHasProportionalSDE(family)) return (double)layer / (double)width;
  return (double)layer / (double)depth;
}
