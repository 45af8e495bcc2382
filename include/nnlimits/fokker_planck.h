/* The Fokker–Planck equation of the shaped-ReLU correlation diffusion, solved with PETSc TS on a DMDA grid over ρ ∈ [−1, 1]. */
#ifndef NNLIMITS_FOKKER_PLANCK_H
#define NNLIMITS_FOKKER_PLANCK_H

#include <petscsys.h>

/**
  @brief Density of ρ_t for dρ = μ(ρ) dt + (1−ρ²) dW, μ = NNLCorrelationDrift(k, ·), ρ_0 = rho0, at times t[0..nt) (ascending,
  >= 0): ∂p/∂t = −∂_ρ J, J = μp − ∂_ρ(½(1−ρ²)² p), J = 0 at ρ = ±1. Finite volumes on ncell cells (upwind drift, so the
  operator is an M-matrix and p stays >= 0), zero flux at both ends so mass is conserved to rounding; the point mass at
  rho0 is split between the two nearest cell centres (its mean kept). Time: PETSc TS, backward Euler with step 5e-4 by
  default, options prefix -limit_fp_ (e.g. -limit_fp_ts_type bdf -limit_fp_ts_dt 1e-3). density: nt × ncell, cell
  averages on centres −1 + (i + ½)·2/ncell. A solver failure is not an error: *ok false and msg says why. Not collective.
*/
PetscErrorCode NNLFokkerPlanckSolve(double k, double rho0, PetscInt ncell, PetscInt nt, const double t[], double *density,
                                    PetscBool *ok, char msg[], size_t msglen);

/** @brief Read the solver's -limit_fp_* options once (so that -help lists them and the unused-option check accepts them). */
PetscErrorCode NNLFokkerPlanckSetFromOptions(void);

#endif
