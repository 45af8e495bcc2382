/* Local spectra (LAPACK) and their scalars on matrices whose spectra are known: diagonal,
   rank-deficient by construction, and Wishart matrices (moments of the eigenvalues,
   4-standard-error bounds, fixed seeds). */
// ctest-label: unit
#include <float.h>
#include <cblas.h>
#include "testutil.h"
#include "nnlimits/rng.h"
#include "nnlimits/spectra.h"

/* Catches: values unsorted or in the wrong order, a wrong participation ratio / condition number /
 * rank rule. */
static void test_diagonal(void **state)
{
  const double    d[4]     = {0.5, 3.0, 0.0, 1e-4}; /* singular values 3, 0.5, 1e-4, 0 */
  double          A[6 * 4] = {0}, s[4], w[4], K[16] = {0};
  PetscBool       ok;
  char            msg[128];
  NNLSpectraStats st;

  for (int i = 0; i < 4; i++) A[i + 6 * i] = d[i];
  assert_int_equal(NNLSpectraSVDLocal(6, 4, A, s, &ok, msg, sizeof(msg)), 0);
  assert_true(ok);
  assert_true(fabs(s[0] - 3) < 1e-15 && fabs(s[1] - 0.5) < 1e-15 && fabs(s[2] - 1e-4) < 1e-19 &&
              s[3] == 0);
  NNLSpectraStatsCompute(4, s, 0, PETSC_FALSE, 6, 4, 1e-3, &st);
  assert_int_equal(st.rank, 3);      /* 1e-4 is far above 6·eps·3 */
  assert_int_equal(st.rank_rtol, 2); /* 1e-4 < 1e-3·3 */
  {
    double s2 = 9 + 0.25 + 1e-8, s4 = 81 + 0.0625 + 1e-16;
    assert_true(fabs(st.pr - s2 * s2 / s4) < 1e-14);
  }
  assert_true(isinf(st.cond) && st.vmax == 3 && st.vmin == 0);
  /* The Gram diag(d²): eigenvalues are the squares; its PR (of √λ) and ranks at rtol on λ itself.
   */
  for (int i = 0; i < 4; i++) K[i + 4 * i] = d[i] * d[i];
  assert_int_equal(NNLSpectraEigLocal(4, K, w, &ok, msg, sizeof(msg)), 0);
  assert_true(ok && w[0] == 9 && w[1] == 0.25 && fabs(w[2] - 1e-8) < 1e-22 && w[3] == 0);
  NNLSpectraStatsCompute(4, w, 0, PETSC_TRUE, 4, 4, 1e-3, &st);
  assert_true(fabs(st.pr - (9.25 + 1e-8) * (9.25 + 1e-8) / (81.0625 + 1e-16)) < 1e-14);
  assert_int_equal(st.rank, 3);
  assert_int_equal(st.rank_rtol, 2); /* 0.25 > 9e-3 > 1e-8 */
  /* A zero matrix: no rank, no PR, no condition number (NaN, stored as NULL). */
  NNLSpectraStatsCompute(4, (double[4]){0, 0, 0, 0}, 0, PETSC_FALSE, 4, 4, 1e-3, &st);
  assert_true(st.rank == 0 && st.rank_rtol == 0 && isnan(st.pr) && isnan(st.cond));
  /* The rank's tolerance is max(rows, cols)·eps·σ_max (LAPACK's and numpy's): 1e-13 is below
     1000·eps = 2.2e-13 of a 1000 × 2 matrix. Catches min(rows, cols) (2·eps: rank 2). */
  NNLSpectraStatsCompute(2, (double[2]){1, 1e-13}, 0, PETSC_FALSE, 1000, 2, 1e-3, &st);
  assert_int_equal(st.rank, 1);
  /* Singular values whose squares leave double's range (an exploding network's, stored at their
     true scale; and a vanishing one's): PR (1 + 1/4)²/(1 + 1/16) = 1.4705882352941178, as at
     scale 1. It was NaN past 1.3e154 (σ²/σ_max² = inf/inf). */
  {
    const double scales[] = {1, 1e155, 1e-160};
    for (int i = 0; i < 3; i++) {
      NNLSpectraStatsCompute(2, (double[2]){scales[i], 0.5 * scales[i]}, 0, PETSC_FALSE, 2, 2, 1e-3,
                             &st);
      if (!(fabs(st.pr - 1.5625 / 1.0625) < 1e-15))
        fail_msg("scale %g: pr %.17g", scales[i], st.pr);
    }
  }
  /* A spectrum kept at a power-of-two scale, v·2^e true (a network past double's range): the ranks,
     PR and condition number are the true ones (those of e = 0 when the true values fit), vmax and
     vmin the true values, inf past double's range. Catches scaling back before the ratios: the
     Gram {4^600, 4^600·1e-20} gave rank 0 and an empty PR (inf/inf). */
  {
    const double    v[3] = {1.5, 0.75, 1e-20}, w[3] = {2.25, 0.5625, 1e-40};
    NNLSpectraStats at0, ats;
    for (int sq = 0; sq < 2; sq++) {
      const double *x = sq ? w : v;
      NNLSpectraStatsCompute(3, x, 0, sq ? PETSC_TRUE : PETSC_FALSE, 8, 3, 1e-3, &at0);
      for (int e = -1200; e <= 1200; e += 300) {
        NNLSpectraStatsCompute(3, x, e, sq ? PETSC_TRUE : PETSC_FALSE, 8, 3, 1e-3, &ats);
        if (ats.rank != at0.rank || ats.rank_rtol != at0.rank_rtol || ats.pr != at0.pr ||
            ats.cond != at0.cond || ats.vmax != ldexp(x[0], e) || ats.vmin != ldexp(x[2], e))
          fail_msg("sq %d, e %d: rank %d/%d, rtol rank %d/%d, pr %.17g/%.17g, cond %.17g/%.17g, "
                   "vmax %.17g",
                   sq, e, (int)ats.rank, (int)at0.rank, (int)ats.rank_rtol, (int)at0.rank_rtol,
                   ats.pr, at0.pr, ats.cond, at0.cond, ats.vmax);
      }
      assert_int_equal(at0.rank, 2); /* 1e-20 (1e-40 for λ) is below 8·eps·1.5 */
      assert_int_equal(at0.rank_rtol, 2);
    }
  }
}

/* Catches: a rank rule that counts rounding noise (exact rank of L R must be its inner dimension),
   or one that drops true small values. Also: Σσ² = ‖A‖_F² and, for the Gram, Σλ = tr K, Σλ² =
   ‖K‖_F² (identities). */
static void test_rank_deficient(void **state)
{
  const int       r = 80, c = 45;
  double         *L, *R, *A, *K, s[45], w[45], fro = 0, tr = 0, fk = 0, s2 = 0, w1 = 0, w2 = 0;
  NNLRngStream    rs;
  PetscBool       ok;
  char            msg[128];
  NNLSpectraStats st;

  for (int k = 1; k <= 40; k += 13) {
    L = malloc(sizeof(double) * r * k);
    R = malloc(sizeof(double) * k * c);
    A = malloc(sizeof(double) * r * c);
    K = malloc(sizeof(double) * c * c);
    NNLRngStreamInit(&rs, 5, (uint64_t)k, 0, NNL_PURPOSE_TEST);
    NNLRngNormals(&rs, 0, (size_t)(r * k), L);
    NNLRngNormals(&rs, (uint64_t)(r * k), (size_t)(k * c), R);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, r, c, k, 1.0, L, r, R, k, 0.0, A, r);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, c, r, 1.0 / r, A, r, A, r, 0.0, K, c);
    assert_int_equal(NNLSpectraSVDLocal(r, c, A, s, &ok, msg, sizeof(msg)), 0);
    assert_true(ok);
    NNLSpectraStatsCompute(c, s, 0, PETSC_FALSE, r, c, 1e-6, &st);
    assert_int_equal(st.rank, k);
    assert_int_equal(st.rank_rtol, k);
    assert_int_equal(NNLSpectraEigLocal(c, K, w, &ok, msg, sizeof(msg)), 0);
    assert_true(ok);
    NNLSpectraStatsCompute(c, w, 0, PETSC_TRUE, c, c, 1e-10, &st);
    assert_int_equal(st.rank, k);
    assert_int_equal(st.rank_rtol, k);
    fro = tr = fk = s2 = w1 = w2 = 0;
    for (int i = 0; i < r * c; i++) fro += A[i] * A[i];
    for (int i = 0; i < c; i++) tr += K[i + c * i];
    for (int i = 0; i < c * c; i++) fk += K[i] * K[i];
    for (int i = 0; i < c; i++) {
      s2 += s[i] * s[i];
      w1 += w[i];
      w2 += w[i] * w[i];
      if (i) assert_true(s[i] <= s[i - 1] && w[i] <= w[i - 1]);
    }
    assert_true(fabs(s2 - fro) <= 1e-12 * fro && fabs(w1 - tr) <= 1e-12 * tr &&
                fabs(w2 - fk) <= 1e-12 * fk);
    free(L);
    free(R);
    free(A);
    free(K);
  }
}

/* Wishart W = XᵀX/n, X n×m iid N(0,1): E[mean eigenvalue] = 1, E tr W² = m(1 + (m+1)/n), and the
   singular values of X give the same: Σσ²/n = tr W. 400 fixed seeds, 4 s.e. Catches: eigenvalues of
   a wrong matrix (a transposed or half-filled Gram), a scale error, singular values of the wrong
   operand. */
static void test_wishart_moments(void **state)
{
  const int n = 12, m = 5;
  double    X[12 * 5], W[25], w[5], s[5];
  Moments   mean = {0}, tr2 = {0}, sv = {0};
  PetscBool ok;
  char      msg[128];

  for (uint64_t seed = 0; seed < 400; seed++) {
    NNLRngStream rs;
    double       a = 0, b = 0, c = 0;
    NNLRngStreamInit(&rs, 99, seed, 0, NNL_PURPOSE_TEST);
    NNLRngNormals(&rs, 0, (size_t)(n * m), X);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, m, n, 1.0 / n, X, n, X, n, 0.0, W, m);
    assert_int_equal(NNLSpectraEigLocal(m, W, w, &ok, msg, sizeof(msg)), 0);
    assert_int_equal(NNLSpectraSVDLocal(n, m, X, s, &ok, msg, sizeof(msg)), 0);
    for (int i = 0; i < m; i++) {
      a += w[i] / m;
      b += w[i] * w[i];
      c += s[i] * s[i] / n / m;
    }
    MomentsAdd(&mean, a);
    MomentsAdd(&tr2, b);
    MomentsAdd(&sv, c);
  }
  ASSERT_WITHIN_4SE("Wishart mean eigenvalue", mean.mean, 1.0, MomentsSE(&mean));
  ASSERT_WITHIN_4SE("Wishart E tr W^2", tr2.mean, m * (1.0 + (m + 1.0) / n), MomentsSE(&tr2));
  ASSERT_WITHIN_4SE("Wishart mean squared singular value / n", sv.mean, 1.0, MomentsSE(&sv));
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_diagonal),
                                     cmocka_unit_test(test_rank_deficient),
                                     cmocka_unit_test(test_wishart_moments)};
  int                     rc;

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
