/* Euler–Maruyama on counter-based Brownian increments, and the shaped-ReLU correlation diffusion.
 */
#include <math.h>
#include "nnlimits/sde.h"
#include "nnlimits/shaped.h"
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

static PetscBool nnl_sde_lanes = PETSC_TRUE;

static PetscInt64 nnl_sde_lane_steps = 0;

PetscInt64 NNLSDELaneSteps(void)
{
  return nnl_sde_lane_steps;
}

void NNLSDEUseLanes(PetscBool use)
{
  nnl_sde_lanes = use;
}

/* Path p's step i ends: when it left the state space from inside (*in, not now), taken again in
   halves (Halve) from x, which holds its old state; else x holds its new state and it stands.
   *in: whether the path's state is inside, before and after. */
static PetscErrorCode StepEnd(Halver *H, uint64_t run_seed, uint64_t id, PetscInt i, double dt,
                              PetscInt p, const double *dW, PetscBool now, double *x,
                              PetscInt *nhalved, PetscBool *in)
{
  const PetscInt q = H->sde->nnoise;

  PetscFunctionBegin;
  if (*in && !now) { /* a step from outside (the start, or a half step that left at the last level)
                        stands */
    NNLRngStreamInit(&H->bridge, run_seed, id, (uint64_t)i, NNL_PURPOSE_SDE_BRIDGE);
    H->base    = (uint64_t)p * (uint64_t)q << NNL_SDE_MAX_HALVINGS;
    H->nhalved = 0;
    PetscCall(Halve(H, i * dt, dt, dW, 1, 1, x, &now));
    if (nhalved) *nhalved += H->nhalved;
  }
  *in = now;
  PetscFunctionReturn(0);
}

/* One step of paths c0 … c0+w−1 (w <= NNL_SDE_LANES) by sde->lanes, their states interleaved in xg
   (lanes past w: path c0's state and increments, not read): their increments interleaved into
   dWl, the old states kept in xo, and each path that left from inside taken again in halves from
   its old state (xc, dW: one path's). */
static PetscErrorCode StepLanes(Halver *H, uint64_t run_seed, uint64_t id, PetscInt p0, PetscInt i,
                                double dt, PetscInt c0, PetscInt w, const double *N, double *xg,
                                double *xo, double *dWl, double *dW, double *xc, PetscInt *nhalved,
                                PetscBool *in)
{
  const NNLSDE  *sde = H->sde;
  const PetscInt d = sde->dim, q = sde->nnoise;
  const double   sh = sqrt(dt);
  PetscBool      now[NNL_SDE_LANES];

  PetscFunctionBegin;
  for (PetscInt l = 0; l < NNL_SDE_LANES; l++) {
    const PetscInt c = c0 + (l < w ? l : 0);
    for (PetscInt j = 0; j < q; j++) dWl[j * NNL_SDE_LANES + l] = (0.0 + N[c * q + j]) * sh;
  }
  if (sde->inside) PetscCall(PetscArraycpy(xo, xg, d * NNL_SDE_LANES));
  PetscCall(sde->lanes(sde->ctx, i * dt, dt, dWl, xg, now));
  nnl_sde_lane_steps++;
  for (PetscInt l = 0; l < w; l++) {
    const PetscInt c = c0 + l;
    if (!in[c] || now[l]) {
      in[c] = now[l];
      continue;
    }
    for (PetscInt k = 0; k < d; k++) xc[k] = xo[k * NNL_SDE_LANES + l];
    for (PetscInt j = 0; j < q; j++) dW[j] = dWl[j * NNL_SDE_LANES + l];
    PetscCall(StepEnd(H, run_seed, id, i, dt, p0 + c, dW, now[l], xc, nhalved ? nhalved + c : NULL,
                      in + c));
    for (PetscInt k = 0; k < d; k++) xg[k * NNL_SDE_LANES + l] = xc[k];
  }
  for (PetscInt l = w; l < NNL_SDE_LANES; l++) /* the padding follows path c0 (had it gone on alone
                                                  after c0's halving, it would leave the cone, and
                                                  take the scalar fallbacks at every step) */
    for (PetscInt k = 0; k < d; k++) xg[k * NNL_SDE_LANES + l] = xg[k * NNL_SDE_LANES];
  PetscFunctionReturn(0);
}

/* Paths c0 … c0+NNL_SDE_LANES−1 of x (path-major; those past count: path c0) into the lanes of xg,
   or (back) lanes 0 … w−1 of xg into x */
static void LanesGather(PetscInt d, PetscInt count, PetscInt c0, const double *x, double *xg)
{
  for (PetscInt l = 0; l < NNL_SDE_LANES; l++) {
    const PetscInt c = c0 + l < count ? c0 + l : c0;
    for (PetscInt k = 0; k < d; k++) xg[k * NNL_SDE_LANES + l] = x[c * d + k];
  }
}

static void LanesScatter(PetscInt d, PetscInt count, PetscInt c0, const double *xg, double *x)
{
  for (PetscInt l = 0; l < NNL_SDE_LANES && c0 + l < count; l++)
    for (PetscInt k = 0; k < d; k++) x[(c0 + l) * d + k] = xg[k * NNL_SDE_LANES + l];
}

/* Paths p0 … p0+count−1 advance a step at a time together: each step's increments for all of them
   are one request of the step's stream (count·nnoise normals, at the AVX-512 kernel's full pace),
   where a path at a time asked for nnoise at each step, a few scalar Philox blocks and their call's
   costs: the normals were 60 % of a fixed-width ResNet SDE task. Each path's arithmetic, and its
   bits, are a path alone's (NNLSDEIncrement's dW = (0 + N)·√h). */
PetscErrorCode NNLSDEPaths(const NNLSDE *sde, uint64_t run_seed, uint64_t id, PetscInt p0,
                           PetscInt count, double T, PetscInt nsteps, double *x, PetscInt *nhalved,
                           NNLPollFn poll, void *pctx, PetscBool *abandon)
{
  const double    dt = nsteps > 0 ? T / (double)nsteps : 0.0, sh = sqrt(dt);
  const PetscInt  d = sde->dim, q = sde->nnoise;
  const size_t    nl    = sde->inside ? (size_t)NNL_SDE_MAX_HALVINGS * (2 * q + d) : 0;
  const PetscBool lanes = sde->lanes && nnl_sde_lanes;
  /* groups of NNL_SDE_LANES paths in lanes, a last one of fewer only if it fills half of them (the
     padding follows its first path: 9 paths in two groups took 1.29 times a path at a time's time);
     the paths past c1 a path at a time */
  const PetscInt ng = lanes ? count / NNL_SDE_LANES +
                                (count % NNL_SDE_LANES >= NNL_SDE_LANES / 2 ? 1 : 0)
                            : 0,
                 c1 = PetscMin(count, ng * NNL_SDE_LANES);
  double    *N, *dW, *tmp, *work, *x0 = NULL, *xl = NULL, *xo = NULL, *dWl = NULL;
  PetscBool *in, stop = PETSC_FALSE;
  Halver     H = {sde, {{0, 0}, 0, 0}, 0, NULL, NULL, NULL, 0};

  PetscFunctionBegin;
  PetscCall(PetscMalloc5((size_t)count * q, &N, q, &dW, q, &tmp, (size_t)2 * d, &work, count, &in));
  if (sde->inside) PetscCall(PetscMalloc2(d, &x0, nl, &H.lvl));
  if (lanes) { /* the states stay in lanes from the first step to the last */
    PetscCall(PetscMalloc3((size_t)ng * d * NNL_SDE_LANES, &xl, sde->inside ? d * NNL_SDE_LANES : 0,
                           &xo, q * NNL_SDE_LANES, &dWl));
    for (PetscInt g = 0; g < ng; g++)
      LanesGather(d, count, g * NNL_SDE_LANES, x, xl + (size_t)g * d * NNL_SDE_LANES);
  }
  H.work = work, H.tmp = tmp;
  for (PetscInt c = 0; c < count; c++) {
    in[c] = sde->inside ? sde->inside(sde->ctx, x + c * d) : PETSC_FALSE;
    if (nhalved) nhalved[c] = 0;
  }
  for (PetscInt i = 0; i < nsteps && !stop; i++) {
    NNLRngStream s;
    NNLRngStreamInit(&s, run_seed, id, (uint64_t)i, NNL_PURPOSE_SDE);
    NNLRngNormals(&s, (uint64_t)p0 * (uint64_t)q, (size_t)(count * q), N);
    if (lanes)
      for (PetscInt g = 0; g < ng; g++)
        PetscCall(StepLanes(&H, run_seed, id, p0, i, dt, g * NNL_SDE_LANES,
                            PetscMin(NNL_SDE_LANES, count - g * NNL_SDE_LANES), N,
                            xl + (size_t)g * d * NNL_SDE_LANES, xo, dWl, dW, x0, nhalved, in));
    for (PetscInt c = c1; c < count; c++) {
      double   *xc = x + c * d;
      PetscBool now;
      for (PetscInt j = 0; j < q; j++) dW[j] = (0.0 + N[c * q + j]) * sh;
      if (in[c]) PetscCall(PetscArraycpy(x0, xc, d));
      PetscCall(NNLSDEStepEM(sde, i * dt, dt, dW, xc, work));
      if (!sde->inside) continue;
      now = sde->inside(sde->ctx, xc);
      if (in[c] && !now) PetscCall(PetscArraycpy(xc, x0, d));
      PetscCall(StepEnd(&H, run_seed, id, i, dt, p0 + c, dW, now, xc, nhalved ? nhalved + c : NULL,
                        in + c));
    }
    if (poll) {
      PetscCall(NNLPoll(poll, pctx, &stop));
      if (abandon) *abandon = stop;
    }
  }
  if (lanes) {
    for (PetscInt g = 0; g < ng; g++)
      LanesScatter(d, count, g * NNL_SDE_LANES, xl + (size_t)g * d * NNL_SDE_LANES, x);
    PetscCall(PetscFree3(xl, xo, dWl));
  }
  if (sde->inside) PetscCall(PetscFree2(x0, H.lvl));
  PetscCall(PetscFree5(N, dW, tmp, work, in));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSDEPath(const NNLSDE *sde, uint64_t run_seed, uint64_t id, PetscInt path,
                          double T, PetscInt nsteps, double *x, PetscInt *nhalved)
{
  PetscFunctionBegin;
  PetscCall(NNLSDEPaths(sde, run_seed, id, path, 1, T, nsteps, x, nhalved, NULL, NULL, NULL));
  PetscFunctionReturn(0);
}

double NNLCorrelationDrift(double k, double rho)
{
  if (rho >= 1) return 0.0;
  if (rho <= -1) return k * M_PI;
  return k * NNLShapedReluFactor(rho) - 0.5 * rho * (1 - rho * rho);
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
  sde->lanes   = NULL;
}

double NNLSDETime(NNLFamily family, PetscInt width, PetscInt depth, PetscInt layer)
{
  if (NNLFamilyHasProportionalSDE(family)) return (double)layer / (double)width;
  return (double)layer / (double)depth;
}
