/* Per-layer statistics of a network: Gram of pre-activations, log-norms, kurtosis, normality
 * distance. */
#ifndef NNLIMITS_OBSERVE_H
#define NNLIMITS_OBSERVE_H

#include "nnlimits/result.h"

/** @brief True if some input's post-activations are all zero (a dead network for that input). */
PetscBool NNLObserveIsDead(PetscInt n, PetscInt m, const double *Phi);
/** @brief True if one of x[0..n) is not zero: a column of post-activations alive (NNLObserveIsDead
    column by column; a layer kept in L1 asks it block by block). */
PetscBool NNLObserveAlive(PetscInt n, const double *x);
/**
  @brief Fill row r of res from pre-activations Y and post-activations Phi (n × m, column-major),
  which hold the network's state divided by 2^scale2 (net.c rescales networks that leave double's
  range): gram (times 4^scale2: inf or 0 beyond double's range, as the true value is), lognorm and
  lognorm_post (+ 2·scale2·ln 2: always finite), kurtosis (scale-free). *ok is false if any
  statistic of the stored state is not finite (overflow).
*/
PetscErrorCode NNLObserveLayer(PetscInt n, PetscInt m, const double *Y, const double *Phi,
                               int scale2, NNLResult *res, PetscInt r, PetscBool *ok);
/** @brief res->ks[a]: Kolmogorov–Smirnov distance of the coordinates of y_a/‖y_a‖·√n to N(0,1) (NaN
 * if y_a = 0). */
PetscErrorCode NNLObserveNormality(PetscInt n, PetscInt m, const double *Y, NNLResult *res);
/** @brief KS distance of the finite x[0..n) (which it may reorder; work[0..n) scratch) to the
 * standard normal cdf. */
double NNLKSNormal(PetscInt n, double *x, double *work);

#endif
