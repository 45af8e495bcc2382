/* The shaped attention block (Noci et al. 2023's shaping, with RMS-normalised queries and keys):
   its attention matrix and the drift and noise of its covariance SDE in t = ℓ/n (README, "Shaped
   attention"). */
#ifndef NNLIMITS_ATTENTION_H
#define NNLIMITS_ATTENTION_H

#include "nnlimits/job.h"
#include "nnlimits/rng.h"

/** @brief The key width n_k of a width-n block: -attn_key_width, or n when it is 0. */
PetscInt NNLAttentionKeyWidth(const NNLJob *job, PetscInt n);

/**
  @brief The attention matrix of the logits u_ab = scale · Σ_k Q_ka K_kb (Q and K nk × m
  column-major, column a: token a's query, key): shaped, A = I + softmax(u) − 11ᵀ/m (softmax along
  each row); else A = softmax(u), the unshaped block's. A: m×m column-major. Its bits are the same
  on every machine (our own loops and NNLExp).
*/
void NNLAttentionMatrix(PetscInt m, PetscInt nk, const double *Q, const double *K, double scale,
                        PetscBool shaped, double *A);

/**
  @brief R = the correlation matrix of V (m×m): R_ab = V_ab/√(V_aa V_bb), R_aa = 1; a token with
  V_aa <= 0 (none in a sampled network) gets a zero row and column with a unit diagonal. R apart
  from V.
*/
void NNLAttentionCorrelation(PetscInt m, const double *V, double *R);

/**
  @brief Drift f (m×m) of the shaped-attention covariance SDE at V (m×m, symmetric):
  f_ab = (γ²/τ₀²)[((Vw)_a + (Vw)_b)/(2m) + tr(PRP·V) R_ab / m²], with R = the correlation matrix of
  V, P = I − 11ᵀ/m and w_b = (PRP)_bb − tr(PRP)/m. work: 2m² + 3m doubles.
*/
void NNLAttentionDrift(PetscInt m, double tau0, double gamma, const double *V, double *f,
                       double *work);

/** @brief out = B X Bᵀ (m×m each, column-major; out apart from B and X), each entry's sums in a
 * fixed order. */
void NNLAttentionCongruence(PetscInt m, const double *B, const double *X, double *out);

/**
  @brief The attention's noise g = X + Xᵀ (m×m) of the covariance SDE at V, X = (γ²/(mτ₀)) Uᵀ G U P
  V, with UᵀU the tokens' correlations (NNLSqrtPSD), P = I − 11ᵀ/m and G (m×m) the step's normals
  times √dt: Uᵀ G U has covariance R_ac R_bd dt, as the logits u do over n layers (times τ₀²), and g
  is the block's first-order response γ²(A₁V + VA₁ᵀ), A₁ = uP/m, to u = UᵀGU/τ₀. work: 4m² + 3m
  doubles.
*/
PetscErrorCode NNLAttentionNoise(PetscInt m, double tau0, double gamma, const double *V,
                                 const double *G, double *g, double *work);

/**
  @brief The projection sampler's logits (QᵀK) at key width nk >= m, in law, from m×m factors: Qa =
  T U and Ka = G U, so that Qaᵀ Ka = Uᵀ Tᵀ G U has the law of QᵀK for Q = Z_Q U, K = Z_K U (UᵀU =
  R; Z_Q, Z_K nk×m iid N(0, 1)). Given Z_Q the columns of Z_Qᵀ Z_K are iid N(0, S), S = Z_QᵀZ_Q =
  TᵀT ~ Wishart_m(nk, I) with T its Bartlett factor: upper triangular, T_jj² ~ χ²_{nk−j} (j = 0 …
  m−1), T_ij ~ N(0, 1) above the diagonal, all independent; G m×m iid N(0, 1). Z: m² + m(m−1)/2
  normals, G (column-major) then T's upper part by columns; the χ² from query (NNLRngChiSquares).
  work: m² + 2m doubles.
*/
void NNLAttentionLogitFactors(PetscInt m, PetscInt nk, const double *Z, const NNLRngStream *query,
                              const double *U, double *work, double *Qa, double *Ka);

#endif
