/* Unit tests of the per-layer statistics (src/observe.c): the normality distance and its sort. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nnlimits/rng.h"
#include "nnlimits/result.h"
#include "observe.h"
#include "simd.h"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The KS distance of x[0..n) on qsort's order; ref ends sorted so. */
static double ks_reference(PetscInt n, const double *x, double *ref)
{
  double d = 0;

  memcpy(ref, x, (size_t)n * sizeof(double));
  qsort(ref, (size_t)n, sizeof(double), cmp_double);
  for (PetscInt i = 0; i < n; i++) {
    double F = 0.5 * erfc(-ref[i] / sqrt(2.0)), lo = F - (double)i / n,
           hi = (double)(i + 1) / n - F;
    if (lo > d) d = lo;
    if (hi > d) d = hi;
  }
  return d;
}

/* Φ^{-1}(p) by bisection on erfc (to the last bit) */
static double normal_quantile(double p)
{
  double lo = -40, hi = 40;
  for (int it = 0; it < 200; it++) {
    double mid = 0.5 * (lo + hi);
    if (0.5 * erfc(-mid / sqrt(2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
  @brief NNLKSNormal returns, bit for bit, the KS distance computed on qsort's order, for lengths on
  both sides of its switch from counting ranks to sorting (64), around every run and merge boundary
  of the merge sort (0 … 70, 127–129, 1000), on both sides of its switch to counting into value bins
  (1023–1025; beyond it, only the bins that may hold the largest term are sorted, by merges or, from
  2048 of them, by radix) and at sizes beyond (2047–2049, 4099, 70000, 300001), on normals and the
  normal quantiles Φ^{-1}((i + 1/2)/n) shuffled (which the value buckets sort; every KS term of the
  quantiles is 1/(2n) up to rounding, so the largest exact term is a near-tie among n), and on data
  with many ties, sorted backwards, and of both signs over 300 binades (far from normal: the buckets
  give up and the merge or radix sort runs), and with half the values in a spike at 0 of both signs
  over hundreds of binades (|x| < 2^-10: one value bin, which holds the largest term: from n = 4099
  its ~n/2 values go to the radix sort, sign, exponent and mantissa digits varying; the other kinds
  reached it only with bins of equal values, every pass skipped); past the first switch and below
  the bins, x ends sorted as qsort sorts it. With +0 and −0 among the values, the KS distance is
  still the reference's. Catches: a tie counted twice or not at all in the ranks, value buckets left
  unfinished, a merge that drops, duplicates or misorders an element (at a ragged last run, at an
  odd number of runs, when the result ends in the scratch buffer), an off-by-one in the insertion
  sort, a radix key that misorders negatives or exponents, a skipped radix pass that was needed, a
  result left in the scratch buffer, a KS value that changed bits, a screening window too narrow to
  hold the largest exact term (the quantiles' near-ties), a bin bound that leaves out the bin of the
  largest term (its edges, its ranks), a rank off by one at a bin's edge, a gathered bin out of
  order. In every simd.h build (the ranks' counting loop is one): a count that differs by the vector
  width (a lost remainder, a tie test off by one lane).
*/
static void test_ks_sort_matches_qsort(void **state)
{
  (void)state;
  const PetscInt sizes[] = {0,    1,    2,    15,   16,   17,   31,    32,     33,    47,
                            48,   63,   64,   65,   70,   127,  128,   129,    1000,  1023,
                            1024, 1025, 2047, 2048, 2049, 4099, 70000, 300001, 600001};
  const size_t   N       = 600001; /* past 2^19: n/8 bins */
  double        *x = malloc(N * sizeof(double)), *ref = malloc(N * sizeof(double)),
         *work          = malloc(N * sizeof(double));
  const char  *builds[] = {"plain", "avx2", "avx512"};
  NNLRngStream s;

  assert_non_null(x);
  assert_non_null(ref);
  assert_non_null(work);
  for (int b = 0; b < 3; b++) {
    if (NNLSimdUse(builds[b])) continue; /* this CPU lacks it */
    NNLRngStreamInit(&s, 1, 2, 3, NNL_PURPOSE_TEST);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
      for (int kind = 0; kind < 6; kind++) {
        PetscInt n = sizes[k];
        double   d, got;
        NNLRngNormals(&s, 5000 * k, (size_t)n, x);
        for (PetscInt i = 0; i < n; i++) {
          if (kind == 1) x[i] = floor(4 * x[i]) / 4; /* ties */
          if (kind == 2) x[i] = -(double)i / 7;      /* descending */
          if (kind == 3)
            x[i] = (i % 3 ? 1 : -1) * exp2(150 * x[i]); /* both signs, 2^-600 .. 2^600 */
          if (kind == 4)
            x[i] = normal_quantile(((double)(((int64_t)i * 7919) % n) + 0.5) /
                                   n); /* 7919 prime: a permutation */
          if (kind == 5 && i % 2)
            x[i] = (i % 4 == 1 ? 1 : -1) * exp2(-10 - 200 * fabs(x[i])); /* a spike at 0 */
        }
        d   = ks_reference(n, x, ref);
        got = NNLKSNormal(n, x, work);
        if (n > 64 && n < 1024 && memcmp(x, ref, (size_t)n * sizeof(double)))
          fail_msg("n = %d, kind %d: not sorted as qsort sorts", (int)n, kind);
        if (got != d)
          fail_msg("%s: n = %d, kind %d: KS %.17g, reference %.17g", builds[b], (int)n, kind, got,
                   d);
      }
    /* ±0: the radix sort puts −0 first, qsort either way; the distance must not see the difference
     */
    for (int k = 0; k < 3; k++) {
      PetscInt n = k == 2 ? 5000 : k ? 100 : 40;
      double   d, got;
      NNLRngNormals(&s, 999999, (size_t)n, x);
      for (PetscInt i = 0; i < n; i += 7) x[i] = i % 2 ? -0.0 : 0.0;
      d   = ks_reference(n, x, ref);
      got = NNLKSNormal(n, x, work);
      if (got != d)
        fail_msg("%s: n = %d with ±0: KS %.17g, reference %.17g", builds[b], (int)n, got, d);
    }
  }
  assert_int_equal(NNLSimdUse(NULL), 0);
  free(x);
  free(ref);
  free(work);
}

/* The normality distance standardises y by its root mean square √(Σy²/n), as the KS distance to
   N(0,1) of y/‖y‖·√n means: for y = (−1, 1, −1, 1) it is Φ(1) − 1/2 = 0.3413447460685429 exactly
   (the terms at −1 and at 1 tie). Catches √(Σy²/(n − 1)) (0.3068: a shift of ~0.24/(2n) at every
   width, visible at the Hayou figures' small n). */
static void test_normality_standardises_by_rms(void **state)
{
  NNLResult *res;

  (void)state;
  assert_int_equal(NNLResultCreate(1, 1, &res), 0);
  assert_int_equal(NNLObserveNormality(4, 1, (const double[]){-1, 1, -1, 1}, res), 0);
  if (!(fabs(res->ks[0] - (0.5 * erfc(-1 / sqrt(2.0)) - 0.5)) < 1e-15))
    fail_msg("ks %.17g", res->ks[0]);
  assert_int_equal(NNLResultDestroy(&res), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ks_sort_matches_qsort),
    cmocka_unit_test(test_normality_standardises_by_rms),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
