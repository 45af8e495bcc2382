/* Infinite-width limits (src/limits.c): the depth-limit ODE against closed forms and an independent
   integration, the NNGP recursion against the ODE (rate 1/L) and against the project's own finite
   networks. */
// ctest-label: unit
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "nnlimits/limits.h"
#include "nnlimits/activation.h"
#include "nnlimits/gauss.h"
#include "nnlimits/sched.h"

static const double T[] = {0.0, 0.125, 0.5, 0.75, 1.0};
#define NT 5

/* Linear: F(q) = q, so q_t = e^t q_0 for every pair; ReLU diagonal: F(q)_aa = q_aa/2, so q_aa(t) =
   e^{t/2}. Catches: a wrong RHS (pair indexing, diagonal lookup), output at the wrong times, loose
   tolerances. */
static void test_ode_closed_forms(void **state)
{
  NNLJob   *job;
  double    q[NT * 6];
  PetscBool ok;
  char      msg[256];

  assert_int_equal(
    TestJob("-grid_activation linear,relu -inputs 3 -input_dim 3 -input_correlation 0.3", &job,
            NULL),
    0);
  assert_int_equal(NNLLimitODE(job, 0, NT, T, q, &ok, msg, sizeof(msg)), 0);
  assert_true(ok);
  for (int i = 0; i < NT; i++)
    for (int k = 0; k < 6; k++) {
      double q0 = (k == 0 || k == 3 || k == 5) ? 1.0 : 0.3;
      if (fabs(q[6 * i + k] / (exp(T[i]) * q0) - 1) > 1e-9)
        fail_msg("linear t=%g pair %d: %.15g vs %.15g", T[i], k, q[6 * i + k], exp(T[i]) * q0);
    }
  assert_int_equal(NNLLimitODE(job, 1, NT, T, q, &ok, msg, sizeof(msg)), 0);
  assert_true(ok);
  for (int i = 0; i < NT; i++)
    for (int k = 0; k < 6; k += 3 - (k == 3 ? 1 : 0)) /* diagonal pairs 0, 3, 5 */
      if (fabs(q[6 * i + k] / exp(T[i] / 2) - 1) > 1e-9)
        fail_msg("relu t=%g diag %d: %.15g", T[i], k, q[6 * i + k]);
  NNLJobDestroy(&job);
}

/* Dense output: a depth-256 network asks for 257 times ℓ/256, most of them between the solver's
   steps and answered by the Runge–Kutta interpolant. Linear: q_t = e^t q_0 at every one of them to
   1e-9. Catches: an interpolant evaluated at the wrong time or on the wrong step, a time written
   twice or skipped, the state copied where it should be interpolated. */
static void test_ode_dense_output(void **state)
{
  enum { N = 257 };
  NNLJob   *job;
  double    t[N], *q;
  PetscBool ok;
  char      msg[256];

  assert_int_equal(
    TestJob("-grid_activation linear -inputs 2 -input_dim 2 -input_correlation 0.5", &job, NULL),
    0);
  for (int i = 0; i < N; i++) t[i] = (double)i / (N - 1);
  q = malloc(sizeof(double) * 3 * N);
  assert_int_equal(NNLLimitODE(job, 0, N, t, q, &ok, msg, sizeof(msg)), 0);
  assert_true(ok);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 3; k++) {
      double q0 = k == 1 ? 0.5 : 1.0;
      if (fabs(q[3 * i + k] / (exp(t[i]) * q0) - 1) > 1e-9)
        fail_msg("t=%g pair %d: %.15g vs %.15g", t[i], k, q[3 * i + k], exp(t[i]) * q0);
    }
  free(q);
  NNLJobDestroy(&job);
}

/* Every output time to the requested tolerance, whatever the solver: ReLU diagonal q(t) = e^{t/2}
   at the 257 times ℓ/256 of a depth-256 network, at rtol 1e-8, within 10·rtol. Each adaptive RK
   tableau PETSc 3.18 has besides 5dp (whose interpolant is linear: 5bs was 3.2e-3 off between
   steps, 3bs 5.7e-6, while right at t = 1) and the adaptive non-RK types. Catches: output times
   read from an interpolant of lower order than the method. */
static void test_ode_every_solver(void **state)
{
  enum { N = 257 };
  const char *solvers[] = {"-limit_ts_rk_type 5bs",  "-limit_ts_rk_type 3bs",
                           "-limit_ts_rk_type 2a",   "-limit_ts_rk_type 5f",
                           "-limit_ts_rk_type 6vr",  "-limit_ts_rk_type 7vr",
                           "-limit_ts_rk_type 8vr",  "-limit_ts_type rosw",
                           "-limit_ts_type arkimex", "-limit_ts_type glee"};
  double      t[N], q[N];
  for (int i = 0; i < N; i++) t[i] = (double)i / (N - 1);
  for (size_t s = 0; s < sizeof(solvers) / sizeof(solvers[0]); s++) {
    NNLJob   *job;
    PetscBool ok;
    char      msg[256], opts[256];
    double    worst = 0;
    snprintf(opts, sizeof(opts),
             "-grid_activation relu -inputs 1 -input_dim 2 %s -limit_ts_rtol 1e-8", solvers[s]);
    assert_int_equal(TestJob(opts, &job, NULL), 0);
    assert_int_equal(NNLLimitODE(job, 0, N, t, q, &ok, msg, sizeof(msg)), 0);
    if (!ok) fail_msg("%s: %s", solvers[s], msg);
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(q[i] / exp(t[i] / 2) - 1));
    if (worst > 1e-7)
      fail_msg("%s at rtol 1e-8: relative error %.3g (want <= 1e-7)", solvers[s], worst);
    NNLJobDestroy(&job);
  }
}

/* Fixed-step types keep their step: the output times do not cut it. Euler with dt = 1/512 (a power
   of two, so each time ℓ/256 is the end of exactly 2ℓ steps) gives (1 + dt/2)^{t/dt} on the ReLU
   diagonal to rounding; with the default dt = 1e-3 (times between steps, each reached by a shorter
   step from the one before) it succeeds within Euler's own error t·dt/8 at every time. Catches: the
   step shortened to meet one time and kept (it shrank towards each time until -limit_ts_max_steps
   ran out: depth-64 and depth-256 limits failed), or values interpolated between steps. */
static void test_ode_fixed_step(void **state)
{
  enum { N = 257 };
  const double h = 1.0 / 512;
  NNLJob      *job;
  double       t[N], q[N];
  PetscBool    ok;
  char         msg[256];

  for (int i = 0; i < N; i++) t[i] = (double)i / (N - 1);
  assert_int_equal(
    TestJob(
      "-grid_activation relu -inputs 1 -input_dim 2 -limit_ts_type euler -limit_ts_dt 0.001953125",
      &job, NULL),
    0);
  assert_int_equal(NNLLimitODE(job, 0, N, t, q, &ok, msg, sizeof(msg)), 0);
  if (!ok) fail_msg("euler: %s", msg);
  for (int i = 0; i < N; i++) {
    double want = pow(1 + h / 2, 2.0 * i);
    if (fabs(q[i] / want - 1) > 1e-13) fail_msg("euler t=%g: %.17g vs %.17g", t[i], q[i], want);
  }
  NNLJobDestroy(&job);
  assert_int_equal(
    TestJob("-grid_activation relu -inputs 1 -input_dim 2 -limit_ts_type euler", &job, NULL), 0);
  assert_int_equal(NNLLimitODE(job, 0, N, t, q, &ok, msg, sizeof(msg)), 0);
  if (!ok) fail_msg("euler, dt 1e-3: %s", msg);
  for (int i = 0; i < N; i++)
    if (fabs(q[i] / exp(t[i] / 2) - 1) > 1.3e-4 * t[i] + 1e-15)
      fail_msg("euler, dt 1e-3, t=%g: %.17g", t[i], q[i]);
  NNLJobDestroy(&job);
}

/* q at a time does not depend on which other times are asked for, whatever the solver: the default
   reads every time off one solve's interpolant, the others take their own steps to t = 1 and reach
   each time from the step before it (limits.c, ODESolveFree). Times 0.5 and 1 alone, among the 33
   times k/32 (a depth-32 network's every layer) and among 5 uneven ones give the same bits at 0.5
   and 1, for fixed-step euler, adaptive rk 3bs, and the multistep and implicit bdf and arkimex.
   Catches: a solve that steps onto each requested time (as until 2026-12, when each of the four
   differed: euler's q_01 at t = 0.5 was 0.44099629953890629 alone and 0.440997032318799 among the
   33, 3bs's at t = 1 0.63137229907434 and ...436621). */
static void test_ode_times_independent(void **state)
{
  const char  *solvers[] = {"", "-limit_ts_type euler", "-limit_ts_rk_type 3bs",
                            "-limit_ts_type bdf", "-limit_ts_type arkimex"};
  const double alone[] = {0.5, 1.0}, uneven[] = {0.1, 0.37, 0.5, 0.77, 1.0};
  double       every[33];
  for (int i = 0; i < 33; i++) every[i] = i / 32.0;
  for (size_t s = 0; s < sizeof(solvers) / sizeof(solvers[0]); s++) {
    const struct {
      int           n, half, one; /* count, and where 0.5 and 1 are */
      const double *t;
    } set[3] = {{2, 0, 1, alone}, {33, 16, 32, every}, {5, 2, 4, uneven}};
    double    q[3][33 * 3];
    NNLJob   *job;
    PetscBool ok;
    char      msg[256], opts[256];
    snprintf(opts, sizeof(opts),
             "-grid_activation relu -inputs 2 -input_dim 2 -input_correlation 0.3 %s", solvers[s]);
    assert_int_equal(TestJob(opts, &job, NULL), 0);
    for (int k = 0; k < 3; k++) {
      assert_int_equal(NNLLimitODE(job, 0, set[k].n, set[k].t, q[k], &ok, msg, sizeof(msg)), 0);
      if (!ok) fail_msg("'%s', %d times: %s", solvers[s], set[k].n, msg);
    }
    for (int k = 1; k < 3; k++)
      if (memcmp(q[0], q[k] + 3 * set[k].half, 3 * sizeof(double)) ||
          memcmp(q[0] + 3, q[k] + 3 * set[k].one, 3 * sizeof(double)))
        fail_msg("'%s': q_01 at t = 0.5, 1: %.17g %.17g alone, %.17g %.17g among %d times",
                 solvers[s], q[0][1], q[0][4], q[k][3 * set[k].half + 1], q[k][3 * set[k].one + 1],
                 set[k].n);
    NNLJobDestroy(&job);
  }
}

/* A solver that cannot give the ODE's values at the requested times is refused: at the start of a
   run (NNLLimitSetFromOptions errors) and, called directly, as a failed limit with a message. glle
   was half the exact value at t = 1; interpolate overwrites the state it continues from. Catches:
   such a solver's numbers stored as the limit. */
static void test_ode_refused(void **state)
{
  const char *bad[] = {"-limit_ts_type glle", "-limit_ts_type pseudo",
                       "-limit_ts_exact_final_time interpolate"};
  double      t     = 1, q;
  for (int b = 0; b < 3; b++) {
    NNLJob   *job;
    PetscBool ok = PETSC_TRUE;
    char      msg[256], opts[128];
    snprintf(opts, sizeof(opts), "-grid_activation relu -inputs 1 -input_dim 2 %s", bad[b]);
    assert_int_equal(TestJob(opts, &job, NULL), 0);
    assert_int_equal(NNLLimitODE(job, 0, 1, &t, &q, &ok, msg, sizeof(msg)), 0);
    assert_false(ok);
    if (!strstr(msg, "is not supported")) fail_msg("%s: message '%s'", bad[b], msg);
    assert_int_equal(PetscPushErrorHandler(PetscReturnErrorHandler, NULL), 0);
    assert_int_not_equal(NNLLimitSetFromOptions(PETSC_COMM_SELF), 0);
    assert_int_equal(PetscPopErrorHandler(), 0);
    NNLJobDestroy(&job);
  }
}

/* ReLU correlation: ρ' = ½[(sin θ + (π−θ) cos θ)/π − ρ] (MATH.md §4.2), integrated here by
   classical RK4 with 4096 steps (error ~1e-14). Catches: an off-diagonal RHS or arccos kernel that
   is wrong while the diagonal is right. */
static double RhoRHS(double rho)
{
  double th = acos(rho);
  return 0.5 * ((sin(th) + (M_PI - th) * cos(th)) / M_PI - rho);
}

static void test_ode_relu_correlation(void **state)
{
  NNLJob   *job;
  double    q[NT * 3], rho = 0.5;
  PetscBool ok;
  char      msg[256];
  int       i = 0;

  assert_int_equal(TestJob("-grid_activation relu -inputs 2 -input_correlation 0.5", &job, NULL),
                   0);
  assert_int_equal(NNLLimitODE(job, 0, NT, T, q, &ok, msg, sizeof(msg)), 0);
  assert_true(ok);
  for (int s = 0; s <= 4096; s++) {
    double h = 1.0 / 4096, t = s * h, k1, k2, k3, k4;
    while (i < NT && fabs(T[i] - t) < 1e-15) {
      double got = q[3 * i + 1] / sqrt(q[3 * i] * q[3 * i + 2]);
      if (fabs(got - rho) > 1e-10) fail_msg("t=%g: rho %.15g, scalar RK4 %.15g", t, got, rho);
      i++;
    }
    k1 = RhoRHS(rho);
    k2 = RhoRHS(rho + h / 2 * k1);
    k3 = RhoRHS(rho + h / 2 * k2);
    k4 = RhoRHS(rho + h * k3);
    rho += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  assert_int_equal(i, NT);
  NNLJobDestroy(&job);
}

/* The ResNet NNGP recursion is the Euler scheme of the ODE with step 1/L: its error at t = 1 is
   O(1/L), so doubling L halves it. Catches: a branch scale other than L^-1/2 in the recursion (no
   convergence), an off-by-one layer. */
/* One NNGP step of two inputs of unequal variances, (q00, q01, q11) = (1, 0.3, 2), through ReLU: E
   φ(u)φ(v) by the arc-cosine closed form √(q00 q11)/(2π) (sin θ + (π − θ) cos θ), cos θ = 0.3/√2
   (0.30516261102434511). Every job's inputs have equal norms, so nothing else sees q11 apart from
   q00. Catches q11 taken as q00 (0.2414). */
static void test_dual_unequal_variances(void **state)
{
  NNLActivation act;
  char          err[128];
  double        out[3];
  const double  c = 0.3 / sqrt(2.0), th = acos(c),
               want = sqrt(2.0) / (2 * M_PI) * (sin(th) + (M_PI - th) * c);

  (void)state;
  assert_int_equal(NNLActivationParse("relu", &act, err, sizeof(err)), 0);
  assert_int_equal(NNLLimitDual(&act, 2, (const double[]){1, 0.3, 2}, out), 0);
  if (!(fabs(out[1] - want) < 1e-14 && fabs(out[0] - 0.5) < 1e-15 && fabs(out[2] - 1) < 1e-15))
    fail_msg("dual (%.17g, %.17g, %.17g), want (0.5, %.17g, 1)", out[0], out[1], out[2], want);
}

static void test_nngp_to_ode(void **state)
{
  const char *acts[] = {"relu", "tanh"};
  for (int a = 0; a < 2; a++) {
    NNLJob   *job;
    double    ode[3], t1 = 1.0, err[3];
    PetscBool ok;
    char      msg[256], opts[128];
    snprintf(opts, sizeof(opts), "-grid_activation %s -inputs 2 -input_correlation 0.5", acts[a]);
    assert_int_equal(TestJob(opts, &job, NULL), 0);
    assert_int_equal(NNLLimitODE(job, 0, 1, &t1, ode, &ok, msg, sizeof(msg)), 0);
    assert_true(ok);
    for (int j = 0; j < 3; j++) {
      PetscInt L = 64 << j, last = L;
      double   q[3];
      assert_int_equal(NNLLimitNNGP(job, NNL_FAMILY_RESNET, 0, L, 1, &last, q), 0);
      err[j] = fabs(q[1] - ode[1]) + fabs(q[0] - ode[0]);
    }
    for (int j = 1; j < 3; j++)
      if (fabs(err[j - 1] / err[j] - 2) > 0.05)
        fail_msg("%s: error ratio %.4f at L = %d (want 2: first order)", acts[a],
                 err[j - 1] / err[j], 64 << j);
    NNLJobDestroy(&job);
  }
}

/* Monte Carlo vs limit: at width 512 the mean over 400 seeds of the project's own ResNet (depth 8,
   tanh) and MLP (depth 4, erf, with bias) last-layer Gram is within 4 s.e. of the NNGP value
   (finite-width bias ~1/n is well below that). Catches: recursion and sampler disagreeing on σ_w²,
   σ_b², branch scale or the first layer. */
static void test_nngp_vs_networks(void **state)
{
  const char *jobs[] = {
    "-family resnet -grid_activation tanh -grid_width 512 -grid_depth 8 -grid_seed 0-400 -inputs 2 "
    "-input_correlation 0.5 -record_layers last",
    "-family mlp -grid_activation erf -grid_width 512 -grid_depth 4 -grid_seed 0-400 -inputs 2 "
    "-input_correlation 0.2 -sigma_w2 1.8 -sigma_b2 0.05 -record_layers last"};
  for (int j = 0; j < 2; j++) {
    NNLJob  *job;
    NNLGrid *grid;
    Moments  mo[3] = {{0}};
    double   q[3];
    assert_int_equal(TestJob(jobs[j], &job, &grid), 0);
    assert_int_equal(NNLLimitNNGP(job, grid->points[0].family, 0, grid->points[0].depth, 1,
                                  &grid->points[0].depth, q),
                     0);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      NNLResult *res;
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                       0);
      for (int k = 0; k < 3; k++) MomentsAdd(&mo[k], res->gram[k]);
      NNLResultDestroy(&res);
    }
    for (int k = 0; k < 3; k++) {
      char what[64];
      snprintf(what, sizeof(what), "job %d pair %d", j, k);
      ASSERT_WITHIN_4SE(what, mo[k].mean, q[k], MomentsSE(&mo[k]));
    }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* Resident MB of this process (/proc/self/statm). */
static double ResidentMB(void)
{
  long  pages = 0, size = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
    fclose(f);
  }
  return (double)pages * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

/* The dense sampler's W past 32 MB (m > 8) is kept from one network for the next; a task of another
   kind frees it first, so that it does not add to that task's memory (-mem_budget_mb counts each
   task alone). Catches a 35 MB W held through a limit task. */
static void test_kept_w_freed_by_other_tasks(void **state)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  double     net_mb, lim_mb;

  (void)state;
  assert_int_equal(TestJob("-family resnet -grid_activation relu -grid_width 2100 -grid_depth 2 "
                           "-grid_seed 0 -inputs 9 -record_layers last",
                           &job, &grid),
                   0);
  assert_int_equal(NNLPointCompute(job, &grid->points[0], NNL_SAMPLER_DENSE, NULL, NULL, &res), 0);
  assert_int_equal(res->status, NNL_STATUS_DONE);
  NNLResultDestroy(&res);
  net_mb = ResidentMB();
  assert_int_equal(NNLTaskCompute(job, &grid->points[grid->npoints - 1], NULL, NULL, &res), 0);
  NNLResultDestroy(&res);
  lim_mb = ResidentMB();
  if (!(lim_mb < net_mb - 25))
    fail_msg("resident %.1f MB after the network, %.1f after the limit task", net_mb, lim_mb);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* A poll that counts its calls and asks for the task to be abandoned from call `at` on (never when
 * at = 0). */
typedef struct {
  int calls, at;
} Counter;

static PetscErrorCode CountingPoll(void *ctx, PetscBool *abandon)
{
  Counter *c = (Counter *)ctx;

  *abandon = ++c->calls >= c->at && c->at > 0 ? PETSC_TRUE : PETSC_FALSE;
  return 0;
}

/* Calls of the poll in task p of the job when it abandons at call `at`, and the result's status. */
static int PollCalls(const char *opts, PetscInt p, int at, NNLStatus *status)
{
  NNLJob    *job;
  NNLGrid   *grid;
  NNLResult *res;
  Counter    c = {0, at};

  assert_int_equal(TestJob(opts, &job, &grid), 0);
  if (p < 0) p += grid->npoints;
  assert_int_equal(NNLTaskCompute(job, &grid->points[p], CountingPoll, &c, &res), 0);
  *status = res->status;
  NNLResultDestroy(&res);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
  return c.calls;
}

/* A stop's abandon (-stop_grace, a second signal) in every kind of task: a network between its
   layers, a limit in its NNGP recursion and inside its ODE solve (the TS monitor), an SDE task
   between its steps. Each returns at the poll that asked, with status ABANDONED (never stored).
   Catches: a network or limit that runs on to its end after the poll said abandon (its calls would
   be the full count; an SDE task's would not, since NNLPoll asks nothing once told: test_sde's
   paths_batch counts its steps), or an abandoned task reported as done or failed (it would be
   stored). */
static void test_abandon_every_task_kind(void **state)
{
  const char *net =
    "-family mlp -grid_activation relu -grid_width 64 -grid_depth 50 -grid_seed 0 -inputs 2";
  const char *lim =
    "-family resnet -grid_activation relu -grid_width 64 -grid_depth 200 -grid_seed 0 -inputs 2";
  const char *sde = "-family resnet -grid_activation relu -grid_width 4 -grid_depth 16 -grid_seed "
                    "0 -inputs 2 -sde_paths 40 -sde_dt 0.01";
  NNLStatus   st;
  int         full;

  (void)state;
  full = PollCalls(net, 0, 0, &st);
  assert_int_equal(st, NNL_STATUS_DONE);
  assert_int_equal(full, 50); /* layers 1..50 */
  assert_int_equal(PollCalls(net, 0, 3, &st), 3);
  assert_int_equal(st, NNL_STATUS_ABANDONED);

  full = PollCalls(lim, -1, 0, &st); /* the limit task: NNGP layers, then the ODE solver's steps */
  assert_int_equal(st, NNL_STATUS_DONE);
  assert_true(full > 201 + 2);
  assert_int_equal(PollCalls(lim, -1, 3, &st),
                   3); /* within the NNGP recursion: the ODE is not started */
  assert_int_equal(st, NNL_STATUS_ABANDONED);
  assert_int_equal(PollCalls(lim, -1, full - 1, &st), full - 1); /* within the ODE solve */
  assert_int_equal(st, NNL_STATUS_ABANDONED);

  full = PollCalls(sde, -1, 0, &st); /* the grid's last task is the SDE task: its 40 paths in one
                                        batch (NNLSDEPaths), a poll after each of its 100 steps */
  assert_int_equal(st, NNL_STATUS_DONE);
  assert_int_equal(full, 100);
  assert_int_equal(PollCalls(sde, -1, 5, &st), 5);
  assert_int_equal(st, NNL_STATUS_ABANDONED);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ode_closed_forms),
    cmocka_unit_test(test_ode_dense_output),
    cmocka_unit_test(test_ode_relu_correlation),
    cmocka_unit_test(test_ode_every_solver),
    cmocka_unit_test(test_ode_fixed_step),
    cmocka_unit_test(test_ode_times_independent),
    cmocka_unit_test(test_ode_refused),
    cmocka_unit_test(test_nngp_to_ode),
    cmocka_unit_test(test_dual_unequal_variances),
    cmocka_unit_test(test_nngp_vs_networks),
    cmocka_unit_test(test_abandon_every_task_kind),
    cmocka_unit_test(test_kept_w_freed_by_other_tasks),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
