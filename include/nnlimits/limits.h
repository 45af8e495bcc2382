/* Infinite-width limits of the covariance: the NNGP recursion (fixed depth) and the ResNet depth-limit ODE. */
#ifndef NNLIMITS_LIMITS_H
#define NNLIMITS_LIMITS_H

#include "nnlimits/job.h"

/* Covariances are m×m symmetric, stored as np = m(m+1)/2 pairs (a <= b, a-major), like NNLResult.gram. */

/** @brief The limit covariance of the inputs at the first layer of a family (MLP: σ_w² C, ResNet: C). */
PetscErrorCode NNLLimitInitial(const NNLJob *job, NNLFamily family, PetscInt act, double *q);

/** @brief dq = F_φ(q) for all pairs: out[k] = E[φ(Z_a)φ(Z_b)], Z ~ N(0, q). Not collective. */
PetscErrorCode NNLLimitDual(const NNLActivation *act, PetscInt m, const double *q, double *out);

/**
  @brief NNGP recursion (n → ∞ at fixed depth) at layers[0..nrec) (ascending, within the family's layer range):
  MLP q_{ℓ+1} = σ_w² F(q_ℓ) + σ_b²; ResNet q_ℓ = q_{ℓ−1} + L^{−2α} F(q_{ℓ−1}). q: nrec × np. Not collective.
*/
PetscErrorCode NNLLimitNNGP(const NNLJob *job, NNLFamily family, PetscInt act, PetscInt depth, PetscInt nrec,
                            const PetscInt layers[], double *q);

/**
  @brief Depth-limit ODE of the ResNet with α = 1/2 (n → ∞ then L → ∞): dq/dt = F_φ(q), q(0) = C, integrated with
  PETSc TS (adaptive RK by default; options -limit_ts_*), output at times t[0..nt) (ascending, in [0, 1]).
  q: nt × np. A solver failure is not an error: *ok is false and msg says why. Not collective (PETSC_COMM_SELF).
*/
PetscErrorCode NNLLimitODE(const NNLJob *job, PetscInt act, PetscInt nt, const double t[], double *q, PetscBool *ok,
                           char msg[], size_t msglen);

#endif
