/* The Fokker–Planck equation of the shaped-ReLU correlation diffusion, solved with PETSc TS on a
   DMDA grid uniform in z = atanh ρ. */
#ifndef NNLIMITS_FOKKER_PLANCK_H
#define NNLIMITS_FOKKER_PLANCK_H

#include <petscsys.h>
#include "nnlimits/net.h"

/* The grid of this release: ncell cells uniform in z = atanh ρ on [−14, 14]; the end cells reach ρ
   = ±1. Stores record it as meta "fp_grid" (a store without it holds cells uniform in ρ,
   NNLFokkerPlanckEdge). */
#define NNL_FP_GRID "atanh 14"
/* Its solver before -limit_fp_ts_* options (CreateTS): backward Euler at a fixed step; named once,
   for the job text (jobcanon.c SolverDefaults) and the cost model (cost.c) */
#define NNL_FP_TS_TYPE   TSBEULER
#define NNL_FP_DT        5e-4
#define NNL_FP_MAX_STEPS 10000000

/**
  @brief Density of ρ_t for dρ = μ(ρ) dt + (1−ρ²) dW, μ = NNLCorrelationDrift(k, ·), ρ_0 = rho0, at
  times t[0..nt) (ascending,
  >= 0). In z = atanh ρ the noise is additive: dz = b(z) dt + dW with b = μ/(1−ρ²) + ρ, which tends
  to ½ as ρ → 1, so the mass that piles up within 1e-3 of ρ = 1 (shaped ReLU at t = 4) is a smooth
  bump in z. Finite volumes on ncell cells uniform in z ∈ [−14, 14] (NNL_FP_GRID) with
  Scharfetter–Gummel fluxes (exact for a locally constant drift, and an M-matrix, so p stays >= 0),
  zero flux at both ends so mass is conserved to rounding (beyond z = ±14, i.e. |ρ| > 1 − 1.4e-12,
  mass stays in the end cell). The point mass at rho0 is split between the two nearest cells so that
  its mean ρ over the cells' centres is rho0. Time: PETSc TS, backward Euler with step 5e-4 by
  default, options prefix -limit_fp_ (e.g. -limit_fp_ts_type bdf -limit_fp_ts_dt 1e-3). density: nt
  × ncell, each cell's mass divided by its width in ρ (edges NNLFokkerPlanckEdge(NNL_FP_GRID, ·,
  ncell)), so Σ density·width = 1. The solve stops at every t[j] (its steps end there), so the
  density at a time depends on the times before it: keep[j] false (keep NULL: every one kept) stops
  at t[j] without writing its density (density then holds the kept times only, in order). A caller
  that wants a time's density independent of which other times it asks for passes every time of its
  natural grid (every layer) and keeps the ones it wants. A solver failure is not an error: *ok
  false and msg says why. poll (may be NULL) is called after every step; once it sets *abandon, the
  solve stops there (*ok false). Not collective.
*/
PetscErrorCode NNLFokkerPlanckSolve(double k, double rho0, PetscInt ncell, PetscInt nt,
                                    const double t[], const PetscBool keep[], double *density,
                                    PetscBool *ok, char msg[], size_t msglen, NNLPollFn poll,
                                    void *pctx, PetscBool *abandon);

/** @brief Edge i (0..ncell) in ρ of the cells of grid `grid` (meta "fp_grid"): NNL_FP_GRID, or NULL
   for the cells uniform in ρ on [−1, 1] of stores written before it. Edge 0 is −1 and edge ncell
   is 1. */
double NNLFokkerPlanckEdge(const char *grid, PetscInt i, PetscInt ncell);

/** @brief Centre in ρ of cell i of this release's grid (tanh of its centre in z): the `rho` of the
 * store's rows. */
double NNLFokkerPlanckCentre(PetscInt i, PetscInt ncell);

/** @brief Read the solver's -limit_fp_* options once (so that -help lists them and the
 * unused-option check accepts them). */
PetscErrorCode NNLFokkerPlanckSetFromOptions(void);

#endif
