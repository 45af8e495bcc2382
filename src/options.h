/* Job files (-options_file, plain or YAML) read collectively after PetscInitialize. */
#ifndef NNLIMITS_OPTIONS_H
#define NNLIMITS_OPTIONS_H

#include <errno.h>
#include <stdlib.h>
#include <petscsys.h>

/**
  @brief Split argv into what PetscInitialize sees (petsc_argv, NULL-terminated; returns its count)
  and the -options_file/-options_file_yaml flag-name pairs (files, NULL-terminated). Both arrays
  hold argc + 1 entries.
*/
int NNLOptionsSplitArgs(int argc, char **argv, char **petsc_argv, char **files);
/**
  @brief Insert the job files in order (rank 0 reads, all ranks insert), then the command line again
  so that it wins. Collective; an unreadable or malformed file is one input error on every rank.
*/
PetscErrorCode NNLOptionsInsertFiles(MPI_Comm comm, char **files, int argc, char **argv);
/**
  @brief The first word of argv[first..argc) that is neither an option name nor the one value after
  it (0 if none), and in *opt the index of the option it follows (0: none). PETSc takes one word per
  option and ignores the rest, so
  `-grid_width 32 64` would run width 32 alone. A word is an option name when it starts with '-' and
  is not a number.
*/
int NNLOptionsStrayWord(int argc, char **argv, int first, int *opt);
/* The first option of argv[first..argc) given again later (its index in *again, the earlier one's
   returned; 0: none), by name whatever its case; -options_file, which
   takes one job file each time, and -help aside. PETSc keeps the last silently. */
int NNLOptionsTwice(int argc, char **argv, int first, int *again);
/* Whether a command-line word is a value, not an option name: a number (-1, -inf) or a word not
   starting with '-' and a letter. */
int NNLOptionsIsValue(const char *w);
/**
  @brief Where a job file set option name (with or without its '-'; as PETSc compares,
  case-insensitively): "'FILE' line N" in where, PETSC_TRUE; else, where PETSC_OPTIONS has it as a
  word, "PETSC_OPTIONS ('its value')"; PETSC_FALSE if neither has it.
*/
PetscBool NNLOptionsWhere(const char name[], char where[], size_t len);

#endif
