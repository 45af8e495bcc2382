/* Bivariate Gaussian expectations E[φ(Z1)φ(Z2)]: closed forms where known, else the trapezoid rule
 * for φ analytic in a strip or a graded panel rule; Gauss–Hermite as the tests' reference. */
#ifndef NNLIMITS_GAUSS_H
#define NNLIMITS_GAUSS_H

#include "nnlimits/activation.h"

/**
  @brief F_φ(K)(1,2) by a composite 10-point Gauss–Legendre rule in each of two nested 1-D integrals
  over [−9, 9] (N(0,1) weight; panels between the integers), with panels graded geometrically
  towards the point where φ has its feature (a kink, or a steep transition), which must be at 0 —
  true of every φ in the table. Kinks fall on breakpoints, so ReLU-type φ are integrated piecewise.
  Works for any variance, |ρ| up to 1 and zero variances. Accuracy (measured against closed forms
  and an adaptive Gauss–Kronrod reference, variances 0 to 1e4): within 1e-12·max(1,|F|), and ~1e-14
  of √(F(k11,k11,k11) F(k22,k22,k22)), for φ smooth away from 0 or kinked at 0. Limit: an
  oscillatory φ such as a·sin(bx + c) is resolved only while b·√k ≤ 4 (panels up to 1 wide in units
  of the standard deviation; 7.8e-13 at b·√k = 4, 6.6e-12 at 5, 2e-9 at 7). sin has a closed form,
  so NNLGaussDual never uses this rule for it. Cost, in φ evaluations: ~(18 + 2 log2(4√k))²·100 off
  the diagonal (tanh: 4.6e4 at k = 1, 1.3e5 at k = 1e4); when ρ = ±1 or k22 = 0 the inner integral
  is a single φ value (200 at k = 1, 360 at k = 1e4 on the diagonal).
*/
double NNLGaussDualPanel(const NNLActivation *act, double k11, double k22, double k12);

/**
  @brief F_φ(K)(1,2) by 2-D Gauss–Hermite quadrature with `order` nodes per dimension (order <=
  256). Works for any φ; numerically safe for |ρ| -> 1 and k11 or k22 = 0. Accurate for smooth φ
  only at variances of order 1 (φ(√k x) steepens with k; with order 96, erf at k = 10 is off
  by 4.6e-4): kept as the independent reference the tests check NNLGaussDualPanel against.
*/
double NNLGaussDualQuad(const NNLActivation *act, double k11, double k22, double k12, int order);

/**
  @brief F_φ(K)(1,2) by the trapezoid rule in each of the two nested 1-D integrals, for φ analytic
  in a strip (NNLActivationDef.pole > 0: tanh, swish, softplus). On ℝ with a Gaussian weight the
  rule converges geometrically, as e^{−2πτ/h} for an integrand analytic in |Im z| < τ; here τ =
  0.8·pole/scale, the scale being √k11 or |ρ|√k22 outside and σ = √k22·√(1−ρ²) inside, and the step
  aims at e^{−30} of the integrand's scale. Nodes run to |z| = 8. Measured against NNLGaussDualPanel
  over variances 1e-4 to 100 (ratios 0.01 to 2) and ρ in [−1, 1]: within 7e-12 of √(F(k11,k11,k11)
  F(k22,k22,k22)), mostly ~1e-13, which is the panel rule's own accuracy. Cost: 1737 evaluations of
  tanh at k = 1, ρ = 0.5 (the panel rule: 23100), rising as √(k11 k22). Returns 1 and sets *F;
  returns 0, F untouched, where it does not apply: φ not analytic (pole = 0), a non-finite K, or a
  grid with more nodes than the panel rule's at k = 1 (46200: variances past ~15 for tanh, ~100 for
  swish).
*/
int NNLGaussDualTrapezoid(const NNLActivation *act, double k11, double k22, double k12, double *F);

/** @brief F_φ(K)(1,2): the closed form when the activation has one, else NNLGaussDualTrapezoid
   where it applies, else NNLGaussDualPanel. */
double NNLGaussDual(const NNLActivation *act, double k11, double k22, double k12);

/**
  @brief Gauss–Hermite rule for the standard normal weight: E f(Z) ≈ Σ w[i] f(x[i]), Σ w = 1.
  Nodes ascending. Computed once per order and cached (thread-unsafe first call is fine: MPI ranks
  are processes).
*/
void NNLGaussHermite(int order, const double **x, const double **w);

#endif
