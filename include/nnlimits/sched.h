/* The coordinator/worker protocol: cost-ordered self-scheduling, progress, graceful stop on
 * signals. */
#ifndef NNLIMITS_SCHED_H
#define NNLIMITS_SCHED_H

#include "nnlimits/grid.h"
#include "nnlimits/store.h"
#include "nnlimits/net.h"

typedef struct _p_NNLSched *NNLSched;

/* What a run did, known on rank 0. */
typedef struct {
  PetscInt  done, failed; /* points committed by this run */
  PetscInt  abandoned;    /* tasks cut short by a stop (not stored: still pending) */
  PetscBool interrupted;  /* a stop signal arrived: the remaining points were not started */
  double    seconds;
  double
    store_seconds; /* of those, rank 0's in the store, committing results (coarse-clock estimate) */
} NNLSchedStats;

/** @brief Rank 0's share of a run's time in the store, in [0, 1] (0 for a run of no time). */
static inline double NNLSchedStoreShare(const NNLSchedStats *st)
{
  return st->seconds > 0 ? PetscMin(st->store_seconds / st->seconds, 1.0) : 0.0;
}

/** @brief Compute one task of either kind (a network, or a limit), as a worker does. Not
 * collective. */
PetscErrorCode NNLTaskCompute(const NNLJob *job, const NNLPoint *pt, NNLPollFn poll, void *ctx,
                              NNLResult **res);

/**
  @brief NNLTaskCompute with large spectra on team (may be NULL). Collective on team when a spectrum
  goes to it.
*/
PetscErrorCode NNLTaskComputeTeam(const NNLJob *job, const NNLPoint *pt, NNLSpectraTeam team,
                                  NNLPollFn poll, void *ctx, NNLResult **res);

/**
  @brief Catch SIGTERM, SIGINT and SIGUSR1 for good: before the sweep begins (NNLSchedRun), a stop
  is noted and the set-up leaves at its next look (NNLSchedStoppedBeforeSweep) with exit code 3, a
  second stop a second or more after the first at once; during and after the sweep, the first stops
  the hand-out and the second abandons the tasks in progress (a different signal within a second of
  the first is the same stop). `run` calls it first thing in main, and has PETSc install no handlers
  of its own (-no_signal_handler).
*/
void NNLSchedCatchSignals(void);
/**
  @brief Whether a stop signal reached any rank of comm before the sweep (collective); rank 0 then
  says so on stderr. The caller leaves with exit code 3 (nothing computed).
*/
PetscErrorCode NNLSchedStoppedBeforeSweep(MPI_Comm comm, PetscBool *stopped);
/**
  @brief The process is leaving with exit code code (a refusal): a stop signal from now on ends it
  at once with that code and no word. Not collective.
*/
void NNLSchedLeaving(int code);
/* A file of this name in the run directory stops the run as a stop signal does (rank 0 looks at the
   sweep's start and every few seconds while tasks commit), and is removed: `touch
   DIR/nnlimits.stop`, where signalling is awkward. */
#define NNL_STOP_FILE "nnlimits.stop"
/** @brief Create the scheduler on comm (collective). */
PetscErrorCode NNLSchedCreate(MPI_Comm comm, const NNLJob *job, NNLSched *s);
/**
  @brief Read -progress_interval, -stop_grace, -sched_rank0_computes, -spectra_team_size and
  -spectra_team_min (collective); builds the spectra teams (each on a BLACS grid of its
  sub-communicator) when -spectra_team_size > 1.
*/
PetscErrorCode NNLSchedSetFromOptions(NNLSched s);
/**
  @brief What a run of this job on `ranks` ranks does with its options (the run's own rule at its
  size, and `plan`'s at -plan_ranks): how many ranks compute points (with -spectra_team_size T > 1
  only each team's leader; rank 0 among them unless -sched_rank0_computes says no or, by default,
  more than 8 ranks run), and whether rank 0 is one of them. Not collective.
*/
PetscErrorCode NNLSchedPlanRanks(NNLSched s, PetscInt ranks, PetscInt *workers,
                                 PetscBool *rank0_computes);
/**
  @brief The spectra team a task's large spectra get on `ranks` ranks (*size 1: none, on 1 rank or
  with -spectra_team_size 1) and -spectra_team_min, for the cost model (NNLJob's spectra_team). Not
  collective.
*/
PetscErrorCode NNLSchedPlanTeam(NNLSched s, PetscInt ranks, PetscInt *size, PetscInt *min);
/**
  @brief Warn on stderr (rank 0) of a -spectra_team_size that `ranks` ranks do not fill: the run's
  own size, or plan's -plan_ranks; with refuse (run), one that does not divide them is an error.
  Collective on the scheduler's communicator.
*/
PetscErrorCode NNLSchedWarnTeams(NNLSched s, PetscInt ranks, PetscBool refuse);
/**
  @brief The run's -stop_grace in seconds, and whether it was given (in the job file, nested YAML
  included, on the command line or in PETSC_OPTIONS) rather than the default. Not collective.
  @param[out] grace seconds
  @param[out] set   PETSC_TRUE if given
*/
PetscErrorCode NNLSchedGetStopGrace(NNLSched s, PetscReal *grace, PetscBool *set);
/**
  @brief Compute the points todo[0..n) (indices into the grid, largest cost first; meaningful on
  rank 0 only) and commit each to store (rank 0; NULL elsewhere). Collective. Rank 0 hands out tasks
  largest first and computes the smallest itself when that helps, serving workers between the layers
  of its own point.
*/
PetscErrorCode NNLSchedRun(NNLSched s, const NNLGrid *grid, NNLStore store, PetscInt n,
                           const PetscInt *todo, NNLSchedStats *stats);
PetscErrorCode NNLSchedDestroy(NNLSched *s);

#endif
