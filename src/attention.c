/* The shaped attention block: its attention matrix and the drift of its covariance SDE (README,
   "Shaped attention").

   The block, on the m tokens' pre-activations Y (n×m, column a = token a) of width n:
     Y ← λY + (γ/√n) W^V Y Aᵀ,   A = I + softmax(QᵀK / (τ₀√(n n_k))) − 11ᵀ/m,   λ² + γ² = 1,
   Q = W^Q Ŷ/√n, K = W^K Ŷ/√n (n_k × m), Ŷ the tokens scaled to ‖ŷ_a‖² = n, W^Q, W^K, W^V iid N(0,
   1). Given Y the logits u = QᵀK/τ are centred with E[u_ab u_cd] = R_ac R_bd /(τ₀² n), R the
   tokens' correlations; the softmax's expansion to second order, A = I + ū/m + (ū∘ū −
   rowmean(ū∘ū))/(2m) + O(n^{-3/2}) with ū = u(I − 11ᵀ/m), gives per layer E[V' − V] = γ²(E[A₂]V + V
   E[A₂]ᵀ + E[A₁VA₁ᵀ]), which is the drift below times 1/n, and a noise γ²(A₁V + VA₁ᵀ) beside the
   values' γ²(2 − γ²)(V_ac V_bd + V_ad V_bc)/n. */
#include <math.h>
#include "nnlimits/attention.h"
#include "nnlimits/activation.h"
#include "nnlimits/net.h"
#include "netkernel.h"

PetscInt NNLAttentionKeyWidth(const NNLJob *job, PetscInt n)
{
  return job->attn_key_width > 0 ? job->attn_key_width : n;
}

void NNLAttentionMatrix(PetscInt m, PetscInt nk, const double *Q, const double *K, double scale,
                        PetscBool shaped, double *A)
{
  for (PetscInt a = 0; a < m; a++) {
    double umax = -INFINITY, sum = 0.0;
    for (PetscInt b = 0; b < m; b++) {
      double u = 0.0;
      for (PetscInt k = 0; k < nk; k++) u += Q[k + a * nk] * K[k + b * nk];
      A[a + b * m] = scale * u;
      umax         = fmax(umax, A[a + b * m]);
    }
    for (PetscInt b = 0; b < m; b++) {
      A[a + b * m] = NNLExp(A[a + b * m] - umax);
      sum += A[a + b * m];
    }
    for (PetscInt b = 0; b < m; b++)
      A[a + b * m] =
        shaped ? A[a + b * m] / sum - 1.0 / (double)m + (a == b ? 1.0 : 0.0) : A[a + b * m] / sum;
  }
}

void NNLAttentionCorrelation(PetscInt m, const double *V, double *R)
{
  /* √V_aa √V_bb, not √(V_aa V_bb): its product underflows first. Each root once, held on R's
     diagonal until the pairs are done (they were taken for every pair: 2m² roots, a tenth of an
     attention SDE step). */
  for (PetscInt a = 0; a < m; a++) R[a + a * m] = sqrt(V[a + a * m]);
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++)
      if (a != b) {
        const double d = R[a + a * m] * R[b + b * m];
        R[a + b * m]   = d > 0 ? V[a + b * m] / d : 0.0;
      }
  for (PetscInt a = 0; a < m; a++) R[a + a * m] = 1.0;
  /* tokens that are copies (or negatives) of one another, to the last bit (NNLPSDCopySign): ±1
     exactly. V_aa/(√V_aa)² is 1 only to a rounding, and the tokens' factor (NNLSqrtPSD) would take
     the copies apart by its square root (the copies of inputs of correlation 1 parted after a
     layer of attention) */
  for (PetscInt a = 1; a < m; a++)
    for (PetscInt b = 0; b < a; b++) {
      const int s = NNLPSDCopySign(m, V, 1, a, b);
      if (s) R[a + b * m] = R[b + a * m] = s;
    }
}

void NNLAttentionDrift(PetscInt m, double tau0, double gamma, const double *V, double *f,
                       double *work)
{
  double *R = work, *PRP = work + m * m, *rbar = PRP + m * m, *w = rbar + m, *vw = w + m;
  double  tr = 0.0, trv = 0.0, rall = 0.0, c = gamma * gamma / (tau0 * tau0);

  NNLAttentionCorrelation(m, V, R);
  /* PRP = R − r̄1ᵀ − 1r̄ᵀ + r̿11ᵀ with r̄ the row means of R and r̿ their mean */
  for (PetscInt a = 0; a < m; a++) {
    rbar[a] = 0.0;
    for (PetscInt b = 0; b < m; b++) rbar[a] += R[a + b * m];
    rbar[a] /= (double)m;
    rall += rbar[a];
  }
  rall /= (double)m;
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++) PRP[a + b * m] = R[a + b * m] - rbar[a] - rbar[b] + rall;
  for (PetscInt a = 0; a < m; a++) tr += PRP[a + a * m];
  for (PetscInt a = 0; a < m; a++) w[a] = PRP[a + a * m] - tr / (double)m;
  for (PetscInt a = 0; a < m; a++) {
    vw[a] = 0.0;
    for (PetscInt b = 0; b < m; b++) {
      vw[a] += V[a + b * m] * w[b];
      trv += PRP[a + b * m] * V[a + b * m];
    }
  }
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++)
      f[a + b * m] =
        c * ((vw[a] + vw[b]) / (2.0 * (double)m) + trv * R[a + b * m] / ((double)m * (double)m));
}

void NNLAttentionCongruence(PetscInt m, const double *B, const double *X, double *out)
{
  /* out_ab = Σ_c B_ac t_c in order of c, with t_c = Σ_d X_cd B_bd summed once for every a (it was
     summed again for each a: m⁴ products for m³) */
  for (PetscInt b = 0; b < m; b++) {
    for (PetscInt a = 0; a < m; a++) out[a + b * m] = 0.0;
    for (PetscInt c = 0; c < m; c++) {
      double t = 0.0;
      for (PetscInt d = 0; d < m; d++) t += X[c + d * m] * B[b + d * m];
      for (PetscInt a = 0; a < m; a++) out[a + b * m] += B[a + c * m] * t;
    }
  }
}

PetscErrorCode NNLAttentionNoise(PetscInt m, double tau0, double gamma, const double *V,
                                 const double *G, double *g, double *work)
{
  double      *C = work, *U = work + m * m, *T = work + 2 * m * m, *X = work + 3 * m * m;
  const double ca = gamma * gamma / ((double)m * tau0);

  PetscFunctionBegin;
  NNLAttentionCorrelation(m, V, C);
  PetscCall(NNLSqrtPSD(m, C, U));
  for (PetscInt a = 0; a < m; a++) /* X = Uᵀ, then T = Uᵀ G U */
    for (PetscInt b = 0; b < m; b++) X[a + b * m] = U[b + a * m];
  NNLAttentionCongruence(m, X, G, T);
  for (PetscInt a = 0; a < m; a++) { /* C = T P: each row less its mean */
    double mean = 0.0;
    for (PetscInt b = 0; b < m; b++) mean += T[a + b * m];
    mean /= (double)m;
    for (PetscInt b = 0; b < m; b++) C[a + b * m] = T[a + b * m] - mean;
  }
  for (PetscInt a = 0; a < m; a++) /* X = ca · C V */
    for (PetscInt b = 0; b < m; b++) {
      double x = 0.0;
      for (PetscInt c = 0; c < m; c++) x += C[a + c * m] * V[c + b * m];
      X[a + b * m] = ca * x;
    }
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++) g[a + b * m] = X[a + b * m] + X[b + a * m];
  PetscFunctionReturn(0);
}

void NNLAttentionLogitFactors(PetscInt m, PetscInt nk, const double *Z, const NNLRngStream *query,
                              const double *U, double *work, double *Qa, double *Ka)
{
  double *T = work, *df = T + m * m, *chi = df + m;

  for (PetscInt j = 0; j < m; j++) df[j] = (double)(nk - j);
  NNLRngChiSquares(query, (size_t)m, df, chi);
  for (PetscInt j = 0, k = m * m; j < m; j++)
    for (PetscInt i = 0; i < m; i++) T[i + j * m] = i < j ? Z[k++] : i == j ? sqrt(chi[j]) : 0.0;
  NNLProject(m, m, T, U, 1.0, 0.0, Qa);
  NNLProject(m, m, Z, U, 1.0, 0.0, Ka);
}
