/* The table of activations: φ, and the closed-form dual kernel F_φ where one exists (MATH.md §3).
 */
#ifndef NNLIMITS_ACTIVATION_H
#define NNLIMITS_ACTIVATION_H

#include <stddef.h>

#define NNL_ACT_MAXPARAM 3

typedef double (*NNLPhiFn)(double x, const double p[]);
/* F_φ(K)(1,2) = E[φ(Z1) φ(Z2)], (Z1,Z2) ~ N(0, [[k11,k12],[k12,k22]]). */
typedef double (*NNLDualFn)(double k11, double k22, double k12, const double p[]);

/* One row of the table. Adding an activation = one row + its tests. */
typedef struct {
  const char *name;   /* e.g. "leaky_relu" */
  const char *help;   /* one line, with its parameters */
  int         nparam; /* number of parameters it takes (0..NNL_ACT_MAXPARAM) */
  double      pdefault[NNL_ACT_MAXPARAM];
  NNLPhiFn    phi;
  NNLDualFn   dual;   /* NULL: no closed form, use quadrature (gauss.h) */
  int         smooth; /* 1 if φ is C^∞ (quadrature converges fast) */
  int parity; /* −1: φ(−x) = −φ(x), 1: φ(−x) = φ(x), exactly, for every parameter; else 0 (the
                 quadrature then sums half its outer nodes: φ(Z1)φ(Z2) is even in Z1) */
  double cost; /* ns per element of NNLActivationApply on the cost model's reference core (cost.c);
                  measured, rounded: the cost model's only per-activation input */
  double (*sigma_w2_critical)(
    const double p[]); /* an odd smooth φ (the K* = 0 class; sin only when c = 0): the critical
                σ_w² = 1/φ'(0)², which -sigma_w2 auto takes; NULL or 0 elsewhere (positively
                homogeneous φ have their own rule, jobsettings.c): NNLActivationCriticalSigmaW2 */
  double pole; /* φ analytic in the strip |Im x| < pole, its nearest singularity at that distance
                  (tanh π/2; swish, softplus π), for every parameter value: NNLGaussDual's
                  trapezoid rule then applies. 0: not analytic, or a closed form makes it moot */
} NNLActivationDef;

/* A parsed activation: a table row plus parameter values, and its canonical spelling. */
typedef struct {
  const NNLActivationDef *def;
  double                  p[NNL_ACT_MAXPARAM];
  char canon[256]; /* "relu", "leaky_relu:0.2", "sin:1:2:0" (%.17g, defaults spelled out only if
                      given); a job's entry of a swept -sigma_w2, -sigma_b2 or -branch_alpha adds
                      ";sigma_w2=1.5"… */
} NNLActivation;

/** @brief Number of rows in the table. */
size_t NNLActivationCount(void);
/** @brief Row i of the table (0 <= i < count). */
const NNLActivationDef *NNLActivationDefGet(size_t i);

/**
  @brief Parse "name" or "name:p1[:p2[:p3]]" into act.
  @return 0 on success; nonzero with a one-line message in err (naming the allowed values) on
  failure.
*/
int NNLActivationParse(const char spec[], NNLActivation *act, char err[], size_t errlen);

/**
  @brief Whether φ is positively homogeneous, φ(λx) = λφ(x) for λ > 0 (a·min(x,0) + b·max(x,0):
  linear, relu, leaky_relu, abs), tested exactly at x = ±1.3, λ = 2. Such a φ has its own critical
  σ_w² (jobsettings.c), and a network of it without bias may keep its state scaled by a power of two
  (net.c).
*/
int NNLActivationIsHomogeneous(const NNLActivation *act);

/** @brief The critical σ_w² of an odd smooth φ, 1/φ'(0)² (tanh 1, erf π/4, a·sin(bx) 1/(ab)²); 0
 * for other φ. */
double NNLActivationCriticalSigmaW2(const NNLActivation *act);

/** @brief y[i] = φ(x[i]) for i < n (x and y may alias). */
void NNLActivationApply(const NNLActivation *act, size_t n, const double *x, double *y);

/**
  @brief y[i] = sp·x[i] for x[i] > 0, else sm·x[i], for i < n (x and y may alias), vectorised: leaky
  ReLU (sp = 1, which gives x exactly) and the shaped ReLU's slopes. The same bits as the scalar
  expression in every build.
*/
void NNLTwoSlopeApply(size_t n, const double *x, double *y, double sp, double sm);

/**
  @brief y[i] = e^{x[i]} for i < n (x and y may alias), vectorised; within 2 ulp of expl, the same
  bits on every machine and kernel, and as NNLExp. x > 709 gives +∞; x < −708 gives 0 (no
  subnormals); NaN stays NaN.
*/
void NNLExpArray(size_t n, const double *x, double *y);
/** @brief e^x, the scalar form of NNLExpArray (the same bits). */
double NNLExp(double x);

/** @brief Comma-separated list of all names, for help and error messages. */
const char *NNLActivationNames(void);
/**
  @brief The activation's name as people write it, for output: a canonical name (parameters in
  %.17g, which round-trip: leaky_relu:0.20000000000000001) with each parameter in the fewest digits
  that read back as the same double (leaky_relu:0.2). Canonical names stay what ids, job texts and
  stores hold; exports, summaries and analysis/nnlimits.py (its own copy) show this one.
*/
void NNLActivationDisplayName(const char canon[], char out[], size_t len);
/**
  @brief NNLActivationDisplayName without a sweep entry's ";key=value" settings: the activation as
  the user gave it, for messages about the activation itself. Returns out.
*/
const char *NNLActivationDisplayBase(const char canon[], char out[], size_t len);

#endif
