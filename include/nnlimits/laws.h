/* Distances between laws: samples against samples, and samples against a density on cells of [−1,
 * 1]; the laws table. */
#ifndef NNLIMITS_LAWS_H
#define NNLIMITS_LAWS_H

#include <stdio.h>
#include <petscsys.h>

/** @brief Sort x[0..n) ascending in place. */
void NNLLawsSort(PetscInt n, double *x);
/** @brief Quantile p of sorted x[0..n) (linear interpolation between order statistics, numpy's
 * default; NaN if n = 0). */
double NNLLawsQuantile(PetscInt n, const double *x, double p);
/** @brief Two-sample Kolmogorov–Smirnov distance sup|F_x − F_y| of sorted samples x[0..nx),
 * y[0..ny). */
double NNLLawsKS(PetscInt nx, const double *x, PetscInt ny, const double *y);
/** @brief Two-sample Wasserstein-1 distance ∫|F_x − F_y| of sorted samples. */
double NNLLawsW1(PetscInt nx, const double *x, PetscInt ny, const double *y);
/**
  @brief KS and Wasserstein-1 distances of sorted sample x[0..n) to the law with density p (cell
  averages on the ncell cells [edge[c], edge[c + 1]] of [−1, 1], edge[0] = −1, edge[ncell] = 1,
  normalised here to mass 1; its cdf is piecewise linear). Samples are clamped to [−1, 1].
*/
void NNLLawsDensityDistance(PetscInt n, const double *x, PetscInt ncell, const double *edge,
                            const double *p, double *ks, double *w1);

/**
  @brief The laws table (store handle db, read-only): per (family, activation, width, depth) with
  finished networks and per statistic (rho = ρ_01, logv = ln V_00, lognorm_post = ln(‖φ(y_0)‖²/n),
  all at the last layer), the distribution over seeds against the SDE task's paths and the
  Fokker–Planck density (rho, shaped ReLU): means, sds, quantiles, KS and W1.
*/
PetscErrorCode NNLLawsWrite(void *db, FILE *out);

#define NNL_LAWS_HEADER                                                                            \
  "family,activation,width,depth,t,statistic,n_net,n_sde,net_mean,net_sd,sde_mean,sde_sd,net_q05," \
  "net_q25,net_q50,net_q75,"                                                                       \
  "net_q95,sde_q05,sde_q25,sde_q50,sde_q75,sde_q95,ks_sde,w1_sde,ks_pde,w1_pde,ks_sde_pde,w1_sde_" \
  "pde"

#endif
