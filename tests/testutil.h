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
  if (grid) PetscCall(NNLGridCreate(*job, grid));
  PetscFunctionReturn(0);
}

/* Running mean and second moment (Welford) for standard errors. */
typedef struct { double n, mean, m2; } Moments;

static inline void MomentsAdd(Moments *s, double x)
{
  double d = x - s->mean;
  s->n += 1;
  s->mean += d / s->n;
  s->m2 += d * (x - s->mean);
}
static inline double MomentsVar(const Moments *s) { return s->m2 / (s->n - 1); }
static inline double MomentsSE(const Moments *s) { return sqrt(MomentsVar(s) / s->n); }

/* |est - exact| <= 4 se, with a message that says which quantity failed. */
#define ASSERT_WITHIN_4SE(what, est, exact, se)                                                                \
  do {                                                                                                         \
    double e_ = (est), x_ = (exact), s_ = (se);                                                                \
    if (!(fabs(e_ - x_) <= 4 * s_)) fail_msg("%s: estimate %.10g, exact %.10g, |diff| = %.3g se", what, e_, x_, \
                                            fabs(e_ - x_) / s_);                                               \
  } while (0)

#endif
