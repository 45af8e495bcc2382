/* NNL_SDE_LANES paths of a covariance SDE one Euler–Maruyama step together (sdelanes.h). Each path
   is a lane: entry k of an m×m matrix of path l at [k][l]. Every loop over the lanes does, in each
   lane, the operations a path alone gets from the scalar code (CholeskySmall in sqrtpsd.c,
   NNLProject's small loops, NNLAttentionCorrelation, NNLAttentionDrift, NNLAttentionCongruence,
   NNLAttentionNoise, NNLShapedDrift, sde_task.c's ShapedDriftAdd, ShapedNoise and VCone), in the
   same order; those loops vectorise, in the builds of simd.h, and each path keeps its bits
   (tests/test_sde.c, test_lanes_bits; all but a NaN's sign where ±inf meet, which C leaves open and
   the store keeps as NULL either way). A path alone is a chain of dependent divisions and square
   roots on 4×4 matrices; 8 of them side by side fill the units a path alone leaves idle. A lane
   whose Cholesky factorisation meets a pivot <= 0 or a column equal to ± an earlier one, or whose V
   leaves the cone, goes through the scalar code. */
#include <float.h>
#include <math.h>
#include "relufactor.h"
#include "sdelanes.h"
#include "simd.h"
#include "nnlimits/shaped.h"

#define NL   NNL_SDE_LANES
#define MM   (NNL_SMALL_M * NNL_SMALL_M)
#define EACH for (int l = 0; l < NL; l++)
#define INL  static inline __attribute__((always_inline))

typedef double Lane[NL];

typedef struct {
  Lane    f[MM], g[MM], R[MM], C[MM], U[MM], T[MM], X[MM], L[MM];
  int64_t badR[NL], badU[NL], ok[NL], wide[NL];
} Work;

/* Lane l's K has a column equal to ± an earlier one (NNLPSDCopies, which NNLSqrtPSD factors apart)
 */
INL int64_t DuplicateLane(int m, const Lane *K, int l)
{
  for (int j = 1; j < m; j++)
    for (int k = 0; k < j; k++)
      if (NNLPSDCopySign(m, &K[0][l], NL, j, k)) return 1;
  return 0;
}

/* CholeskySmall (sqrtpsd.c) in each lane: bad[l] when a pivot is not positive or a column is ± an
   earlier one (the lane's R is then the scalar NNLSqrtPSD's, set after) */
INL void CholeskyLanes(int m, const Lane *K, Lane *R, int64_t *bad)
{
  EACH bad[l] = DuplicateLane(m, K, l);
  for (int j = 0; j < m; j++) {
    Lane d;
    EACH d[l] = K[j + j * m][l];
    for (int k = 0; k < j; k++) EACH d[l] -= R[k + j * m][l] * R[k + j * m][l];
    EACH bad[l] |= !(d[l] > 0.0);
    EACH R[j + j * m][l] = sqrt(d[l]);
    for (int i = j + 1; i < m; i++) {
      Lane t;
      EACH t[l] = K[j + i * m][l];
      for (int k = 0; k < j; k++) EACH t[l] -= R[k + j * m][l] * R[k + i * m][l];
      EACH R[j + i * m][l] = t[l] / R[j + j * m][l];
      EACH R[i + j * m][l] = 0.0;
    }
  }
}

/* NNLAttentionCorrelation */
INL void CorrelationLanes(int m, const Lane *V, Lane *R)
{
  Lane s[NNL_SMALL_M];

  for (int a = 0; a < m; a++) EACH s[a][l] = sqrt(V[a + a * m][l]);
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++)
      if (a != b) EACH
        {
          const double d  = s[a][l] * s[b][l];
          R[a + b * m][l] = d > 0 ? V[a + b * m][l] / d : 0.0;
        }
  for (int a = 0; a < m; a++) EACH R[a + a * m][l] = 1.0;
  for (int a = 1; a < m; a++)
    for (int b = 0; b < a; b++) EACH
      {
        const int c = NNLPSDCopySign(m, &V[0][l], NL, a, b);
        if (c) R[a + b * m][l] = R[b + a * m][l] = c;
      }
}

/* NNLAttentionDrift, R the correlations of V */
INL void AttentionDriftLanes(int m, double tau0, double gamma, const Lane *V, const Lane *R,
                             Lane *f)
{
  const double c = gamma * gamma / (tau0 * tau0), dm = (double)m;
  Lane         rbar[NNL_SMALL_M], w[NNL_SMALL_M], vw[NNL_SMALL_M], PRP[MM], tr, trv, rall;

  EACH rall[l] = 0.0;
  for (int a = 0; a < m; a++) {
    EACH rbar[a][l] = 0.0;
    for (int b = 0; b < m; b++) EACH rbar[a][l] += R[a + b * m][l];
    EACH rbar[a][l] /= dm;
    EACH rall[l] += rbar[a][l];
  }
  EACH rall[l] /= dm;
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++)
      EACH PRP[a + b * m][l] = R[a + b * m][l] - rbar[a][l] - rbar[b][l] + rall[l];
  EACH tr[l] = 0.0;
  for (int a = 0; a < m; a++) EACH tr[l] += PRP[a + a * m][l];
  for (int a = 0; a < m; a++) EACH w[a][l] = PRP[a + a * m][l] - tr[l] / dm;
  EACH trv[l] = 0.0;
  for (int a = 0; a < m; a++) {
    EACH vw[a][l] = 0.0;
    for (int b = 0; b < m; b++) {
      EACH vw[a][l] += V[a + b * m][l] * w[b][l];
      EACH trv[l] += PRP[a + b * m][l] * V[a + b * m][l];
    }
  }
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++)
      EACH f[a + b * m][l] =
        c * ((vw[a][l] + vw[b][l]) / (2.0 * dm) + trv[l] * R[a + b * m][l] / (dm * dm));
}

/* f ← keep·f + scale·b(V) (ShapedDriftAdd with NNLShapedDrift): each pair a <= b once, mirrored;
   the shaped ReLU's F(ρ) = sin θ − θ cos θ (relufactor.h) where ρ is in [−1, 1) */
INL void MlpDriftLanes(int m, const NNLConeLanes *c, const Lane *V, Lane *f)
{
  const double keep = c->attention ? 1.0 : 0.0, scale = c->mlp_scale;

  for (int a = 0; a < m; a++)
    for (int b = a; b < m; b++) {
      const double *va = V[a + a * m], *vb = V[b + b * m], *vab = V[a + b * m];
      Lane          v;
      if (c->mlp == 2)
        EACH v[l] =
          scale *
          ((c->q2 * (va[l] * vb[l] + 2 * vab[l] * vab[l]) + c->q3 * vab[l] * (va[l] + vb[l])) /
           c->a2);
      else {
        Lane    s, rho;
        int64_t need = 0;
        EACH
        {
          s[l]   = sqrt(va[l] * vb[l]);
          rho[l] = vab[l] / s[l];
          rho[l] = rho[l] < -1 ? -1.0 : rho[l];
        }
        EACH need |= s[l] > 0 && !(rho[l] >= 1);
        if (need) /* not on V's diagonal (ρ = 1), unless a variance there is not positive */
          EACH v[l] = s[l] > 0 && !(rho[l] >= 1) ? NNLReluFactorInline(rho[l]) : 0.0;
        else
          EACH v[l] = 0.0;
        EACH v[l] = scale * (s[l] > 0 ? c->k * s[l] * v[l] : 0.0);
      }
      EACH f[a + b * m][l] = keep == 0.0 ? v[l] : f[a + b * m][l] + v[l];
      if (b > a) EACH f[b + a * m][l] = keep == 0.0 ? v[l] : f[b + a * m][l] + v[l];
    }
}

/* ShapedNoise: g = Rᵀ S R, S = (G + Gᵀ)/√2, as NNLProject's small loops take T = S R, then Tᵀ R */
INL void ShapedNoiseLanes(int m, const Lane *R, const Lane *G, Lane *S, Lane *T, Lane *g)
{
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++)
      EACH S[a + b * m][l] = (G[a + b * m][l] + G[b + a * m][l]) * M_SQRT1_2;
  for (int b = 0; b < m; b++)
    for (int i = 0; i < m; i++) {
      Lane acc;
      EACH acc[l] = S[i][l] * R[b * m][l];
      for (int a = 1; a < m; a++) EACH acc[l] += S[i + a * m][l] * R[a + b * m][l];
      EACH T[i + b * m][l] = acc[l];
    }
  for (int b = 0; b < m; b++)
    for (int i = 0; i < m; i++) {
      Lane acc;
      EACH acc[l] = T[i * m][l] * R[b * m][l];
      for (int a = 1; a < m; a++) EACH acc[l] += T[a + i * m][l] * R[a + b * m][l];
      EACH g[i + b * m][l] = acc[l];
    }
}

/* NNLAttentionNoise, C the correlations of V and U their factor (UᵀU = C): T = Uᵀ G U
   (NNLAttentionCongruence with B = Uᵀ), each row less its mean, X = ca·(that)·V, then X + Xᵀ added
   to cv·g */
INL void AttentionNoiseLanes(int m, double tau0, double gamma, double cv, const Lane *V,
                             const Lane *U, const Lane *G, Lane *T, Lane *X, Lane *g)
{
  const double ca = gamma * gamma / ((double)m * tau0);

  for (int b = 0; b < m; b++) {
    for (int a = 0; a < m; a++) EACH T[a + b * m][l] = 0.0;
    for (int c = 0; c < m; c++) {
      Lane t;
      EACH t[l] = 0.0;
      for (int d = 0; d < m; d++) EACH t[l] += G[c + d * m][l] * U[d + b * m][l];
      for (int a = 0; a < m; a++) EACH T[a + b * m][l] += U[c + a * m][l] * t[l];
    }
  }
  for (int a = 0; a < m; a++) {
    Lane mean;
    EACH mean[l] = 0.0;
    for (int b = 0; b < m; b++) EACH mean[l] += T[a + b * m][l];
    EACH mean[l] /= (double)m;
    for (int b = 0; b < m; b++) EACH T[a + b * m][l] -= mean[l];
  }
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++) {
      Lane x;
      EACH x[l] = 0.0;
      for (int c = 0; c < m; c++) EACH x[l] += T[a + c * m][l] * V[c + b * m][l];
      EACH X[a + b * m][l] = ca * x[l];
    }
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++)
      EACH g[a + b * m][l] = cv * g[a + b * m][l] + (X[a + b * m][l] + X[b + a * m][l]);
}

/* VCone (sde_task.c) in each lane: ok[l] its answer. A lane that fails goes on with values its
   answer no longer depends on. wide[l]: every pivot was above NNL_PSD_TOL·V_jj, so that VCone(V,
   NNL_PSD_TOL) takes the same steps to the same factor and is true as well. */
INL void VConeLanes(int m, const Lane *V, double tol, Lane *L, int64_t *ok, int64_t *wide)
{
  EACH ok[l] = wide[l] = 1;
  for (int j = 0; j < m; j++) {
    Lane d;
    EACH
    {
      const double vjj = V[j + j * m][l];
      ok[l] &= vjj > 0.0 && vjj <= DBL_MAX;
      d[l] = vjj;
    }
    for (int k = 0; k < j; k++) EACH d[l] -= L[j + k * m][l] * L[j + k * m][l];
    EACH
    {
      const double vjj = V[j + j * m][l];
      ok[l] &= d[l] >= -tol * vjj;
      wide[l] &= d[l] > NNL_PSD_TOL * vjj;
      L[j + j * m][l] = d[l] > tol * vjj ? sqrt(d[l]) : 0.0;
    }
    for (int i = j + 1; i < m; i++) {
      Lane v;
      EACH v[l] = V[i + j * m][l];
      for (int k = 0; k < j; k++) EACH v[l] -= L[i + k * m][l] * L[j + k * m][l];
      EACH
      {
        const double ljj = L[j + j * m][l];
        ok[l] &= ljj > 0 || fabs(v[l]) <= sqrt(tol * V[j + j * m][l] * V[i + i * m][l]);
        L[i + j * m][l] = ljj > 0 ? v[l] / ljj : 0.0;
      }
    }
  }
}

/* The drift, and the factors of V and of its correlations */
INL void StepFactors(const NNLConeLanes *c, const Lane *V, Work *w)
{
  const int m = (int)c->m;

  if (c->attention) {
    CorrelationLanes(m, V, w->C);
    AttentionDriftLanes(m, c->tau0, c->gamma, V, w->C, w->f);
    CholeskyLanes(m, w->C, w->U, w->badU);
  }
  if (c->mlp) MlpDriftLanes(m, c, V, w->f);
  CholeskyLanes(m, V, w->R, w->badR);
}

/* The noise, the step, the symmetrisation and VCone(V, 0) */
INL void StepUpdate(const NNLConeLanes *c, double dt, const Lane *dW, Lane *V, Work *w)
{
  const int m = (int)c->m;

  ShapedNoiseLanes(m, w->R, dW, w->T, w->X, w->g);
  if (c->attention)
    AttentionNoiseLanes(m, c->tau0, c->gamma, c->cv, V, w->U, dW + m * m, w->T, w->X, w->g);
  for (int k = 0; k < m * m; k++) EACH V[k][l] += w->f[k][l] * dt + w->g[k][l];
  for (int a = 0; a < m; a++)
    for (int b = a + 1; b < m; b++)
      EACH V[a + b * m][l] = V[b + a * m][l] = 0.5 * (V[a + b * m][l] + V[b + a * m][l]);
  VConeLanes(m, V, 0.0, w->L, w->ok, w->wide);
}

INL void StepInside(const NNLConeLanes *c, const Lane *V, Work *w)
{
  VConeLanes((int)c->m, V, NNL_PSD_TOL, w->L, w->ok, w->wide);
}

NNL_SIMD_FUNCTION(Factors, (const NNLConeLanes *c, const Lane *V, Work *w), (c, V, w), StepFactors)
NNL_SIMD_FUNCTION(Update, (const NNLConeLanes *c, double dt, const Lane *dW, Lane *V, Work *w),
                  (c, dt, dW, V, w), StepUpdate)
NNL_SIMD_FUNCTION(Inside, (const NNLConeLanes *c, const Lane *V, Work *w), (c, V, w), StepInside)

/* The fixed-width ResNet SDE (HayouNoise): K = ΦᵀΦ/n as NNLGram takes it (GramSmall: per pair a <=
   b, rows below n8 into 8 partial sums, row i into sum i mod 8, in order of the rows; those in a
   fixed tree, then the rows past n8 in order, then ·(1/n) + 0), and V's factor R */
INL void HayouFactorsLanes(PetscInt n, int m, const Lane *P, Lane *K, Lane *R, int64_t *bad)
{
  const PetscInt n8    = n - n % 8;
  const double   scale = 1.0 / (double)n;
  Lane           s[NNL_SMALL_M * (NNL_SMALL_M + 1) / 2][8], t;

  /* a block of 8 rows at a time for every pair, so that Φ is read once (GramAccM's loop): pairs
     outside read it m(m+1)/2 times, and past n·m ~ 512 the lanes were slower than a path alone */
  for (int k = 0; k < m * (m + 1) / 2; k++)
    for (int r = 0; r < 8; r++) EACH s[k][r][l] = 0.0;
  for (PetscInt i = 0; i < n8; i += 8)
    for (int a = 0, k = 0; a < m; a++)
      for (int b = a; b < m; b++, k++)
        for (int r = 0; r < 8; r++) EACH s[k][r][l] += P[i + r + a * n][l] * P[i + r + b * n][l];
  for (int a = 0, k = 0; a < m; a++)
    for (int b = a; b < m; b++, k++) {
      EACH t[l] = 0.0;
      for (PetscInt i = n8; i < n; i++) EACH t[l] += P[i + a * n][l] * P[i + b * n][l];
      EACH K[a + b * m][l] = K[b + a * m][l] =
        scale * (((s[k][0][l] + s[k][1][l]) + (s[k][2][l] + s[k][3][l])) +
                 ((s[k][4][l] + s[k][5][l]) + (s[k][6][l] + s[k][7][l])) + t[l]) +
        0.0;
    }
  CholeskyLanes(m, K, R, bad);
}

/* Y ← Y + (0 + g), g = 1·dB R (NNLProject: Σ_a dB_ia R_ab in order of a), the step of NNLSDEStepEM
 * without a drift */
INL void HayouUpdateLanes(PetscInt n, int m, const Lane *R, const Lane *dB, Lane *Y)
{
  for (PetscInt i = 0; i < n; i++)
    for (int b = 0; b < m; b++) {
      Lane acc;
      EACH acc[l] = dB[i][l] * R[b * m][l];
      for (int a = 1; a < m; a++) EACH acc[l] += dB[i + a * n][l] * R[a + b * m][l];
      EACH Y[i + b * n][l] += 0.0 + 1.0 * acc[l];
    }
}

NNL_SIMD_FUNCTION(HayouFactors, (PetscInt n, int m, const Lane *P, Lane *K, Lane *R, int64_t *bad),
                  (n, m, P, K, R, bad), HayouFactorsLanes)
NNL_SIMD_FUNCTION(HayouUpdate, (PetscInt n, int m, const Lane *R, const Lane *dB, Lane *Y),
                  (n, m, R, dB, Y), HayouUpdateLanes)

static void LaneGet(PetscInt m, const Lane *X, int l, double *x)
{
  for (PetscInt k = 0; k < m * m; k++) x[k] = X[k][l];
}

static void LanePut(PetscInt m, const double *x, int l, Lane *X)
{
  for (PetscInt k = 0; k < m * m; k++) X[k][l] = x[k];
}

/* a lane whose Cholesky factorisation failed: NNLSqrtPSD's factor (the pivoted one) */
static PetscErrorCode SqrtFallback(PetscInt m, const Lane *K, const int64_t *bad, Lane *R)
{
  double k[MM], r[MM];

  PetscFunctionBegin;
  for (int l = 0; l < NL; l++)
    if (bad[l]) {
      LaneGet(m, K, l, k);
      PetscCall(NNLSqrtPSD(m, k, r));
      LanePut(m, r, l, R);
    }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLConeStepLanes(const NNLConeLanes *c, double dt, const double *dW, double *V,
                                PetscBool *inside)
{
  const PetscInt m = c->m;
  Lane          *v = (Lane *)V;
  Work           w;
  double         x[MM];
  PetscBool      all = PETSC_TRUE;

  PetscFunctionBegin;
  Factors(c, v, &w);
  if (c->attention) PetscCall(SqrtFallback(m, w.C, w.badU, w.U));
  PetscCall(SqrtFallback(m, v, w.badR, w.R));
  Update(c, dt, (const Lane *)dW, v, &w);
  for (int l = 0; l < NL; l++) {
    if (!w.ok[l]) {
      LaneGet(m, v, l, x);
      PetscCall(c->fix(c->ctx, x));
      LanePut(m, x, l, v);
    }
    all = all && w.ok[l] && w.wide[l];
  }
  if (!all) Inside(c, v, &w); /* else VCone(V, 0) has answered for VCone(V, NNL_PSD_TOL) */
  for (int l = 0; l < NL; l++) inside[l] = w.ok[l] ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLHayouStepLanes(const NNLHayouLanes *h, const double *dW, double *Y)
{
  Lane    K[MM], R[MM];
  int64_t bad[NL];

  PetscFunctionBegin;
  NNLActivationApply(h->act, (size_t)(h->n * h->m * NL), Y, h->Phi);
  HayouFactors(h->n, (int)h->m, (const Lane *)h->Phi, K, R, bad);
  PetscCall(SqrtFallback(h->m, K, bad, R));
  HayouUpdate(h->n, (int)h->m, R, (const Lane *)dW, (Lane *)Y);
  PetscFunctionReturn(0);
}
