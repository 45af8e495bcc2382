/* The shaped attention block (src/attention.c) and its covariance SDE: the SDE's coefficients
   against the block's own definition (finite differences of the exact softmax), then the networks
   as workers sample them against exact facts and against the SDE task. Fixed seeds; bounds of 4
   standard errors, with what each would catch. */
// ctest-label: law
#include <string.h>
#include "testutil.h"
#include "nnlimits/attention.h"
#include "nnlimits/laws.h"
#include "nnlimits/net.h"
#include "nnlimits/sde.h"

enum { M = 3 };

/* F(u) = A V Aᵀ with A = I + softmax(u) − 11ᵀ/m (softmax by rows), the block's mean given the
   logits u (M×M): libm's exp, written from the definition, not from src/attention.c. */
static void BlockMean(const double *u, const double *V, double *F)
{
  double A[M * M];

  for (int a = 0; a < M; a++) {
    double sum = 0;
    for (int b = 0; b < M; b++) sum += exp(u[a + b * M]);
    for (int b = 0; b < M; b++) A[a + b * M] = exp(u[a + b * M]) / sum - 1.0 / M + (a == b);
  }
  for (int a = 0; a < M; a++)
    for (int b = 0; b < M; b++) {
      double f = 0;
      for (int c = 0; c < M; c++)
        for (int d = 0; d < M; d++) f += A[a + c * M] * V[c + d * M] * A[b + d * M];
      F[a + b * M] = f;
    }
}

/* NNLAttentionCongruence and NNLAttentionCorrelation, bit for bit, against their sums written here
   in the order the header promises (out_ab = Σ_c B_ac (Σ_d X_cd B_bd), each in order of its index;
   R_ab = V_ab / (√V_aa √V_bb)), at m = 1 … 6 on unsymmetric B and X and a V with a zero variance
   (its row and column 0, its diagonal 1). Catches a transpose of B or X, a sum taken in another
   order or over the wrong index, a root of the wrong diagonal, and the zero variance's row. */
static void test_attention_small_kernels(void **state)
{
  enum { MM = 6 };
  (void)state;
  for (int m = 1; m <= MM; m++) {
    double B[MM * MM], X[MM * MM], V[MM * MM], out[MM * MM], R[MM * MM];
    for (int i = 0; i < m * m; i++) {
      B[i] = sin(1.3 * i + 0.2 * m);
      X[i] = cos(0.7 * i - 0.1 * m);
    }
    for (int a = 0; a < m; a++)
      for (int b = 0; b < m; b++)
        V[a + b * m] =
          a == b ? (a == 1 ? 0.0 : 1.0 + 0.37 * a) : 0.1 * cos(a + b) * (a != 1 && b != 1);
    NNLAttentionCongruence(m, B, X, out);
    NNLAttentionCorrelation(m, V, R);
    for (int a = 0; a < m; a++)
      for (int b = 0; b < m; b++) {
        double k = 0.0, d = sqrt(V[a + a * m]) * sqrt(V[b + b * m]);
        for (int c = 0; c < m; c++) {
          double t = 0.0;
          for (int e = 0; e < m; e++) t += X[c + e * m] * B[b + e * m];
          k += B[a + c * m] * t;
        }
        assert_true(out[a + b * m] == k);
        assert_true(R[a + b * m] == (a == b ? 1.0 : d > 0 ? V[a + b * m] / d : 0.0));
      }
  }
}

/* NNLAttentionLogitFactors' logits M = Qaᵀ Ka have the law of QᵀK for Q = Z_Q U, K = Z_K U (UᵀU =
   R, Z_Q, Z_K nk×m iid N(0, 1)), at m = 3 tokens of correlations 0.5, 0.2, 0.3 and nk = 3 (T's
   last χ² has one degree of freedom) and 5, 2·10^5 draws each: E[M_ab M_cd] = nk R_ac R_bd for all
   81 (a, b, c, d), E[M_ab] = 0, and E[M_00⁴] = 3 nk (nk + 2) (the law beyond its covariance: the χ²
   diagonal), each within 4 s.e. Catches T transposed (E[M_00²] = nk + 2 at U = I), every χ² of nk
   degrees of freedom (nk + j), Ka = G without U, T's upper part read from G's normals. */
static void test_attention_logit_factors(void **state)
{
  enum { N = 200000 };
  const double C[M * M] = {1, 0.5, 0.2, 0.5, 1, 0.3, 0.2, 0.3, 1};
  double       U[M * M], Z[M * M + M * (M - 1) / 2], work[M * M + 2 * M], Qa[M * M], Ka[M * M];

  (void)state;
  assert_int_equal(NNLSqrtPSD(M, C, U), 0);
  for (int nk = 3; nk <= 5; nk += 2) {
    static Moments two[M * M][M * M], one[M * M], four;
    memset(two, 0, sizeof(two)), memset(one, 0, sizeof(one)), memset(&four, 0, sizeof(four));
    for (int i = 0; i < N; i++) {
      NNLRngStream z, q;
      double       L[M * M];
      NNLRngStreamInit(&z, 77, (uint64_t)nk, (uint64_t)i, NNL_PURPOSE_TEST);
      NNLRngStreamInit(&q, 78, (uint64_t)nk, (uint64_t)i, NNL_PURPOSE_TEST);
      NNLRngNormals(&z, 0, M * M + M * (M - 1) / 2, Z);
      NNLAttentionLogitFactors(M, nk, Z, &q, U, work, Qa, Ka);
      for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) {
          L[a + b * M] = 0;
          for (int k = 0; k < M; k++) L[a + b * M] += Qa[k + a * M] * Ka[k + b * M];
        }
      for (int e = 0; e < M * M; e++) {
        MomentsAdd(&one[e], L[e]);
        for (int f = 0; f < M * M; f++) MomentsAdd(&two[e][f], L[e] * L[f]);
      }
      MomentsAdd(&four, L[0] * L[0] * L[0] * L[0]);
    }
    for (int e = 0; e < M * M; e++) {
      ASSERT_WITHIN_4SE("E[M_ab]", one[e].mean, 0.0, MomentsSE(&one[e]));
      for (int f = 0; f < M * M; f++) /* e = a + bM, f = c + dM: nk R_ac R_bd */
        ASSERT_WITHIN_4SE("E[M_ab M_cd]", two[e][f].mean,
                          nk * C[e % M + (f % M) * M] * C[e / M + (f / M) * M],
                          MomentsSE(&two[e][f]));
    }
    print_message("nk %d: E[M_00^2] %.4f (exact %d), E[M_00^4] %.3f (exact %d)\n", nk,
                  two[0][0].mean, nk, four.mean, 3 * nk * (nk + 2));
    ASSERT_WITHIN_4SE("E[M_00^4]", four.mean, 3.0 * nk * (nk + 2), MomentsSE(&four));
  }
}

/* The SDE's drift and attention noise from the block: with logits of covariance E[u_ij u_kl] = R_ik
   R_jl/(τ₀² n) per layer (R the tokens' correlations) and n layers a unit of t, the drift is γ²
   (1/τ₀²) ½ Σ R_ik R_jl ∂²F/∂u_ij∂u_kl at u = 0, and the noise of a step with normals G is γ² DF(u)
   at u = UᵀGU/τ₀ (UᵀU = R, covariance R_ik R_jl). Both by central differences (h = 1e-4: error
   ~1e-8) against NNLAttentionDrift and NNLAttentionNoise, at a V with unequal variances and
   correlations. Catches any slip of the closed form: the w term's sign or 1/(2m), tr(PRPV)'s 1/m²,
   R read for V or V for R, the noise's P, its 1/m or a transpose. */
static void test_attention_sde_from_block(void **state)
{
  const double V[M * M] = {1.0, 0.6, 0.2, 0.6, 2.0, -0.3, 0.2, -0.3, 0.7}, tau0 = 0.7, gamma = 0.6,
                     h = 1e-4;
  double R[M * M], U[M * M], f[M * M], work[4 * M * M + 3 * M], fd[M * M] = {0};

  (void)state;
  NNLAttentionCorrelation(M, V, R);
  NNLAttentionDrift(M, tau0, gamma, V, f, work);
  for (int i = 0; i < M * M; i++)
    for (int k = 0; k < M * M; k++) {
      const double c =
        R[(i % M) + (k % M) * M] * R[(i / M) + (k / M) * M]; /* u_ij at i + j·M: R_ik R_jl */
      double u[M * M] = {0}, Fpp[M * M], Fpm[M * M], Fmp[M * M], Fmm[M * M];
      u[i] += h, u[k] += h, BlockMean(u, V, Fpp);
      u[k] -= 2 * h, BlockMean(u, V, Fpm);
      u[i] -= 2 * h, BlockMean(u, V, Fmm);
      u[k] += 2 * h, BlockMean(u, V, Fmp);
      for (int e = 0; e < M * M; e++)
        fd[e] += 0.5 * c * (Fpp[e] - Fpm[e] - Fmp[e] + Fmm[e]) / (4 * h * h);
    }
  for (int e = 0; e < M * M; e++) {
    fd[e] *= gamma * gamma / (tau0 * tau0);
    print_message("drift[%d]: closed form %.10f, block %.10f\n", e, f[e], fd[e]);
    assert_true(fabs(f[e] - fd[e]) < 1e-6 * (1 + fabs(fd[e])));
  }
  assert_int_equal(NNLSqrtPSD(M, R, U), 0);
  for (int c = 0; c < M * M; c++) {
    double G[M * M] = {0}, g[M * M], u[M * M], Fp[M * M], Fm[M * M];
    G[c]            = 1;
    assert_int_equal(NNLAttentionNoise(M, tau0, gamma, V, G, g, work), 0);
    for (int a = 0; a < M; a++) /* u = h UᵀGU/τ₀ */
      for (int b = 0; b < M; b++) u[a + b * M] = h * U[(c % M) + a * M] * U[(c / M) + b * M] / tau0;
    BlockMean(u, V, Fp);
    for (int e = 0; e < M * M; e++) u[e] = -u[e];
    BlockMean(u, V, Fm);
    for (int e = 0; e < M * M; e++)
      assert_true(fabs(g[e] - gamma * gamma * (Fp[e] - Fm[e]) / (2 * h)) < 1e-7);
  }
}

/* The attention matrix: rows sum to 1 (softmax rows sum to 1, less 1/m each, plus the identity's
   1), and logits of zero (queries orthogonal to keys) give A = I exactly; a row's largest logit
   takes the largest weight. The unshaped (softmax_attention) matrix is the softmax itself: the
   shaped one less I, plus 11ᵀ/m, and 1/m everywhere at zero logits. */
static void test_attention_matrix(void **state)
{
  const double Q[2 * M] = {1, 0, 0, 1, 1, 1}, K[2 * M] = {0.5, 0, 0, 2, -1, 0};
  double       A[M * M], Z[2 * M]                      = {0};

  (void)state;
  NNLAttentionMatrix(M, 2, Q, K, 0.3, PETSC_TRUE, A);
  for (int a = 0; a < M; a++) {
    double s = 0;
    for (int b = 0; b < M; b++) s += A[a + b * M];
    assert_true(fabs(s - 1) < 1e-15);
  }
  /* row 1 (q = (0,1)): logits 0, 0.6, 0: the key of token 1 gets the most */
  assert_true(A[1 + 1 * M] - 1 > A[1 + 0 * M] && A[1 + 0 * M] == A[1 + 2 * M]);
  {
    double S[M * M];
    NNLAttentionMatrix(M, 2, Q, K, 0.3, PETSC_FALSE, S);
    for (int e = 0; e < M * M; e++)
      assert_true(fabs(S[e] - (A[e] - (e % M == e / M) + 1.0 / M)) < 1e-15 && S[e] > 0);
  }
  NNLAttentionMatrix(M, 2, Z, K, 0.3, PETSC_TRUE, A);
  for (int a = 0; a < M; a++)
    for (int b = 0; b < M; b++) assert_true(fabs(A[a + b * M] - (a == b)) < 1e-16);
  NNLAttentionMatrix(M, 2, Z, K, 0.3, PETSC_FALSE, A);
  for (int e = 0; e < M * M; e++) assert_true(fabs(A[e] - 1.0 / M) < 1e-16);
}

/* One token (m = 1): softmax over one logit is 1, so A = I and a layer is V ← V (λ² + 2λγ g/√n + γ²
   χ²_n/n), g ~ N(0,1): E[V_L / V_0] = (λ² + γ²)^L = 1 exactly, at every width and depth, for either
   sampler. n = 16, L = 32, γ = 0.5, 3000 seeds: the ratio's variance is (1 + (4λ²γ² + 2γ⁴)/n)^L − 1
   = 4.5, s.e. 0.039 (measured 0.033, 0.034). Catches a value variance other than γ²/n (1.25γ²/n: a
   mean of (λ² + 1.25γ²)^L = 6.9), λ ≠ √(1 − γ²), an A ≠ I for one token. The same for
   softmax_attention, whose softmax over one token is 1 too, and for shaped_transformer (its shaped
   ReLU MLP sub-block at c₋ = −1: E[V''|V'] = λ²V' + γ² c E φ_s(z)² = V' exactly, the gain c =
   2/(s₊² + s₋²) given; L = 16, the ratio's variance (1 + (4λ²γ² + 2γ⁴ + 4γ²)/n)^L − 1 = 4.9):
   catches a gain left out (0.40 at n = 16) or taken twice, the hidden layer's 1/√n left out of the
   dense W₁Y, λ or γ of the MLP sub-block off. softmax_transformer's unshaped ReLU MLP with its gain
   2 (auto σ_w²) too: E[V''|V'] = λ²V' + 2γ² E relu(z)² = V'. */
static void test_attention_single_token(void **state)
{
  (void)state;
  for (int smp = 0; smp < 8; smp++) {
    NNLJob     *job;
    NNLGrid    *grid;
    NNLResult  *res;
    Moments     mo = {0};
    char        opts[512];
    const char *family[] = {"shaped_attention", "softmax_attention", "shaped_transformer",
                            "softmax_transformer"};
    snprintf(opts, sizeof(opts),
             "-family %s -grid_activation %s -grid_width 16 -grid_depth %d -grid_seed 0-3000 "
             "-inputs 1 -attn_gamma 0.5 -record_layers 2 -sampler %s",
             family[smp / 2], smp / 2 >= 2 ? "relu" : "linear", smp / 2 >= 2 ? 16 : 32,
             smp % 2 ? "dense" : "projection");
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                       0);
      assert_int_equal(res->layers[0], 0);
      MomentsAdd(&mo, res->gram[res->nrec - 1] / res->gram[0]);
      NNLResultDestroy(&res);
    }
    print_message("%s: E[V_L/V_0] = %.4f (se %.4f, exact 1)\n", opts, mo.mean, MomentsSE(&mo));
    ASSERT_WITHIN_4SE(opts, mo.mean, 1.0, MomentsSE(&mo));
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* ln V_00, ρ_01 and ρ_12 of the packed pairs q (a <= b, a-major) of m >= 3 inputs. */
static void AddMoments(Moments mo[3], PetscInt m, const double *q)
{
  const PetscInt v00 = 0, v01 = 1, v11 = m, v12 = m + 1, v22 = 2 * m - 1;

  MomentsAdd(&mo[0], log(q[v00]));
  MomentsAdd(&mo[1], q[v01] / sqrt(q[v00] * q[v11]));
  MomentsAdd(&mo[2], q[v12] / sqrt(q[v11] * q[v22]));
}

/* ln V_00, ρ_01 and ρ_12 at the last layer over networks, and over the SDE task's paths. */
static void NetworkMoments(const char *opts, Moments mo[3], PetscBool sde)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  PetscInt   m, np;

  assert_int_equal(TestJob(opts, &job, &grid), 0);
  m  = job->inputs;
  np = m * (m + 1) / 2;
  if (!sde)
    for (PetscInt p = 0; p < grid->nnets; p++) {
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                       0);
      AddMoments(mo, m, res->gram + (res->nrec - 1) * np);
      NNLResultDestroy(&res);
    }
  else {
    assert_int_equal(grid->nsde, 1);
    assert_int_equal(NNLSDETaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
    for (PetscInt p = 0; p < res->npath; p++)
      AddMoments(mo, m, res->paths + p * (np + m)); /* pairs, then log-norms */
    NNLResultDestroy(&res);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

#define ATT_JOB                                                                                    \
  "-family shaped_attention -grid_activation linear -grid_width 128 -grid_depth 128 -inputs 3 "    \
  "-input_correlation 0.5,0.2,0.3 -attn_gamma 0.7 -record_layers last "

/* Networks (n = 128, T = L/n = 1, three tokens, τ₀ = 0.5, γ = 0.7, 3000 seeds) against the SDE task
   (3000 paths, dt = 1e-3): the means of ln V_00, ρ_01 and ρ_12 within 4 s.e. of their difference
   plus 0.02 for the width (measured at n = 64: within 1.5 s.e. of 2000 seeds; the Python check of
   the derivation: within 2 s.e. at n = 256). The test has power: the same SDE without attention (τ₀
   = 10⁶) must be more than 6 s.e. from the networks on ln V_00 (measured 7.7: the attention's drift
   raises ln V_00 by ~0.2). Catches: the drift or noise of the attention dropped, τ₀ read as τ₀², λ
   and γ swapped, A V Aᵀ with A transposed. (The paths start from the embedding's Gram, as the
   networks do: at n = 128 starting from C instead moves t by ~0.01, which this test cannot see.) */
static void test_attention_network_vs_sde(void **state)
{
  Moments     net[3] = {{0}}, sde[3] = {{0}}, flat[3] = {{0}};
  const char *name[3] = {"ln V_00", "rho_01", "rho_12"};
  double      se, d;

  (void)state;
  NetworkMoments(ATT_JOB "-attn_tau0 0.5 -grid_seed 0-3000", net, PETSC_FALSE);
  NetworkMoments(ATT_JOB "-attn_tau0 0.5 -grid_seed 0-1 -sde_paths 3000", sde, PETSC_TRUE);
  NetworkMoments(ATT_JOB "-attn_tau0 1e6 -grid_seed 0-1 -sde_paths 3000", flat, PETSC_TRUE);
  for (int k = 0; k < 3; k++) {
    se = sqrt(MomentsVar(&net[k]) / net[k].n + MomentsVar(&sde[k]) / sde[k].n);
    d  = net[k].mean - sde[k].mean;
    print_message("%s: network %.4f, SDE %.4f (no attention %.4f), diff %.4f, se %.4f\n", name[k],
                  net[k].mean, sde[k].mean, flat[k].mean, d, se);
    if (fabs(d) > 4 * se + 0.02)
      fail_msg("%s: network %.4f vs SDE %.4f (4 se + 0.02 = %.4f)", name[k], net[k].mean,
               sde[k].mean, 4 * se + 0.02);
  }
  se = sqrt(MomentsVar(&net[0]) / net[0].n + MomentsVar(&flat[0]) / flat[0].n);
  print_message("ln V_00 without attention: %.1f se from the networks\n",
                fabs(net[0].mean - flat[0].mean) / se);
  if (fabs(net[0].mean - flat[0].mean) < 6 * se)
    fail_msg("ln V_00: the SDE without attention (%.4f) is within 6 se (%.4f) of the networks "
             "(%.4f): no power",
             flat[0].mean, 6 * se, net[0].mean);
}

#define TR_JOB                                                                                     \
  "-family shaped_transformer -grid_activation relu -grid_width 64 -grid_depth 64 -inputs 3 "      \
  "-input_correlation 0.5,0.2,0.3 -attn_tau0 0.5 -attn_gamma 0.7 -record_layers last "

/* shaped_transformer (the attention block, then the MLP sub-block Y ← λY + γ√(c/n) W₂ φ_s(W₁Y/√n)
   with the shaped ReLU at c₋ = −2) against its SDE (src/sde_task.c: the attention's drift and
   noise, γ² times the shaped MLP's drift, and the MLP's 2γ² of the values' noise): n = 64, T = 1,
   2000 seeds and 2000 paths, ln V_00, ρ_01 and ρ_12 within 4 s.e. plus 0.02 (at n = 128, 10⁴ seeds
   and paths of the linear MLP: ln V_00 within 0.2 s.e., ρ_01 within 1.1 s.e.). It has power twice
   over: the SDE without the MLP's drift (c₋ = 0: the MLP's drift raises ρ_01 from 0.37 to 0.53 at n
   = 128) and the attention block's SDE alone (no MLP noise: ln V_00 −0.5 instead of −1.4) must each
   be more than 6 s.e. from the networks. And the same for smooth shaping (tanh, a = 0.5, 1000 seeds
   and paths), whose drift takes ln V_00 to −2.9. Catches: the MLP's drift or its noise dropped or
   taken once too often, the hidden layer φ_s(Y) without W₁ (a different law: ln V_00 5 s.e. off),
   the shaped drift without γ² (ρ_12 7.7 s.e. off), the smooth drift's terms. */
static void test_transformer_network_vs_sde(void **state)
{
  Moments     net[3] = {{0}}, sde[3] = {{0}}, nodrift[3] = {{0}}, att[3] = {{0}};
  const char *name[3] = {"ln V_00", "rho_01", "rho_12"};
  double      se, d;

  (void)state;
  NetworkMoments(TR_JOB "-shape_c_minus -2 -grid_seed 0-2000", net, PETSC_FALSE);
  NetworkMoments(TR_JOB "-shape_c_minus -2 -grid_seed 0-1 -sde_paths 2000", sde, PETSC_TRUE);
  NetworkMoments(TR_JOB "-shape_c_minus 0 -grid_seed 0-1 -sde_paths 2000", nodrift, PETSC_TRUE);
  NetworkMoments(
    "-family shaped_attention -grid_activation linear -grid_width 64 -grid_depth 64 -inputs 3 "
    "-input_correlation 0.5,0.2,0.3 "
    "-attn_tau0 0.5 -attn_gamma 0.7 -record_layers last -grid_seed 0-1 -sde_paths 2000",
    att, PETSC_TRUE);
  for (int k = 0; k < 3; k++) {
    se = sqrt(MomentsVar(&net[k]) / net[k].n + MomentsVar(&sde[k]) / sde[k].n);
    d  = net[k].mean - sde[k].mean;
    print_message(
      "%s: network %.4f, SDE %.4f (no MLP drift %.4f, attention alone %.4f), diff %.4f, se %.4f\n",
      name[k], net[k].mean, sde[k].mean, nodrift[k].mean, att[k].mean, d, se);
    if (fabs(d) > 4 * se + 0.02)
      fail_msg("%s: network %.4f vs SDE %.4f (4 se + 0.02 = %.4f)", name[k], net[k].mean,
               sde[k].mean, 4 * se + 0.02);
  }
  { /* smooth shaping, tanh at a = 0.5: its drift lowers ln V_00 to −2.9 (the linear MLP's −1.5);
       1000 seeds, 1000 paths */
    Moments tn[3] = {{0}}, ts[3] = {{0}};
    NetworkMoments("-family shaped_transformer -grid_activation tanh -shape_a 0.5 -grid_width 64 "
                   "-grid_depth 64 -inputs 3 "
                   "-input_correlation 0.5,0.2,0.3 -attn_tau0 0.5 -attn_gamma 0.7 -record_layers "
                   "last -grid_seed 0-1000",
                   tn, PETSC_FALSE);
    NetworkMoments("-family shaped_transformer -grid_activation tanh -shape_a 0.5 -grid_width 64 "
                   "-grid_depth 64 -inputs 3 "
                   "-input_correlation 0.5,0.2,0.3 -attn_tau0 0.5 -attn_gamma 0.7 -record_layers "
                   "last -grid_seed 0-1 -sde_paths 1000",
                   ts, PETSC_TRUE);
    for (int k = 0; k < 3; k++) {
      se = sqrt(MomentsVar(&tn[k]) / tn[k].n + MomentsVar(&ts[k]) / ts[k].n);
      print_message("tanh %s: network %.4f, SDE %.4f, se %.4f\n", name[k], tn[k].mean, ts[k].mean,
                    se);
      if (fabs(tn[k].mean - ts[k].mean) > 4 * se + 0.02)
        fail_msg("tanh %s: network %.4f vs SDE %.4f", name[k], tn[k].mean, ts[k].mean);
    }
  }
  for (int w = 0; w < 2; w++) {
    const Moments *alt = w ? &att[0] : &nodrift[1], *mine = w ? &net[0] : &net[1];
    se = sqrt(MomentsVar(mine) / mine->n + MomentsVar(alt) / alt->n);
    print_message("%s: %.1f se from the networks\n",
                  w ? "ln V_00 of the attention's SDE alone"
                    : "rho_01 of the SDE without the MLP's drift",
                  fabs(mine->mean - alt->mean) / se);
    if (fabs(mine->mean - alt->mean) < 6 * se)
      fail_msg("%s: within 6 se of the networks: no power", w ? "attention alone" : "no MLP drift");
  }
}

/* A job's networks by the projection sampler (seeds 0..seeds) and the dense one (10000..10000 +
   seeds, disjoint): the means of ln V_00, ρ_01 and ρ_12 within 4 s.e. of their difference. */
static void SamplersAgree(const char *job, int seeds, const char *label)
{
  Moments mo[2][3] = {{{0}}};

  for (int smp = 0; smp < 2; smp++) {
    char opts[512];
    snprintf(opts, sizeof(opts), "%s-sampler %s -grid_seed %d-%d", job,
             smp ? "dense" : "projection", smp * 10000, smp * 10000 + seeds);
    NetworkMoments(opts, mo[smp], PETSC_FALSE);
  }
  for (int k = 0; k < 3; k++) {
    const double se = sqrt(MomentsVar(&mo[0][k]) / mo[0][k].n + MomentsVar(&mo[1][k]) / mo[1][k].n);
    char         what[64];
    snprintf(what, sizeof(what), "%s statistic %d dense vs projection", label, k);
    print_message("%s: %.4f vs %.4f (%.2f se)\n", what, mo[1][k].mean, mo[0][k].mean,
                  (mo[1][k].mean - mo[0][k].mean) / se);
    ASSERT_WITHIN_4SE(what, mo[1][k].mean, mo[0][k].mean, se);
  }
}

/* shaped_transformer's two samplers, the same law: n = 32, L = 32, c₋ = −2, 2000 seeds each.
   Catches an MLP sub-block that differs between them: the dense W₁Y without its 1/√n, the gain in
   one only, the projection's hidden layer drawn from another Gram than YᵀY/n. (Not surely the
   hidden layer φ_s(Y) without W₁ in one: 3.1 s.e. at 1000 seeds; the test against the SDE catches
   that, 5 s.e.) */
static void test_transformer_samplers_agree(void **state)
{
  (void)state;
  SamplersAgree("-family shaped_transformer -grid_activation relu -grid_width 32 -grid_depth 32 "
                "-inputs 3 -input_correlation 0.5,0.2,0.3 "
                "-attn_tau0 0.5 -attn_gamma 0.7 -shape_c_minus -2 -record_layers last ",
                2000, "transformer");
}

/* Ten tokens, past NNL_SMALL_M = 8: the dense sampler's W^Q, W^K (attention) and W₁ (MLP) products
   go through DGEMM, and the projection's MLP sub-block takes V from a pass over Y instead of the
   fused layer's Gram sums; both blocks keep the two samplers' law (1000 seeds each; the transformer
   n = 16, L = 8; the attention n = 16, L = 32, τ₀ = 0.3, where its drift is strong). Catches a
   DGEMM call with a wrong shape or scale in those branches (no other test reaches them), a Gram of
   the wrong columns: mutants measured, W₁'s product scaled by 1.5: 55 s.e.; the queries' product
   zeroed (A = I): 13 s.e. */
static void test_samplers_agree_ten_tokens(void **state)
{
  (void)state;
  SamplersAgree("-family shaped_transformer -grid_activation relu -grid_width 16 -grid_depth 8 "
                "-inputs 10 -input_correlation 0.5 "
                "-attn_tau0 0.5 -attn_gamma 0.7 -shape_c_minus -2 -record_layers last ",
                1000, "transformer, m = 10");
  SamplersAgree("-family shaped_attention -grid_activation linear -grid_width 16 -grid_depth 32 "
                "-inputs 10 -input_correlation 0.5 "
                "-attn_tau0 0.3 -attn_gamma 0.7 -record_layers last ",
                1000, "attention, m = 10");
}

/* The two samplers have the same law (MATH.md §4.9): n = 32, L = 64, τ₀ = 0.3 (strong attention),
   n_k = 8, 2000 seeds each. The dense sampler draws W^Q, W^K and W^V and scales the tokens; the
   projection draws the queries and keys from the tokens' correlations and the values given A V Aᵀ:
   catches a key width, a temperature or a normalisation in one and not the other (the dense tokens
   left unnormalised: 8.3 s.e. on ln V_00), A applied transposed in one. */
static void test_attention_samplers_agree(void **state)
{
  (void)state;
  SamplersAgree("-family shaped_attention -grid_activation linear -grid_width 32 -grid_depth 64 "
                "-inputs 3 -input_correlation 0.5,0.2,0.3 "
                "-attn_tau0 0.3 -attn_key_width 8 -record_layers last ",
                2000, "attention");
}

/* The same at key widths n_k = 2 < m = 3, where the projection sampler still draws the queries and
   keys (rows iid N(0, R)), and n_k = m = 3, where its logit factors' last χ² has one degree of
   freedom (a normal's square); 1000 seeds each, L = 32. Catches the queries and keys of the
   fallback drawn from one stream (74 s.e.), a fallback taken at n_k = m or the factors
   at n_k < m (their χ² of n_k − j <= 0 degrees). */
static void test_attention_samplers_agree_narrow_keys(void **state)
{
  (void)state;
  for (int nk = 2; nk <= 3; nk++) {
    char job[256];
    snprintf(job, sizeof(job),
             "-family shaped_attention -grid_activation linear -grid_width 32 -grid_depth 32 "
             "-inputs 3 -input_correlation 0.5,0.2,0.3 -attn_tau0 0.3 -attn_key_width %d "
             "-record_layers last ",
             nk);
    SamplersAgree(job, 1000, nk == 2 ? "attention, n_k = 2" : "attention, n_k = 3");
  }
}

/* softmax_attention, the unshaped block (A = softmax(QᵀK/(τ₀√n_k)): O(1) logits), collapses the
   tokens: A is a stochastic matrix of positive entries whose mixing makes the rows of Y alike, so
   ρ_01 → 1 within a few layers (measured 0.99996 at L = 16, n = 64, where the shaped block keeps
   0.42, its SDE 0.42); both samplers, 300 seeds each, ρ_01 and ρ_12 > 0.99 on average, and the
   samplers' ln V_00 within 4 s.e. of each other. Catches the shaped matrix (or its temperature)
   used for this family, and a sampler of one family used for the other. The same for
   softmax_transformer (softmax attention, then an unshaped ReLU MLP sub-block). */
static void test_softmax_attention_collapses(void **state)
{
  (void)state;
  for (int f = 0; f < 2;
       f++) { /* softmax_attention; softmax_transformer (its unshaped ReLU MLP beside it) */
    Moments mo[2][3] = {{{0}}};
    for (int smp = 0; smp < 2; smp++) {
      char opts[512];
      snprintf(opts, sizeof(opts),
               "-family %s -grid_width 64 -grid_depth 16 -inputs 3 "
               "-input_correlation 0.5,0.2,0.3 -attn_tau0 0.5 -attn_gamma 0.7 -record_layers last "
               "-sampler %s -grid_seed %d-%d",
               f ? "softmax_transformer -grid_activation relu"
                 : "softmax_attention -grid_activation linear",
               smp ? "dense" : "projection", smp * 1000, smp * 1000 + 300);
      NetworkMoments(opts, mo[smp], PETSC_FALSE);
      print_message("%s %s: mean rho_01 %.6f, rho_12 %.6f\n", f ? "transformer" : "attention",
                    smp ? "dense" : "projection", mo[smp][1].mean, mo[smp][2].mean);
      assert_true(mo[smp][1].mean > 0.99 && mo[smp][2].mean > 0.99);
    }
    ASSERT_WITHIN_4SE(
      "softmax ln V_00 dense vs projection", mo[1][0].mean, mo[0][0].mean,
      sqrt(MomentsVar(&mo[0][0]) / mo[0][0].n + MomentsVar(&mo[1][0]) / mo[1][0].n));
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_attention_matrix),
    cmocka_unit_test(test_attention_small_kernels),
    cmocka_unit_test(test_attention_logit_factors),
    cmocka_unit_test(test_attention_sde_from_block),
    cmocka_unit_test(test_attention_single_token),
    cmocka_unit_test(test_attention_samplers_agree),
    cmocka_unit_test(test_attention_samplers_agree_narrow_keys),
    cmocka_unit_test(test_samplers_agree_ten_tokens),
    cmocka_unit_test(test_attention_network_vs_sde),
    cmocka_unit_test(test_softmax_attention_collapses),
    cmocka_unit_test(test_transformer_network_vs_sde),
    cmocka_unit_test(test_transformer_samplers_agree),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
