/* The SDE limit tasks: the fixed-width ResNet SDE (Hayou 2022) and the covariance SDEs of the
 * shaped MLP (with its Fokker–Planck density), shaped attention and the shaped Transformer. */
#include <math.h>
#include "nnlimits/sde.h"
#include "nnlimits/shaped.h"
#include "nnlimits/attention.h"
#include "nnlimits/fokker_planck.h"
#include "nnlimits/rng.h"
#include "log.h"
#include "netkernel.h"
#include "sdelanes.h"

/* Fixed-width ResNet, L → ∞ (MATH.md §2): dY = dB (ΦᵀΦ/n)^{1/2}. Y, dB: n × m column-major (state =
 * vec Y). */
typedef struct {
  const NNLActivation *act;
  PetscInt             n, m;
  double              *Phi, *K, *R; /* n×m, m×m, m×m */
  NNLHayouLanes        lanes;       /* the same SDE to src/sdelanes.c (m <= NNL_SMALL_M) */
} Hayou;

static PetscErrorCode HayouNoise(void *ctx, double t, const double *Y, const double *dB, double *g)
{
  Hayou *h = (Hayou *)ctx;

  PetscFunctionBegin;
  (void)t;
  NNLActivationApply(h->act, (size_t)(h->n * h->m), Y, h->Phi);
  NNLGram(h->n, h->m, h->Phi, 1.0 / (double)h->n, 0.0, h->K);
  PetscCall(NNLSqrtPSD(h->m, h->K, h->R));
  /* rows of dB R are iid N(0, dt ΦᵀΦ/n): the law of one residual block with L^{-1/2} = √dt (the
   * projection sampler) */
  NNLProject(h->n, h->m, dB, h->R, 1.0, 0.0, g);
  PetscFunctionReturn(0);
}

static PetscErrorCode HayouLanes(void *ctx, double t, double dt, const double *dW, double *Y,
                                 PetscBool *inside)
{
  (void)t;
  (void)dt;
  for (int l = 0; l < NNL_SDE_LANES; l++) inside[l] = PETSC_FALSE; /* no state space to leave */
  return NNLHayouStepLanes(&((const Hayou *)ctx)->lanes, dW, Y);
}

/* Shaped MLP, n, L → ∞ with L/n → T (MATH.md §2): dV = b(V) dt + Σ(V)^{1/2} dB, Σ_(ab),(cd) = V_ac
   V_bd + V_ad V_bc. State: V full m×m. With V = RᵀR and G an m×m matrix of iid N(0, dt), Rᵀ ((G +
   Gᵀ)/√2) R has exactly covariance Σ dt. */
typedef struct {
  const NNLJob        *job;
  const NNLActivation *act;
  PetscInt             m;
  double               d2, d3;
  double              *R, *S, *T; /* m×m each */
  double              *L;         /* m×m: VCone's Cholesky factor */
  NNLConeLanes         lanes;     /* the same SDE to src/sdelanes.c (m <= NNL_SMALL_M) */
} Shaped;

/* f ← keep·f + scale·b(V), b the shaped MLP's drift: each pair a <= b once, mirrored (V is exactly
   symmetric, see ShapedProject, and b(V)_ab's expression is symmetric in a, b: the same bits as
   evaluating both halves, in half the evaluations of the shaped ReLU's F(ρ)) */
static void ShapedDriftAdd(const Shaped *s, double keep, double scale, const double *V, double *f)
{
  const PetscInt m = s->m;

  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++) {
      const double v = scale * NNLShapedDrift(s->job, s->act, s->d2, s->d3, V[a + a * m],
                                              V[b + b * m], V[a + b * m]);
      f[a + b * m]   = keep == 0.0 ? v : f[a + b * m] + v;
      if (b > a) f[b + a * m] = keep == 0.0 ? v : f[b + a * m] + v;
    }
}

static PetscErrorCode ShapedDrift(void *ctx, double t, const double *V, double *f)
{
  (void)t;
  ShapedDriftAdd((const Shaped *)ctx, 0.0, 1.0, V, f);
  return 0;
}

static PetscErrorCode ShapedNoise(void *ctx, double t, const double *V, const double *G, double *g)
{
  Shaped        *s = (Shaped *)ctx;
  const PetscInt m = s->m;

  PetscFunctionBegin;
  (void)t;
  PetscCall(NNLSqrtPSD(m, V, s->R));
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++) s->S[a + b * m] = (G[a + b * m] + G[b + a * m]) * M_SQRT1_2;
  /* g = Rᵀ S R by NNLProject (our own loops for m <= NNL_SMALL_M, the same bits on every machine;
     OpenBLAS's DGEMM gave other paths with each of its core types, and at m = 2 its locks and
     buffers took ~20 % of jobs/li_nica_roy_2022_shaped.opts): T = S R transposed is Rᵀ S, S being
     symmetric; then g = T R. */
  NNLProject(m, m, s->S, s->R, 1.0, 0.0, s->T);
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a + 1; b < m; b++) {
      double t        = s->T[a + b * m];
      s->T[a + b * m] = s->T[b + a * m];
      s->T[b + a * m] = t;
    }
  NNLProject(m, m, s->T, s->R, 1.0, 0.0, g);
  PetscFunctionReturn(0);
}

/* The state space of V (shaped MLP, attention): the positive semidefinite cone, as a Gram matrix
   is, with every variance V_aa > 0. VCone: a Cholesky factorisation into s->L that takes a pivot
   within tol·V_jj of 0 as 0 (its column must then be 0 to √(tol V_ii V_jj)); NaN is outside.
   NNL_PSD_TOL is rounding's reach: near a singular V (inputs of correlation 1, which the SDE keeps
   at 1) the noise's factor Σ(V)^{1/2} turns eigenvalue errors of 1e-16 into 1e-8, and ShapedProject
   puts such a V back on the cone; an Euler step past its boundary (a correlation of 1 + 1e-3) is
   outside, and NNLSDEPath halves it. (NNL_PSD_TOL, sdelanes.h.) */
static PetscBool VCone(const Shaped *s, const double *V, double tol)
{
  const PetscInt m = s->m;
  double        *L = s->L;

  for (PetscInt j = 0; j < m; j++) {
    const double vjj = V[j + j * m];
    double       d   = vjj;
    if (!(vjj > 0) || !isfinite(vjj)) return PETSC_FALSE;
    for (PetscInt k = 0; k < j; k++) d -= L[j + k * m] * L[j + k * m];
    if (!(d >= -tol * vjj)) return PETSC_FALSE;
    L[j + j * m] = d > tol * vjj ? sqrt(d) : 0.0;
    for (PetscInt i = j + 1; i < m; i++) {
      double v = V[i + j * m];
      for (PetscInt k = 0; k < j; k++) v -= L[i + k * m] * L[j + k * m];
      if (L[j + j * m] > 0)
        L[i + j * m] = v / L[j + j * m];
      else if (!(fabs(v) <= sqrt(tol * vjj * V[i + i * m])))
        return PETSC_FALSE;
      else
        L[i + j * m] = 0.0;
    }
  }
  return PETSC_TRUE;
}

static PetscBool VInside(void *ctx, const double *V)
{
  return VCone((const Shaped *)ctx, V, NNL_PSD_TOL);
}

/* A symmetric V that fails VCone(V, 0): back onto the cone when within NNL_PSD_TOL of it (the rest
   of ShapedProject; src/sdelanes.c's lanes call it too) */
static PetscErrorCode ConeFix(const void *ctx, double *V)
{
  const Shaped *s = (const Shaped *)ctx;

  PetscFunctionBegin;
  if (!VCone(s, V, 0.0) && VCone(s, V, NNL_PSD_TOL)) {
    PetscCall(NNLSqrtPSD(s->m, V, s->R));
    NNLGram(s->m, s->m, s->R, 1.0, 0.0, V);
  }
  PetscFunctionReturn(0);
}

/* After each step. Rounding makes RᵀSR asymmetric in the last bit: keep V exactly symmetric, as the
   Gram matrix it models is. It also takes a V on the cone's boundary off it: a V off by no more
   than NNL_PSD_TOL goes back, as RᵀR of its pivoted Cholesky factor R (NNLSqrtPSD; rows past the
   numerical rank zero). Without it, paths from inputs of correlation 1 drifted (shaped ReLU and
   tanh, n = 16, T = 16: 10 and 14 % of the paths past ρ = 1 + 1e-6 at the end, up to ρ = 1.19
   and 2.25). A V strictly inside keeps its bits. */
static PetscErrorCode ShapedProject(void *ctx, double *V)
{
  const Shaped  *s = (const Shaped *)ctx;
  const PetscInt m = s->m;

  PetscFunctionBegin;
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a + 1; b < m; b++)
      V[a + b * m] = V[b + a * m] = 0.5 * (V[a + b * m] + V[b + a * m]);
  PetscCall(ConeFix(s, V));
  PetscFunctionReturn(0);
}

/* The shaped MLP's, attention's and the transformer's SDE, NNL_SDE_LANES paths at a time (ctx: a
   Shaped, or an Attention, which begins with one) */
static PetscErrorCode ConeLanes(void *ctx, double t, double dt, const double *dW, double *V,
                                PetscBool *inside)
{
  (void)t;
  return NNLConeStepLanes(&((const Shaped *)ctx)->lanes, dt, dW, V, inside);
}

/* s->lanes, and sde->lanes when m <= NNL_SMALL_M (past it the scalar callbacks take LAPACK's and
   BLAS's factors and products, which the lanes do not repeat); mlp_scale 0: no MLP drift. After
   NNLShapedDerivatives. */
static void ConeLanesSet(Shaped *s, NNLSDE *sde, PetscBool attention, double tau0, double gamma,
                         double cv, double mlp_scale)
{
  const NNLJob *job = s->job;
  const double  dc  = job->shape_c_plus - job->shape_c_minus;

  s->lanes = (NNLConeLanes){s->m,
                            attention,
                            tau0,
                            gamma,
                            cv,
                            mlp_scale == 0.0          ? 0
                            : NNLShapedIsRelu(s->act) ? 1
                                                      : 2,
                            mlp_scale,
                            dc * dc / (2 * M_PI),
                            s->d2 * s->d2 / 4,
                            s->d3 / 2,
                            job->shape_a * job->shape_a,
                            ConeFix,
                            s};
  if (s->m <= NNL_SMALL_M) sde->lanes = ConeLanes;
}

/* Shaped attention, n, L → ∞ with L/n → T (src/attention.c): dV = b(V) dt + the values' noise
   √(γ²(2−γ²)) Rᵀ S R (as the shaped MLP's, S = (G + Gᵀ)/√2, V = RᵀR) + the attention's
   (NNLAttentionNoise). Noise: G then G', m² each. The shaped transformer adds its MLP sub-block, Y
   ← λY + γ√(c/n) W₂ φ_s(W₁Y/√n): given Y its hidden layer is a shaped MLP's layer, so E[V' − V] =
   γ²(c E φ_s(z)φ_s(z)ᵀ − V) = γ² b_MLP(V)/n (the shaped MLP's drift), and its noise is (2λ²γ² + γ⁴
   + γ⁴)(V_ac V_bd + V_ad V_bc)/n = 2γ² of it: the cross terms λγ(YᵀW₂Φ + ΦᵀW₂ᵀY), W₂'s Wishart and
   the hidden layer's own (W₁), each with Φ ≈ Y. With the values', one draw of √(γ²(2 − γ²) + 2γ²)
   Rᵀ S R. */
typedef struct {
  Shaped    s; /* the values' noise, and the state's symmetrisation; the MLP's φ_s (transformer) */
  double    tau0, gamma;
  PetscBool mlp;      /* shaped_transformer: the MLP sub-block's drift and noise too */
  double   *work, *X; /* 4m² + 3m, m×m */
} Attention;

static PetscErrorCode AttentionDriftFn(void *ctx, double t, const double *V, double *f)
{
  Attention     *at = (Attention *)ctx;
  const PetscInt m  = at->s.m;

  (void)t;
  NNLAttentionDrift(m, at->tau0, at->gamma, V, f, at->work);
  if (at->mlp) ShapedDriftAdd(&at->s, 1.0, at->gamma * at->gamma, V, f);
  return 0;
}

/* The values' noise factor (with the MLP sub-block's in the transformer) */
static double ValuesNoiseScale(const Attention *at)
{
  const double g2 = at->gamma * at->gamma;
  return sqrt(g2 * (2.0 - g2) + (at->mlp ? 2.0 * g2 : 0.0));
}

static PetscErrorCode AttentionNoise(void *ctx, double t, const double *V, const double *G,
                                     double *g)
{
  Attention     *at = (Attention *)ctx;
  const PetscInt m  = at->s.m;
  const double   cv = ValuesNoiseScale(at);

  PetscFunctionBegin;
  PetscCall(ShapedNoise(&at->s, t, V, G, g));
  PetscCall(NNLAttentionNoise(m, at->tau0, at->gamma, V, G + m * m, at->X, at->work));
  for (PetscInt i = 0; i < m * m; i++) g[i] = cv * g[i] + at->X[i];
  PetscFunctionReturn(0);
}

/* Path p's Y_0 = W_in x (n×m), rows iid N(0, C) as the network's embedding: Z (n×m) its normals, RC
 * the factor of C. */
static void PathEmbedding(const NNLJob *job, const NNLPoint *pt, PetscInt p, const double *RC,
                          double *Z, double *Y)
{
  const PetscInt n = pt->width, m = job->inputs;
  NNLRngStream   s;

  NNLRngStreamInit(&s, (uint64_t)job->run_seed, pt->id, 0, NNL_PURPOSE_SDE_INIT);
  NNLRngNormals(&s, (uint64_t)p * (uint64_t)(n * m), (size_t)(n * m), Z);
  NNLProject(n, m, Z, RC, 1.0, 0.0, Y);
}

/* Paths integrated together by NNLSDEPaths: as many as keep their states and a step's normals
   within 256 KB. */
static PetscInt PathBatch(const NNLJob *job, const NNLSDE *sde)
{
  return PetscMax(1, PetscMin(job->sde_paths, 32768 / PetscMax(sde->dim + sde->nnoise, 1)));
}

/* 8 paths a step in lanes for n·m <= 256 (NNLSDEPaths then groups the paths). Past n·m ~ 512 the
   lanes were slower than a path at a time (m = 8, n = 64, 128, 256: 2466, 4764, 9205 ns a path-step
   against 2306, 4212, 8442; m = 2, n = 512: 3246 against 3052): 8 paths' states, φ and increments
   outgrow the L1 cache that one path's fit in, and a path's own loops are long enough to fill the
   vectors. At n·m = 256 they are 14 % faster (m = 8, n = 32: 1064 against 1237 ns), at 64 21 %. */
PetscBool NNLHayouUsesLanes(PetscInt n, PetscInt m)
{
  return m <= NNL_SMALL_M && n * m <= 256 ? PETSC_TRUE : PETSC_FALSE;
}

/* Per-path output: V (np pairs a <= b, a-major) then ln(‖φ(Y_a)‖²/n) per input. */
static PetscErrorCode HayouPaths(const NNLJob *job, const NNLPoint *pt, PetscInt nsteps,
                                 NNLPollFn poll, void *pctx, PetscBool *abandon, NNLResult *res)
{
  const PetscInt n = pt->width, m = job->inputs, np = m * (m + 1) / 2;
  Hayou          h   = {&job->act[pt->act], n, m, NULL, NULL, NULL, {NULL, 0, 0, NULL}};
  NNLSDE         sde = {n * m, n * m, NULL, HayouNoise, NULL, &h, NULL, NULL};
  const PetscInt B   = PathBatch(job, &sde);
  double        *Y, *C, *RC;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(n * m, &h.Phi, m * m, &h.K, m * m, &h.R));
  if (NNLHayouUsesLanes(n, m)) {
    h.lanes = (NNLHayouLanes){h.act, n, m, NULL};
    PetscCall(PetscMalloc1((size_t)(n * m) * NNL_SDE_LANES, &h.lanes.Phi));
    sde.lanes = HayouLanes;
  }
  PetscCall(PetscMalloc3(B * n * m, &Y, m * m, &C, m * m, &RC));
  NNLJobInputCov(job, C);
  PetscCall(NNLSqrtPSD(m, C, RC));
  for (PetscInt p0 = 0; p0 < job->sde_paths && !*abandon; p0 += B) {
    const PetscInt b = PetscMin(B, job->sde_paths - p0);
    for (PetscInt c = 0; c < b; c++) PathEmbedding(job, pt, p0 + c, RC, h.Phi, Y + c * n * m);
    PetscCall(NNLSDEPaths(&sde, (uint64_t)job->run_seed, pt->id, p0, b, 1.0, nsteps, Y, NULL, poll,
                          pctx, abandon));
    for (PetscInt c = 0; c < b && !*abandon; c++) {
      double *out = res->paths + (p0 + c) * (np + m), *Yc = Y + c * n * m;
      NNLActivationApply(h.act, (size_t)(n * m), Yc, h.Phi);
      NNLGramPacked(n, m, Yc, out);
      for (PetscInt a = 0; a < m; a++)
        out[np + a] = log(NNLDot(n, h.Phi + a * n, h.Phi + a * n) / (double)n);
    }
  }
  PetscCall(PetscFree3(Y, C, RC));
  PetscCall(PetscFree3(h.Phi, h.K, h.R));
  PetscCall(PetscFree(h.lanes.Phi));
  PetscFunctionReturn(0);
}

/* A batch of b paths p0… of a covariance SDE (state V, m×m each) into res: per path V's pairs a <=
   b and ln V_aa − lgain; *nhalved counts the paths that took half steps (h: per path). */
static void CovPathsOut(NNLResult *res, PetscInt m, PetscInt p0, PetscInt b, const double *V,
                        const PetscInt *h, double lgain, PetscInt *nhalved)
{
  const PetscInt np = m * (m + 1) / 2;

  for (PetscInt c = 0; c < b; c++) {
    double       *out = res->paths + (p0 + c) * (np + m);
    const double *Vc  = V + c * m * m;
    *nhalved += h[c] > 0;
    for (PetscInt a = 0, k = 0; a < m; a++) {
      for (PetscInt bb = a; bb < m; bb++, k++) out[k] = Vc[a + bb * m];
      out[np + a] = log(Vc[a + a * m]) - lgain;
    }
  }
}

static PetscErrorCode ShapedPaths(const NNLJob *job, const NNLPoint *pt, double T, PetscInt nsteps,
                                  NNLPollFn poll, void *pctx, PetscBool *abandon, PetscInt *nhalved,
                                  NNLResult *res)
{
  const PetscInt m   = job->inputs;
  Shaped         s   = {job, &job->act[pt->act], m, 0, 0, NULL, NULL, NULL, NULL, {0}};
  NNLSDE         sde = {m * m, m * m, ShapedDrift, ShapedNoise, ShapedProject, &s, VInside, NULL};
  const PetscInt B   = PathBatch(job, &sde);
  double        *V;
  PetscInt      *h; /* per path of a batch, its halvings */

  PetscFunctionBegin;
  NNLShapedDerivatives(s.act, &s.d2, &s.d3);
  ConeLanesSet(&s, &sde, PETSC_FALSE, 0.0, 0.0, 1.0, 1.0);
  PetscCall(PetscMalloc5(m * m, &s.R, m * m, &s.S, m * m, &s.T, m * m, &s.L, B * m * m, &V));
  PetscCall(PetscMalloc1(B, &h));
  for (PetscInt p0 = 0; p0 < job->sde_paths && !*abandon; p0 += B) {
    const PetscInt b = PetscMin(B, job->sde_paths - p0);
    for (PetscInt c = 0; c < b; c++) NNLJobInputCov(job, V + c * m * m);
    PetscCall(NNLSDEPaths(&sde, (uint64_t)job->run_seed, pt->id, p0, b, T, nsteps, V, h, poll, pctx,
                          abandon));
    /* ‖φ_n(y)‖²/n of a Gaussian y of variance V_aa is V_aa (s₊² + s₋²)/2 = V_aa/c at the width n
       of this task (the shaped ReLU; c = 1 for smooth shaping, where φ_n → identity): the limit's
       own value is ln V_aa, but the laws table sets this beside width-n networks, whose
       post-activation norms sit ln c lower (0.25 at n = 16) */
    if (!*abandon)
      CovPathsOut(res, m, p0, b, V, h, log(NNLShapedGain(job, s.act, pt->width)), nhalved);
  }
  PetscCall(PetscFree(h));
  PetscCall(PetscFree5(s.R, s.S, s.T, s.L, V));
  PetscFunctionReturn(0);
}

/* Each path starts from the law of the embedding's Gram (width n: Y_0 = W_in x, rows iid N(0, C)),
   as the networks do: its O(n^{-1/2}) fluctuation is worth 1/(γ²(2 − γ²)) of the block's layers,
   more than one at γ < 1. */
static PetscErrorCode AttentionPaths(const NNLJob *job, const NNLPoint *pt, double T,
                                     PetscInt nsteps, NNLPollFn poll, void *pctx,
                                     PetscBool *abandon, PetscInt *nhalved, NNLResult *res)
{
  const PetscInt n = pt->width, m = job->inputs;
  Attention      at  = {{job, &job->act[pt->act], m, 0, 0, NULL, NULL, NULL, NULL, {0}},
                        NNLJobAttnTau0(job, pt->act),
                        NNLJobAttnGamma(job, pt->act),
                  pt->family == NNL_FAMILY_TRANSFORMER ? PETSC_TRUE : PETSC_FALSE,
                        NULL,
                        NULL};
  NNLSDE         sde = {m * m,         2 * m * m, AttentionDriftFn, AttentionNoise,
                        ShapedProject, &at,       VInside,          NULL};
  const PetscInt B   = PathBatch(job, &sde);
  double        *V, *Z, *Y, *RC;
  PetscInt      *h; /* per path of a batch, its halvings */

  PetscFunctionBegin;
  if (at.mlp) NNLShapedDerivatives(at.s.act, &at.s.d2, &at.s.d3);
  ConeLanesSet(&at.s, &sde, PETSC_TRUE, at.tau0, at.gamma, ValuesNoiseScale(&at),
               at.mlp ? at.gamma * at.gamma : 0.0);
  PetscCall(
    PetscMalloc5(m * m, &at.s.R, m * m, &at.s.S, m * m, &at.s.T, m * m, &at.s.L, B * m * m, &V));
  PetscCall(PetscMalloc2(4 * m * m + 3 * m, &at.work, m * m, &at.X));
  PetscCall(PetscMalloc4(n * m, &Z, n * m, &Y, m * m, &RC, B, &h));
  NNLJobInputCov(job, V);
  PetscCall(NNLSqrtPSD(m, V, RC));
  for (PetscInt p0 = 0; p0 < job->sde_paths && !*abandon; p0 += B) {
    const PetscInt b = PetscMin(B, job->sde_paths - p0);
    for (PetscInt c = 0; c < b; c++) {
      PathEmbedding(job, pt, p0 + c, RC, Z, Y);
      NNLGram(n, m, Y, 1.0 / (double)n, 0.0, V + c * m * m);
    }
    PetscCall(NNLSDEPaths(&sde, (uint64_t)job->run_seed, pt->id, p0, b, T, nsteps, V, h, poll, pctx,
                          abandon));
    /* the stream's φ is the identity: ‖φ(y_a)‖²/n = V_aa (ln V_aa − 0 is ln V_aa's bits) */
    if (!*abandon) CovPathsOut(res, m, p0, b, V, h, 0.0, nhalved);
  }
  PetscCall(PetscFree4(Z, Y, RC, h));
  PetscCall(PetscFree2(at.work, at.X));
  PetscCall(PetscFree5(at.s.R, at.s.S, at.s.T, at.s.L, V));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSDETaskCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *pctx,
                                 NNLResult **result)
{
  const PetscBool fp = NNLPointHasFokkerPlanck(job, pt);
  const double    T  = NNLSDETime(pt->family, pt->width, pt->depth, pt->depth);
  PetscInt nrec, *layers, nhalved = 0, nsteps = T > 0 ? (PetscInt)ceil(T / job->sde_dt - 1e-9) : 0;
  NNLResult *res;
  double     t0      = MPI_Wtime();
  PetscBool  abandon = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(NNLLogRegister());
  PetscCall(PetscLogEventBegin(NNL_EVENT_LIMIT, 0, 0, 0, 0));
  PetscCall(NNLJobRecordLayers(job, pt->family, pt->depth, &nrec, &layers));
  PetscCall(NNLResultCreateSDE(nrec, job->inputs, job->sde_paths, fp ? job->fp_cells : 0, &res));
  PetscCall(PetscArraycpy(res->layers, layers, nrec));
  res->point = pt->ord;
  if (pt->family == NNL_FAMILY_RESNET)
    PetscCall(HayouPaths(job, pt, nsteps, poll, pctx, &abandon, res));
  else if (pt->family == NNL_FAMILY_ATTENTION || pt->family == NNL_FAMILY_TRANSFORMER)
    PetscCall(AttentionPaths(job, pt, T, nsteps, poll, pctx, &abandon, &nhalved, res));
  else
    PetscCall(ShapedPaths(job, pt, T, nsteps, poll, pctx, &abandon, &nhalved, res));
  if (!abandon) { /* paths whose V left the state space (the laws table leaves them out: their ρ or
                     ln V_aa is not finite) */
    const PetscInt m = job->inputs, np = m * (m + 1) / 2, w = np + m;
    PetscInt       bad = 0;
    for (PetscInt p = 0; p < res->npath; p++) {
      PetscBool out = PETSC_FALSE;
      for (PetscInt a = 0, k = 0; a < m; a++)
        for (PetscInt b = a; b < m; b++, k++)
          out = out || !isfinite(res->paths[p * w + k]) || (a == b && !(res->paths[p * w + k] > 0));
      bad += out ? 1 : 0;
    }
    if (bad && pt->family == NNL_FAMILY_RESNET) /* its steps are not halved: no state space */
      snprintf(res->message, sizeof(res->message),
               "%" PetscInt_FMT " of %" PetscInt_FMT
               " SDE paths blew up (the Gram of Y not finite, or a variance <= 0); the laws table "
               "leaves them out (a smaller -sde_dt may help)",
               bad, res->npath);
    else if (bad)
      snprintf(res->message, sizeof(res->message),
               "%" PetscInt_FMT " of %" PetscInt_FMT
               " SDE paths left the state space (V not finite, or "
               "a variance V_aa <= 0) even with steps halved %d times; the laws table leaves them "
               "out (a smaller -sde_dt may help)",
               bad, res->npath, NNL_SDE_MAX_HALVINGS);
    else if (nhalved)
      snprintf(res->message, sizeof(res->message),
               "%" PetscInt_FMT " of %" PetscInt_FMT
               " SDE paths left the state space (V not positive "
               "semidefinite) in a step of -sde_dt and took it again in halves, on the same "
               "Brownian path (a smaller -sde_dt may be "
               "more exact)",
               nhalved, res->npath);
  }
  if (abandon)
    res->status = NNL_STATUS_ABANDONED;
  else if (fp) {
    const double k = (job->shape_c_plus - job->shape_c_minus) *
                     (job->shape_c_plus - job->shape_c_minus) / (2 * M_PI);
    /* The solve stops at every layer from 0 to the last recorded one, and keeps the recorded
       layers' densities: its steps end on each time it stops at, so stopping at the recorded layers
       alone made a layer's density depend on which layers were recorded (-record_layers, and, by
       its log-spacing, on the job's deepest depth): the same network's density at its last layer
       differed in its last digits between a job of depth 16 and one of depths 16 and 32 (the
       reproducibility review; meta fp_layers, storeschema.c). */
    const PetscInt nt = nrec ? layers[nrec - 1] + 1 : 0;
    double        *t;
    PetscBool     *keep, ok;
    PetscCall(PetscMalloc2(nt, &t, nt, &keep));
    for (PetscInt l = 0; l < nt; l++) {
      t[l]    = NNLSDETime(pt->family, pt->width, pt->depth, l);
      keep[l] = PETSC_FALSE;
    }
    for (PetscInt r = 0; r < nrec; r++) keep[layers[r]] = PETSC_TRUE;
    PetscCall(NNLFokkerPlanckSolve(k, NNLJobInputCorrelation(job, 0, 1), job->fp_cells, nt, t, keep,
                                   res->fp, &ok, res->message, sizeof(res->message), poll, pctx,
                                   &abandon));
    PetscCall(PetscFree2(t, keep));
    if (abandon)
      res->status = NNL_STATUS_ABANDONED;
    else if (!ok) {
      res->status = NNL_STATUS_FAILED;
      for (PetscInt i = 0; i < nrec * res->ncell; i++) res->fp[i] = NAN;
    }
  }
  PetscCall(PetscFree(layers));
  res->seconds = MPI_Wtime() - t0;
  PetscCall(PetscLogEventEnd(NNL_EVENT_LIMIT, 0, 0, 0, 0));
  *result = res;
  PetscFunctionReturn(0);
}
