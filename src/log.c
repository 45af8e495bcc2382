/* PETSc log events of nnlimits, so that -log_view shows where a sweep spends its time. */
#include "log.h"

PetscLogEvent NNL_EVENT_SAMPLE, NNL_EVENT_OBSERVE, NNL_EVENT_COMMIT, NNL_EVENT_LIMIT, NNL_EVENT_SPECTRA;
PetscLogStage NNL_STAGE_SWEEP;

PetscErrorCode NNLLogRegister(void)
{
  static PetscBool registered = PETSC_FALSE;
  PetscClassId     classid;

  PetscFunctionBegin;
  if (registered) PetscFunctionReturn(0);
  registered = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("nnlimits", &classid));
  PetscCall(PetscLogEventRegister("NNLSample", classid, &NNL_EVENT_SAMPLE));
  PetscCall(PetscLogEventRegister("NNLObserve", classid, &NNL_EVENT_OBSERVE));
  PetscCall(PetscLogEventRegister("NNLCommit", classid, &NNL_EVENT_COMMIT));
  PetscCall(PetscLogEventRegister("NNLLimit", classid, &NNL_EVENT_LIMIT));
  PetscCall(PetscLogEventRegister("NNLSpectra", classid, &NNL_EVENT_SPECTRA));
  /* -log_view then splits the run into "Main Stage" (job, grid, store open, summary) and the sweep itself. */
  PetscCall(PetscLogStageRegister("NNLSweep", &NNL_STAGE_SWEEP));
  PetscFunctionReturn(0);
}
