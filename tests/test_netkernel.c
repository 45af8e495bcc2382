/* Unit tests of the projection sampler's small-m kernels (src/netkernel.c, src/netkernel.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netkernel.h"
#include "simd.h"
#include "nnlimits/net.h"

/* Deterministic values in (−1, 1) with all 53 bits used. */
static double Value(uint64_t *state)
{
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*state >> 11) * 0x1p-52 - 1.0;
}

static const PetscInt ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 1000, 1027};

/* Run check in every build of simd.h this CPU has (plain, AVX2, AVX-512): each must give the
 * documented bits. */
static void in_every_build(void (*check)(void))
{
  static const char *const builds[] = {"plain", "avx2", "avx512"};
  int                      nb       = 0;

  for (int b = 0; b < 3; b++)
    if (!NNLSimdUse(builds[b])) {
      check();
      nb++;
    }
  (void)NNLSimdUse(NULL);
  assert_true(nb >= 1);
}

/**
  @brief NNLGram and NNLDot equal, bit for bit, the order they document — per entry 8 interleaved
  partial sums over the rows, a fixed tree, then the rows past the last multiple of 8 (then
  scale·sum + shift) — for every m from 1 to NNL_SMALL_M and n on both sides of multiples of 8, in
  every build of simd.h; K is full and symmetric. Catches: a vector build that rounds differently
  (an FMA, a reordered sum), a wrong column or pair index, rows of the tail dropped or counted
  twice, a lower triangle not mirrored.
*/
static void gram_small(void)
{
  for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++)
    for (PetscInt m = 1; m <= NNL_SMALL_M; m++) {
      const PetscInt n  = ns[t];
      double        *A  = malloc(sizeof(double) * (size_t)(n * m)), K[NNL_SMALL_M * NNL_SMALL_M];
      uint64_t       st = 17 + (uint64_t)(n * 31 + m);
      for (PetscInt i = 0; i < n * m; i++) A[i] = Value(&st);
      NNLGram(n, m, A, 0.37, -0.25, K);
      for (PetscInt a = 0; a < m; a++)
        for (PetscInt b = 0; b < m; b++) {
          double   s[8] = {0}, tail = 0, want;
          PetscInt n8 = n - n % 8;
          for (PetscInt i = 0; i < n8; i++) s[i % 8] += A[i + a * n] * A[i + b * n];
          for (PetscInt i = n8; i < n; i++) tail += A[i + a * n] * A[i + b * n];
          want = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
          if (NNLDot(n, A + a * n, A + b * n) != want)
            fail_msg("n %d m %d: NNLDot of columns %d, %d", (int)n, (int)m, (int)a, (int)b);
          want = 0.37 * want + -0.25;
          if (a > b) { /* the mirror: the same sums with the factors swapped, equal as products
                          commute */
            if (memcmp(&K[a + b * m], &K[b + a * m], sizeof(double)))
              fail_msg("n %d m %d: K not symmetric", (int)n, (int)m);
          }
          if (memcmp(&K[a + b * m], &want, sizeof(want)))
            fail_msg("n %d m %d: K[%d,%d] = %.17g, want %.17g", (int)n, (int)m, (int)a, (int)b,
                     K[a + b * m], want);
        }
      free(A);
    }
}

/**
  @brief NNLProject equals, bit for bit, Y ← beta·Y + alpha·Σ_a Z_a R_ab summed in order of a, for
  every m from 1 to NNL_SMALL_M, n on both sides of multiples of 8, in every build of simd.h, beta =
  0 (Y filled with NaN beforehand: it must not be read), 1 and 0.5. Catches: R read transposed, a
  wrong column stride, a tail row dropped, Y read when beta = 0 (NaN would survive), a vector build
  that rounds differently.
*/
static void project_small(void)
{
  const double betas[] = {0.0, 1.0, 0.5};

  for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++)
    for (PetscInt m = 1; m <= NNL_SMALL_M; m++)
      for (int k = 0; k < 3; k++) {
        const PetscInt n     = ns[t];
        const double   alpha = 0.7, beta = betas[k];
        double        *Z = malloc(sizeof(double) * (size_t)(n * m)),
               *Y        = malloc(sizeof(double) * (size_t)(n * m)),
               *Y0       = malloc(sizeof(double) * (size_t)(n * m)), R[NNL_SMALL_M * NNL_SMALL_M];
        uint64_t st      = 5 + (uint64_t)(n * 131 + m * 7 + k);
        for (PetscInt i = 0; i < n * m; i++) Z[i] = Value(&st);
        for (PetscInt i = 0; i < n * m; i++) Y0[i] = Y[i] = beta == 0.0 ? NAN : Value(&st);
        for (PetscInt i = 0; i < m * m; i++) R[i] = Value(&st);
        NNLProject(n, m, Z, R, alpha, beta, Y);
        for (PetscInt b = 0; b < m; b++)
          for (PetscInt i = 0; i < n; i++) {
            double acc = Z[i] * R[b * m], want;
            for (PetscInt a = 1; a < m; a++) acc += Z[i + a * n] * R[a + b * m];
            want = beta == 0.0 ? alpha * acc : beta * Y0[i + b * n] + alpha * acc;
            if (memcmp(&Y[i + b * n], &want, sizeof(want)))
              fail_msg("n %d m %d beta %g: Y[%d,%d] = %.17g, want %.17g", (int)n, (int)m, beta,
                       (int)i, (int)b, Y[i + b * n], want);
          }
        free(Z);
        free(Y);
        free(Y0);
      }
}

/* NNLFourthSum equals Σ (y_i²/q)² in NNLDot's documented order (partial sum i mod 8, the tree, then
 * the tail). */
static void fourth_sum(void)
{
  for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
    const PetscInt n = ns[t];
    double  *y = malloc(sizeof(double) * (size_t)n), s[8] = {0}, tail = 0, want, got, q = 0.37;
    uint64_t st = 3 + (uint64_t)n;
    PetscInt n8 = n - n % 8;
    for (PetscInt i = 0; i < n; i++) y[i] = 3.0 * Value(&st);
    for (PetscInt i = 0; i < n8; i++) {
      double z = y[i] * y[i] / q;
      s[i % 8] += z * z;
    }
    for (PetscInt i = n8; i < n; i++) {
      double z = y[i] * y[i] / q;
      tail += z * z;
    }
    want = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
    got  = NNLFourthSum(n, y, q);
    if (memcmp(&got, &want, sizeof(want)))
      fail_msg("n %d: NNLFourthSum = %.17g, want %.17g", (int)n, got, want);
    free(y);
  }
}

/* NNLGramPacked equals NNLDot(A_a, A_b)/n, pair by pair in row order, on both sides of its one-pass
 * switch (m = 8), and past its row blocks (2976 rows or more: 8195 crosses two). */
static void gram_packed(void)
{
  for (size_t t = 0; t <= sizeof(ns) / sizeof(ns[0]); t++)
    for (PetscInt m = 1; m <= NNL_SMALL_M + 3; m++) {
      const PetscInt n = t < sizeof(ns) / sizeof(ns[0]) ? ns[t] : 8195;
      double        *A = malloc(sizeof(double) * (size_t)(n * m)),
             q[(NNL_SMALL_M + 3) * (NNL_SMALL_M + 4) / 2];
      uint64_t st = 29 + (uint64_t)(n * 17 + m);
      for (PetscInt i = 0; i < n * m; i++) A[i] = Value(&st);
      NNLGramPacked(n, m, A, q);
      for (PetscInt a = 0, k = 0; a < m; a++)
        for (PetscInt b = a; b < m; b++, k++) {
          double want = NNLDot(n, A + a * n, A + b * n) / (double)n;
          if (memcmp(&q[k], &want, sizeof(want)))
            fail_msg("n %d m %d: NNLGramPacked pair (%d,%d)", (int)n, (int)m, (int)a, (int)b);
        }
      free(A);
    }
}

/**
  @brief NNLGramPacked (the observed Gram of a layer and of an SDE path) equals NNLDot / n bit for
  bit, pair by pair in the packed order, for m = 1 … 11 (one Gram pass up to 8, dot products in row
  blocks past it), in every build. Catches: a pair out of order, the Gram's scale applied as a
  product (rounds differently from the division), a lost tail row, a block's partial sums not
  carried to the next (or not in NNLDot's lanes).
*/
static void test_gram_packed(void **state)
{
  (void)state;
  in_every_build(gram_packed);
}

/**
  @brief NNLFourthSum (the kurtosis' sum) equals, bit for bit, its documented order, for n on both
  sides of multiples of 8, in every build of simd.h. Catches: a tail term dropped or counted twice,
  a product for the quotient (y²·(1/q) rounds differently), a build that sums in another order.
*/
static void test_fourth_sum(void **state)
{
  (void)state;
  in_every_build(fourth_sum);
}

static void test_gram_small(void **state)
{
  (void)state;
  in_every_build(gram_small);
}

static void test_project_small(void **state)
{
  (void)state;
  in_every_build(project_small);
}

/* NNLSqrtPSD(m, K) gives R with RᵀR = K to 1e-14 of big (K's largest entry); what names the case in
 * a failure. */
static void AssertFactor(PetscInt m, const double *K, double big, double *R, const char *what)
{
  assert_int_equal(NNLSqrtPSD(m, K, R), 0);
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++) {
      double k = 0;
      for (PetscInt i = 0; i < m; i++) k += R[i + a * m] * R[i + b * m];
      if (!(fabs(k - K[a + b * m]) <= 1e-14 * big))
        fail_msg("m %d %s: (RᵀR)[%d,%d] = %.17g, K = %.17g", (int)m, what, (int)a, (int)b, k,
                 K[a + b * m]);
    }
}

/**
  @brief NNLSqrtPSD gives RᵀR = K (to 1e-14 of K's largest entry) for positive definite K of every m
  up to NNL_SMALL_M (our own Cholesky: R upper triangular, positive diagonal) and past it (LAPACK),
  and for singular K (rank m − 1: our pivoted Cholesky up to NNL_SMALL_M, the eigen square root past
  it). Catches: a wrong index in the Cholesky's inner sums (only m >= 3 has them), a lower triangle
  left unset, a fallback not taken when a pivot is 0.
*/
static void test_sqrt_psd(void **state)
{
  (void)state;
  for (PetscInt m = 1; m <= NNL_SMALL_M + 3; m++)
    for (int singular = 0; singular < 2; singular++) {
      double   B[16 * 16], K[16 * 16], R[16 * 16], big = 0;
      uint64_t st = 99 + (uint64_t)(m * 2 + singular);
      if (singular && m == 1) continue;
      /* K = BᵀB with B m×m (full rank) or with its last row zero (rank m − 1) */
      for (PetscInt i = 0; i < m * m; i++) B[i] = Value(&st);
      if (singular)
        for (PetscInt j = 0; j < m; j++) B[(m - 1) + j * m] = 0.0;
      for (PetscInt a = 0; a < m; a++)
        for (PetscInt b = 0; b < m; b++) {
          double k = 0;
          for (PetscInt i = 0; i < m; i++) k += B[i + a * m] * B[i + b * m];
          K[a + b * m] = k + (a == b && !singular ? 0.5 : 0.0);
          big          = fmax(big, fabs(K[a + b * m]));
        }
      AssertFactor(m, K, big, R, singular ? "rank m - 1" : "full rank");
      for (PetscInt a = 0; a < m; a++)
        for (PetscInt b = 0; b < a; b++)
          if (!singular && R[a + b * m] != 0.0) fail_msg("m %d: R not upper triangular", (int)m);
    }
}

/* K = BᵀB of the first r rows of B (m×m, column-major), each entry summed in order of the rows (so
   a column of B that is ± another gives ± its column of K, bitwise); returns K's largest |entry|.
 */
static double GramOfRows(PetscInt m, PetscInt r, const double *B, double *K)
{
  double big = 0;
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = 0; b < m; b++) {
      double k = 0;
      for (PetscInt i = 0; i < r; i++) k += B[i + a * m] * B[i + b * m];
      K[a + b * m] = k;
      big          = fmax(big, fabs(k));
    }
  return big;
}

/* Rows of R (m×m, column-major) with a nonzero entry. */
static int NonzeroRows(PetscInt m, const double *R)
{
  int r = 0;
  for (PetscInt i = 0; i < m; i++) {
    int nz = 0;
    for (PetscInt j = 0; j < m; j++) nz |= R[i + j * m] != 0.0;
    r += nz;
  }
  return r;
}

/**
  @brief The singular K of the projection sampler (m <= NNL_SMALL_M: dead inputs, inputs of
  correlation 1, m > n): K = BᵀB with B r×m of every rank r < m, its columns scaled over 10^±3 in
  shuffled order (so the pivots are not in order) and one of them zero (a dead input: the plain
  Cholesky then fails for sure, and the pivoted one runs), gives RᵀR = K to 1e-14 of K's largest
  entry with exactly r nonzero rows of R; K = 0 gives R = 0 exactly; a K with a NaN or an infinity
  gives R all NaN (the network then reports it); K = vvᵀ whose rounding leaves a negative pivot for
  the plain Cholesky (rank 1 found). Catches: a row or column not swapped with its pivot (RᵀR
  wrong), the tolerance dropped (rows of rounding noise past r) or taken 10^3 too large (a small
  column lost), F written through the pivot order twice, NaN read as rank 0.
*/
static void test_sqrt_psd_singular(void **state)
{
  (void)state;
  for (PetscInt m = 2; m <= NNL_SMALL_M; m++)
    for (PetscInt r = 0; r < m; r++) {
      double B[NNL_SMALL_M * NNL_SMALL_M], K[NNL_SMALL_M * NNL_SMALL_M],
        R[NNL_SMALL_M * NNL_SMALL_M], big;
      uint64_t st = 7 + (uint64_t)(m * 16 + r);
      for (PetscInt j = 0; j < m; j++) {
        double scale = pow(
          10.0, 3.0 * (2.0 * (double)((j * 5 + r) % m) / (double)(m - 1) - 1.0)); /* 1e-3 .. 1e3 */
        for (PetscInt i = 0; i < r; i++)
          B[i + j * m] = j == (m - 1 + r) % m ? 0.0 : scale * Value(&st);
      }
      big = GramOfRows(m, r, B, K);
      AssertFactor(m, K, big, R, "rank < m, a dead input");
      if (NonzeroRows(m, R) != (int)r)
        fail_msg("m %d rank %d: R has %d nonzero rows", (int)m, (int)r, NonzeroRows(m, R));
      if (r == 0)
        for (PetscInt i = 0; i < m * m; i++) assert_true(R[i] == 0.0 && !signbit(R[i]));
      /* a non-finite entry */
      K[m - 1]       = r % 2 ? INFINITY : NAN;
      K[(m - 1) * m] = K[m - 1];
      assert_int_equal(NNLSqrtPSD(m, K, R), 0);
      for (PetscInt i = 0; i < m * m; i++)
        if (!isnan(R[i]))
          fail_msg("m %d: K with %g gave R[%d] = %g, not NaN", (int)m, K[m - 1], (int)i, R[i]);
    }
  { /* vvᵀ: the plain Cholesky's second pivot comes out <= 0 by rounding for this v */
    const double v[3] = {0.1, 0.7, 1.0 / 3.0};
    double       K[9], R[9];
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) K[a + b * 3] = v[a] * v[b];
    assert_int_equal(NNLSqrtPSD(3, K, R), 0);
    assert_int_equal(NonzeroRows(3, R), 1);
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) assert_true(fabs(R[a * 3] * R[b * 3] - K[a + b * 3]) <= 1e-16);
  }
}

/**
  @brief Inputs of correlation 1 or -1 are copies (or negatives) of one another, and so are their
  columns of every layer's Gram: K = XᵀX of X m×m whose columns are r random ones and m − r copies
  of them, each +1 or −1 times an earlier column (every m up to NNL_SMALL_M + 3, so LAPACK's side
  too, r = 1 … m − 1). NNLSqrtPSD gives a copy's column of R exactly ± its original's (bitwise),
  RᵀR = K to 1e-14 of K's largest entry, and r nonzero rows (m ≤ NNL_SMALL_M). A K whose copy is off
  by one ulp in one entry is no copy: its columns of R differ. Catches: copies factored with the
  others (their columns of R then 1e-8 apart: a pivot of a rounding's worth, or the eigen root's),
  a copy's sign lost, a tolerance taken for equality, a copy of a copy read from the wrong column.
*/
static void test_sqrt_psd_copies(void **state)
{
  (void)state;
  for (PetscInt m = 2; m <= NNL_SMALL_M + 3; m++)
    for (PetscInt r = 1; r < m; r++) {
      double   X[16 * 16], K[16 * 16], R[16 * 16], big;
      int      from[16], sign[16];
      uint64_t st = 31 + (uint64_t)(m * 16 + r);
      for (PetscInt j = 0; j < m; j++) { /* columns r.. are copies of any earlier column */
        from[j] = j < r ? -1 : (int)(((unsigned)(j * 7 + r)) % (unsigned)j);
        sign[j] = (j + r) % 3 ? 1 : -1;
        for (PetscInt i = 0; i < m; i++)
          X[i + j * m] = from[j] < 0 ? Value(&st) : sign[j] * X[i + from[j] * m];
      }
      big = GramOfRows(m, m, X, K);
      AssertFactor(m, K, big, R, "copied columns");
      for (PetscInt j = r; j < m; j++)
        for (PetscInt i = 0; i < m; i++)
          if (!(R[i + j * m] == sign[j] * R[i + from[j] * m]))
            fail_msg("m %d r %d: R[%d,%d] = %.17g is not %d times R[%d,%d] = %.17g", (int)m, (int)r,
                     (int)i, (int)j, R[i + j * m], sign[j], (int)i, from[j], R[i + from[j] * m]);
      if (m <= NNL_SMALL_M && NonzeroRows(m, R) != (int)r)
        fail_msg("m %d: %d columns and copies gave %d nonzero rows", (int)m, (int)r,
                 NonzeroRows(m, R));
      /* the last copy one ulp off in one entry (both sides: K stays symmetric), and in its
         diagonal: no copy */
      for (int where = 0; where < 2; where++) {
        const PetscInt j = m - 1, i = where ? j : 0;
        PetscInt       copy[16], n;
        double         K1[16 * 16];
        memcpy(K1, K, sizeof(double) * (size_t)(m * m));
        K1[i + j * m] = K1[j + i * m] = nextafter(K[i + j * m], INFINITY);
        n                             = NNLPSDCopies(m, K1, copy);
        if (copy[j] || (where && n != r + 1))
          fail_msg("m %d r %d: a column one ulp off (%s) was taken for a copy", (int)m, (int)r,
                   where ? "diagonal" : "off the diagonal");
        assert_int_equal(NNLPSDCopies(m, K, copy), r);
        for (PetscInt c = 0; c < m; c++) { /* the root of c's copies, and c's sign to it */
          int root = (int)c, s = 1;
          while (from[root] >= 0) s *= sign[root], root = from[root];
          if (copy[c] != (root == c ? 0 : s * (root + 1)))
            fail_msg("m %d r %d: copy[%d] = %d, want %d", (int)m, (int)r, (int)c, (int)copy[c],
                     root == c ? 0 : s * (root + 1));
        }
      }
    }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gram_small),     cmocka_unit_test(test_project_small),
    cmocka_unit_test(test_fourth_sum),     cmocka_unit_test(test_gram_packed),
    cmocka_unit_test(test_sqrt_psd),       cmocka_unit_test(test_sqrt_psd_singular),
    cmocka_unit_test(test_sqrt_psd_copies)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
