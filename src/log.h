/* PETSc log events of nnlimits, so that -log_view shows where a sweep spends its time. */
#ifndef NNLIMITS_LOG_H
#define NNLIMITS_LOG_H

#include <petscsys.h>

extern PetscLogEvent NNL_EVENT_SAMPLE;  /* drawing one layer (either sampler) */
extern PetscLogEvent NNL_EVENT_OBSERVE; /* per-layer statistics of a recorded layer */
extern PetscLogEvent NNL_EVENT_COMMIT;  /* one point into the store (rank 0) */
extern PetscLogEvent NNL_EVENT_LIMIT; /* one limit or SDE task: NNGP recursion, depth-limit ODE, SDE
                                         paths, Fokker–Planck */
extern PetscLogEvent
  NNL_EVENT_SPECTRA; /* eigenvalues and singular values of one spectra layer (LAPACK or a team) */
extern PetscLogStage NNL_STAGE_SWEEP; /* the scheduled sweep (NNLSchedRun), every rank */

/** @brief Register the events (once; safe to call again). Not collective. */
PetscErrorCode NNLLogRegister(void);

/** @brief Refuse, before any work, a -log_view file that cannot be written (PETSc finds out only at
   its finalize, after the run, and exits 0). Collective. */
PetscErrorCode NNLLogCheckView(MPI_Comm comm);

#endif
