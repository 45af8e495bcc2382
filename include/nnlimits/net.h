/* Network families and their samplers: the dense reference and the projection sampler (exact in
 * law). */
#ifndef NNLIMITS_NET_H
#define NNLIMITS_NET_H

#include "nnlimits/grid.h"
#include "nnlimits/result.h"
#include "nnlimits/spectra.h"

/* Called between the layers of a task (and the steps of a limit's solver): a coordinator computing
   a task serves its workers there, and any rank learns there whether a stop signal wants the task
   abandoned (*abandon set: the task returns at once with status NNL_STATUS_ABANDONED, a result that
   is never stored). */
typedef PetscErrorCode (*NNLPollFn)(void *ctx, PetscBool *abandon);

/** @brief Call poll (if any); *abandon, once set, stays set. */
static inline PetscErrorCode NNLPoll(NNLPollFn poll, void *ctx, PetscBool *abandon)
{
  PetscBool a = PETSC_FALSE;

  if (!poll || *abandon) return 0;
  PetscCall(poll(ctx, &a));
  if (a) *abandon = PETSC_TRUE;
  return 0;
}

/** @brief Free the dense sampler's large W kept from the last network for the next (net.c). A run
    calls it when its sweep ends. */
PetscErrorCode NNLNetFreeKept(void);

/**
  @brief Sample the network of point pt and measure it at the recorded layers. Not collective.
  sampler: NNL_SAMPLER_AUTO resolves as the job says (NNLPointSampler). Numerical trouble (overflow)
  gives a result with status NNL_STATUS_FAILED and a message, not an error. poll may be NULL.
*/
PetscErrorCode NNLPointCompute(const NNLJob *job, const NNLPoint *pt, NNLSamplerType sampler,
                               NNLPollFn poll, void *ctx, NNLResult **res);

/**
  @brief NNLPointCompute with the spectra (-spectra_layers) computed on team when they are large
  enough (see NNLSpectraSVD; team may be NULL: LAPACK on this rank). Collective on team when it is
  used. A spectra failure gives status NNL_STATUS_FAILED and a message.
*/
PetscErrorCode NNLPointComputeTeam(const NNLJob *job, const NNLPoint *pt, NNLSamplerType sampler,
                                   NNLSpectraTeam team, NNLPollFn poll, void *ctx, NNLResult **res);

/**
  @brief R (m×m, column-major) with RᵀR = K for symmetric PSD K: Cholesky when K is positive
  definite, else (a pivot
  <= 0) for m <= NNL_SMALL_M the pivoted Cholesky (rows past K's numerical rank zero; a non-finite K
  gives R all NaN), and past it the eigen square root with negative eigenvalues (rounding) set to
  zero. A column of K that is ± an earlier one to the last bit (inputs of correlation ±1) gets ±
  that column's column of R, the others being factored as above. Deterministic; up to NNL_SMALL_M
  the same bits on every machine.
*/
PetscErrorCode NNLSqrtPSD(PetscInt m, const double *K, double *R);

/** @brief Inputs X (d×m, column-major): ‖x_a‖² = d, x_a·x_b = d·r. */
PetscErrorCode NNLInputs(const NNLJob *job, double *X);

#endif
