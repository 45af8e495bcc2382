/* Test helpers: build a job from an options string and sample its points, as a worker would. */
#ifndef NNLIMITS_TESTUTIL_H
#define NNLIMITS_TESTUTIL_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "nnlimits/grid.h"
#include "nnlimits/net.h"

/* Replace the whole options database by opts and read a job from it (on PETSC_COMM_SELF). */
static inline PetscErrorCode TestJob(const char *opts, NNLJob **job, NNLGrid **grid)
{
  PetscFunctionBegin;
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, opts));
  PetscCall(NNLJobCreate(PETSC_COMM_SELF, job));
  if (grid) PetscCall(NNLGridCreate(*job, PETSC_TRUE, grid));
  PetscFunctionReturn(0);
}

/* Running mean and second moment (Welford) for standard errors. */
typedef struct {
  double n, mean, m2;
} Moments;

static inline void MomentsAdd(Moments *s, double x)
{
  double d = x - s->mean;
  s->n += 1;
  s->mean += d / s->n;
  s->m2 += d * (x - s->mean);
}
static inline double MomentsVar(const Moments *s)
{
  return s->m2 / (s->n - 1);
}
static inline double MomentsSE(const Moments *s)
{
  return sqrt(MomentsVar(s) / s->n);
}

/* |est - exact| <= 4 se, with a message that says which quantity failed. */
#define ASSERT_WITHIN_4SE(what, est, exact, se)                                                    \
  do {                                                                                             \
    double e_ = (est), x_ = (exact), s_ = (se);                                                    \
    if (!(fabs(e_ - x_) <= 4 * s_))                                                                \
      fail_msg("%s: estimate %.10g, exact %.10g, |diff| = %.3g se", what, e_, x_,                  \
               fabs(e_ - x_) / s_);                                                                \
  } while (0)

/* ψ and ψ' (digamma, trigamma) by recurrence to x >= 8 and the asymptotic series: ~1e-15 relative
 * (MATH.md §4.3). */
static inline double Digamma(double x)
{
  double r = 0, f;
  while (x < 8) r -= 1 / x, x += 1;
  f = 1 / (x * x);
  return r + log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

static inline double Trigamma(double x)
{
  double r = 0, f;
  while (x < 8) r += 1 / (x * x), x += 1;
  f = 1 / (x * x);
  return r + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30))));
}

#endif
