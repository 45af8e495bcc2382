/* Bivariate Gaussian expectations E[φ(Z1)φ(Z2)]: closed forms where known, Gauss–Hermite quadrature otherwise. */
#ifndef NNLIMITS_GAUSS_H
#define NNLIMITS_GAUSS_H

#include "nnlimits/activation.h"

/**
  @brief F_φ(K)(1,2) by 2-D Gauss–Hermite quadrature with `order` nodes per dimension (order <= 256).
  Works for any φ; numerically safe for |ρ| -> 1 and k11 or k22 = 0.
*/
double NNLGaussDualQuad(const NNLActivation *act, double k11, double k22, double k12, int order);

/** @brief F_φ(K)(1,2): the closed form when the activation has one, else quadrature of order 96. */
double NNLGaussDual(const NNLActivation *act, double k11, double k22, double k12);

/**
  @brief Gauss–Hermite rule for the standard normal weight: E f(Z) ≈ Σ w[i] f(x[i]), Σ w = 1.
  Nodes ascending. Computed once per order and cached (thread-unsafe first call is fine: MPI ranks are processes).
*/
void NNLGaussHermite(int order, const double **x, const double **w);

#endif
