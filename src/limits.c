/* Infinite-width limits: the NNGP recursion and the ResNet depth-limit covariance ODE (PETSc TS).
 */
#include <math.h>
#include <string.h>
#include <strings.h>
#include <petscts.h>
#include "nnlimits/limits.h"
#include "nnlimits/gauss.h"
#include "nnlimits/fokker_planck.h"
#include "nnlimits/signature.h"
#include "log.h"
#include "parse.h"

PetscErrorCode NNLLimitInitial(const NNLJob *job, NNLFamily family, PetscInt act, double *q)
{
  const PetscInt m  = job->inputs;
  const double   s2 = family == NNL_FAMILY_MLP ? NNLJobSigmaW2(job, act) : 1.0;
  PetscInt       k  = 0;

  PetscFunctionBegin;
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++, k++) q[k] = s2 * NNLJobInputCorrelation(job, a, b);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitDual(const NNLActivation *act, PetscInt m, const double *q, double *out)
{
  /* Pairs with the same arguments get the same value, computed once: inputs of equal norms and
     correlations (every job's inputs) keep q_aa and q_ab equal for all a and all a ≠ b at every
     layer, so m(m+1)/2 quadratures come down to two. The value is the same function of the same
     doubles, so the result has the same bits. */
  enum { NMEMO = 8 };
  double   memo[NMEMO][4];
  int      nmemo = 0;
  PetscInt k     = 0;

  PetscFunctionBegin;
  /* diagonal pairs sit at k = a·m − a(a−1)/2 (a-major, a <= b) */
  for (PetscInt a = 0; a < m; a++)
    for (PetscInt b = a; b < m; b++, k++) {
      const double qaa = q[a * m - a * (a - 1) / 2], qbb = q[b * m - b * (b - 1) / 2];
      const double key[3] = {qaa, qbb, q[k]};
      int          i      = 0;
      while (i < nmemo && memcmp(memo[i], key, sizeof(key))) i++; /* bitwise: −0 is not +0 */
      if (i < nmemo) {
        out[k] = memo[i][3];
        continue;
      }
      out[k] = NNLGaussDual(act, qaa, qbb, q[k]);
      if (nmemo < NMEMO) {
        memcpy(memo[nmemo], key, sizeof(key));
        memo[nmemo++][3] = out[k];
      }
    }
  PetscFunctionReturn(0);
}

/* The controlled ResNet's kernel at layers[0..nrec) of depth-`depth` networks, from the Goursat
   march on N cells per unit time (N a multiple of depth): its corner scheme on N = depth cells is
   the infinite-width kernel of the network itself (its NNGP), the midpoint scheme on finer cells
   its depth limit. */
static PetscErrorCode Goursat(const NNLJob *job, PetscInt act, PetscInt depth, PetscInt N,
                              NNLGoursatScheme scheme, PetscInt nrec, const PetscInt layers[],
                              double *q, NNLPollFn poll, void *pctx, PetscBool *abandon)
{
  const PetscInt m = job->inputs, np = m * (m + 1) / 2;
  double        *C;
  PetscInt      *idx;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(np, &C, nrec, &idx));
  PetscCall(NNLLimitInitial(job, NNL_FAMILY_CONTROLLED, act, C));
  for (PetscInt r = 0; r < nrec; r++) idx[r] = layers[r] * (N / depth);
  PetscCall(NNLGoursatDiagonal(&job->act[act], m, C, NNLJobSigmaA2(job, act),
                               NNLJobSigmaB2(job, act), N, scheme, nrec, idx, q, poll, pctx,
                               abandon));
  PetscCall(PetscFree2(C, idx));
  PetscFunctionReturn(0);
}

PetscInt NNLLimitGoursatCells(PetscInt depth)
{
  PetscInt  cells = NNL_GOURSAT_CELLS;
  PetscBool set;

  if (PetscOptionsGetInt(NULL, NULL, "-limit_goursat_cells", &cells, &set) || cells < 1 ||
      cells > NNL_GOURSAT_CELLS_MAX)
    cells = NNL_GOURSAT_CELLS;
  return depth * ((cells + depth - 1) / depth);
}

static PetscErrorCode NNGP(const NNLJob *job, NNLFamily family, PetscInt act, PetscInt depth,
                           PetscInt nrec, const PetscInt layers[], double *q, NNLPollFn poll,
                           void *pctx, PetscBool *abandon)
{
  const PetscInt m = job->inputs, np = m * (m + 1) / 2;
  const double   sw2 = NNLJobSigmaW2(job, act), sb2 = NNLJobSigmaB2(job, act),
               branch2 = pow((double)depth, -2.0 * NNLJobBranchAlpha(job, act));
  double  *cur, *f;
  PetscInt r = 0;

  PetscFunctionBegin;
  if (family == NNL_FAMILY_CONTROLLED) {
    PetscCall(
      Goursat(job, act, depth, depth, NNL_GOURSAT_CORNER, nrec, layers, q, poll, pctx, abandon));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc2(np, &cur, np, &f));
  PetscCall(NNLLimitInitial(job, family, act, cur));
  for (PetscInt l = NNLFamilyFirstLayer(family); l <= depth && r < nrec && !*abandon; l++) {
    /* shaped MLP: φ_n → identity and c → 1 as n → ∞, so its NNGP kernel stays the input kernel at
       every depth; shaped attention: A → I (its logits are O(n^{-1/2})) and λ² + γ² = 1, so does
       its kernel */
    if (l > NNLFamilyFirstLayer(family) && family != NNL_FAMILY_SHAPED &&
        !NNLFamilyIsAttention(family)) {
      PetscCall(NNLLimitDual(&job->act[act], m, cur, f));
      for (PetscInt k = 0; k < np; k++)
        cur[k] = family == NNL_FAMILY_MLP ? sw2 * f[k] + sb2 : cur[k] + branch2 * f[k];
    }
    if (layers[r] == l) {
      if (NNLFamilyIsSoftmax(
            family)) /* its A stays random as n → ∞ (O(1) logits): no kernel limit */
        for (PetscInt k = 0; k < np; k++) q[np * r + k] = NAN;
      else
        PetscCall(PetscArraycpy(q + np * r, cur, np));
      r++;
    }
    PetscCall(NNLPoll(poll, pctx, abandon));
  }
  PetscCall(PetscFree2(cur, f));
  PetscCheck(r == nrec || *abandon, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "NNGP: layers outside 0..%" PetscInt_FMT " or not ascending", depth);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitNNGP(const NNLJob *job, NNLFamily family, PetscInt act, PetscInt depth,
                            PetscInt nrec, const PetscInt layers[], double *q)
{
  PetscBool abandon = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(NNGP(job, family, act, depth, nrec, layers, q, NULL, NULL, &abandon));
  PetscFunctionReturn(0);
}

/* The largest |q| and |dq/dt| the ODE takes: a step's sums of terms below it (times steps <= 1)
 * stay finite */
#define ODE_HUGE 1e100

typedef struct {
  const NNLActivation *act;
  PetscInt             m;
  NNLPollFn            poll;
  void                *pctx;
  PetscBool           *abandon; /* set by poll: the solve stops after this step */
  /* dense output: the requested times t[0..nt), the next one not yet written, and where q of each
   * goes */
  PetscBool     dense;
  PetscInt      np, nt, next;
  const double *t;
  double       *q;
  Vec           W;
  PetscBool     blown; /* the RHS met a state or a derivative beyond ODE_HUGE (ODERHS) */
  PetscReal     blown_at;
  /* without dense output (ODESolveFree): the state at the end of the last step, and a failed
   * solve to an output time (its message in msg) */
  Vec       prev;
  PetscReal tprev;
  TS        sub; /* ODEReach's */
  PetscBool failed;
  char     *msg;
  size_t    msglen;
} ODECtx;

/* q (ctx->np entries) = the state V. */
static PetscErrorCode ODEStateOut(const ODECtx *ctx, Vec V, double *q)
{
  const PetscScalar *v;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(V, &v));
  PetscCall(PetscArraycpy(q, v, ctx->np));
  PetscCall(VecRestoreArrayRead(V, &v));
  PetscFunctionReturn(0);
}

/* After every step (and at t = 0): with dense output, write every requested time the step has
   passed, from the RK method's interpolant (or the state itself when a time is the step's end). */
static PetscErrorCode ODEMonitor(TS ts, PetscInt step, PetscReal now, Vec X, void *ptr)
{
  ODECtx *ctx = (ODECtx *)ptr;

  PetscFunctionBegin;
  if (ctx->blown) PetscFunctionReturn(0); /* the kernel overflowed: nothing from this step */
  while (ctx->dense && ctx->next < ctx->nt && ctx->t[ctx->next] <= now) {
    Vec V = X;
    if (step > 0 && ctx->t[ctx->next] < now) {
      PetscCall(TSInterpolate(ts, ctx->t[ctx->next], ctx->W));
      V = ctx->W;
    }
    PetscCall(ODEStateOut(ctx, V, ctx->q + ctx->np * ctx->next));
    ctx->next++;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ODEOutputs(TS ts, ODECtx *ctx);

/* After every step: stop where the kernel overflowed, write the output times the step has passed
   (without dense output), let a coordinator computing this limit serve its workers, and stop if a
   stop abandons the task or every output time is written. A monitor cannot stop the solve (TSStep
   sets the reason anew: an abandoned Euler ODE of 1.3 s ran to its end, and an overflowed one
   integrated zeros to its end); TSSolve looks at the reason a post-step sets. */
static PetscErrorCode ODEPostStep(TS ts)
{
  ODECtx *ctx;

  PetscFunctionBegin;
  PetscCall(TSGetApplicationContext(ts, &ctx));
  if (!ctx->blown && !ctx->dense) PetscCall(ODEOutputs(ts, ctx));
  if (ctx->blown || ctx->failed) {
    PetscCall(TSSetConvergedReason(ts, TS_DIVERGED_NONLINEAR_SOLVE));
    PetscFunctionReturn(0);
  }
  if (!ctx->dense && ctx->next == ctx->nt) PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER));
  PetscCall(NNLPoll(ctx->poll, ctx->pctx, ctx->abandon));
  if (*ctx->abandon) PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER));
  PetscFunctionReturn(0);
}

/* dq/dt = F(q). A state or a derivative beyond ODE_HUGE in size, or not finite (an activation whose
   kernel overflows, such as leaky_relu:1e100), is marked, and the derivative set to 0, so that the
   step's sums and its error estimate stay finite (PETSc's TSErrorWeightedNorm errors on a NaN: it
   ended the whole run); ODEMonitor then stops the solve, and the limit task fails with a message.
 */
static PetscErrorCode ODERHS(TS ts, PetscReal t, Vec X, Vec F, void *ptr)
{
  ODECtx            *ctx = (ODECtx *)ptr;
  const PetscScalar *x;
  PetscScalar       *f;
  PetscBool          fine = PETSC_TRUE;

  PetscFunctionBegin;
  (void)ts;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(F, &f));
  PetscCall(NNLLimitDual(ctx->act, ctx->m, x, f));
  for (PetscInt i = 0; i < ctx->np; i++)
    fine = fine && fabs(x[i]) <= ODE_HUGE && fabs(f[i]) <= ODE_HUGE; /* NaN: false */
  if (!fine) {
    for (PetscInt i = 0; i < ctx->np; i++) f[i] = 0.0;
    if (!ctx->blown) ctx->blown_at = t;
    ctx->blown = PETSC_TRUE;
  }
  PetscCall(VecRestoreArrayWrite(F, &f));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

static void ODEBlownMessage(const ODECtx *ctx, char msg[], size_t msglen)
{
  snprintf(msg, msglen,
           "depth-limit ODE: the kernel q or dq/dt beyond %g at t = %g (the activation's scale "
           "overflows it); no limit for this activation",
           ODE_HUGE, (double)ctx->blown_at);
}

/* Dense output (Runge–Kutta tableaus with an interpolant of the method's order): one adaptive solve
   to the last time, the others interpolated by the monitor. Stepping onto every requested time
   instead cut a depth-256 network's 256 output times into 513 steps (7 RHS evaluations each,
   quadratures for tanh) where 34 suffice: the limit task dominated whole sweeps. */
static PetscErrorCode ODESolveDense(TS ts, Vec X, ODECtx *ctx, PetscBool *ok, char msg[],
                                    size_t msglen)
{
  PetscReal         now;
  TSConvergedReason reason;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  PetscCall(VecDuplicate(X, &ctx->W));
  PetscCall(TSSetMaxTime(ts, ctx->t[ctx->nt - 1]));
  PetscCall(TSSolve(ts, X));
  PetscCall(VecDestroy(&ctx->W));
  PetscCall(TSGetConvergedReason(ts, &reason));
  PetscCall(TSGetTime(ts, &now));
  if (ctx->blown) {
    ODEBlownMessage(ctx, msg, msglen);
    *ok = PETSC_FALSE;
  } else if (reason < 0 || ctx->next < ctx->nt) {
    snprintf(msg, msglen, "depth-limit ODE: TS stopped at t = %g before %g (%s)", (double)now,
             ctx->t[ctx->nt - 1], TSConvergedReasons[reason]);
    *ok = PETSC_FALSE;
  }
  PetscFunctionReturn(0);
}

/* The solver with its defaults, before TSSetFromOptions so that options override them and -help
   shows them: adaptive Dormand–Prince 5(4) at tight tolerances (the limit is compared with sample
   means to 1e-4 and tested against closed forms to 1e-9). Not collective (PETSC_COMM_SELF). */
static PetscErrorCode ODECreate(TS *ts)
{
  PetscFunctionBegin;
  PetscCall(TSCreate(PETSC_COMM_SELF, ts));
  PetscCall(TSSetOptionsPrefix(*ts, "limit_"));
  PetscCall(TSSetProblemType(*ts, TS_NONLINEAR));
  PetscCall(TSSetType(*ts, NNL_ODE_TS_TYPE));
  PetscCall(TSRKSetType(*ts, NNL_ODE_RK_TYPE));
  PetscCall(TSSetTolerances(*ts, NNL_ODE_TOL, NULL, NNL_ODE_TOL, NULL));
  PetscCall(TSSetTime(*ts, 0.0));
  PetscCall(TSSetTimeStep(*ts, NNL_ODE_DT));
  PetscCall(TSSetMaxSteps(*ts, NNL_ODE_MAX_STEPS));
  PetscCall(TSSetExactFinalTime(*ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(TSSetErrorIfStepFails(
    *ts, PETSC_FALSE)); /* a failed limit is reported, never aborts the sweep */
  PetscFunctionReturn(0);
}

/* q at output time t from the state ctx->prev at ctx->tprev, the end of the solver's last step
   before t: a solve of its own (one step of a fixed-step type), so that neither the main solve's
   steps nor another output time's value depend on t. Its TS is made once from the same options and
   TSReset before each time (which frees the type's work and state, and the SNES's): its values are
   then those of a TS made afresh for each time, to the bit (checked for every type of ode_types,
   and the dsp adaptor, at the 513 times of depth 512, relu and tanh), and a TS made afresh cost
   50-60 us more a time, in TSSetFromOptions (rk 3bs, depth 512, every layer: 0.052 against 0.009 s
   a limit task). */
static PetscErrorCode ODEReach(ODECtx *ctx, PetscReal t, double *q)
{
  TS                ts;
  Vec               Y;
  PetscReal         now;
  TSConvergedReason reason;

  PetscFunctionBegin;
  if (!ctx->sub) {
    PetscCall(ODECreate(&ctx->sub));
    PetscCall(TSSetRHSFunction(ctx->sub, NULL, ODERHS, ctx));
    PetscCall(TSSetFromOptions(ctx->sub));
    PetscCall(TSMonitorCancel(ctx->sub)); /* -limit_ts_monitor shows the main solve's steps */
  } else
    PetscCall(TSReset(ctx->sub));
  ts = ctx->sub;
  PetscCall(TSSetStepNumber(ts, 0));
  PetscCall(TSSetTime(ts, ctx->tprev));
  PetscCall(TSSetTimeStep(ts, t - ctx->tprev));
  PetscCall(TSSetMaxTime(ts, t));
  PetscCall(VecDuplicate(ctx->prev, &Y));
  PetscCall(VecCopy(ctx->prev, Y));
  PetscCall(TSSolve(ts, Y));
  PetscCall(TSGetConvergedReason(ts, &reason));
  PetscCall(TSGetTime(ts, &now));
  if (ctx->blown)
    ; /* ODESolveFree says so */
  else if (reason < 0 || fabs(now - t) > 1e-12) {
    snprintf(ctx->msg, ctx->msglen,
             "depth-limit ODE: TS stopped at t = %g before %g (%s; from the step's end at %g)",
             (double)now, (double)t, TSConvergedReasons[reason], (double)ctx->tprev);
    ctx->failed = PETSC_TRUE;
  } else
    PetscCall(ODEStateOut(ctx, Y, q));
  PetscCall(VecDestroy(&Y));
  PetscFunctionReturn(0);
}

/* The output times up to the time `now` of the solve's state X: each one at a step's end is the
   state, each one before it is reached from the previous step's end (ODEReach); X is then kept as
   that previous state. */
static PetscErrorCode ODEOutputsAt(ODECtx *ctx, PetscReal now, Vec X)
{
  PetscFunctionBegin;
  while (ctx->next < ctx->nt && ctx->t[ctx->next] <= now && !ctx->failed && !ctx->blown) {
    double *q = ctx->q + ctx->np * ctx->next;
    if (ctx->t[ctx->next] == now)
      PetscCall(ODEStateOut(ctx, X, q));
    else
      PetscCall(ODEReach(ctx, ctx->t[ctx->next], q));
    ctx->next++;
  }
  PetscCall(VecCopy(X, ctx->prev));
  ctx->tprev = now;
  PetscFunctionReturn(0);
}

static PetscErrorCode ODEOutputs(TS ts, ODECtx *ctx)
{
  PetscReal now;
  Vec       X;

  PetscFunctionBegin;
  PetscCall(TSGetTime(ts, &now));
  PetscCall(TSGetSolution(ts, &X));
  PetscCall(ODEOutputsAt(ctx, now, X));
  PetscFunctionReturn(0);
}

/* Any TS type without dense output: the solver takes its own steps from 0 towards t = 1 (never cut
   short to meet an output time), and each output time between two steps' ends is reached by a
   solve from the earlier one (ODEReach). Its steps then depend on the solver's options and the
   ODE alone, and q at a time on that time alone: stepping onto every requested time instead (as
   until 2026-12) made the steps, and so the last digits of every value, depend on which other
   layers the job records (-record_layers, and through its log-spacing the job's deepest depth; the
   reproducibility review). It costs about as many steps: a time stepped onto had cut the step
   across it in two. */
static PetscErrorCode ODESolveFree(TS ts, Vec X, ODECtx *ctx, PetscBool *ok, char msg[],
                                   size_t msglen)
{
  PetscReal         now;
  TSConvergedReason reason = TS_CONVERGED_ITERATING;

  PetscFunctionBegin;
  *ok         = PETSC_TRUE;
  ctx->msg    = msg;
  ctx->msglen = msglen;
  PetscCall(VecDuplicate(X, &ctx->prev));
  PetscCall(TSGetTime(ts, &now));
  PetscCall(ODEOutputsAt(ctx, now, X)); /* times at the start: the initial state */
  if (ctx->next < ctx->nt) {
    /* the end is 1 whatever the last output time: MATCHSTEP cuts the last step to meet it */
    PetscCall(TSSetMaxTime(ts, PetscMax(1.0, ctx->t[ctx->nt - 1])));
    PetscCall(TSSolve(ts, X));
    PetscCall(TSGetConvergedReason(ts, &reason));
    PetscCall(TSGetTime(ts, &now));
    /* a last step that PETSc's sum left a rounding short of the end */
    if (reason > 0 && !ctx->failed && !ctx->blown)
      while (ctx->next < ctx->nt && fabs(now - ctx->t[ctx->next]) <= 1e-12) {
        PetscCall(ODEStateOut(ctx, X, ctx->q + ctx->np * ctx->next));
        ctx->next++;
      }
  }
  PetscCall(VecDestroy(&ctx->prev));
  PetscCall(TSDestroy(&ctx->sub));
  if (ctx->blown) {
    ODEBlownMessage(ctx, msg, msglen);
    *ok = PETSC_FALSE;
  } else if (ctx->failed)
    *ok = PETSC_FALSE; /* ODEReach wrote msg */
  else if (ctx->next < ctx->nt) {
    snprintf(msg, msglen, "depth-limit ODE: TS stopped at t = %g before %g (%s)", (double)now,
             ctx->t[ctx->next], TSConvergedReasons[reason]);
    *ok = PETSC_FALSE;
  }
  PetscFunctionReturn(0);
}

/* TS types whose values at the requested times are the integrator's own on dq/dt = F(q) given as an
   RHS function, each checked against the ReLU closed form (tests/test_limits.c). Left out: pseudo
   (pseudo-transient continuation to a steady state, not a trajectory), glle (q at t = 1 half the
   exact value on the ReLU ODE), and types needing what this problem does not give: a split RHS
   (mprk, basicsymplectic), a second-order form (alpha2), an I-function or Jacobian (irk, eimex,
   mimex, discgrad, radau5), or an external package (sundials, python). */
static const char *const ode_types[] = {TSRK,   TSEULER,  TSSSP, TSBDF,   TSROSW, TSARKIMEX,
                                        TSGLEE, TSBEULER, TSCN,  TSTHETA, TSALPHA};
#define NODETYPES (sizeof(ode_types) / sizeof(ode_types[0]))

void NNLLimitODETypes(char buf[], size_t len)
{
  size_t n = 0;
  buf[0]   = 0;
  for (size_t i = 0; i < NODETYPES && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", ode_types[i]);
}

NNLODEReach NNLLimitODEReach(void)
{
  char      type[64] = TSRK, rk[64] = NNL_ODE_RK_TYPE;
  PetscBool set;

  if (PetscOptionsGetString(NULL, "limit_", "-ts_type", type, sizeof(type), &set) ||
      PetscOptionsGetString(NULL, "limit_", "-ts_rk_type", rk, sizeof(rk), &set))
    return NNL_ODE_DENSE;      /* NNLLimitSetFromOptions reports a bad option */
  if (!strcasecmp(type, TSRK)) /* 1fe: PETSc's linear interpolant has its order (ODEIsDense) */
    return strcasecmp(rk, TSRK5DP) && strcasecmp(rk, TSRK1FE) ? NNL_ODE_REACH_EXPLICIT
                                                              : NNL_ODE_DENSE;
  return !strcasecmp(type, TSEULER) || !strcasecmp(type, TSSSP) || !strcasecmp(type, TSGLEE)
           ? NNL_ODE_REACH_EXPLICIT
           : NNL_ODE_REACH_IMPLICIT;
}

/* The message for a -limit_ts_type the ODE cannot use (ode_types). */
static void UnsupportedType(const char *type, char msg[], size_t msglen)
{
  size_t len = (size_t)snprintf(
    msg, msglen, "depth-limit ODE: -limit_ts_type %s is not supported (use one of", type);
  for (size_t i = 0; i < NODETYPES && len < msglen; i++)
    len += (size_t)snprintf(msg + len, msglen - len, " %s", ode_types[i]);
  if (len < msglen) snprintf(msg + len, msglen - len, ")");
}

/* Why the configured solver cannot give the ODE's values at the requested times (msg empty if it
   can). Other exact final time options would step over a time (stepover) or overwrite the state
   with an interpolant (interpolate). */
static PetscErrorCode ODECheckSolver(TS ts, char msg[], size_t msglen)
{
  TSType                 type;
  TSExactFinalTimeOption eft;
  PetscBool              known = PETSC_FALSE;

  PetscFunctionBegin;
  msg[0] = 0;
  PetscCall(TSGetType(ts, &type));
  for (size_t i = 0; i < NODETYPES && !known; i++)
    PetscCall(PetscStrcmp(type, ode_types[i], &known));
  PetscCall(TSGetExactFinalTime(ts, &eft));
  if (!known)
    UnsupportedType(type, msg, msglen);
  else if (eft != TS_EXACTFINALTIME_MATCHSTEP) {
    char name[32];
    PetscCall(PetscStrncpy(name, TSExactFinalTimeOptions[eft], sizeof(name)));
    PetscCall(PetscStrtolower(name));
    snprintf(msg, msglen,
             "depth-limit ODE: -limit_ts_exact_final_time %s is not supported (use matchstep: "
             "every output time is stepped "
             "onto)",
             name);
  }
  PetscFunctionReturn(0);
}

/* Whether the monitor may take the output times from the solver's interpolant: only for a
   Runge–Kutta tableau whose interpolant has the method's order. PETSc gives a tableau without its
   own dense output (every one but 5dp in 3.18) a linear interpolant: with 5bs at rtol 1e-8 that put
   interior layers 3.2e-3 off the exact ReLU solution. */
static PetscErrorCode ODEIsDense(TS ts, PetscBool *dense)
{
  PetscInt order, pinterp;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)ts, TSRK, dense));
  if (!*dense) PetscFunctionReturn(0);
  PetscCall(TSRKGetOrder(ts, &order));
  PetscCall(TSRKGetTableau(ts, NULL, NULL, NULL, NULL, NULL, &pinterp, NULL, NULL));
  *dense = pinterp >= order ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode ODE(const NNLJob *job, PetscInt act, PetscInt nt, const double t[], double *q,
                          PetscBool *ok, char msg[], size_t msglen, NNLPollFn poll, void *pctx,
                          PetscBool *abandon)
{
  const PetscInt m = job->inputs, np = m * (m + 1) / 2;
  ODECtx       ctx = {&job->act[act], m, poll, pctx, abandon, PETSC_FALSE, np,   nt, 0, t, q, NULL,
                      PETSC_FALSE,    0, NULL, 0,    NULL,    PETSC_FALSE, NULL, 0};
  TS           ts;
  Vec          X;
  PetscScalar *x;

  PetscFunctionBegin;
  PetscCall(ODECreate(&ts));
  PetscCall(TSSetRHSFunction(ts, NULL, ODERHS, &ctx));
  PetscCall(TSSetFromOptions(ts));
  PetscCall(ODECheckSolver(
    ts, msg, msglen)); /* NNLLimitSetFromOptions refuses these at the start of a run */
  if (msg[0]) {
    *ok = PETSC_FALSE;
    PetscCall(TSDestroy(&ts));
    PetscFunctionReturn(0);
  }
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, np, &X));
  PetscCall(VecGetArrayWrite(X, &x));
  PetscCall(NNLLimitInitial(job, NNL_FAMILY_RESNET, act, x));
  PetscCall(VecRestoreArrayWrite(X, &x));
  PetscCall(ODEIsDense(ts, &ctx.dense));
  if (nt > 0) PetscCall(TSMonitorSet(ts, ODEMonitor, &ctx, NULL));
  PetscCall(TSSetApplicationContext(ts, &ctx));
  PetscCall(TSSetPostStep(ts, ODEPostStep));
  if (nt > 0 && ctx.dense)
    PetscCall(ODESolveDense(ts, X, &ctx, ok, msg, msglen));
  else
    PetscCall(ODESolveFree(ts, X, &ctx, ok, msg, msglen));
  PetscCall(TSDestroy(&ts));
  PetscCall(VecDestroy(&X));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitODE(const NNLJob *job, PetscInt act, PetscInt nt, const double t[],
                           double *q, PetscBool *ok, char msg[], size_t msglen)
{
  PetscBool abandon = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(ODE(job, act, nt, t, q, ok, msg, msglen, NULL, NULL, &abandon));
  PetscFunctionReturn(0);
}

PetscBool NNLLimitHasODE(const NNLJob *job, NNLFamily family, PetscInt act)
{
  if (family == NNL_FAMILY_CONTROLLED) return PETSC_TRUE; /* its Goursat problem */
  return family == NNL_FAMILY_RESNET && NNLJobBranchAlpha(job, act) == 0.5 ? PETSC_TRUE
                                                                           : PETSC_FALSE;
}

PetscErrorCode NNLLimitCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *pctx,
                               NNLResult **result)
{
  const PetscInt np = job->inputs * (job->inputs + 1) / 2;
  NNLResult     *res;
  PetscInt       nrec, *layers;
  double         t0      = MPI_Wtime();
  PetscBool      abandon = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(NNLLogRegister());
  PetscCall(PetscLogEventBegin(NNL_EVENT_LIMIT, 0, 0, 0, 0));
  PetscCall(NNLJobRecordLayers(job, pt->family, pt->depth, &nrec, &layers));
  PetscCall(NNLResultCreate(nrec, job->inputs, &res));
  PetscCall(PetscArraycpy(res->layers, layers, nrec));
  res->kind  = NNL_TASK_LIMIT;
  res->point = pt->ord;
  PetscCall(
    NNGP(job, pt->family, pt->act, pt->depth, nrec, layers, res->gram, poll, pctx, &abandon));
  for (PetscInt i = 0; i < nrec * np; i++) res->ode[i] = NAN;
  if (NNLLimitHasODE(job, pt->family, pt->act) && !abandon) {
    PetscBool ok = PETSC_TRUE; /* the march cannot fail; the ODE's solver can */
    if (pt->family == NNL_FAMILY_CONTROLLED)
      PetscCall(Goursat(job, pt->act, pt->depth, NNLLimitGoursatCells(pt->depth),
                        NNL_GOURSAT_MIDPOINT, nrec, layers, res->ode, poll, pctx, &abandon));
    else {
      double *t;
      PetscCall(PetscMalloc1(nrec, &t));
      for (PetscInt r = 0; r < nrec; r++) t[r] = (double)layers[r] / (double)pt->depth;
      PetscCall(ODE(job, pt->act, nrec, t, res->ode, &ok, res->message, sizeof(res->message), poll,
                    pctx, &abandon));
      PetscCall(PetscFree(t));
    }
    if (!ok && !abandon) {
      res->status = NNL_STATUS_FAILED;
      for (PetscInt i = 0; i < nrec * np; i++) res->ode[i] = NAN;
    }
  }
  if (abandon) res->status = NNL_STATUS_ABANDONED;
  PetscCall(PetscFree(layers));
  res->seconds = MPI_Wtime() - t0;
  PetscCall(PetscLogEventEnd(NNL_EVENT_LIMIT, 0, 0, 0, 0));
  *result = res;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLTSCheckOptions(TS ts, const char prefix[])
{
  PetscReal   tol[2];
  const char *name[2] = {"rtol", "atol"};
  char        got[32], opt[64], buf[256];
  PetscBool   set;
  PetscInt    steps;

  PetscFunctionBegin;
  /* PETSc reads -PREFIXts_max_steps with a wrap past 2^31 (4294967297 is 1 step) and takes any
     number below 1: each limit failed, 'TS stopped at t = 0.001 (CONVERGED_ITS)' */
  snprintf(opt, sizeof(opt), "-%sts_max_steps", prefix);
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, buf, sizeof(buf), &set));
  if (set) PetscCall(NNLParseInt(opt, buf, 1, &steps));
  PetscCall(TSGetTolerances(ts, &tol[1], NULL, &tol[0], NULL));
  /* PETSc takes any number: nan, -1, or both 0, left the step uncontrolled (q_ode at t = 1 off in
     its 6th digit, stored as the limit) */
  for (int k = 0; k < 2; k++) {
    snprintf(got, sizeof(got), "%g", (double)tol[k]); /* PETSc's own %g appends a '.' */
    PetscCheck(isfinite(tol[k]) && tol[k] >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "-%sts_%s: must be a finite number >= 0 (got %s)", prefix, name[k], got);
  }
  PetscCheck(tol[0] + tol[1] > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-%sts_rtol and -%sts_atol: not both 0", prefix, prefix);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLimitSetFromOptions(MPI_Comm comm)
{
  TS   ts;
  char msg[256];

  PetscFunctionBegin;
  { /* a type PETSc does not know failed inside TSSetFromOptions as "Unknown TS type", naming no
       option */
    char      type[64];
    PetscBool set, known = PETSC_FALSE;
    PetscCall(PetscOptionsGetString(NULL, "limit_", "-ts_type", type, sizeof(type), &set));
    for (size_t i = 0; set && i < NODETYPES && !known; i++)
      PetscCall(PetscStrcmp(type, ode_types[i], &known));
    if (set && !known) {
      UnsupportedType(type, msg, sizeof(msg));
      SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s", msg);
    }
  }
  /* every rank reads the same options database and reaches the same verdict */
  PetscCall(ODECreate(&ts));
  PetscCall(TSSetFromOptions(ts));
  PetscCall(NNLTSCheckOptions(ts, "limit_"));
  PetscCall(ODECheckSolver(ts, msg, sizeof(msg)));
  PetscCall(TSDestroy(&ts));
  PetscCheck(!msg[0], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s", msg);
  PetscCall(NNLFokkerPlanckSetFromOptions());
  PetscOptionsBegin(comm, NULL,
                    "nnlimits run: the depth limit of controlled_resnet (the neural signature "
                    "kernel's Goursat problem)",
                    NULL);
  {
    /* read as text: PETSc's PetscOptionsInt wraps a value past 2^31 (4294967297 was 1 cell, run
       silently) */
    PetscInt cells = NNL_GOURSAT_CELLS;
    PetscCall(NNLParseIntOption(PetscOptionsObject, "-limit_goursat_cells",
                                "Cells per unit time of its second-order march (the least multiple "
                                "of each depth at least this; error ~1/cells^2)",
                                PETSC_MIN_INT, &cells, NULL));
    PetscCheck(cells >= 1 && cells <= NNL_GOURSAT_CELLS_MAX, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "-limit_goursat_cells: must be between 1 and 2^30 = 1073741824 (got %" PetscInt_FMT
               ")",
               cells);
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}
