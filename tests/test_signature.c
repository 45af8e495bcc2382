/* The neural signature kernel's Goursat march (src/signature.c) against MATH.md law 8 and the
   closed forms of the linear controlled ResNet, its order of convergence, and its pair bookkeeping.
 */
// ctest-label: unit
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "nnlimits/signature.h"
#include "nnlimits/limits.h"
#include "netkernel.h"

/* I_0(x) = Σ_k (x²/4)^k / (k!)², summed until the terms stop counting (x <= 10 here: ~1e-16
 * relative). */
static double BesselI0(double x)
{
  double term = 1, sum = 1;
  for (int k = 1; k < 200 && term > 1e-18 * sum; k++) {
    term *= x * x / 4 / ((double)k * k);
    sum += term;
  }
  return sum;
}

static NNLActivation Act(const char *name)
{
  NNLActivation act;
  char          err[256];
  assert_int_equal(NNLActivationParse(name, &act, err, sizeof(err)), 0);
  return act;
}

/* K(1,1) of one input, midpoint scheme, N cells. */
static double K11(const NNLActivation *act, double c, double sa2, double sb2, PetscInt N)
{
  PetscInt  idx = N;
  double    q;
  PetscBool abandon = PETSC_FALSE;
  assert_int_equal(NNLGoursatDiagonal(act, 1, &c, sa2, sb2, N, NNL_GOURSAT_MIDPOINT, 1, &idx, &q,
                                      NULL, NULL, &abandon),
                   0);
  return q;
}

/* MATH.md law 8: identity φ, σ_A = 1, σ_b = 0, σ_0 = 1, x = y = t: K(1,1) = I_0(2). The midpoint
   march must converge to it at order 2: errors at N = 32 … 256 fall by 4 (3.6 to 4.4) per doubling,
   and N = 256 is within 1e-5 (5.5e-6 measured). Catches: a source term at the wrong point of the
   cell (order 1), a wrong h², a wrong boundary, a march that reads the wrong row. */
static void test_law8_order2(void **state)
{
  const NNLActivation lin   = Act("linear");
  const double        exact = BesselI0(2.0);
  double              err[4];

  for (int i = 0; i < 4; i++) err[i] = fabs(K11(&lin, 1.0, 1.0, 0.0, 32 << i) - exact);
  for (int i = 1; i < 4; i++)
    if (!(err[i - 1] / err[i] > 3.6 && err[i - 1] / err[i] < 4.4))
      fail_msg("law 8: error ratio %.3f from N = %d to %d (want 4: second order)",
               err[i - 1] / err[i], 16 << i, 32 << i);
  if (!(err[3] < 1e-5)) fail_msg("law 8: K(1,1) off I_0(2) by %.3g at N = 256", err[3]);
}

/* Linear φ, general σ's and several inputs: ∂s∂t K = σ_A² K + σ_b² with K = C on the boundary is
   solved by K(s,t) = (C + σ_b²/σ_A²) I_0(2σ_A √(st)) − σ_b²/σ_A², pair by pair, at every t. Three
   inputs of unequal norms and correlations (no two pairs alike), outputs at t = 0, 1/4, 1/2, 1 on N
   = 512 cells. Catches: a pair's march given another pair's C or diagonals, outputs at the wrong
   index, the bias term. */
static void test_linear_closed_form(void **state)
{
  const NNLActivation lin  = Act("linear");
  const double        C[6] = {1.0, 0.3, -0.2, 2.0, 0.5, 0.7}, sa2 = 1.7, sb2 = 0.4;
  const PetscInt      N = 512, idx[4] = {0, 128, 256, 512};
  double              q[4 * 6];
  PetscBool           abandon = PETSC_FALSE;

  assert_int_equal(NNLGoursatDiagonal(&lin, 3, C, sa2, sb2, N, NNL_GOURSAT_MIDPOINT, 4, idx, q,
                                      NULL, NULL, &abandon),
                   0);
  for (int r = 0; r < 4; r++)
    for (int k = 0; k < 6; k++) {
      const double t     = (double)idx[r] / N,
                   exact = (C[k] + sb2 / sa2) * BesselI0(2 * sqrt(sa2) * t) - sb2 / sa2;
      if (!(fabs(q[6 * r + k] - exact) <= 1e-5 * fmax(1, fabs(exact))))
        fail_msg("linear t=%g pair %d: %.12g vs %.12g", t, k, q[6 * r + k], exact);
    }
}

/* The corner scheme on N = L cells is the infinite-width kernel of the depth-L network. Linear φ,
   σ_b = 0: Y_L = (I + A/L)^L Y_0 with A ~ N(0, σ_A²/n) shared, and tr(A^k (Aᵀ)^j)/n → σ_A^{2k}
   δ_kj, so K_L = C Σ_k binom(L,k)² (σ_A²/L²)^k — to rounding. Catches: the network scheme given the
   midpoint's source, or a step other than 1/L. */
static void test_corner_is_network(void **state)
{
  const NNLActivation lin  = Act("linear");
  const double        C[3] = {1.0, 0.4, 1.0}, sa2 = 0.8;

  for (PetscInt L = 1; L <= 64; L *= 4) {
    PetscInt  idx = L;
    double    q[3], sum = 0, b = 1;
    PetscBool abandon = PETSC_FALSE;
    assert_int_equal(NNLGoursatDiagonal(&lin, 2, C, sa2, 0.0, L, NNL_GOURSAT_CORNER, 1, &idx, q,
                                        NULL, NULL, &abandon),
                     0);
    for (PetscInt k = 0; k <= L; k++) {
      sum += b * b * pow(sa2 / ((double)L * L), (double)k);
      b = b * (double)(L - k) / (double)(k + 1);
    }
    for (int k = 0; k < 3; k++)
      if (fabs(q[k] / (C[k] * sum) - 1) > 1e-13)
        fail_msg("L=%d pair %d: %.16g vs %.16g", (int)L, k, q[k], C[k] * sum);
  }
}

/* ReLU and erf (closed-form duals: a march of 10^6 cells with quadrature would take minutes) with
   two correlated inputs: the corner scheme (the depth-N network's NNGP) tends to the midpoint
   scheme's depth limit at rate 1/N (error ratio 2 ± 0.2 from N = 64 to 128 to 256), and the
   midpoint scheme is second order (ratio 4 ± 0.6 against N = 1024). Catches: a scheme right for
   linear φ only (e.g. Σ's diagonal or off-diagonal entry swapped, which linear φ never reads). */
static void test_orders_nonlinear(void **state)
{
  const char *names[] = {"relu", "erf"};
  for (int a = 0; a < 2; a++) {
    const NNLActivation act  = Act(names[a]);
    const double        C[3] = {1.0, 0.5, 1.0};
    double              ref[3], q[3], ec[3], em[3];
    PetscBool           abandon = PETSC_FALSE;
    PetscInt            idx     = 1024;

    assert_int_equal(NNLGoursatDiagonal(&act, 2, C, 1.0, 0.0, 1024, NNL_GOURSAT_MIDPOINT, 1, &idx,
                                        ref, NULL, NULL, &abandon),
                     0);
    for (int i = 0; i < 3; i++) {
      idx = 64 << i;
      assert_int_equal(NNLGoursatDiagonal(&act, 2, C, 1.0, 0.0, idx, NNL_GOURSAT_CORNER, 1, &idx, q,
                                          NULL, NULL, &abandon),
                       0);
      ec[i] = fabs(q[0] - ref[0]) + fabs(q[1] - ref[1]);
      idx   = 32 << i;
      assert_int_equal(NNLGoursatDiagonal(&act, 2, C, 1.0, 0.0, idx, NNL_GOURSAT_MIDPOINT, 1, &idx,
                                          q, NULL, NULL, &abandon),
                       0);
      em[i] = fabs(q[0] - ref[0]) + fabs(q[1] - ref[1]);
    }
    for (int i = 1; i < 3; i++) {
      if (fabs(ec[i - 1] / ec[i] - 2) > 0.2)
        fail_msg("%s corner: error ratio %.3f at N = %d (want 2)", names[a], ec[i - 1] / ec[i],
                 64 << i);
      if (fabs(em[i - 1] / em[i] - 4) > 0.6)
        fail_msg("%s midpoint: error ratio %.3f at N = %d (want 4)", names[a], em[i - 1] / em[i],
                 32 << i);
    }
  }
}

/* Pairs alike are marched once: four inputs of equal norms and correlations give, for every pair,
   the bits of a two-input march; and a march abandoned by its poll stops. */
static int            polls;
static PetscErrorCode StopAt3(void *ctx, PetscBool *abandon)
{
  (void)ctx;
  *abandon = ++polls >= 3 ? PETSC_TRUE : PETSC_FALSE;
  return 0;
}

static void test_pairs_alike_and_abandon(void **state)
{
  const NNLActivation act    = Act("tanh");
  const double        C4[10] = {1, .3, .3, .3, 1, .3, .3, 1, .3, 1}, C2[3] = {1, .3, 1};
  const PetscInt      idx[2] = {5, 40};
  double              q4[20], q2[6];
  PetscBool           abandon = PETSC_FALSE;

  assert_int_equal(NNLGoursatDiagonal(&act, 4, C4, 1.0, 0.1, 40, NNL_GOURSAT_CORNER, 2, idx, q4,
                                      NULL, NULL, &abandon),
                   0);
  assert_int_equal(NNLGoursatDiagonal(&act, 2, C2, 1.0, 0.1, 40, NNL_GOURSAT_CORNER, 2, idx, q2,
                                      NULL, NULL, &abandon),
                   0);
  for (int r = 0; r < 2; r++)
    for (int a = 0, k = 0; a < 4; a++)
      for (int b = a; b < 4; b++, k++)
        assert_memory_equal(&q4[10 * r + k], &q2[3 * r + (a == b ? 0 : 1)], sizeof(double));
  polls = 0;
  assert_int_equal(NNLGoursatDiagonal(&act, 2, C2, 1.0, 0.0, 4096, NNL_GOURSAT_MIDPOINT, 2, idx, q2,
                                      StopAt3, NULL, &abandon),
                   0);
  assert_true(abandon);
  assert_int_equal(polls, 3);
}

/* Mean over the job's networks of recorded layer r's Gram, against the limit task's NNGP (the
 * corner march) there. */
static void NetworksVsNNGP(const char *opts, PetscInt r)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *lim;
  Moments    mo[3] = {{0}};

  assert_int_equal(TestJob(opts, &job, &grid), 0);
  assert_int_equal(grid->nlimits, 1);
  assert_int_equal(NNLLimitCompute(job, &grid->points[grid->nnets], NULL, NULL, &lim), 0);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    NNLResult *res;
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    assert_int_equal(res->layers[r], lim->layers[r]);
    for (int k = 0; k < 3; k++) MomentsAdd(&mo[k], res->gram[3 * r + k]);
    NNLResultDestroy(&res);
  }
  for (int k = 0; k < 3; k++) {
    char what[320];
    snprintf(what, sizeof(what), "%s pair %d", job->act[0].canon, k);
    ASSERT_WITHIN_4SE(what, mo[k].mean, lim->gram[3 * r + k], MomentsSE(&mo[k]));
    if (!isfinite(lim->ode[3 * r + k])) fail_msg("%s pair %d: no depth limit", what, k);
  }
  NNLResultDestroy(&lim);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The network's first step is exact at every width: Y_0 = W_in x is exactly Gaussian with Gram C,
   so E V_1 = C + (σ_A² F_φ(C) + σ_b²)/L², the corner march's first cell. Width 16, depth 2, 4000
   seeds (s.e. ~0.006 against a step of 0.2-0.3). Catches: a branch scaled 1/√L (the ResNet's)
   instead of 1/L, σ_A² or σ_b² not the options', a bias not shared by the inputs. */
static void test_network_first_step_exact(void **state)
{
  NetworksVsNNGP("-family controlled_resnet -grid_activation relu -grid_width 16 -grid_depth 2 "
                 "-grid_seed 0-4000 -inputs 2 "
                 "-input_correlation 0.5 -sigma_w2 1.5 -sigma_b2 0.3 -record_layers all",
                 1);
}

/* Deep: at width 512 the mean over 200 seeds of the depth-8 network's last Gram is within 4 s.e.
   (~0.01; the 1/n bias is a few 1e-3) of the corner march's value (the depth limit on 16 cells
   only: tanh's quadratures are slow), which holds only if A is the same at every layer: fresh
   weights scaled 1/L would leave K near C + F/L (1.06 against 1.40 for tanh's diagonal). */
static void test_network_shares_weights(void **state)
{
  NetworksVsNNGP("-family controlled_resnet -grid_activation tanh -grid_width 512 -grid_depth 8 "
                 "-grid_seed 0-200 -inputs 2 "
                 "-input_correlation 0.5 -record_layers last -limit_goursat_cells 16",
                 0);
}

/* The bias is shared by the layers as A is: with σ_b² = 1 at depth 8 (width 256, 300 seeds, 16
   cells), the networks' last Gram is within 4 s.e. of the corner march's, which adds σ_b² in total
   over the depth. Catches a bias drawn afresh at every layer (its variance then adds ~σ_b²/L: 1.70
   against 2.65 on the diagonal, 82 s.e.). */
static void test_network_shares_bias(void **state)
{
  NetworksVsNNGP("-family controlled_resnet -grid_activation relu -grid_width 256 -grid_depth 8 "
                 "-grid_seed 0-300 -inputs 2 "
                 "-input_correlation 0.5 -sigma_b2 1 -record_layers last -limit_goursat_cells 16",
                 0);
}

/* A held A and one drawn again at every layer give the same bits: m = 2 (our kernel; A held in
   panels of 8 rows, and width 61 leaves a last panel of 5) with bias and spectra, and m = 9 (DGEMM,
   W held whole). Catches: a held A drawn from another stream or offset, stored into the wrong panel
   row or column, read before it is drawn, or overwritten by the first layer's W_in. */
static void test_held_weights_same_bits(void **state)
{
  const char *jobs[] = {"-family controlled_resnet -grid_activation relu -grid_width 61 "
                        "-grid_depth 6 -grid_seed 3 -inputs 2 "
                        "-sigma_b2 0.2 -record_layers all -spectra_layers all",
                        "-family controlled_resnet -grid_activation tanh -grid_width 40 "
                        "-grid_depth 5 -grid_seed 1 -inputs 9 "
                        "-input_dim 12 -sigma_b2 0.2 -record_layers all"};
  for (int j = 0; j < 2; j++) {
    NNLJob    *job;
    NNLGrid   *grid;
    NNLResult *res[2];
    assert_int_equal(TestJob(jobs[j], &job, &grid), 0);
    for (int h = 0; h < 2; h++) {
      NNLNetSharedHoldBytes(h ? 0 : -1);
      assert_int_equal(NNLNetHoldsShared(grid->points[0].width), h ? PETSC_FALSE : PETSC_TRUE);
      assert_int_equal(
        NNLPointCompute(job, &grid->points[0], NNL_SAMPLER_AUTO, NULL, NULL, &res[h]), 0);
    }
    NNLNetSharedHoldBytes(-1);
    assert_int_equal(res[0]->nrec, res[1]->nrec);
    {
      const PetscInt nr = res[0]->nrec, m = res[0]->m;
      assert_memory_equal(res[0]->gram, res[1]->gram, sizeof(double) * nr * m * (m + 1) / 2);
      assert_memory_equal(res[0]->lognorm_post, res[1]->lognorm_post, sizeof(double) * nr * m);
      assert_memory_equal(res[0]->kurtosis, res[1]->kurtosis, sizeof(double) * nr * m);
      assert_int_equal(res[0]->nspec, j == 0 ? nr : 0);
      assert_memory_equal(res[0]->sv, res[1]->sv, sizeof(double) * res[0]->nspec * res[0]->nsv);
    }
    for (int h = 0; h < 2; h++) NNLResultDestroy(&res[h]);
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_law8_order2),
    cmocka_unit_test(test_linear_closed_form),
    cmocka_unit_test(test_corner_is_network),
    cmocka_unit_test(test_orders_nonlinear),
    cmocka_unit_test(test_pairs_alike_and_abandon),
    cmocka_unit_test(test_network_first_step_exact),
    cmocka_unit_test(test_network_shares_weights),
    cmocka_unit_test(test_network_shares_bias),
    cmocka_unit_test(test_held_weights_same_bits),
  };
  int rc;

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
