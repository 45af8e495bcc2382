/* The commands that read run stores, on one rank: status, merge and export. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "nnlimits/store.h"
#include "commands.h"
#include "options.h"

PetscErrorCode NNLCommandStatus(MPI_Comm comm, const NNLArgs *args)
{
  PetscFunctionBegin;
  PetscCheck(args->npos >= 1, comm, PETSC_ERR_USER_INPUT,
             "status: which run directory? usage: nnlimits status DIR...");
  PetscCall(NNLOptionsCheckUnused(comm, "status"));
  PetscCall(NNLStoreStatusMany(args->npos, (const char *const *)args->pos, stdout));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLCommandMerge(MPI_Comm comm, const NNLArgs *args)
{
  char      out[PETSC_MAX_PATH_LEN] = "";
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-output", out, sizeof(out), &set));
  PetscCall(NNLOptionsCheckLength("-output", sizeof(out)));
  PetscCheck(set && out[0], comm, PETSC_ERR_USER_INPUT,
             "merge: -output DIR is required: nnlimits merge DIR... -output DIR");
  PetscCall(NNLOptionsCheckUnused(comm, "merge"));
  PetscCall(NNLStoreMerge(args->npos, (const char *const *)args->pos, out));
  PetscCall(NNLStoreStatusMany(1, (const char *const[]){out}, stdout));
  PetscFunctionReturn(0);
}

/* export reads its run directory only: refuse an -o that names one of the store's own files
   (nnlimits.sqlite, its -wal, -shm or journal, the lock), which the export would have replaced with
   CSV. */
static PetscErrorCode ExportTargetCheck(MPI_Comm comm, const char dir[], const char file[])
{
  char        fdir[PETSC_MAX_PATH_LEN];
  const char *slash = strrchr(file, '/'), *base = slash ? slash + 1 : file;

  PetscFunctionBegin;
  if (!file[0] || strncmp(base, "nnlimits.", 9)) PetscFunctionReturn(0);
  snprintf(fdir, sizeof(fdir), "%.*s", slash ? (int)(slash - file) + 1 : 1, slash ? file : ".");
  PetscCheck(!NNLStoreSamePath(fdir, dir), comm, PETSC_ERR_USER_INPUT,
             "-o: '%s' is one of the run directory's own files: write the CSV elsewhere", file);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLCommandExport(MPI_Comm comm, const NNLArgs *args)
{
  char           table[64] = "gram", file[PETSC_MAX_PATH_LEN] = "", tmp[PETSC_MAX_PATH_LEN + 16];
  NNLStore       st    = NULL;
  FILE          *out   = stdout;
  int            aside = 0, ok, err;
  PetscBool      oset;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCheck(args->npos != 2 || !NNLStoreIsTable(args->pos[1]), comm, PETSC_ERR_USER_INPUT,
             "export: give one run directory, "
             "and the table as an option: nnlimits export %s -table %s",
             args->pos[0], args->pos[1]);
  PetscCheck(args->npos == 1, comm, PETSC_ERR_USER_INPUT,
             "export: give one run directory: nnlimits export DIR [-table T] [-o FILE]");
  PetscCall(PetscOptionsGetString(NULL, NULL, "-table", table, sizeof(table), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-o", file, sizeof(file), &oset));
  /* -o with no name wrote the CSV to the terminal, as if -o were not there */
  PetscCheck(!oset || file[0], comm, PETSC_ERR_USER_INPUT,
             "-o: give a file name (or - for standard output)");
  PetscCall(NNLOptionsCheckLength("-table", sizeof(table)));
  PetscCall(NNLOptionsCheckLength("-o", sizeof(file)));
  PetscCall(NNLOptionsCheckUnused(comm, "export"));
  if (!strcmp(file, "-")) file[0] = 0; /* -o -: standard output, as without -o */
  PetscCall(ExportTargetCheck(comm, args->pos[0], file));
  PetscCall(NNLStoreOpenRead(args->pos[0], &st));
  if (file[0]) { /* a file: write aside, then rename, so a reader never sees half a file; a device
                    or a pipe: into it */
    struct stat sb;
    aside = stat(file, &sb) || S_ISREG(sb.st_mode);
    snprintf(tmp, sizeof(tmp), "%s.partial", file);
    out = fopen(aside ? tmp : file, "w");
    PetscCheck(out, comm, PETSC_ERR_USER_INPUT, "-o: cannot write '%s' (%s)", file,
               strerror(errno)); /* not its .partial */
  }
  ierr = NNLStoreExport(st, table, out);
  if (!ierr) /* the rows were exported all the same: a note, exit 0 */
    ierr = NNLStoreExportNote(st, args->pos[0], stderr);
  if (!ierr) ierr = NNLStoreExportNone(st, args->pos[0], table, stderr);
  if (ierr) { /* the store's error (named already): no half file, under either name */
    if (file[0]) (void)fclose(out);
    if (aside) (void)remove(tmp);
    NNLStoreClose(&st);
    PetscCall(ierr);
  }
  /* every write error, a full disk's too, is one line and exit code 2, and no half file is left
   * under FILE's name */
  ok  = !ferror(out) && fflush(out) == 0;
  err = errno;
  if (file[0]) {
    ok = (fclose(out) == 0) && ok;
    if (!ok) err = errno;
    if (aside && ok && rename(tmp, file)) ok = 0, err = errno;
    if (aside && !ok) (void)remove(tmp);
  }
  PetscCheck(ok, comm, PETSC_ERR_USER_INPUT, "export: writing %s%s%s failed (%s)",
             file[0] ? "'" : "", file[0] ? file : "stdout", file[0] ? "'" : "", strerror(err));
  PetscCall(NNLStoreClose(&st));
  PetscFunctionReturn(0);
}
