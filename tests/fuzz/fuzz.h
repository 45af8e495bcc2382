/* What both libFuzzer targets share: MPI and PETSc started once, and PETSc's error printing silenced (an error
   return is the expected outcome for most inputs; only crashes, sanitizer reports and leaks are findings). */
#ifndef NNLIMITS_FUZZ_H
#define NNLIMITS_FUZZ_H

#include <petscsys.h>

static PetscErrorCode FuzzQuiet(MPI_Comm c, int l, const char *f, const char *fi, PetscErrorCode n, PetscErrorType p,
                                const char *m, void *ctx)
{
  (void)c, (void)l, (void)f, (void)fi, (void)p, (void)m, (void)ctx;
  return n;
}

/* From LLVMFuzzerInitialize: 0 when MPI and PETSc are up and quiet. */
static int FuzzInit(int *argc, char ***argv)
{
  MPI_Init(argc, argv);
  if (PetscInitializeNoArguments()) return 1;
  PetscPushErrorHandler(FuzzQuiet, NULL);
  return 0;
}

#endif
