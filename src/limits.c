/* Infinite-width limits: the NNGP recursion and the ResNet depth-limit covariance ODE (PETSc TS). */
#include <math.h>
#include <petscts.h>
#include "nnlimits/limits.h"
#include "nnlimits/gauss.h"
#include "nnlimits/fokker_planck.h"
#include "log.h"

PetscErrorCode NNLLimitInitial(const NNLJob *job, NNLFamily family, PetscInt act, double *q)
{
  const PetscInt m = job->inputs;
  const double   s2 = family == NNL_FAMILY_MLP ? NNLJobSigmaW2(job, act) : 1.0;
  PetscInt       k  = 0;

  PetscFunctionBegin;
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++, k++) q[k] = s2 * (a == b ? 1.0 : job->input_correlation);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitDual(const NNLActivation *act, PetscInt m, const double *q, double *out)
{
  PetscInt k = 0;

  PetscFunctionBegin;
  /* diagonal pairs sit at k = a·m − a(a−1)/2 (a-major, a <= b) */
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++, k++) {
      const double qaa = q[a * m - a * (a - 1) / 2], qbb = q[b * m - b * (b - 1) / 2];
      out[k] = NNLGaussDual(act, qaa, qbb, q[k]);
    }
  PetscFunctionReturn(0);
}

static PetscErrorCode NNGP(const NNLJob *job, NNLFamily family, PetscInt act, PetscInt depth, PetscInt nrec,
                           const PetscInt layers[], double *q, NNLPollFn poll, void *pctx)
{
  const PetscInt m = job->inputs, np = m * (m + 1) / 2;
  const double   sw2 = NNLJobSigmaW2(job, act), branch2 = pow((double)depth, -2.0 * job->branch_alpha);
  double        *cur, *f;
  PetscInt       r = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(np, &cur, np, &f));
  PetscCall(NNLLimitInitial(job, family, act, cur));
  for (PetscInt l = NNLFamilyFirstLayer(family); l <= depth && r < nrec; l++) {
    /* shaped MLP: φ_n → identity and c → 1 as n → ∞, so its NNGP kernel stays the input kernel at every depth */
    if (l > NNLFamilyFirstLayer(family) && family != NNL_FAMILY_SHAPED) {
      PetscCall(NNLLimitDual(&job->act[act], m, cur, f));
      for (PetscInt k = 0; k < np; k++) cur[k] = family == NNL_FAMILY_MLP ? sw2 * f[k] + job->sigma_b2 : cur[k] + branch2 * f[k];
    }
    if (layers[r] == l) PetscCall(PetscArraycpy(q + np * r++, cur, np));
    if (poll) PetscCall(poll(pctx));
  }
  PetscCall(PetscFree2(cur, f));
  PetscCheck(r == nrec, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "NNGP: layers outside 0..%" PetscInt_FMT " or not ascending",
             depth);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitNNGP(const NNLJob *job, NNLFamily family, PetscInt act, PetscInt depth, PetscInt nrec,
                            const PetscInt layers[], double *q)
{
  PetscFunctionBegin;
  PetscCall(NNGP(job, family, act, depth, nrec, layers, q, NULL, NULL));
  PetscFunctionReturn(0);
}

typedef struct {
  const NNLActivation *act;
  PetscInt             m;
  NNLPollFn            poll;
  void                *pctx;
} ODECtx;

/* After every step: let a coordinator computing this limit serve its workers. */
static PetscErrorCode ODEPoll(TS ts, PetscInt step, PetscReal t, Vec X, void *ptr)
{
  ODECtx *ctx = (ODECtx *)ptr;

  PetscFunctionBegin;
  (void)ts;
  (void)step;
  (void)t;
  (void)X;
  if (ctx->poll) PetscCall(ctx->poll(ctx->pctx));
  PetscFunctionReturn(0);
}

static PetscErrorCode ODERHS(TS ts, PetscReal t, Vec X, Vec F, void *ptr)
{
  const ODECtx      *ctx = (const ODECtx *)ptr;
  const PetscScalar *x;
  PetscScalar       *f;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(F, &f));
  PetscCall(NNLLimitDual(ctx->act, ctx->m, x, f));
  PetscCall(VecRestoreArrayWrite(F, &f));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Integrate to each requested time in turn, stepping exactly onto it (the RK steps stay adaptive between). */
static PetscErrorCode ODESolve(TS ts, Vec X, PetscInt np, PetscInt nt, const double t[], double *q, PetscBool *ok, char msg[],
                               size_t msglen)
{
  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  for (PetscInt i = 0; i < nt; i++) {
    const PetscScalar *x;
    PetscReal          now;
    TSConvergedReason  reason;
    PetscCall(TSGetTime(ts, &now));
    if (t[i] > now) {
      PetscCall(TSSetMaxTime(ts, t[i]));
      PetscCall(TSSolve(ts, X));
      PetscCall(TSGetConvergedReason(ts, &reason));
      PetscCall(TSGetTime(ts, &now));
      if (reason < 0 || fabs(now - t[i]) > 1e-12) {
        snprintf(msg, msglen, "depth-limit ODE: TS stopped at t = %g before %g (%s)", (double)now, t[i], TSConvergedReasons[reason]);
        *ok = PETSC_FALSE;
        PetscFunctionReturn(0);
      }
    }
    PetscCall(VecGetArrayRead(X, &x));
    PetscCall(PetscArraycpy(q + np * i, x, np));
    PetscCall(VecRestoreArrayRead(X, &x));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ODE(const NNLJob *job, PetscInt act, PetscInt nt, const double t[], double *q, PetscBool *ok,
                          char msg[], size_t msglen, NNLPollFn poll, void *pctx)
{
  const PetscInt m = job->inputs, np = m * (m + 1) / 2;
  ODECtx         ctx = {&job->act[act], m, poll, pctx};
  TS             ts;
  Vec            X;
  PetscScalar   *x;

  PetscFunctionBegin;
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, np, &X));
  PetscCall(VecGetArrayWrite(X, &x));
  PetscCall(NNLLimitInitial(job, NNL_FAMILY_RESNET, act, x));
  PetscCall(VecRestoreArrayWrite(X, &x));
  PetscCall(TSCreate(PETSC_COMM_SELF, &ts));
  PetscCall(TSSetOptionsPrefix(ts, "limit_"));
  PetscCall(TSSetProblemType(ts, TS_NONLINEAR));
  PetscCall(TSSetRHSFunction(ts, NULL, ODERHS, &ctx));
  /* adaptive Dormand–Prince 5(4) at tight tolerances: the limit is compared with sample means to 1e-4 and tested
     against closed forms to 1e-9 */
  PetscCall(TSSetType(ts, TSRK));
  PetscCall(TSRKSetType(ts, TSRK5DP));
  PetscCall(TSSetTolerances(ts, 1e-12, NULL, 1e-12, NULL));
  PetscCall(TSSetTime(ts, 0.0));
  PetscCall(TSSetTimeStep(ts, 1e-3));
  PetscCall(TSSetMaxSteps(ts, 1000000));
  PetscCall(TSSetExactFinalTime(ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(TSSetErrorIfStepFails(ts, PETSC_FALSE)); /* a failed limit is reported, never aborts the sweep */
  PetscCall(TSSetFromOptions(ts));
  if (poll) PetscCall(TSMonitorSet(ts, ODEPoll, &ctx, NULL));
  PetscCall(ODESolve(ts, X, np, nt, t, q, ok, msg, msglen));
  PetscCall(TSDestroy(&ts));
  PetscCall(VecDestroy(&X));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitODE(const NNLJob *job, PetscInt act, PetscInt nt, const double t[], double *q, PetscBool *ok,
                           char msg[], size_t msglen)
{
  PetscFunctionBegin;
  PetscCall(ODE(job, act, nt, t, q, ok, msg, msglen, NULL, NULL));
  PetscFunctionReturn(0);
}

PetscBool NNLLimitHasODE(const NNLJob *job, NNLFamily family)
{
  return family == NNL_FAMILY_RESNET && job->branch_alpha == 0.5 ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode NNLLimitCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *pctx, NNLResult **result)
{
  const PetscInt np = job->inputs * (job->inputs + 1) / 2;
  NNLResult     *res;
  PetscInt       nrec, *layers;
  double         t0 = MPI_Wtime();

  PetscFunctionBegin;
  PetscCall(NNLLogRegister());
  PetscCall(PetscLogEventBegin(NNL_EVENT_LIMIT, 0, 0, 0, 0));
  PetscCall(NNLJobRecordLayers(job, pt->family, pt->depth, &nrec, &layers));
  PetscCall(NNLResultCreate(nrec, job->inputs, &res));
  PetscCall(PetscArraycpy(res->layers, layers, nrec));
  res->kind  = NNL_TASK_LIMIT;
  res->point = pt->ord;
  PetscCall(NNGP(job, pt->family, pt->act, pt->depth, nrec, layers, res->gram, poll, pctx));
  for (PetscInt i = 0; i < nrec * np; i++) res->ode[i] = NAN;
  if (NNLLimitHasODE(job, pt->family)) {
    double   *t;
    PetscBool ok;
    PetscCall(PetscMalloc1(nrec, &t));
    for (PetscInt r = 0; r < nrec; r++) t[r] = (double)layers[r] / (double)pt->depth;
    PetscCall(ODE(job, pt->act, nrec, t, res->ode, &ok, res->message, sizeof(res->message), poll, pctx));
    PetscCall(PetscFree(t));
    if (!ok) {
      res->status = NNL_STATUS_FAILED;
      for (PetscInt i = 0; i < nrec * np; i++) res->ode[i] = NAN;
    }
  }
  PetscCall(PetscFree(layers));
  res->seconds = MPI_Wtime() - t0;
  PetscCall(PetscLogEventEnd(NNL_EVENT_LIMIT, 0, 0, 0, 0));
  *result = res;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitSetFromOptions(MPI_Comm comm)
{
  TS ts;

  PetscFunctionBegin;
  (void)comm;
  PetscCall(TSCreate(PETSC_COMM_SELF, &ts));
  PetscCall(TSSetOptionsPrefix(ts, "limit_"));
  PetscCall(TSSetType(ts, TSRK));
  PetscCall(TSSetFromOptions(ts));
  PetscCall(TSDestroy(&ts));
  PetscCall(NNLFokkerPlanckSetFromOptions());
  PetscFunctionReturn(0);
}
