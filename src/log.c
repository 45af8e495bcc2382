/* PETSc log events of nnlimits, so that -log_view shows where a sweep spends its time. */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>
#include "log.h"

PetscLogEvent NNL_EVENT_SAMPLE, NNL_EVENT_OBSERVE, NNL_EVENT_COMMIT, NNL_EVENT_LIMIT,
  NNL_EVENT_SPECTRA;
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
  /* -log_view then splits the run into "Main Stage" (job, grid, store open, summary) and the sweep
   * itself. */
  PetscCall(PetscLogStageRegister("NNLSweep", &NNL_STAGE_SWEEP));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLogCheckView(MPI_Comm comm)
{
  char      value[PETSC_MAX_PATH_LEN] = "", path[PETSC_MAX_PATH_LEN] = "", dir[PETSC_MAX_PATH_LEN];
  PetscBool set;
  int       rank, err = 0;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-log_view", value, sizeof(value), &set));
  if (!set || !strchr(value, ':')) PetscFunctionReturn(0); /* none, or to stdout */
  /* [type]:file[:format[:mode]] */
  PetscCall(PetscStrncpy(path, strchr(value, ':') + 1, sizeof(path)));
  if (strchr(path, ':')) *strchr(path, ':') = 0;
  if (!path[0]) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) { /* PETSc's rank 0 writes it */
    PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
    if (access(path, F_OK) == 0)
      err = access(path, W_OK) ? errno : 0;
    else
      err = access(dirname(dir), W_OK | X_OK) ? errno : 0;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err)
    PetscCall(PetscOptionsClearValue(
      NULL, "-log_view")); /* or PETSc's finalize tries it again, with a traceback */
  PetscCheck(!err, comm, PETSC_ERR_USER_INPUT,
             "-log_view: cannot write the profile to '%s' (%s); it would be lost at the end "
             "of the run",
             path, strerror(err));
  PetscFunctionReturn(0);
}
