/* Spectra of a layer: Gram eigenvalues, feature singular values, ranks and effective dimension;
 * LAPACK or ScaLAPACK. */
#ifndef NNLIMITS_SPECTRA_H
#define NNLIMITS_SPECTRA_H

#include <petscsys.h>

/* The two matrices of a layer whose spectra are recorded (the `matrix` column of the spectra
 * tables). */
typedef enum { NNL_SPECTRA_GRAM = 0, NNL_SPECTRA_FEATURES = 1 } NNLSpectraMatrix;
extern const char *const NNLSpectraMatrices[]; /* "gram", "features" */

/* Scalars of one spectrum v[0..k) (descending, >= 0): what the spectra table exports per (point,
 * layer, matrix). */
typedef struct {
  PetscInt k;         /* number of values */
  PetscInt rank;      /* #{v_i > max(rows, cols)·eps·v_max}: LAPACK's rank tolerance (as in
                         numpy.linalg.matrix_rank) */
  PetscInt rank_rtol; /* #{v_i > rtol·v_max} */
  double pr; /* participation ratio (Σ v_i²)² / Σ v_i⁴ of the singular values (for a Gram: of √λ) */
  double cond; /* v_max / v_min (inf when v_min = 0; NaN when all are 0) */
  double vmax, vmin;
} NNLSpectraStats;

/**
  @brief Scalars of a spectrum v[0..k) sorted descending. sq: the values are squared singular values
  (Gram eigenvalues), so the participation ratio is (Σλ)²/Σλ², and the thresholds apply to λ itself.
  rows, cols: the matrix shape, for the rank tolerance. The true values are v·2^e (a network past
  double's range is kept at a power-of-two scale): the ranks, the participation ratio and the
  condition number are those of the true values, computed from v; vmax and vmin are scaled back
  (inf or 0 past double's range). Not collective.
*/
void NNLSpectraStatsCompute(PetscInt k, const double v[], int e, PetscBool sq, PetscInt rows,
                            PetscInt cols, double rtol, NNLSpectraStats *st);

/**
  @brief Eigenvalues w[0..m) (descending; rounding negatives kept as computed) of the symmetric m×m
  K (column-major; only the upper triangle is read) by LAPACK dsyevd. *ok false (and msg) if LAPACK
  reports failure. Not collective.
*/
PetscErrorCode NNLSpectraEigLocal(PetscInt m, const double *K, double *w, PetscBool *ok, char msg[],
                                  size_t len);

/**
  @brief Singular values s[0..min(r,c)) (descending) of the r×c matrix A (column-major) by LAPACK
  dgesdd. *ok false (and msg) if LAPACK reports failure. Not collective.
*/
PetscErrorCode NNLSpectraSVDLocal(PetscInt r, PetscInt c, const double *A, double *s, PetscBool *ok,
                                  char msg[], size_t len);

/* A team of ranks that computes spectra together on a BLACS grid (ScaLAPACK). Built once; used for
 * many matrices. */
typedef struct _p_NNLSpectraTeam *NNLSpectraTeam;

/**
  @brief Create a team on comm (duplicated): a BLACS process grid, as square as the size allows,
  built once from comm with Csys2blacs_handle, and a 1×1 grid holding team rank 0 (where matrices
  arrive and spectra leave). Collective on comm. comm may be any communicator (a sub-communicator of
  a run, or PETSC_COMM_SELF).
*/
PetscErrorCode NNLSpectraTeamCreate(MPI_Comm comm, NNLSpectraTeam *team);
/** @brief Free the grids and the communicator; safe on NULL; nulls the handle. Collective on the
 * team. */
PetscErrorCode NNLSpectraTeamDestroy(NNLSpectraTeam *team);
/** @brief Number of ranks in the team and this rank's place in it. Not collective. */
PetscErrorCode NNLSpectraTeamGetSize(NNLSpectraTeam team, PetscMPIInt *size, PetscMPIInt *rank);
/* ScaLAPACK's workspaces are counted in 32-bit ints: pdgesvd's is ~(nb/nprow + 6) doubles a row,
   and its own query overflows (a tenth of what it needs at 3.4e7 rows, 1×2 grid). A team takes a
   matrix only below this many rows (nb: its block size) with room to spare; a taller one is
   computed alone (LAPACK's tall SVD needs a workspace of its columns only). The cost model follows
   the same rule. */
#define NNL_SPECTRA_TEAM_ROWS_MAX(nb) (1.5e9 / ((double)(nb) + 8))
#define NNL_SPECTRA_TEAM_NB           64
/** @brief Set the ScaLAPACK block size (default 64). Not collective, but all team ranks must use
 * the same. */
PetscErrorCode NNLSpectraTeamSetBlockSize(NNLSpectraTeam team, PetscInt nb);

/** @brief For tests: team rank `rank` reports info = -999 after every ScaLAPACK call (-1: none).
 * Not collective. */
PetscErrorCode NNLSpectraTeamSetFailRank(NNLSpectraTeam team, PetscMPIInt rank);

/**
  @brief Singular values of the r×c matrix A given on team rank 0 (ignored elsewhere), by ScaLAPACK
  pdgesvd on the team's grid (A is distributed block-cyclically with pdgemr2d). s[0..min(r,c))
  descending is set on team rank 0. A failure reported by any rank (info ≠ 0) gives *ok false and
  msg on every rank, not an error. Collective on team.
*/
PetscErrorCode NNLSpectraSVDTeam(NNLSpectraTeam team, PetscInt r, PetscInt c, const double *A,
                                 double *s, PetscBool *ok, char msg[], size_t len);
/**
  @brief Eigenvalues of the symmetric m×m K given on team rank 0 by ScaLAPACK pdsyevd; w[0..m)
  descending on team rank 0. Failure as in NNLSpectraSVDTeam. Collective on team.
*/
PetscErrorCode NNLSpectraEigTeam(NNLSpectraTeam team, PetscInt m, const double *K, double *w,
                                 PetscBool *ok, char msg[], size_t len);

/**
  @brief Matrices whose larger dimension is at least nmin go to the team (when it has 2 ranks or
  more); smaller ones are computed by LAPACK on team rank 0 alone. Default 2048. Not collective;
  same value on all team ranks.
*/
PetscErrorCode NNLSpectraTeamSetMinSize(NNLSpectraTeam team, PetscInt nmin);

/**
  @brief Singular values of the r×c matrix A: on the team when team is not NULL and the size is
  above its threshold (then collective on the team: the other members must be in
  NNLSpectraTeamServe), else by LAPACK on this rank.
*/
PetscErrorCode NNLSpectraSVD(NNLSpectraTeam team, PetscInt r, PetscInt c, const double *A,
                             double *s, PetscBool *ok, char msg[], size_t len);
/** @brief Eigenvalues of the symmetric m×m K: on the team or by LAPACK, as NNLSpectraSVD decides.
 */
PetscErrorCode NNLSpectraEig(NNLSpectraTeam team, PetscInt m, const double *K, double *w,
                             PetscBool *ok, char msg[], size_t len);

/**
  @brief Team members other than rank 0: serve the spectra that team rank 0 asks for
  (NNLSpectraSVDTeam, NNLSpectraEigTeam called there) until it calls NNLSpectraTeamRelease.
  Collective on team.
*/
PetscErrorCode NNLSpectraTeamServe(NNLSpectraTeam team);
/** @brief Team rank 0: end the other members' NNLSpectraTeamServe. Collective on team. */
PetscErrorCode NNLSpectraTeamRelease(NNLSpectraTeam team);

#endif
