/* Per-layer statistics of a network: Gram of pre-activations, log-norms, kurtosis, normality
 * distance. */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "nnlimits/activation.h"
#include "netkernel.h"
#include "observe.h"
#include "simd.h"

PetscBool NNLObserveAlive(PetscInt n, const double *x)
{
  PetscInt i = 0;
  while (i < n && x[i] == 0.0) i++;
  return i < n ? PETSC_TRUE : PETSC_FALSE;
}

PetscBool NNLObserveIsDead(PetscInt n, PetscInt m, const double *Phi)
{
  for (PetscInt a = 0; a < m; a++)
    if (!NNLObserveAlive(n, Phi + a * n)) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode NNLObserveLayer(PetscInt n, PetscInt m, const double *Y, const double *Phi,
                               int scale2, NNLResult *res, PetscInt r, PetscBool *ok)
{
  const PetscInt np   = m * (m + 1) / 2;
  double        *gram = res->gram + r * np;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  NNLGramPacked(n, m, Y, gram);
  for (PetscInt a = 0, diag = 0; a < m; diag += m - a, a++) {
    double q = gram[diag], post = NNLDot(n, Phi + a * n, Phi + a * n) / (double)n;
    /* the fourth moment of y/√q, not of y: y⁴ overflows long before y² does (deep networks); q = 0:
       a dead input, kurtosis undefined (NaN), not a failure */
    double s4                    = q > 0 ? NNLFourthSum(n, Y + a * n, q) : 0.0;
    res->lognorm[r * m + a]      = log(q);
    res->lognorm_post[r * m + a] = log(post);
    res->kurtosis[r * m + a]     = q > 0 ? s4 / (double)n - 3.0 : NAN;
    if (!isfinite(q) || !isfinite(post) || !isfinite(s4)) *ok = PETSC_FALSE;
  }
  for (PetscInt i = 0; i < np; i++)
    if (!isfinite(gram[i])) *ok = PETSC_FALSE;
  if (scale2) { /* the true state is 2^scale2 times the stored one: exact powers of two, and logs in
                   the log domain */
    for (PetscInt i = 0; i < np; i++) gram[i] = ldexp(gram[i], 2 * scale2);
    for (PetscInt a = 0; a < m; a++) {
      res->lognorm[r * m + a] += 2.0 * scale2 * M_LN2;
      res->lognorm_post[r * m + a] += 2.0 * scale2 * M_LN2;
    }
  }
  PetscFunctionReturn(0);
}

/* x[i] into its place among the sorted x[lo..i): the step of an insertion sort. Returns how many it
 * moved. */
static inline PetscInt InsertSorted(double *x, PetscInt lo, PetscInt i)
{
  double   v = x[i];
  PetscInt j = i;

  for (; j > lo && x[j - 1] > v; j--) x[j] = x[j - 1];
  x[j] = v;
  return i - j;
}

/**
  @brief Ascending sort of the finite doubles x[0..n), work[0..n) scratch: insertion sort on runs of
  16, then bottom-up merges. Inline comparisons: qsort's callback made the sort a quarter of a small
  network's time. Any correct sort gives the same array (equal doubles are the same number), so the
  KS distance keeps its bits.
*/
static void SortDoubles(PetscInt n, double *x, double *work)
{
  const PetscInt run = 16;
  double        *a = x, *b = work;

  for (PetscInt lo = 0; lo < n; lo += run) {
    PetscInt hi = PetscMin(lo + run, n);
    for (PetscInt i = lo + 1; i < hi; i++) (void)InsertSorted(x, lo, i);
  }
  for (PetscInt w = run; w < n; w *= 2) {
    double *t;
    for (PetscInt lo = 0; lo < n; lo += 2 * w) {
      PetscInt mid = PetscMin(lo + w, n), hi = PetscMin(lo + 2 * w, n), i = lo, j = mid, k = lo;
      while (i < mid && j < hi) b[k++] = a[j] < a[i] ? a[j++] : a[i++];
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    t = a;
    a = b;
    b = t;
  }
  if (a != x) memcpy(x, a, (size_t)n * sizeof(double));
}

/* Coordinates from which NNLKSNormal sorts by radix rather than by merges, when the value buckets
 * give up. */
#define NNL_KS_RADIX_MIN 2048

/* The order-preserving key of a double (its bits with the sign bit set for x >= +0, all bits
   flipped for x <= −0): keys compare as unsigned integers as the doubles compare, with −0 just
   below +0. */
static inline uint64_t SortKey(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof(u));
  return u >> 63 ? ~u : u | 0x8000000000000000ULL;
}
static inline double SortKeyValue(uint64_t k)
{
  uint64_t u = k >> 63 ? k & 0x7fffffffffffffffULL : ~k;
  double   x;
  memcpy(&x, &u, sizeof(x));
  return x;
}

/**
  @brief Ascending sort of the finite doubles x[0..n), work[0..n) scratch, n < 2^32:
  least-significant-digit radix on their keys, 11 bits a pass, the six histograms counted in one
  pass first and a pass skipped when all keys share its digit (the top digits of a sample of
  normals: sign and exponent vary little). About 1 ns per element a pass, where the merges'
  data-dependent branch (mispredicted half the time on random data) cost ~5 ns per element a level:
  a KS distance at n = 262144 took 19 ms, as long as two layers of the network. The same array as
  any sort, but for ±0, which it puts −0 first; the KS distance does not tell them apart (erfc(±0)
  is the same).
*/
/* the keys live in the doubles' own arrays: a type that may alias them (strict aliasing would let
 * the compiler assume x[i] and a[i] are different memory) */
typedef uint64_t __attribute__((may_alias)) KeyWord;

static void RadixSortDoubles(PetscInt n, double *x, double *work)
{
  enum { BITS = 11, BUCKETS = 1 << BITS, PASSES = 6 };
  uint32_t count[PASSES][BUCKETS];
  KeyWord *a = (KeyWord *)work, *b = (KeyWord *)x;

  memset(count, 0, sizeof(count));
  for (PetscInt i = 0; i < n; i++) {
    uint64_t k = SortKey(x[i]);
    a[i]       = k;
    for (int p = 0; p < PASSES; p++) count[p][(k >> (BITS * p)) & (BUCKETS - 1)]++;
  }
  for (int p = 0; p < PASSES; p++) {
    uint32_t sum = 0, *c = count[p];
    KeyWord *t;
    if (c[(a[0] >> (BITS * p)) & (BUCKETS - 1)] == (uint32_t)n)
      continue; /* every key has this digit */
    for (int d = 0; d < BUCKETS; d++) {
      uint32_t k = c[d];
      c[d]       = sum;
      sum += k;
    }
    for (PetscInt i = 0; i < n; i++) b[c[(a[i] >> (BITS * p)) & (BUCKETS - 1)]++] = a[i];
    t = a;
    a = b;
    b = t;
  }
  for (PetscInt i = 0; i < n; i++) x[i] = SortKeyValue(a[i]);
}

/**
  @brief Ascending sort of x[0..n) (finite, about unit mean square: the KS input), work[0..n)
  scratch, by value buckets: a logistic stand-in for Φ, u = 1/(1 + e^{−1.702x}), puts x in bucket
  ⌊n·u⌋ (about one a bucket), one counting pass and one scatter leave the array nearly sorted, and
  an insertion sort finishes it, exactly whatever the buckets did. Returns 0, or −1 (x a permutation
  of itself, unsorted) when the data are far from normal (the insertion sort moved more than 8
  elements per element, or no memory): the caller then sorts another way. About 10 ns an element
  where the radix sort took 33 (its six scatter passes).
*/
static int BucketSortDoubles(PetscInt n, double *x, double *work)
{
  uint32_t *bk = malloc(2 * (size_t)n * sizeof(uint32_t)), *cnt = bk + n, sum = 0;
  size_t    moves = 0;

  if (!bk) return -1;
  for (PetscInt i = 0; i < n; i++) work[i] = -1.702 * x[i];
  NNLExpArray((size_t)n, work, work);
  memset(cnt, 0, (size_t)n * sizeof(uint32_t));
  for (PetscInt i = 0; i < n; i++) {
    double   u = (double)n / (1.0 + work[i]);
    uint32_t b = u < (double)n ? (uint32_t)u : (uint32_t)(n - 1);
    bk[i]      = b;
    cnt[b]++;
  }
  for (PetscInt b = 0; b < n; b++) {
    uint32_t k = cnt[b];
    cnt[b]     = sum;
    sum += k;
  }
  for (PetscInt i = 0; i < n; i++) work[cnt[bk[i]]++] = x[i];
  free(bk);
  for (PetscInt i = 1; i < n; i++) {
    moves += (size_t)InsertSorted(work, 0, i);
    if (moves > 8 * (size_t)n) {
      memcpy(x, work, (size_t)n * sizeof(double));
      return -1;
    }
  }
  memcpy(x, work, (size_t)n * sizeof(double));
  return 0;
}

/* Beyond this many coordinates the sort; up to it, ranks by counting (n² branch-free comparisons,
   which the compiler vectorises: a 32-element insertion sort costs a µs here, mostly in
   mispredicted branches). */
#define NNL_KS_COUNT_MAX 64

/* The KS terms of the value at sorted position r, folded into the running maximum d. */
static inline double KSTerm(double d, double v, PetscInt r, PetscInt n)
{
  double F = 0.5 * erfc(-v / sqrt(2.0)), lo = F - (double)r / n, hi = (double)(r + 1) / n - F;
  if (lo > d) d = lo;
  if (hi > d) d = hi;
  return d;
}

/* Ranks r[i] of x[i] in the sorted order: the values below it, and its equals that come before it
   (the position a stable sort gives it). Counted for all i at once, value by value, so that the
   loop over i vectorises with no reduction (n <= NNL_KS_COUNT_MAX). */
static inline __attribute__((always_inline)) void RankLoop(PetscInt n, const double *x, PetscInt *r)
{
  for (PetscInt i = 0; i < n; i++) r[i] = 0;
  for (PetscInt j = 0; j < n; j++) {
    const double u = x[j];
    for (PetscInt i = 0; i < n; i++) r[i] += (u < x[i]) | ((u == x[i]) & (j < i));
  }
}
NNL_SIMD_FUNCTION(Ranks, (PetscInt n, const double *x, PetscInt *r), (n, x, r), RankLoop)

/* A bound on |F̃ − Φ| below: Abramowitz & Stegun 7.1.26 gives erfc within 1.5e-7, so F̃
   within 7.5e-8, and the rounding of its few operations is ~1e-16. */
#define NNL_KS_SCREEN 1e-6

/* F̃ ≈ Φ(x) within NNL_KS_SCREEN by A&S 7.1.26 (erfc(z) ≈ P(1/(1 + pz)) e^{−z²}, z = |x|/√2), given
   g = e^{−x²/2} (computed apart, by NNLExpArray over an array) */
static inline __attribute__((always_inline)) double PhiAS(double x, double g)
{
  const double z = fabs(x) * 0.70710678118654752440, u = 1.0 / (1.0 + 0.3275911 * z);
  const double h =
    0.5 * g *
    (u *
     (0.254829592 + u * (-0.284496736 + u * (1.421413741 + u * (-1.453152027 + u * 1.061405429)))));
  return x >= 0 ? 1.0 - h : h;
}

/* The screening values: per x[i], i < cnt, max(F̃ − r_i/n, (r_i + 1)/n − F̃), F̃ = PhiAS(x[i]), into
   t[i], where t[i] holds e^{−x[i]²/2} on entry. r NULL: r_i = i. */
static inline __attribute__((always_inline)) void
ScreenLoop(PetscInt cnt, PetscInt n, const double *x, const PetscInt *r, double *t)
{
  for (PetscInt i = 0; i < cnt; i++) {
    double F = PhiAS(x[i], t[i]), rk = r ? (double)r[i] : (double)i, lo = F - rk / n,
           hi = (rk + 1) / n - F;
    t[i]      = lo > hi ? lo : hi;
  }
}
NNL_SIMD_FUNCTION(Screen, (PetscInt cnt, PetscInt n, const double *x, const PetscInt *r, double *t),
                  (cnt, n, x, r, t), ScreenLoop)

/**
  @brief The KS distance of x[0..n) at ranks r (NULL: x sorted, r_i = i), t[0..n) scratch: the exact
  terms (libm's erfc) only where they can be the largest. A vectorised approximation F̃ of Φ within
  NNL_KS_SCREEN gives every term within NNL_KS_SCREEN; the largest exact term is then within
  2·NNL_KS_SCREEN of the largest screened one, and only the terms screened that high (a few) are
  computed exactly. Their maximum is the maximum of all exact terms: the same bits as computing
  every one, for an erfc on a handful of coordinates instead of all n (erfc was a third of a tiny
  network's time, and 16 ms of a width-262144 network's last layer).
*/
static double KSFromRanks(PetscInt cnt, PetscInt n, const double *x, const PetscInt *r, double *t)
{
  double d = 0, top = -INFINITY;

  for (PetscInt i = 0; i < cnt; i++) t[i] = -0.5 * x[i] * x[i];
  NNLExpArray((size_t)cnt, t, t);
  Screen(cnt, n, x, r, t);
  for (PetscInt i = 0; i < cnt; i++)
    if (t[i] > top) top = t[i];
  for (PetscInt i = 0; i < cnt; i++)
    if (t[i] >= top - 2 * NNL_KS_SCREEN) d = KSTerm(d, x[i], r ? r[i] : i, n);
  return d;
}

/* The bins of NNLKSNormal's large-n path: B = NB + 2, NB of them uniform in x over [−KS_BIN_RANGE,
   KS_BIN_RANGE) (bin b = 1 … NB holds [−R + (b−1)w, −R + bw), w = 2R/NB, up to the rounding of (x +
   R)·scale), and the two tails 0 and B−1. Non-decreasing in x (floating-point +, × a positive
   constant, the clamps and the truncation of a value
   >= −1 are monotone): a bin's values all lie below the next bin's. Branch-free, so that it
   vectorises. */
#define KS_BIN_RANGE 6.0
/* At most this many coordinates a bin on average (past 2^19 of them; below, 2^16 bins): with the
   bins capped at 2^16, a bin's width in Φ passed the bridge's steps between bins and the bounds
   flagged a growing share of all n, all of them sorted and screened: k = 27 246, 243 565, 956 468
   of n = 2^20, 2^21, 2^22 (KS 2.6, 7.0, 12.3 ns an element), and 14 650, 9 970, 13 287 with n/8
   bins (2.5, 2.4, 2.9 ns) */
#define KS_PER_BIN 8
static inline __attribute__((always_inline)) void BinsLoop(PetscInt n, const double *x,
                                                           double scale, uint32_t NB, uint32_t *bin)
{
  for (PetscInt i = 0; i < n; i++) {
    double v = (x[i] + KS_BIN_RANGE) * scale;
    v        = v < 0 ? -1.0 : v;
    v        = v > (double)NB ? (double)NB : v;
    bin[i]   = (uint32_t)((int32_t)v + 1);
  }
}
NNL_SIMD_FUNCTION(Bins, (PetscInt n, const double *x, double scale, uint32_t NB, uint32_t *bin),
                  (n, x, scale, NB, bin), BinsLoop)

/* F̃ ≈ Φ within NNL_KS_SCREEN at the bins' edges: E[e] at −R + (e−1)w for e = 1 … B−1, E[0] = 0,
   E[B] = 1 (the tails' outer edges). The last B's, kept: a task's inputs and its seeds' networks
   have the same n. */
static const double *KSEdges(uint32_t B)
{
  static double  *E;
  static uint32_t EB;
  const double    w = 2 * KS_BIN_RANGE / (double)(B - 2);
  double         *t;

  if (EB == B) return E;
  free(E);
  EB = 0;
  if (!(E = malloc(2 * ((size_t)B + 1) * sizeof(double)))) return NULL;
  t = E + B + 1;
  for (uint32_t e = 1; e < B; e++) {
    const double x = -KS_BIN_RANGE + (double)(e - 1) * w;
    E[e]           = x;
    t[e]           = -0.5 * x * x;
  }
  NNLExpArray((size_t)B - 1, t + 1, t + 1);
  for (uint32_t e = 1; e < B; e++) E[e] = PhiAS(E[e], t[e]);
  E[0] = 0;
  E[B] = 1;
  EB   = B;
  return E;
}

/* Sort a run of len doubles (scratch: len more). */
static void SortRun(PetscInt len, double *x, double *scratch)
{
  if (len >= NNL_KS_RADIX_MIN && (size_t)len <= UINT32_MAX)
    RadixSortDoubles(len, x, scratch);
  else
    SortDoubles(len, x, scratch);
}

/* From this many coordinates NNLKSNormal counts into bins rather than sorting. */
#define NNL_KS_BINS_MIN 1024

/**
  @brief The KS distance of the finite x[0..n) without sorting them (work: n doubles of scratch; x
  unchanged); -1 when out of memory. x is counted into B = min(n/2, max(2^16, n/8)) value bins
  (Bins), which give every element's rank but for its place among its bin's, and bounds on each
  bin's terms: an element of bin b has its rank within [C_b, C_{b+1}) (C: the counts below) and its
  value within the bin's edges, so its exact terms are at most U_b = max(F̃(hi) − C_b/n, C_{b+1}/n −
  F̃(lo)) + tol, and the first and the last element of a non-empty bin have terms at least L_b =
  max((C_b + 1)/n − F̃(hi), F̃(lo) − (C_{b+1} − 1)/n) − tol (tol: F̃'s error, twice, and the edges'
  rounding). Only the bins with U_b ≥ max L can hold the largest term: their elements (~10^3 for a
  sample of normals at n = 2^20) are gathered, sorted bin by bin and given to the screened exact
  terms at their true ranks, whose maximum is that of all n, bit for bit. A vectorised pass over x
  and two over its bins, where the value buckets' scatter and insertion sort of all n took 12-17 ns
  an element in cache and 39 at n = 2^20.
*/
static double KSByBins(PetscInt n, const double *x, double *work)
{
  const uint32_t B = (uint32_t)PetscMin(n / 2, PetscMax(65536, n / KS_PER_BIN)), NB = B - 2;
  const double   scale = (double)NB / (2 * KS_BIN_RANGE), tol = 4 * NNL_KS_SCREEN;
  uint32_t      *bin = (uint32_t *)work, *C = bin + n,
           sum        = 0; /* n bins, B + 1 counts: 4n + 4B + 4 <= 8n bytes */
  const double  *E    = KSEdges(B);
  double         lmax = -INFINITY, d, *g, *t;
  PetscInt      *rk, *pos, k = 0, off = 0;
  unsigned char *flag;

  if (!E) return -1;
  Bins(n, x, scale, NB, bin);
  memset(C, 0, ((size_t)B + 1) * sizeof(uint32_t));
  for (PetscInt i = 0; i < n; i++) C[bin[i]]++;
  for (uint32_t b = 0; b <= B; b++) {
    const uint32_t c = C[b];
    C[b]             = sum;
    sum += c;
  }
  for (uint32_t b = 0; b < B; b++)
    if (C[b + 1] > C[b])
      lmax = PetscMax(
        lmax, PetscMax(((double)C[b] + 1) / n - E[b + 1], E[b] - ((double)C[b + 1] - 1) / n));
  lmax -= tol;
  if (!(pos = malloc((size_t)B * (sizeof(PetscInt) + 1)))) return -1;
  flag = (unsigned char *)(pos + B);
  /* flag the bins that may hold the largest term, each at its offset among them */
  for (uint32_t b = 0; b < B; b++) {
    const uint32_t lo = C[b], hi = C[b + 1];
    pos[b]  = off;
    flag[b] = hi > lo && PetscMax(E[b + 1] - (double)lo / n, (double)hi / n - E[b]) + tol >= lmax;
    if (flag[b]) off += (PetscInt)(hi - lo);
  }
  k = off;
  if (!(g = malloc((size_t)k * (2 * sizeof(double) + sizeof(PetscInt)) + 1))) {
    free(pos);
    return -1;
  }
  t  = g + k;
  rk = (PetscInt *)(t + k);
  for (PetscInt i = 0; i < n; i++)
    if (flag[bin[i]]) g[pos[bin[i]]++] = x[i];
  off = 0;
  for (uint32_t b = 0; b < B; b++)
    if (flag[b]) {
      const uint32_t lo = C[b], len = C[b + 1] - lo;
      if (len > 1) SortRun((PetscInt)len, g + off, t);
      for (uint32_t j = 0; j < len; j++)
        rk[off + j] = (PetscInt)(lo + j); /* the true ranks, in bin order */
      off += (PetscInt)len;
    }
  free(pos);
  d = KSFromRanks(k, n, g, rk, t);
  free(g);
  return d;
}

double NNLKSNormal(PetscInt n, double *x, double *work)
{
  if (n <= NNL_KS_COUNT_MAX) {
    /* x[i]'s position in the sorted array by counting: the same (value, position) pairs as sorting,
       and a maximum does not depend on order: the same bits. */
    PetscInt r[NNL_KS_COUNT_MAX];
    Ranks(n, x, r);
    return KSFromRanks(n, n, x, r, work);
  }
  if (n >= NNL_KS_BINS_MIN && (size_t)n <= UINT32_MAX) {
    const double d = KSByBins(n, x, work);
    if (d >= 0) return d;
  }
  if ((size_t)n > UINT32_MAX || BucketSortDoubles(n, x, work))
    SortRun(n, x, work); /* its counts are 32-bit, as the radix sort's */
  return KSFromRanks(n, n, x, NULL, work);
}

PetscErrorCode NNLObserveNormality(PetscInt n, PetscInt m, const double *Y, NNLResult *res)
{
  double *x;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1((size_t)2 * n,
                         &x)); /* the coordinates, then the sort's scratch (2n may pass 2^31) */
  for (PetscInt a = 0; a < m; a++) {
    double s = sqrt(NNLDot(n, Y + a * n, Y + a * n) / (double)n);
    if (!(s > 0) || !isfinite(s)) {
      res->ks[a] = NAN;
      continue;
    }
    for (PetscInt i = 0; i < n; i++) x[i] = Y[i + a * n] / s;
    res->ks[a] = NNLKSNormal(n, x, x + n);
  }
  PetscCall(PetscFree(x));
  PetscFunctionReturn(0);
}
