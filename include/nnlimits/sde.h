/* SDE limits: an Euler–Maruyama integrator on the project's counter-based streams, and the SDE
 * limit tasks. */
#ifndef NNLIMITS_SDE_H
#define NNLIMITS_SDE_H

#include <stdint.h>
#include "nnlimits/net.h"

/* An Itô SDE dX = f(t, X) dt + g(t, X) dW in R^dim driven by an nnoise-dimensional Brownian motion
 * W. */
typedef PetscErrorCode (*NNLSDEDriftFn)(void *ctx, double t, const double *x,
                                        double *f); /* f: dim */
typedef PetscErrorCode (*NNLSDENoiseFn)(void *ctx, double t, const double *x, const double *dW,
                                        double *g); /* g = g(t,x) dW: dim */
typedef PetscErrorCode (*NNLSDEProjectFn)(
  void *ctx, double *x); /* after each step: back onto the state space (e.g. |ρ| <= 1) */
typedef PetscBool (*NNLSDEInsideFn)(void         *ctx,
                                    const double *x); /* is x in the state space (e.g. V_aa > 0)? */
/* NNL_SDE_LANES paths' NNLSDEStepEM and inside at once, lane-interleaved: x (dim × NNL_SDE_LANES)
   and dW (nnoise × NNL_SDE_LANES) hold entry k of path l at k·NNL_SDE_LANES + l; inside[l] gets
   inside's answer on path l's new state. Each path must get the bits the scalar callbacks give it
   alone. */
typedef PetscErrorCode (*NNLSDELanesFn)(void *ctx, double t, double dt, const double *dW, double *x,
                                        PetscBool *inside);
#define NNL_SDE_LANES 8

/* How many times NNLSDEPath halves a step that left the state space: steps down to 2^-10 of the
 * base step. */
#define NNL_SDE_MAX_HALVINGS 10

typedef struct {
  PetscInt        dim, nnoise;
  NNLSDEDriftFn   drift; /* NULL: zero drift */
  NNLSDENoiseFn   noise;
  NNLSDEProjectFn project; /* may be NULL */
  void           *ctx;
  NNLSDEInsideFn
    inside; /* NULL: every state is inside; else NNLSDEPath halves the steps that leave */
  NNLSDELanesFn lanes; /* may be NULL: NNLSDEPaths' steps, NNL_SDE_LANES paths at a time (a step
                          taken again in halves goes through the scalar ones; without inside, it
                          sets inside[] false) */
} NNLSDE;

/** @brief For tests and benchmarks: whether NNLSDEPaths uses an SDE's lanes callback (the default),
 * or its scalar callbacks alone. The same bits either way. Not thread-safe. */
void NNLSDEUseLanes(PetscBool use);
/** @brief For tests: how many group steps NNLSDEPaths has taken in lanes in this process. Not
 * thread-safe. */
PetscInt64 NNLSDELaneSteps(void);

/**
  @brief Brownian increment of path `path` over the fine steps k0, …, k0+k−1 of size h: dW[j] = √h
  Σ_i N(i, path, j), where N(i, path, j) is normal number path·nnoise + j of the stream (run_seed,
  id, layer = i, NNL_PURPOSE_SDE). A coarse step made of k fine steps thus sees exactly the sum of
  their increments (strong-order tests), and every number depends only on (run_seed, id, step, path,
  j): results do not depend on ranks or on which paths a call integrates. tmp: nnoise.
*/
void NNLSDEIncrement(uint64_t run_seed, uint64_t id, PetscInt nnoise, PetscInt path, PetscInt k0,
                     PetscInt k, double h, double *dW, double *tmp);

/** @brief One Euler–Maruyama step x ← x + f(t,x) dt + g(t,x) dW, then the projection. work: 2·dim
 * doubles. Not collective. */
PetscErrorCode NNLSDEStepEM(const NNLSDE *sde, double t, double dt, const double *dW, double *x,
                            double *work);

/**
  @brief Integrate path `path` of sde from t = 0 (x holds X_0) to T by nsteps Euler–Maruyama steps
  with the increments of NNLSDEIncrement(run_seed, id, …, k = 1). x: dim, in/out. Not collective.

  With sde->inside set, a step from a state inside the state space to one outside it is taken again
  as two half steps, their increments from the Brownian bridge over it: the first half's is dW/2 +
  (√h/2)·Z, Z normals of the stream (run_seed, id, layer = step, NNL_PURPOSE_SDE_BRIDGE) at
  path·nnoise·2^NNL_SDE_MAX_HALVINGS + node·nnoise, node the half step's place in the step's binary
  tree (1 the whole step, 2k and 2k+1 its halves). Each half is halved again while it leaves,
  NNL_SDE_MAX_HALVINGS times at most; a half step still leaving then stands. A step that starts
  outside is not halved (a path that starts outside, or left at the last level, goes on by plain
  steps until it is back inside). The Brownian path is the same whatever is refined: a path that
  never leaves has the bits it had without `inside`, and every number still depends only on
  (run_seed, id, step, path). nhalved (may be NULL): how many half-step pairs this path took.
*/
PetscErrorCode NNLSDEPath(const NNLSDE *sde, uint64_t run_seed, uint64_t id, PetscInt path,
                          double T, PetscInt nsteps, double *x, PetscInt *nhalved);

/**
  @brief NNLSDEPath for paths p0, …, p0+count−1 at once, a step at a time: x holds their states
  (count × dim, path-major), nhalved (may be NULL) their halvings. Each path's result has the bits
  NNLSDEPath gives it alone. poll (may be NULL) is called after each step; *abandon (may be NULL)
  gets its answer, and a true one ends the integration there. Not collective.
*/
PetscErrorCode NNLSDEPaths(const NNLSDE *sde, uint64_t run_seed, uint64_t id, PetscInt p0,
                           PetscInt count, double T, PetscInt nsteps, double *x, PetscInt *nhalved,
                           NNLPollFn poll, void *pctx, PetscBool *abandon);

/** @brief Drift of the shaped-ReLU correlation diffusion: ν(ρ) − ½ρ(1−ρ²), ν(ρ) = k(√(1−ρ²) − ρ
 * arccos ρ), k = (c₊−c₋)²/(2π). */
double NNLCorrelationDrift(double k, double rho);

/** @brief The 1-D correlation diffusion dρ = [ν(ρ) − ½ρ(1−ρ²)] dt + (1−ρ²) dW as an NNLSDE (ctx: a
 * double k that must outlive it). */
void NNLSDECorrelation(double *k, NNLSDE *sde);

/**
  @brief The SDE time of layer `layer` of a network of depth `depth` and width n: ℓ/L for the
  ResNet, ℓ/n for the shaped MLP (MATH.md §0: V(0) = C is the inputs' Gram, and layer ℓ's Gram is ℓ
  random steps from it, the first layer's included). Stores written before meta "sde_time" existed
  used (ℓ − 1)/n (NNLStoreSDETimeOffset).
*/
double NNLSDETime(NNLFamily family, PetscInt width, PetscInt depth, PetscInt layer);

/**
  @brief The SDE task pt (kind NNL_TASK_SDE): -sde_paths paths of the limit of (family, activation,
  width), to the SDE time of pt->depth by Euler–Maruyama with step <= -sde_dt. ResNet (α = 1/2,
  Hayou 2022): dY = dB (ΦᵀΦ/n)^{1/2}, Y n×m, Y_0 rows iid N(0, C). Shaped MLP: dV = b(V) dt +
  Σ(V)^{1/2} dB from V_0 = C. Per path: V at the end and ln(‖φ(Y)‖²/n) (shaped: ln V_aa). Shaped
  ReLU with m >= 2: also the Fokker–Planck density of ρ_01 at the recorded layers' times. Not
  collective.
*/
PetscErrorCode NNLSDETaskCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *ctx,
                                 NNLResult **res);

#endif
