/* libFuzzer target: a job file (plain or YAML, chosen by the first byte) through the option reader,
   job validation and grid construction — the path every `nnlimits run -options_file FILE` takes.
   Any crash, sanitizer report or leak is a bug; an error return is the expected outcome for most
   inputs. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fuzz.h"
#include "nnlimits/grid.h"
#include "nnlimits/job.h"
#include "options.h"
#include "parse.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInit(argc, argv)) return 1;
  snprintf(path, sizeof(path), "/tmp/nnl-fuzz-options-%d", (int)getpid());
  return 0;
}

/* The job of the options now in the database, and its grid when it is small. */
static void Job(void)
{
  NNLJob  *job  = NULL;
  NNLGrid *grid = NULL;

  /* a job file may ask for any grid: keep one input's memory and time small */
  PetscOptionsSetValue(NULL, "-mem_budget_mb", "64");
  if (!NNLJobCreate(PETSC_COMM_SELF, &job)) {
    if (!NNLOptionsCheckUnused(PETSC_COMM_SELF, "run") &&
        (double)job->nwidth * job->ndepth * job->nseed * job->nact < 1e5)
      NNLGridCreate(job, PETSC_TRUE, &grid);
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* The value parsers on the raw text, as a value of an option would reach them. */
static void Values(const char *s)
{
  PetscInt *v = NULL, n, x;
  PetscReal r, *rv = NULL;
  char    **w = NULL;

  if (!NNLParseIntList("-fuzz", s, 0, &v, &n)) PetscFree(v);
  NNLParseInt("-fuzz", s, 0, &x);
  NNLParseReal("-fuzz", s, &r);
  if (!NNLParseRealList("-fuzz", s, &rv, &n)) PetscFree(rv);
  if (!NNLParseWords("-fuzz", s, &w, &n)) NNLParseFreeWords(&w, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char flag[] = "-options_file", yaml[] = "-options_file_yaml", *files[3] = {NULL, path, NULL},
       *argv[1] = {NULL};
  char *text;
  FILE *f;

  if (size < 1 || size > 65536) return 0;
  text = malloc(size);
  memcpy(text, data + 1, size - 1);
  text[size - 1] = 0;
  if (size - 1 < 4096) Values(text);
  free(text);
  f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data + 1, 1, size - 1, f);
  fclose(f);
  files[0] = (data[0] & 1) ? yaml : flag;
  PetscOptionsClear(NULL);
  if (!NNLOptionsInsertFiles(PETSC_COMM_SELF, files, 0, argv)) Job();
  PetscOptionsClear(NULL);
  unlink(path);
  return 0;
}
