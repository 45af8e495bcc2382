/* Error reporting: one clear line for input errors, tracebacks for bugs, and agreement across
 * ranks. */
#include <stdarg.h>
#include <string.h>
#include "error.h"

static PetscBool nnl_quiet = PETSC_FALSE, nnl_options = PETSC_FALSE;
static char      nnl_last[1024];

/* PETSc's number readers say "Input string X has no integer value" without the option: name the
   option whose value is X ("options" if none or several do). */
static const char *OptionOfValue(const char *mess)
{
  static char name[256];
  char        value[256], *all = NULL, *save = NULL, *prev = NULL;
  int         found = 0;

  PetscStrncpy(name, "options", sizeof(name));
  if (!mess || sscanf(mess, "Input string %255s has no", value) != 1 ||
      PetscOptionsGetAll(NULL, &all))
    return name;
  for (char *t = strtok_r(all, " ", &save); t; prev = t, t = strtok_r(NULL, " ", &save))
    if (prev && prev[0] == '-' && !strcmp(t, value) && found++ == 0)
      PetscStrncpy(name, prev, sizeof(name));
  if (found != 1) PetscStrncpy(name, "options", sizeof(name));
  PetscFree(all);
  return name;
}

static PetscErrorCode NNLErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file,
                                      PetscErrorCode n, PetscErrorType p, const char *mess,
                                      void *ctx)
{
  int rank = 0;

  /* PETSc's own option readers (TS types, numbers, booleans) fail with ARG_* codes: bad input, not
     a bug. Its lists of named values (-limit_ts_rk_type, -limit_ts_exact_final_time) fail with
     PETSC_ERR_USER, "Unknown option V for -NAME. Available options: ...": that was a traceback and
     MPI_Abort. */
  if (nnl_options && p == PETSC_ERROR_INITIAL &&
      (n == PETSC_ERR_ARG_OUTOFRANGE || n == PETSC_ERR_ARG_WRONG ||
       n == PETSC_ERR_ARG_UNKNOWN_TYPE || n == PETSC_ERR_ARG_INCOMP || n == PETSC_ERR_USER)) {
    char        value[256], opt[256];
    const char *avail = mess ? strstr(mess, "Available options: ") : NULL;
    n                 = PETSC_ERR_USER_INPUT;
    if (mess && avail && sscanf(mess, "Unknown option %255s for -%255[^.]", value, opt) == 2)
      snprintf(nnl_last, sizeof(nnl_last), "-%s: '%s' is not one of: %s", opt, value,
               avail + strlen("Available options: "));
    else
      snprintf(nnl_last, sizeof(nnl_last), "%s: %s", OptionOfValue(mess),
               mess ? mess : "(no message)");
    nnl_last[strcspn(nnl_last, "\n")] = 0;
    for (size_t k = strlen(nnl_last); k > 0 && nnl_last[k - 1] == ' '; k--) nnl_last[k - 1] = 0;
    mess = nnl_last;
  }
  if (p == PETSC_ERROR_INITIAL && mess && mess != nnl_last)
    PetscStrncpy(nnl_last, mess, sizeof(nnl_last));
  if (nnl_quiet) return n;
  if (NNLErrorIsInput(n)) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (p == PETSC_ERROR_INITIAL && rank == 0)
      fprintf(stderr, "nnlimits: error: %s\n", mess ? mess : "(no message)");
    return n;
  }
  return PetscTraceBackErrorHandler(comm, line, fun, file, n, p, mess, ctx);
}

PetscBool NNLErrorIsInput(PetscErrorCode code)
{
  return (code == PETSC_ERR_USER_INPUT || code == PETSC_ERR_FILE_OPEN ||
          code == PETSC_ERR_FILE_READ || code == PETSC_ERR_FILE_WRITE ||
          code == PETSC_ERR_FILE_UNEXPECTED)
           ? PETSC_TRUE
           : PETSC_FALSE;
}

PetscErrorCode NNLErrorInstall(void)
{
  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(NNLErrorHandler, NULL));
  PetscFunctionReturn(0);
}

void NNLErrorSetQuiet(PetscBool quiet)
{
  nnl_quiet = quiet;
  if (quiet) nnl_last[0] = 0;
}

void NNLErrorOptionsPhase(PetscBool on)
{
  nnl_options = on;
}

PetscErrorCode NNLErrorAgree(MPI_Comm comm, PetscErrorCode local)
{
  int  rank;
  int  in[2], out[2];
  int  code;
  char msg[sizeof(nnl_last)];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  in[0] = local ? 1 : 0;
  in[1] = rank;
  PetscCallMPI(MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MAXLOC, comm));
  if (!out[0]) PetscFunctionReturn(0);
  /* MAXLOC keeps the lowest rank among equal flags: that rank's verdict becomes everyone's. */
  code = (int)local;
  PetscCall(PetscStrncpy(msg, nnl_last, sizeof(msg)));
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, out[1], comm));
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, out[1], comm));
  SETERRQ(comm, (PetscErrorCode)code, "%s", msg);
}

/* Past the point where ranks agree on input errors, an error on one rank leaves the others waiting
   for it: the failed rank says so, and ends the whole job. Every commit is a transaction, so
   committed points survive. */
void NNLErrorAbort(MPI_Comm comm, PetscErrorCode ierr)
{
  int rank = 0, size = 1;

  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(comm, &size);
  if (rank != 0 && NNLErrorIsInput(ierr))
    fprintf(stderr, "nnlimits: error: rank %d: %s\n", rank, nnl_last);
  if (size == 1) return;
  fprintf(stderr,
          "nnlimits: rank %d failed during the run; ending all ranks (committed points are kept: "
          "rerun to resume)\n",
          rank);
  fflush(stderr);
  MPI_Abort(comm, NNLErrorIsInput(ierr) ? NNL_EXIT_INPUT : 1);
}

/* Errors inside PetscInitialize (an unreadable or malformed -options_file) come before our handler
   exists; PETSc's traceback prints through PetscErrorPrintf, whose message line is the one before
   "See https://petsc.org/…". */
static char cap_prev[1024], cap_msg[1024];

static PetscErrorCode CapturePrintf(const char fmt[], ...)
{
  char    line[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  line[strcspn(line, "\n")] = 0;
  if (!cap_msg[0] && strstr(line, "See https://petsc.org"))
    snprintf(cap_msg, sizeof(cap_msg), "%s", cap_prev);
  if (line[0]) snprintf(cap_prev, sizeof(cap_prev), "%s", line);
  return 0;
}

void NNLErrorCaptureBegin(void)
{
  cap_prev[0] = cap_msg[0] = 0;
  PetscErrorPrintf         = CapturePrintf;
}

const char *NNLErrorCaptureEnd(void)
{
  PetscErrorPrintf = PetscErrorPrintfDefault;
  return cap_msg[0] ? cap_msg : cap_prev;
}
