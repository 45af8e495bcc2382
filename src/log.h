/* PETSc log events of nnlimits, so that -log_view shows where a sweep spends its time. */
#ifndef NNLIMITS_LOG_H
#define NNLIMITS_LOG_H

#include <petscsys.h>

extern PetscLogEvent NNL_EVENT_SAMPLE;  /* drawing one layer (either sampler) */
extern PetscLogEvent NNL_EVENT_OBSERVE; /* per-layer statistics of a recorded layer */
extern PetscLogEvent NNL_EVENT_COMMIT;  /* one point into the store (rank 0) */
extern PetscLogEvent NNL_EVENT_LIMIT;   /* one limit task: NNGP recursion and depth-limit ODE */
extern PetscLogStage NNL_STAGE_SWEEP;   /* the scheduled sweep (NNLSchedRun), every rank */

/** @brief Register the events (once; safe to call again). Not collective. */
PetscErrorCode NNLLogRegister(void);

#endif
