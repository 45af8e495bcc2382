/* The bivariate Gaussian expectation F_φ(K)(1,2): a graded composite Gauss–Legendre rule, the
 * trapezoid rule for φ analytic in a strip, and Gauss–Hermite rules. */
#include "nnlimits/gauss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NNL_GH_MAXORDER 256

/* Composite Gauss–Legendre panel rule (NNLGaussDualPanel): nodes per panel, truncation |z| <= ZMAX,
   and the most breakpoints: 2·ZMAX + 1 integers, the feature point, and 2 × 21 graded points (h >=
   1e-6). */
#define NNL_GL_ORDER       10
#define NNL_PANEL_ZMAX     9
#define NNL_PANEL_MAXBREAK (2 * NNL_PANEL_ZMAX + 1 + 1 + 2 * 21)
#define NNL_PANEL_MAXNODE  ((NNL_PANEL_MAXBREAK - 1) * NNL_GL_ORDER)

static const double NNL_PI         = 3.141592653589793238462643383279;
static const double NNL_INVSQRT2PI = 0.398942280401432677939946059934;

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
  @brief The parametrisation both rules integrate in: Z1 = s1 g1, Z2 = s2 (ρ g1 + c g2), g1, g2 iid
  N(0,1), with s = √k (negative variances from rounding read as 0), ρ clamped to [−1, 1] (0 when a
  variance is 0) and c = √((1−ρ)(1+ρ)), which keeps its digits near |ρ| = 1.
*/
static void Parametrise(double k11, double k22, double k12, double *s1, double *s2, double *rho,
                        double *c)
{
  *s1  = sqrt(k11 > 0.0 ? k11 : 0.0);
  *s2  = sqrt(k22 > 0.0 ? k22 : 0.0);
  *rho = *s1 > 0.0 && *s2 > 0.0 ? k12 / (*s1 * *s2) : 0.0;
  if (*rho > 1.0) *rho = 1.0;
  if (*rho < -1.0) *rho = -1.0;
  *c = sqrt((1.0 - *rho) * (1.0 + *rho));
}

/* Σ_j w[j] φ(u[j]), summed in j order as a node-by-node loop would; φ over the whole array
   (NNLActivationApply vectorises tanh), in place: u is overwritten. */
static double PhiDot(const NNLActivation *act, int n, double *u, const double *w)
{
  double s = 0.0;

  NNLActivationApply(act, (size_t)n, u, u);
  for (int j = 0; j < n; j++) s += w[j] * u[j];
  return s;
}

/**
  @brief E[φ(Z1)φ(Z2)] by tensor-product Gauss–Hermite, with Z1 = √k11 g1, Z2 = √k22 (ρ g1 + √(1−ρ²)
  g2). Writing Z2 through ρ (not a Cholesky of K) keeps |ρ| → 1 and zero variances exact: no
  division by a vanishing pivot. √(1−ρ²) is formed as √((1−ρ)(1+ρ)) to keep its digits near |ρ| = 1.
*/
double NNLGaussDualQuad(const NNLActivation *act, double k11, double k22, double k12, int order)
{
  const double *x = NULL, *w = NULL;
  double        f1[NNL_GH_MAXORDER], u[NNL_GH_MAXORDER];
  double        s1, s2, rho, c, sum = 0.0;

  NNLGaussHermite(order, &x, &w);
  Parametrise(k11, k22, k12, &s1, &s2, &rho, &c);
  for (int i = 0; i < order; i++) u[i] = s1 * x[i];
  NNLActivationApply(act, (size_t)order, u,
                     f1); /* φ over whole arrays of nodes: vectorised for tanh */
  for (int i = 0; i < order; i++) {
    if (f1[i] == 0.0) continue; /* e.g. ReLU on the negative half: nothing to add */
    for (int j = 0; j < order; j++) u[j] = s2 * (rho * x[i] + c * x[j]);
    sum += w[i] * f1[i] * PhiDot(act, order, u, w);
  }
  return sum;
}

/**
  @brief The 10-point Gauss–Legendre rule on [−1, 1], computed on first use: Newton on P_10 from
  cos(π(i + 3/4)/(n + 1/2)) (within one root spacing of root i), weights 2/((1 − t²) P_10'(t)²).
  Only the upper half is computed and mirrored, so the rule is exactly symmetric.
*/
static void GaussLegendre(const double **t, const double **w)
{
  static double gl_t[NNL_GL_ORDER], gl_w[NNL_GL_ORDER];
  static int    done;
  const int     n = NNL_GL_ORDER;

  if (!done) {
    for (int i = 0; i < n / 2; i++) {
      double x = cos(NNL_PI * (i + 0.75) / (n + 0.5)), dp = 1.0;
      for (int it = 0; it < 100; it++) {
        double p0 = 1.0, p1 = x, dx;
        for (int k = 2; k <= n; k++) {
          double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
          p0        = p1;
          p1        = p2;
        }
        dp = n * (x * p1 - p0) / (x * x - 1.0); /* P_n' from P_n and P_{n−1} */
        dx = p1 / dp;
        x -= dx;
        if (fabs(dx) <= 1e-16) break;
      }
      gl_t[n - 1 - i] = x;
      gl_t[i]         = -x;
      gl_w[i] = gl_w[n - 1 - i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    done = 1;
  }
  *t = gl_t;
  *w = gl_w;
}

/* Panel [a, b] of the rule: its nodes z, and in w the exponents −z²/2 of their Gaussian weights. */
static void PanelNodes(double a, double b, const double *t, double z[], double w[])
{
  double mid = 0.5 * (a + b), half = 0.5 * (b - a);

  for (int j = 0; j < NNL_GL_ORDER; j++) {
    z[j] = mid + half * t[j];
    w[j] = -0.5 * z[j] * z[j];
  }
}

/* Panel [a, b]'s weights from their exponentials e^{−z²/2} in w. */
static void PanelWeights(double a, double b, const double *wt, double w[])
{
  double half = 0.5 * (b - a);

  for (int j = 0; j < NNL_GL_ORDER; j++) w[j] = half * wt[j] * w[j] * NNL_INVSQRT2PI;
}

/* The panels [k, k + 1] between the integers: most panels of every rule are these (all but those
   the grading around c splits), so their nodes and weights are computed once, by the same steps as
   any panel's (the same bits). */
static void IntegerPanels(const double **z, const double **w)
{
  static double iz[2 * NNL_PANEL_ZMAX][NNL_GL_ORDER], iw[2 * NNL_PANEL_ZMAX][NNL_GL_ORDER];
  static int    done;
  const double *t = NULL, *wt = NULL;

  if (!done) {
    GaussLegendre(&t, &wt);
    for (int k = 0; k < 2 * NNL_PANEL_ZMAX; k++) {
      double a = k - NNL_PANEL_ZMAX;
      PanelNodes(a, a + 1, t, iz[k], iw[k]);
    }
    NNLExpArray((size_t)(2 * NNL_PANEL_ZMAX * NNL_GL_ORDER), iw[0], iw[0]);
    for (int k = 0; k < 2 * NNL_PANEL_ZMAX; k++)
      PanelWeights(k - NNL_PANEL_ZMAX, k - NNL_PANEL_ZMAX + 1, wt, iw[k]);
    done = 1;
  }
  *z = iz[0];
  *w = iw[0];
}

/* The weights of the split panels first .. end − 1 (their exponents in w). */
static void SplitWeights(const double br[], int first, int end, const double *wt, double w[])
{
  NNLExpArray((size_t)((end - first) * NNL_GL_ORDER), w + first * NNL_GL_ORDER,
              w + first * NNL_GL_ORDER);
  for (int q = first; q < end; q++) PanelWeights(br[q], br[q + 1], wt, w + q * NNL_GL_ORDER);
}

/**
  @brief Composite Gauss–Legendre rule for E f(Z), Z ~ N(0,1), truncated to [−9, 9] (mass outside:
  2.3e-19): nodes z[] ascending, weights w[] (density included); returns the node count (at most
  NNL_PANEL_MAXNODE). Breakpoints: the integers, for the Gaussian weight, and a grading towards the
  feature point c of f (a kink, or a transition of width ~2h): c, c ± h·2^j while h·2^j < 2, clipped
  to (−9, 9). Every panel off the centre is then at most as wide as its distance from c, so f smooth
  except at scale h around c is resolved with O(log(1/h)) panels, and a kink at c is a breakpoint.
  Grading only while h·2^j < 1 left panels twice as wide as their distance from c (from the last
  graded point to the next integer), and GELU's Gaussian tail 4–8 widths out then cost 2e-12 where
  F ≪ E|φ(Z1)φ(Z2)| (k ~ 1e3, ρ ~ −0.9). h is clamped to ≥ 1e-6 (at most 21 levels).
*/
static int PanelRule(double c, double h, double z[], double w[])
{
  const double *t = NULL, *wt = NULL, *iz = NULL, *iw = NULL;
  double        br[NNL_PANEL_MAXBREAK];
  int           nb = 0, nu = 0, nz = 0, run = -1;

  GaussLegendre(&t, &wt);
  IntegerPanels(&iz, &iw);
  for (int i = -NNL_PANEL_ZMAX; i <= NNL_PANEL_ZMAX; i++) br[nb++] = i;
  if (fabs(c) < NNL_PANEL_ZMAX) br[nb++] = c;
  for (double e = fmax(h, 1e-6); e < 2.0; e *= 2.0) {
    if (fabs(c - e) < NNL_PANEL_ZMAX) br[nb++] = c - e;
    if (fabs(c + e) < NNL_PANEL_ZMAX) br[nb++] = c + e;
  }
  for (int i = 1; i < nb; i++) { /* insertion sort: at most 62 points, mostly in order */
    double v = br[i];
    int    j = i;
    for (; j > 0 && br[j - 1] > v; j--) br[j] = br[j - 1];
    br[j] = v;
  }
  for (int i = 0; i < nb; i++)
    if (nu == 0 || br[i] != br[nu - 1]) br[nu++] = br[i];
  /* Panels in order; the split ones (a run of them around c) get their exponentials in one
   * vectorised pass per run. */
  for (int p = 0; p + 1 < nu; p++, nz += NNL_GL_ORDER) {
    if (br[p] == floor(br[p]) && br[p + 1] == br[p] + 1) {
      int k = (int)br[p] + NNL_PANEL_ZMAX;
      if (run >= 0) SplitWeights(br, run, p, wt, w);
      run = -1;
      memcpy(z + nz, iz + k * NNL_GL_ORDER, NNL_GL_ORDER * sizeof(double));
      memcpy(w + nz, iw + k * NNL_GL_ORDER, NNL_GL_ORDER * sizeof(double));
    } else {
      PanelNodes(br[p], br[p + 1], t, z + nz, w + nz);
      if (run < 0) run = p;
    }
  }
  if (run >= 0) SplitWeights(br, run, nu - 1, wt, w);
  return nz;
}

/** @brief 1/a, +∞ for a = 0 (a ≥ 0): the step widths below treat a zero scale as no constraint. */
static double InvOrInf(double a)
{
  return a > 0.0 ? 1.0 / a : HUGE_VAL;
}

/**
  @brief E[φ(Z1)φ(Z2)] with Z1 = s1 x, Z2 = s2(ρ x + c y), x, y iid N(0,1), c = √((1−ρ)(1+ρ)), as
  E_x[φ(s1 x) g(x)], g(x) = E_y φ(μ + σ y), μ = s2 ρ x, σ = s2 c, each by PanelRule. Every φ of the
  table has its feature at 0, of width 1 if φ is smooth, 0 if it is a kink. The inner feature is at
  y* = −μ/σ, width ~1/σ. The outer one is at x = 0, width ~1/s1 from φ(s1 x) and ~max(w_φ,
  σ)/(s2|ρ|) from g: a kink smoothed by the inner Gaussian still leaves g a transition of width
  σ/(s2|ρ|) = c/|ρ|, which near |ρ| = 1 is far below 1 (ignoring it cost ReLU 1e-9 relative at ρ =
  ±0.9999, k = 1). σ < 1e-9 (ρ = ±1, or k22 = 0) uses g = φ(μ), error O(σ²): the diagonal becomes a
  1-D rule, and a kink of g then sits on the breakpoint 0.
*/
double NNLGaussDualPanel(const NNLActivation *act, double k11, double k22, double k12)
{
  const double *p   = act->p;
  NNLPhiFn      phi = act->def->phi;
  double x[NNL_PANEL_MAXNODE], wx[NNL_PANEL_MAXNODE], y[NNL_PANEL_MAXNODE], wy[NNL_PANEL_MAXNODE];
  double u[NNL_PANEL_MAXNODE], f1[NNL_PANEL_MAXNODE];
  double s1, s2, rho, c, sig, wphi, hx, sum = 0.0;
  int    nx, twice, first;

  Parametrise(k11, k22, k12, &s1, &s2, &rho, &c);
  sig  = s2 * c;
  wphi = act->def->smooth || sig < 1e-9 ? 1.0 : 0.0;
  hx   = 0.5 * fmin(1.0, fmin(InvOrInf(s1), fmax(wphi, sig) * InvOrInf(s2 * fabs(rho))));
  nx   = PanelRule(0.0, hx, x, wx);
  /* φ odd or even: φ(s1 x) g(x) is even in x (the inner rule at −x is the mirror image of the one
     at x, node for node), so the nodes x > 0 count twice and the others are skipped; the outer rule
     is symmetric about 0 with no node at 0 (checked: else every node counts once). Half the work
     for tanh. */
  twice = act->def->parity != 0 && nx % 2 == 0;
  for (int i = 0; i < nx / 2 && twice; i++)
    if (x[nx - 1 - i] != -x[i] || wx[nx - 1 - i] != wx[i]) twice = 0;
  first = twice ? nx / 2 : 0;
  for (int i = first; i < nx; i++) u[i] = s1 * x[i];
  NNLActivationApply(act, (size_t)(nx - first), u + first,
                     f1 + first); /* φ over whole arrays of nodes: vectorised for tanh */
  for (int i = first; i < nx; i++) {
    double mu = s2 * rho * x[i], g = 0.0;
    if (f1[i] == 0.0) continue; /* e.g. ReLU on the negative half: nothing to add */
    if (sig < 1e-9) {
      g = mu == s1 * x[i] ? f1[i] : phi(mu, p); /* the diagonal: φ(Z2) is φ(Z1) */
    } else {
      int ny = PanelRule(-mu / sig, 0.5 * fmin(1.0, 1.0 / sig), y, wy);
      for (int j = 0; j < ny; j++) u[j] = mu + sig * y[j];
      g = PhiDot(act, ny, u, wy);
    }
    sum += twice ? 2.0 * (wx[i] * f1[i] * g) : wx[i] * f1[i] * g;
  }
  return sum;
}

/* The trapezoid rule (NNLGaussDualTrapezoid). It aims at an error of e^{−DIGITS} of the integrand's
   scale, uses a strip of STRIP times the distance to φ's nearest singularity, and declines past
   MAXHALF nodes each side of 0 in a dimension, or when its grid has more nodes than the panel
   rule's at k = 1 (46200 for tanh, before halving by parity, test_panel_cost; the panel rule's grid
   only grows with k). */
#define NNL_TRAP_DIGITS  30.0
#define NNL_TRAP_STRIP   0.8
#define NNL_TRAP_MAXHALF 1024
#define NNL_TRAP_MAXGRID 46200.0

/**
  @brief The step of the trapezoid rule for ∫ f(z) e^{−z²/2} dz, f analytic in the strip |Im z| < τ.
  Its error is about max_{τ' ≤ τ} e^{τ'²/2 − 2πτ'/h} (the Gaussian grows by e^{τ'²/2} inside the
  strip): e^{−D} needs h = 2πτ/(D + τ²/2) while τ < √(2D), where that bound is least, and h =
  π√(2/D) past it. The latter is taken with D + 6, because f's polynomial growth (swish, softplus,
  tanh near 0: f ~ z²) multiplies the aliasing term e^{−2π²/h²} by ~(2π/h)² = 60 (measured: with D
  alone, 1e-9 relative at variance 1e-2).
*/
static double TrapezoidStep(double tau)
{
  const double hg = NNL_PI * sqrt(2.0 / (NNL_TRAP_DIGITS + 6.0));

  if (!(tau < sqrt(2.0 * NNL_TRAP_DIGITS))) return hg;
  return fmin(hg, 2.0 * NNL_PI * tau / (NNL_TRAP_DIGITS + 0.5 * tau * tau));
}

/* Nodes i·h, i = 0..n, and their weights h e^{−(ih)²/2}/√(2π) (the node −ih has the same weight).
 */
static void TrapezoidWeights(int n, double h, double w[])
{
  if (n < 0) return; /* never; said for the compiler, which took w for read unset at -O3 */
  for (int i = 0; i <= n; i++) w[i] = -0.5 * (i * h) * (i * h);
  NNLExpArray((size_t)(n + 1), w, w);
  for (int i = 0; i <= n; i++) w[i] *= h * NNL_INVSQRT2PI;
}

int NNLGaussDualTrapezoid(const NNLActivation *act, double k11, double k22, double k12, double *F)
{
  const double pole = act->def->pole, zmax = sqrt(2.0 * (NNL_TRAP_DIGITS + 2.0));
  double       wx[NNL_TRAP_MAXHALF + 1], wy[NNL_TRAP_MAXHALF + 1], u[2 * NNL_TRAP_MAXHALF + 1],
    f1[2 * NNL_TRAP_MAXHALF + 1];
  double s1, s2, rho, c, sig, hx, hy, nxd, nyd, sum = 0.0;
  int    nx, ny, twice, first;

  if (!(pole > 0.0)) return 0;
  Parametrise(k11, k22, k12, &s1, &s2, &rho, &c);
  if (!(isfinite(s1) && isfinite(s2) && isfinite(rho))) return 0;
  sig = s2 * c;
  /* outer: φ(s1 x), and g(x) = E_y φ(s2ρx + σy), which keeps φ's strip in s2ρx (it is entire if σ >
   * 0, but grows) */
  hx  = TrapezoidStep(NNL_TRAP_STRIP * pole * InvOrInf(fmax(s1, s2 * fabs(rho))));
  hy  = TrapezoidStep(NNL_TRAP_STRIP * pole * InvOrInf(sig));
  nxd = floor(zmax / hx);
  nyd = sig < 1e-9 ? 0.0 : floor(zmax / hy);
  twice =
    act->def->parity != 0; /* φ(s1 x) g(x) even: the nodes x > 0 count twice, x < 0 are skipped */
  if (nxd > NNL_TRAP_MAXHALF || nyd > NNL_TRAP_MAXHALF ||
      (2 * nxd + 1) * (2 * nyd + 1) > NNL_TRAP_MAXGRID)
    return 0;
  nx    = (int)nxd;
  ny    = (int)nyd;
  first = twice ? nx : 0;
  TrapezoidWeights(nx, hx, wx);
  TrapezoidWeights(ny, hy, wy);
  for (int i = first; i <= 2 * nx; i++) u[i] = s1 * ((i - nx) * hx);
  NNLActivationApply(act, (size_t)(2 * nx + 1 - first), u + first, f1 + first);
  for (int i = first; i <= 2 * nx; i++) {
    double x = (i - nx) * hx, mu = s2 * rho * x, g = 0.0, t;
    if (f1[i] == 0.0) continue;
    if (sig < 1e-9) {
      g = mu == s1 * x ? f1[i]
                       : act->def->phi(mu, act->p); /* the diagonal: φ(Z2) is φ(Z1); error O(σ²) */
    } else {
      for (int j = 0; j <= 2 * ny; j++) u[j] = mu + sig * ((j - ny) * hy);
      NNLActivationApply(act, (size_t)(2 * ny + 1), u, u);
      for (int j = 0; j <= 2 * ny; j++) g += wy[abs(j - ny)] * u[j];
    }
    t = wx[abs(i - nx)] * f1[i] * g;
    sum += twice && i > nx ? 2.0 * t : t;
  }
  *F = sum;
  return 1;
}

/** @brief F_φ(K)(1,2): the row's closed form when it has one, else the trapezoid rule, else
 * NNLGaussDualPanel. */
double NNLGaussDual(const NNLActivation *act, double k11, double k22, double k12)
{
  double F;

  if (act->def->dual) return act->def->dual(k11, k22, k12, act->p);
  if (NNLGaussDualTrapezoid(act, k11, k22, k12, &F)) return F;
  return NNLGaussDualPanel(act, k11, k22, k12);
}
