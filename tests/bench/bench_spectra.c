/* Benchmark (prints figures, asserts nothing): wall time of one N×N SVD (singular values only) on a
   spectra team of all ranks (ScaLAPACK pdgesvd, distribution included) and, on 1 rank, by LAPACK
   dgesdd. Usage: bench_spectra N [REPS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "nnlimits/rng.h"
#include "nnlimits/spectra.h"

int main(int argc, char **argv)
{
  PetscInt       n = argc > 1 ? atoi(argv[1]) : 4096, reps = argc > 2 ? atoi(argv[2]) : 1;
  PetscMPIInt    rank, size;
  double        *A = NULL, *s, *s0, tteam = 1e300, tlocal = 1e300, diff = 0, cteam = 0, csum = 0;
  NNLSpectraTeam team;
  PetscBool      ok;
  char           msg[256];

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  s  = malloc(sizeof(double) * (size_t)n);
  s0 = malloc(sizeof(double) * (size_t)n);
  if (rank == 0) {
    NNLRngStream st;
    A = malloc(sizeof(double) * (size_t)(n * n));
    NNLRngStreamInit(&st, 1, 2, 3, NNL_PURPOSE_TEST);
    NNLRngNormals(&st, 0, (size_t)(n * n), A);
  }
  PetscCall(NNLSpectraTeamCreate(PETSC_COMM_WORLD, &team));
  for (PetscInt r = 0; r < reps; r++) {
    double  t0;
    clock_t c0;
    MPI_Barrier(PETSC_COMM_WORLD);
    t0 = MPI_Wtime();
    c0 = clock();
    PetscCall(NNLSpectraSVDTeam(team, n, n, A, s, &ok, msg, sizeof(msg)));
    cteam = (double)(clock() - c0) /
            CLOCKS_PER_SEC; /* CPU seconds of this rank: the machine may be shared */
    MPI_Barrier(PETSC_COMM_WORLD);
    tteam = PetscMin(tteam, MPI_Wtime() - t0);
    if (!ok && rank == 0) printf("error=%s\n", msg);
  }
  if (size == 1) {
    for (PetscInt r = 0; r < reps; r++) {
      double t0 = MPI_Wtime();
      PetscCall(NNLSpectraSVDLocal(n, n, A, s0, &ok, msg, sizeof(msg)));
      tlocal = PetscMin(tlocal, MPI_Wtime() - t0);
    }
    for (PetscInt i = 0; i < n; i++) diff = PetscMax(diff, fabs(s[i] - s0[i]) / s0[0]);
    printf("bench=svd n=%" PetscInt_FMT
           " ranks=1 lapack_dgesdd_s=%.3f max_rel_diff_to_pdgesvd=%.2g\n",
           n, tlocal, diff);
  }
  MPI_Reduce(&cteam, &csum, 1, MPI_DOUBLE, MPI_SUM, 0, PETSC_COMM_WORLD);
  if (rank == 0)
    printf("bench=svd n=%" PetscInt_FMT
           " ranks=%d scalapack_pdgesvd_s=%.3f cpu_s_all_ranks_last_rep=%.3f\n",
           n, size, tteam, csum);
  PetscCall(NNLSpectraTeamDestroy(&team));
  free(A);
  free(s);
  free(s0);
  PetscFinalize();
  return 0;
}
