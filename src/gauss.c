/* Gauss–Hermite rules for N(0,1) and the bivariate Gaussian expectation F_φ(K)(1,2). */
#include "nnlimits/gauss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NNL_GH_MAXORDER 256
/* Order used without a closed form: ~1e-11 for smooth φ at unit variance, worse for larger ones. */
#define NNL_GH_DEFAULT_ORDER 96

/* Rules by order: one malloc of 2*order doubles each (nodes, then weights); kept for the run. */
static double *gh_rule[NNL_GH_MAXORDER + 1];

/**
  @brief h_n(x) and h_{n-1}(x), Hermite polynomials orthonormal under N(0,1): h_{k+1} = (x h_k − √k
  h_{k−1})/√(k+1). The forward recurrence is stable here: h_n is the dominant solution for |x|
  inside the node range.
*/
static void HermiteEval(int n, double x, double *hn, double *hn1)
{
  double h0 = 1.0, h1 = x;

  if (n == 0) {
    *hn  = 1.0;
    *hn1 = 0.0;
    return;
  }
  for (int k = 1; k < n; k++) {
    double h2 = (x * h1 - sqrt((double)k) * h0) / sqrt((double)(k + 1));
    h0        = h1;
    h1        = h2;
  }
  *hn  = h1;
  *hn1 = h0;
}

/**
  @brief Number of Gauss–Hermite nodes of order n below lam: a Sturm count on the Jacobi matrix
  (zero diagonal, off-diagonal √k, k = 1..n−1). Counting cannot skip or repeat a root, unlike Newton
  from asymptotic guesses, which for n >= 199 jumps back to a root already found.
*/
static int HermiteCountBelow(int n, double lam)
{
  int    count = 0;
  double d     = -lam;

  for (int k = 1;; k++) {
    if (d == 0.0)
      d = -1e-300; /* lam hit a leading-minor eigenvalue exactly: perturb, as in LAPACK dstebz */
    if (d < 0.0) count++;
    if (k == n) break;
    d = -lam - (double)k / d;
  }
  return count;
}

/**
  @brief Node number i (ascending, 0-based) of order n: bisection on the Sturm count down to ~1e-14,
  then Newton on h_n (h_n' = √n h_{n−1}) for full relative accuracy; Newton steps leaving the
  bracket are refused.
*/
static double HermiteNode(int n, int i)
{
  double hi = 2.0 * sqrt((double)n) + 1.0, lo = -hi, x;

  for (int it = 0; it < 200 && hi - lo > 1e-14 * fmax(1.0, fabs(lo)); it++) {
    double mid = 0.5 * (lo + hi);
    if (HermiteCountBelow(n, mid) > i)
      hi = mid;
    else
      lo = mid;
  }
  x = 0.5 * (lo + hi);
  for (int it = 0; it < 3; it++) {
    double hn, hn1, xn;
    HermiteEval(n, x, &hn, &hn1);
    xn = x - hn / (sqrt((double)n) * hn1);
    if (!(xn >= lo - (hi - lo) && xn <= hi + (hi - lo))) break;
    x = xn;
  }
  return x;
}

/**
  @brief Compute the order-n rule into x[0..n) ascending and w[0..n). Nodes come in ± pairs, so only
  the upper half is computed and mirrored (this also makes the rule exactly symmetric, and the
  middle node of an odd rule exactly 0). Weights: Christoffel numbers 1/Σ_{k<n} h_k(x)² = 1/(n
  h_{n−1}(x)²) at a root.
*/
static void HermiteRule(int n, double *x, double *w)
{
  for (int i = n / 2; i < n; i++) {
    double r = (n % 2 == 1 && i == n / 2) ? 0.0 : HermiteNode(n, i), hn, hn1;
    HermiteEval(n, r, &hn, &hn1);
    x[i]         = r;
    x[n - 1 - i] = -r;
    w[i] = w[n - 1 - i] = 1.0 / ((double)n * hn1 * hn1);
  }
}

/**
  @brief Nodes x[0..order) ascending and weights w with E f(Z) ≈ Σ w[i] f(x[i]), Z ~ N(0,1); exact
  for polynomials of degree < 2·order. Computed on first use per order, then cached. Aborts on order
  outside [1, 256] (a programming error: every caller passes a constant or a validated option).
*/
void NNLGaussHermite(int order, const double **x, const double **w)
{
  if (order < 1 || order > NNL_GH_MAXORDER) {
    fprintf(stderr, "NNLGaussHermite: order %d outside [1, %d]\n", order, NNL_GH_MAXORDER);
    abort();
  }
  if (!gh_rule[order]) {
    double *rule = malloc(2 * (size_t)order * sizeof(double));
    if (!rule) {
      fprintf(stderr, "NNLGaussHermite: out of memory for order %d\n", order);
      abort();
    }
    HermiteRule(order, rule, rule + order);
    gh_rule[order] = rule;
  }
  *x = gh_rule[order];
  *w = gh_rule[order] + order;
}

/**
  @brief E[φ(Z1)φ(Z2)] by tensor-product Gauss–Hermite, with Z1 = √k11 g1, Z2 = √k22 (ρ g1 + √(1−ρ²)
  g2). Writing Z2 through ρ (not a Cholesky of K) keeps |ρ| → 1 and zero variances exact: no
  division by a vanishing pivot. √(1−ρ²) is formed as √((1−ρ)(1+ρ)) to keep its digits near |ρ| = 1.
*/
double NNLGaussDualQuad(const NNLActivation *act, double k11, double k22, double k12, int order)
{
  const double *x = NULL, *w = NULL;
  const double *p   = act->p;
  NNLPhiFn      phi = act->def->phi;
  double        f1[NNL_GH_MAXORDER];
  double        s1, s2, rho = 0.0, c, sum = 0.0;

  NNLGaussHermite(order, &x, &w);
  s1 = sqrt(k11 > 0.0 ? k11 : 0.0);
  s2 = sqrt(k22 > 0.0 ? k22 : 0.0);
  if (s1 > 0.0 && s2 > 0.0) rho = k12 / (s1 * s2);
  if (rho > 1.0) rho = 1.0;
  if (rho < -1.0) rho = -1.0;
  c = sqrt((1.0 - rho) * (1.0 + rho));
  for (int i = 0; i < order; i++) f1[i] = phi(s1 * x[i], p);
  for (int i = 0; i < order; i++) {
    double inner = 0.0;
    if (f1[i] == 0.0) continue; /* e.g. ReLU on the negative half: nothing to add */
    for (int j = 0; j < order; j++) inner += w[j] * phi(s2 * (rho * x[i] + c * x[j]), p);
    sum += w[i] * f1[i] * inner;
  }
  return sum;
}

/** @brief F_φ(K)(1,2): the row's closed form when it has one, else quadrature of order 96. */
double NNLGaussDual(const NNLActivation *act, double k11, double k22, double k12)
{
  if (act->def->dual) return act->def->dual(k11, k22, k12, act->p);
  return NNLGaussDualQuad(act, k11, k22, k12, NNL_GH_DEFAULT_ORDER);
}
