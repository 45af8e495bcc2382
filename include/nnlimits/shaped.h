/* The shaped activations of the shaped MLP (Li–Nica–Roy 2022, MATH.md §1): width-dependent φ that
 * tend to the identity. */
#ifndef NNLIMITS_SHAPED_H
#define NNLIMITS_SHAPED_H

#include "nnlimits/job.h"

/**
  @brief Whether act can be shaped: relu (shaped ReLU s₊ max(x,0) + s₋ min(x,0)), or φ with φ(0) = 0
  and φ'(0) = 1 (smooth shaping φ_s(x) = s φ(x/s)). Returns 0 if so, else nonzero with a one-line
  reason in err.
*/
int NNLShapedCheck(const NNLActivation *act, char err[], size_t len);

/** @brief Whether act is shaped as the shaped ReLU (else by φ_s(x) = s φ(x/s)). */
PetscBool NNLShapedIsRelu(const NNLActivation *act);

/** @brief Shaped ReLU slopes s± = 1 + c±/√n. */
void NNLShapedSlopes(const NNLJob *job, PetscInt n, double *sp, double *sm);

/** @brief Weight gain c of y^{ℓ+1} = √(c/n) W φ(y^ℓ): 2/(s₊² + s₋²) for the shaped ReLU, 1 for
 * smooth shaping. */
double NNLShapedGain(const NNLJob *job, const NNLActivation *act, PetscInt n);

/** @brief y[i] = φ_n(x[i]) for i < count, the width-n shaped φ (x and y may alias). */
void NNLShapedApply(const NNLJob *job, const NNLActivation *act, PetscInt n, size_t count,
                    const double *x, double *y);

/** @brief φ''(0) and φ'''(0) by central differences (h = 1e-3: error ~1e-6), for the smooth-shaping
 * drift. */
void NNLShapedDerivatives(const NNLActivation *act, double *d2, double *d3);

/**
  @brief Drift b_ab of the proportional covariance SDE dV = b(V) dt + Σ(V)^{1/2} dB in t = ℓ/n
  (MATH.md §2), from V_aa, V_bb, V_ab (a = b on the diagonal). Shaped ReLU: ((c₊−c₋)²/(2π)) √(V_aa
  V_bb)(√(1−ρ²) − ρ arccos ρ); smooth: a⁻²[(φ''(0)²/4)(V_aa V_bb + 2V_ab²) + (φ'''(0)/2) V_ab (V_aa
  + V_bb)]; d2, d3 from NNLShapedDerivatives.
*/
double NNLShapedDrift(const NNLJob *job, const NNLActivation *act, double d2, double d3, double vaa,
                      double vbb, double vab);
/** @brief F(ρ) = sin θ − θ cos θ = √(1−ρ²) − ρθ at θ = arccos ρ, ρ in [−1, 1]: the shaped ReLU
 * drift's factor, to a few ulps (a series in θ near ρ = 1, where it is ~θ³/3; src/relufactor.h,
 * which src/sdelanes.c's lanes share, so the same bits). NNLShapedDrift's and
 * NNLCorrelationDrift's. */
double NNLShapedReluFactor(double rho);

#endif
