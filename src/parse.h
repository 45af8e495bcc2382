/* Parsing of option values into numbers and lists, with one-line messages that name the option. */
#ifndef NNLIMITS_PARSE_H
#define NNLIMITS_PARSE_H

#include <petscsys.h>

/** @brief Integer list "a,b,c-d" (PETSc semantics: c-d is c…d-1), each value >= min, no duplicates.
 * Caller frees. */
PetscErrorCode NNLParseIntList(const char opt[], const char s[], PetscInt min, PetscInt **vals,
                               PetscInt *n);
/** @brief One integer >= min. */
PetscErrorCode NNLParseInt(const char opt[], const char s[], PetscInt min, PetscInt *v);
/**
  @brief An integer option inside a PetscOptionsBegin/End block, read as text and parsed by
  NNLParseInt (>= min): PETSc's PetscOptionsInt wraps a value past 2^31 (4294967297 read as 1).
  -help shows *v as its default; *v changes only where the option is set (*set, which may be NULL).
*/
PetscErrorCode NNLParseIntOption(PetscOptionItems *PetscOptionsObject, const char opt[],
                                 const char help[], PetscInt min, PetscInt *v, PetscBool *set);
/** @brief One finite real. */
PetscErrorCode NNLParseReal(const char opt[], const char s[], PetscReal *v);
/** @brief Comma list of finite reals (items may be spaced; repeats allowed). Caller frees. */
PetscErrorCode NNLParseRealList(const char opt[], const char s[], PetscReal **vals, PetscInt *n);
/** @brief Comma list of words (no empty items, no duplicates). Caller frees with NNLParseFreeWords.
 */
PetscErrorCode NNLParseWords(const char opt[], const char s[], char ***words, PetscInt *n);
PetscErrorCode NNLParseFreeWords(char ***words, PetscInt n);
/** @brief Write an integer list compactly (consecutive runs as a-b, b exclusive) — the canonical
 * spelling. */
PetscErrorCode NNLFormatIntList(const PetscInt *vals, PetscInt n, char **s);

#endif
