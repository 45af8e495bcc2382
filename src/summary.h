/* The short summary a run prints: per (family, activation, width, depth) the last layer's q and ρ
 * over seeds. */
#ifndef NNLIMITS_SUMMARY_H
#define NNLIMITS_SUMMARY_H

#include <stdio.h>
#include <petscsys.h>

/** @brief Print at most maxrows summary rows of the store in dir to out. Read-only. */
PetscErrorCode NNLSummaryPrint(const char dir[], PetscInt maxrows, FILE *out);

#endif
