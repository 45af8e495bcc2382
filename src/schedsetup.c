/* The scheduler's set-up: its options, spectra teams and ranks' roles; and the dispatch of one task
 * to its kind's computation. */
#include <string.h>
#include <strings.h>
#include "nnlimits/limits.h"
#include "nnlimits/net.h"
#include "nnlimits/sde.h"
#include "schedimpl.h"
#include "parse.h"

/* One task of any kind: a network to sample, the limits of a (family, activation, depth), or an SDE
 * task. */
PetscErrorCode NNLTaskCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *ctx,
                              NNLResult **res)
{
  PetscFunctionBegin;
  PetscCall(NNLTaskComputeTeam(job, pt, NULL, poll, ctx, res));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLTaskComputeTeam(const NNLJob *job, const NNLPoint *pt, NNLSpectraTeam team,
                                  NNLPollFn poll, void *ctx, NNLResult **res)
{
  PetscFunctionBegin;
  /* the dense sampler's W kept for the next network (net.c) would add to this task's memory, which
     -mem_budget_mb counts alone: a network frees it before it allocates, and so do the others */
  if (pt->kind == NNL_TASK_LIMIT || pt->kind == NNL_TASK_SDE) PetscCall(NNLNetFreeKept());
  if (pt->kind == NNL_TASK_LIMIT)
    PetscCall(NNLLimitCompute(job, pt, poll, ctx, res));
  else if (pt->kind == NNL_TASK_SDE)
    PetscCall(NNLSDETaskCompute(job, pt, poll, ctx, res));
  else if (pt->kind == NNL_TASK_NOOP) { /* benchmarks only: an empty result */
    PetscCall(NNLResultCreate(0, job->inputs, res));
    (*res)->point = pt->ord;
  } else
    PetscCall(NNLPointComputeTeam(job, pt, NNL_SAMPLER_AUTO, team, poll, ctx, res));
  PetscFunctionReturn(0);
}

/* A team size that `ranks` ranks do not fill would be taken silently: say what the run gets (a run
   at its own size, plan at -plan_ranks). A run refuses it (refuse): its last team, smaller,
   computes spectra otherwise (one rank: LAPACK), and which points it takes depends on the schedule,
   so three runs of one job at 3 ranks and teams of 2 gave three spectrum exports (the
   reproducibility review). */
PetscErrorCode NNLSchedWarnTeams(NNLSched s, PetscInt ranks, PetscBool refuse)
{
  PetscFunctionBegin;
  PetscCheck(
    !refuse || s->team_size <= 1 || ranks == 1 || ranks % s->team_size == 0, s->comm,
    PETSC_ERR_USER_INPUT,
    "-spectra_team_size %" PetscInt_FMT " does not divide the %" PetscInt_FMT
    " ranks: the last team of %" PetscInt_FMT
    " would compute its spectra otherwise, and which points it takes depends on the "
    "schedule (the spectra would differ from run to run); run on a multiple of %" PetscInt_FMT
    " ranks, or give a size that divides them",
    s->team_size, ranks, ranks % PetscMax(s->team_size, 1), s->team_size);
  if (s->team_size > 1 && ranks == 1)
    PetscCall(PetscFPrintf(s->comm, stderr,
                           "nnlimits: warning: -spectra_team_size %" PetscInt_FMT
                           " has no effect on 1 rank\n",
                           s->team_size));
  else if (s->team_size > 1 && ranks % s->team_size)
    PetscCall(PetscFPrintf(s->comm, stderr,
                           "nnlimits: warning: -spectra_team_size %" PetscInt_FMT
                           " does not divide the %" PetscInt_FMT
                           " ranks: the last team has %" PetscInt_FMT "\n",
                           s->team_size, ranks, ranks % s->team_size));
  PetscFunctionReturn(0);
}

/* Teams of T consecutive ranks, each on its own BLACS grid, built once for the run. */
static PetscErrorCode TeamsCreate(NNLSched s)
{
  MPI_Comm sub;

  PetscFunctionBegin;
  if (s->team_size <= 1 || s->size == 1) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_split(s->comm, s->rank / (int)s->team_size, s->rank, &sub));
  PetscCall(NNLSpectraTeamCreate(sub, &s->team));
  PetscCallMPI(MPI_Comm_free(&sub));
  PetscCall(NNLSpectraTeamSetMinSize(s->team, s->team_min));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedPlanRanks(NNLSched s, PetscInt ranks, PetscInt *workers,
                                 PetscBool *rank0_computes)
{
  const PetscInt t = s->team_size > 1 ? s->team_size : 1, leaders = (ranks + t - 1) / t;
  PetscBool      r0;

  PetscFunctionBegin;
  PetscCheck(ranks >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "ranks %" PetscInt_FMT " < 1",
             ranks);
  /* the one rule, which NNLSchedSetFromOptions applies to the run's own ranks: alone, rank 0
     computes; with spectra teams, team 0's members serve rank 0's spectra, so rank 0 must compute
     points or they would only wait */
  if (ranks == 1 || t > 1)
    r0 = PETSC_TRUE;
  else if (s->rank0_opt >= 0)
    r0 = s->rank0_opt ? PETSC_TRUE : PETSC_FALSE;
  else
    r0 = ranks <= 8 ? PETSC_TRUE : PETSC_FALSE;
  *workers        = r0 ? leaders : leaders - 1;
  *rank0_computes = r0;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedPlanTeam(NNLSched s, PetscInt ranks, PetscInt *size, PetscInt *min)
{
  PetscFunctionBegin;
  *size = s->team_size > 1 && ranks > 1 ? PetscMin(s->team_size, ranks) : 1; /* TeamsCreate's */
  *min  = s->team_min;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedCreate(MPI_Comm comm, const NNLJob *job, NNLSched *s)
{
  NNLSched sc;

  PetscFunctionBegin;
  PetscCall(PetscNew(&sc));
  sc->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &sc->rank));
  PetscCallMPI(MPI_Comm_size(comm, &sc->size));
  sc->job               = job;
  sc->progress_interval = 5;
  sc->stop_grace        = STOP_GRACE;
  sc->stop_seen         = -1;
  sc->rank0_computes    = sc->size <= 8 ? PETSC_TRUE : PETSC_FALSE;
  sc->rank0_opt         = -1;
  sc->team_size         = 1;
  sc->team_min          = 2048;
  *s                    = sc;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedSetFromOptions(NNLSched s)
{
  PetscReal iv = s->progress_interval, grace = s->stop_grace;
  char      buf[64] = "5", gbuf[64], b0[64];
  PetscBool set, set0, gset;

  PetscFunctionBegin;
  /* Read as text: PETSc's own number and boolean readers fail with messages that do not name the
   * option. */
  snprintf(b0, sizeof(b0), "%s", s->rank0_computes ? "true" : "false");
  snprintf(gbuf, sizeof(gbuf), "%g", s->stop_grace);
  PetscOptionsBegin(s->comm, NULL, "nnlimits run: scheduler", NULL);
  PetscCall(PetscOptionsString("-progress_interval",
                               "Seconds between progress lines on stderr (0: none)", "", buf, buf,
                               sizeof(buf), &set));
  PetscCall(PetscOptionsString("-stop_grace",
                               "Seconds the tasks in progress at a stop signal (SIGUSR1, SIGTERM, "
                               "SIGINT) may take to finish before "
                               "they are abandoned (a second signal abandons them at once)",
                               "", gbuf, gbuf, sizeof(gbuf), &gset));
  PetscCall(PetscOptionsString("-sched_rank0_computes",
                               "Rank 0 computes points too (default: when 8 ranks or fewer)", "",
                               b0, b0, sizeof(b0), &set0));
  /* as text too: PetscOptionsInt wraps a value past 2^31 (-spectra_team_min 4294967297 was 1) */
  PetscCall(NNLParseIntOption(PetscOptionsObject, "-spectra_team_size",
                              "Ranks per spectra team (ScaLAPACK); 1: every rank computes alone",
                              PETSC_MIN_INT, &s->team_size, NULL));
  PetscCall(NNLParseIntOption(PetscOptionsObject, "-spectra_team_min",
                              "Spectra of matrices with max(rows, cols) >= this go to the team",
                              PETSC_MIN_INT, &s->team_min, NULL));
  PetscOptionsEnd();
  PetscCheck(s->team_size >= 1, s->comm, PETSC_ERR_USER_INPUT,
             "-spectra_team_size: must be >= 1 (got %" PetscInt_FMT ")", s->team_size);
  PetscCheck(s->team_min >= 1, s->comm, PETSC_ERR_USER_INPUT,
             "-spectra_team_min: must be >= 1 (got %" PetscInt_FMT ")", s->team_min);
  if (set) PetscCall(NNLParseReal("-progress_interval", buf, &iv));
  if (gset) PetscCall(NNLParseReal("-stop_grace", gbuf, &grace));
  PetscCheck(grace >= 0, s->comm, PETSC_ERR_USER_INPUT,
             "-stop_grace: must be >= 0 seconds (got %.6g)", (double)grace);
  s->stop_grace     = grace;
  s->stop_grace_set = gset;
  set               = set0;
  if (set) {
    PetscBool t, f;
    PetscCall(PetscStrcasecmp(b0, "true", &t));
    PetscCall(PetscStrcasecmp(b0, "false", &f));
    t = t || !strcmp(b0, "1") || !strcasecmp(b0, "yes") || !b0[0];
    f = f || !strcmp(b0, "0") || !strcasecmp(b0, "no");
    PetscCheck(t || f, s->comm, PETSC_ERR_USER_INPUT,
               "-sched_rank0_computes: '%s' is not true or false", b0);
    s->rank0_opt = t ? 1 : 0;
  }
  PetscCheck(iv >= 0, s->comm, PETSC_ERR_USER_INPUT, "-progress_interval: must be >= 0 (got %.6g)",
             (double)iv);
  s->progress_interval = iv;
  {
    PetscInt workers;
    PetscCall(NNLSchedPlanRanks(s, s->size, &workers, &s->rank0_computes));
  }
  PetscCall(TeamsCreate(s));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedGetStopGrace(NNLSched s, PetscReal *grace, PetscBool *set)
{
  PetscFunctionBegin;
  *grace = s->stop_grace;
  *set   = s->stop_grace_set;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedDestroy(NNLSched *s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  PetscCall(PetscFree((*s)->workers));
  PetscCall(PetscFree((*s)->rbuf));
  PetscCall(NNLSpectraTeamDestroy(&(*s)->team));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}
