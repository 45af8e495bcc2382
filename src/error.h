/* Error reporting: one clear line for input errors, tracebacks for bugs, and agreement across
 * ranks. */
#ifndef NNLIMITS_ERROR_H
#define NNLIMITS_ERROR_H

#include <petscsys.h>

/* Exit codes of the executable. */
#define NNL_EXIT_OK          0
#define NNL_EXIT_INPUT       2 /* bad input: options, files, stores */
#define NNL_EXIT_INTERRUPTED 3 /* stopped by a signal; rerun (or requeue) to finish */

/** @brief Install the handler: PETSC_ERR_USER_INPUT errors print "nnlimits: error: MSG" once, on
 * rank 0. */
PetscErrorCode NNLErrorInstall(void);
/** @brief While quiet, errors are only recorded (for NNLErrorAgree), not printed. */
void NNLErrorSetQuiet(PetscBool quiet);
/** @brief While on, PETSc's argument errors (a bad -limit_ts_type, a non-number) are input errors:
 * one line, exit 2. */
void NNLErrorOptionsPhase(PetscBool on);
/**
  @brief Collective: every rank passes its local error code (0 if none). If any rank failed, the
  failure of the lowest such rank (code and message) is raised on every rank, so all leave together
  with one message.
*/
PetscErrorCode NNLErrorAgree(MPI_Comm comm, PetscErrorCode local);
/** @brief Not collective: after an error on this rank mid-run, print it (rank > 0) and MPI_Abort if
 * size > 1. */
void NNLErrorAbort(MPI_Comm comm, PetscErrorCode ierr);
/** @brief True if code is an input error (exit NNL_EXIT_INPUT rather than abort). */
PetscBool NNLErrorIsInput(PetscErrorCode code);

/** @brief Record, instead of printing, PETSc error output until NNLErrorCaptureEnd (around
 * PetscInitialize). */
void NNLErrorCaptureBegin(void);
/** @brief Restore PETSc's error printing; returns the captured error message ("" if none). */
const char *NNLErrorCaptureEnd(void);

#endif
