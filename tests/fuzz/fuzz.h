/* What both libFuzzer targets share: MPI and PETSc started once, and PETSc's error printing
   silenced (an error return is the expected outcome for most inputs; only crashes, sanitizer
   reports and leaks are findings). */
#ifndef NNLIMITS_FUZZ_H
#define NNLIMITS_FUZZ_H

#include <cblas.h>
#include <petscsys.h>

static PetscErrorCode FuzzQuiet(MPI_Comm c, int l, const char *f, const char *fi, PetscErrorCode n,
                                PetscErrorType p, const char *m, void *ctx)
{
  (void)c, (void)l, (void)f, (void)fi, (void)p, (void)m, (void)ctx;
  return n;
}

/* From LLVMFuzzerInitialize: 0 when MPI and PETSc are up and quiet, and BLAS on one thread as in a
   run (main.c). With OpenBLAS's default pool, -input_correlation's DSYEV started pool threads in
   the middle of an input, and libFuzzer's per-input leak check could land while ASan was still
   setting one up (a false 32-byte leak). */
static int FuzzInit(int *argc, char ***argv)
{
  openblas_set_num_threads(1);
  MPI_Init(argc, argv);
  if (PetscInitializeNoArguments()) return 1;
  PetscPushErrorHandler(FuzzQuiet, NULL);
  return 0;
}

#endif
