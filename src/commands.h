/* The commands of the command line (main.c reads the line and dispatches): run and its set-up
 * (run.c), plan (plan.c), and the read-only status, export and merge (commands.c). */
#ifndef NNLIMITS_COMMANDS_H
#define NNLIMITS_COMMANDS_H

#include <petscsys.h>
#include "nnlimits/grid.h"
#include "nnlimits/sched.h"
#include "nnlimits/store.h"

typedef struct {
  int    npos;
  char **pos; /* positional arguments after the subcommand */
} NNLArgs;

/** @brief Collective: `nnlimits run`; *code is the exit code of a run that ended (interrupted or
 * not). */
PetscErrorCode NNLCommandRun(MPI_Comm comm, int *code);
/** @brief Collective: `nnlimits plan`, the dry run. */
PetscErrorCode NNLCommandPlan(MPI_Comm comm);
/** @brief Not collective (rank 0's): `nnlimits status DIR...`. */
PetscErrorCode NNLCommandStatus(MPI_Comm comm, const NNLArgs *args);
/** @brief Not collective (rank 0's): `nnlimits merge DIR... -output DIR`. */
PetscErrorCode NNLCommandMerge(MPI_Comm comm, const NNLArgs *args);
/** @brief Not collective (rank 0's): `nnlimits export DIR [-table T] [-o FILE]`. */
PetscErrorCode NNLCommandExport(MPI_Comm comm, const NNLArgs *args);

/** @brief Collective: everything a run (cmd "run") or plan ("plan") needs from the job, checked on
   every rank before anything touches the disk: the job, the scheduler when sched is not NULL, the
   limits' and kernels' options, the grid and its memory. *help: -help was asked (nothing past the
   options is set up). ranks: the ranks the job's costs are priced for (a run's size, plan's
   -plan_ranks): its spectra teams (NNLSchedPlanTeam) when sched is not NULL. */
PetscErrorCode NNLRunSetUp(MPI_Comm comm, const char cmd[], PetscInt ranks, NNLJob **job,
                           NNLGrid **grid, NNLSched *sched, PetscBool *help);
/** @brief Not collective: the points of this shard still to compute, those the store st does not
   hold, largest cost first (*todo: NNLGridFreeIndices); *foreign (if not NULL): the points st holds
   that are not this shard's (another build's cut of the job's shards, NNLGridShard). */
PetscErrorCode NNLRunPending(const NNLJob *job, const NNLGrid *grid, NNLStore st, PetscInt *n,
                             PetscInt **todo, PetscInt *foreign);

#endif
