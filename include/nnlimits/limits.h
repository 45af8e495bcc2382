/* Infinite-width limits of the covariance: the NNGP recursion (fixed depth) and the ResNet
 * depth-limit ODE. */
#ifndef NNLIMITS_LIMITS_H
#define NNLIMITS_LIMITS_H

#include <petscts.h>
#include "nnlimits/net.h"

/* Covariances are m×m symmetric, stored as np = m(m+1)/2 pairs (a <= b, a-major), like
 * NNLResult.gram. */

/** @brief The limit covariance of the inputs at the first layer of a family (MLP: σ_w² C, ResNet:
 * C). */
PetscErrorCode NNLLimitInitial(const NNLJob *job, NNLFamily family, PetscInt act, double *q);

/** @brief dq = F_φ(q) for all pairs: out[k] = E[φ(Z_a)φ(Z_b)], Z ~ N(0, q). Not collective. */
PetscErrorCode NNLLimitDual(const NNLActivation *act, PetscInt m, const double *q, double *out);

/**
  @brief NNGP recursion (n → ∞ at fixed depth) at layers[0..nrec) (ascending, within the family's
  layer range): MLP q_{ℓ+1} = σ_w² F(q_ℓ) + σ_b²; ResNet q_ℓ = q_{ℓ−1} + L^{−2α} F(q_{ℓ−1}). q: nrec
  × np. Not collective.
*/
PetscErrorCode NNLLimitNNGP(const NNLJob *job, NNLFamily family, PetscInt act, PetscInt depth,
                            PetscInt nrec, const PetscInt layers[], double *q);

/**
  @brief Depth-limit ODE of the ResNet with α = 1/2 (n → ∞ then L → ∞): dq/dt = F_φ(q), q(0) = C,
  integrated with PETSc TS (adaptive RK by default; options -limit_ts_*), output at times t[0..nt)
  (ascending, in [0, 1]). q: nt × np. The solver's steps run to t = 1 whatever the times (RK 5dp
  reads them off its interpolant, other solvers reach each from their last step before it), so q
  at a time depends on that time and the options alone, not on the other times asked for. A solver
  failure is not an error: *ok is false and msg says why. Not collective (PETSC_COMM_SELF).
*/
PetscErrorCode NNLLimitODE(const NNLJob *job, PetscInt act, PetscInt nt, const double t[],
                           double *q, PetscBool *ok, char msg[], size_t msglen);

/**
  @brief Read the depth-limit solver's options (-limit_ts_*) once, on every rank of comm, so that
  -help lists them and the unused-option check accepts them before any limit is computed.
*/
PetscErrorCode NNLLimitSetFromOptions(MPI_Comm comm);
/**
  @brief Refuse solver options PETSc would take silently: -PREFIXts_rtol or -PREFIXts_atol not
  finite or negative, or both 0; -PREFIXts_max_steps not an integer from 1 to 2^31 - 1. Not
  collective (every rank reads the same options).
*/
PetscErrorCode NNLTSCheckOptions(TS ts, const char prefix[]);
/** @brief The -limit_ts_type values the depth-limit ODE takes, space-separated (for -help). */
void NNLLimitODETypes(char buf[], size_t len);

/**
  @brief Cells per unit time of the controlled ResNet's depth-limit Goursat march for a network of
  this depth: the least multiple of depth >= -limit_goursat_cells (default NNL_GOURSAT_CELLS), so
  that every layer is a grid line.
*/
PetscInt NNLLimitGoursatCells(PetscInt depth);
#define NNL_GOURSAT_CELLS 256
#define NNL_GOURSAT_CELLS_MAX                                                                      \
  (1 << 30) /* -limit_goursat_cells at most: its multiple of a depth (<= 2^30) stays below 2^31 */
/* The depth-limit ODE's solver before -limit_ts_* options (ODECreate): adaptive Dormand–Prince
   5(4), tight tolerances. The job text leaves out an option given at one of these (jobcanon.c
   SolverDefaults), so they are named once, here. */
#define NNL_ODE_TS_TYPE   TSRK
#define NNL_ODE_RK_TYPE   TSRK5DP
#define NNL_ODE_TOL       1e-12
#define NNL_ODE_DT        1e-3
#define NNL_ODE_MAX_STEPS 1000000

/** @brief How the depth-limit ODE's solver (-limit_ts_type, -limit_ts_rk_type in the options
    database) gives the recorded layers: NNL_ODE_DENSE (rk 5dp, the default, and rk 1fe: their
    interpolants have their order, ODEIsDense), or a
    solve to each layer from the step before it by an explicit type (rk's other tableaus, euler,
    ssp, glee) or an implicit one (the others, with a nonlinear solve a step). For the cost model;
    not collective. */
typedef enum { NNL_ODE_DENSE, NNL_ODE_REACH_EXPLICIT, NNL_ODE_REACH_IMPLICIT } NNLODEReach;
NNLODEReach NNLLimitODEReach(void);

/** @brief Whether the depth-limit ODE applies to a family and activation entry (ResNet with
 * -branch_alpha 0.5). */
PetscBool NNLLimitHasODE(const NNLJob *job, NNLFamily family, PetscInt act);

/**
  @brief The limit task pt (kind NNL_TASK_LIMIT): NNGP kernel (res->gram) and depth-limit ODE
  (res->ode; NaN where it does not apply) at the family's recorded layers of pt->depth. An ODE
  failure gives status NNL_STATUS_FAILED and a message, with the NNGP values kept. poll (may be
  NULL) is called between layers and solver steps. Not collective.
*/
PetscErrorCode NNLLimitCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *ctx,
                               NNLResult **res);

#endif
