/* Unit tests of the projection sampler's small-m kernels (src/net.c, src/netkernel.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netkernel.h"

/* Deterministic values in (−1, 1) with all 53 bits used. */
static double Value(uint64_t *state)
{
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*state >> 11) * 0x1p-52 - 1.0;
}

static const PetscInt ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 1000, 1027};

/**
  @brief NNLGramSmall equals, bit for bit, the order it documents — per entry 8 interleaved partial sums over the rows,
  a fixed tree, then the rows past the last multiple of 8, then scale·sum + shift — for every m from 1 to NNL_SMALL_M
  and n on both sides of multiples of 8; K is full and symmetric.
  Catches: a vector build that rounds differently (an FMA, a reordered sum), a wrong column or pair index, rows of
  the tail dropped or counted twice, a lower triangle not mirrored.
*/
static void test_gram_small(void **state)
{
  (void)state;
  for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++)
    for (PetscInt m = 1; m <= NNL_SMALL_M; m++) {
      const PetscInt n = ns[t];
      double        *A = malloc(sizeof(double) * (size_t)(n * m)), K[NNL_SMALL_M * NNL_SMALL_M];
      uint64_t       st = 17 + (uint64_t)(n * 31 + m);
      for (PetscInt i = 0; i < n * m; i++) A[i] = Value(&st);
      NNLGramSmall(n, m, A, 0.37, -0.25, K);
      for (PetscInt a = 0; a < m; a++)
        for (PetscInt b = 0; b < m; b++) {
          double   s[8] = {0}, tail = 0, want;
          PetscInt n8 = n - n % 8;
          for (PetscInt i = 0; i < n8; i++) s[i % 8] += A[i + a * n] * A[i + b * n];
          for (PetscInt i = n8; i < n; i++) tail += A[i + a * n] * A[i + b * n];
          want = 0.37 * (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail) + -0.25;
          if (a > b) { /* the mirror: the same sums with the factors swapped, equal as products commute */
            if (memcmp(&K[a + b * m], &K[b + a * m], sizeof(double))) fail_msg("n %d m %d: K not symmetric", (int)n, (int)m);
          }
          if (memcmp(&K[a + b * m], &want, sizeof(want)))
            fail_msg("n %d m %d: K[%d,%d] = %.17g, want %.17g", (int)n, (int)m, (int)a, (int)b, K[a + b * m], want);
        }
      free(A);
    }
}

/**
  @brief NNLProjectSmall equals, bit for bit, Y ← beta·Y + alpha·Σ_a Z_a R_ab summed in order of a, for every m from 1
  to NNL_SMALL_M, n on both sides of multiples of 8, beta = 0 (Y filled with NaN beforehand: it must not be read), 1
  and 0.5.
  Catches: R read transposed, a wrong column stride, a tail row dropped, Y read when beta = 0 (NaN would survive), a
  vector build that rounds differently.
*/
static void test_project_small(void **state)
{
  const double betas[] = {0.0, 1.0, 0.5};

  (void)state;
  for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++)
    for (PetscInt m = 1; m <= NNL_SMALL_M; m++)
      for (int k = 0; k < 3; k++) {
        const PetscInt n = ns[t];
        const double   alpha = 0.7, beta = betas[k];
        double *Z = malloc(sizeof(double) * (size_t)(n * m)), *Y = malloc(sizeof(double) * (size_t)(n * m)),
               *Y0 = malloc(sizeof(double) * (size_t)(n * m)), R[NNL_SMALL_M * NNL_SMALL_M];
        uint64_t st = 5 + (uint64_t)(n * 131 + m * 7 + k);
        for (PetscInt i = 0; i < n * m; i++) Z[i] = Value(&st);
        for (PetscInt i = 0; i < n * m; i++) Y0[i] = Y[i] = beta == 0.0 ? NAN : Value(&st);
        for (PetscInt i = 0; i < m * m; i++) R[i] = Value(&st);
        NNLProjectSmall(n, m, Z, R, alpha, beta, Y);
        for (PetscInt b = 0; b < m; b++)
          for (PetscInt i = 0; i < n; i++) {
            double acc = Z[i] * R[b * m], want;
            for (PetscInt a = 1; a < m; a++) acc += Z[i + a * n] * R[a + b * m];
            want = beta == 0.0 ? alpha * acc : beta * Y0[i + b * n] + alpha * acc;
            if (memcmp(&Y[i + b * n], &want, sizeof(want)))
              fail_msg("n %d m %d beta %g: Y[%d,%d] = %.17g, want %.17g", (int)n, (int)m, beta, (int)i, (int)b, Y[i + b * n], want);
          }
        free(Z);
        free(Y);
        free(Y0);
      }
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_gram_small), cmocka_unit_test(test_project_small)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
