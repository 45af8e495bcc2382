/* Benchmark (prints figures, asserts nothing): wall time of one spectrum on a spectra team of all
   ranks (ScaLAPACK, distribution included) and, on 1 rank, by LAPACK: the singular values of an
   N×C matrix of normals (pdgesvd, dgesdd) or the eigenvalues of an N×N Gram of normals (pdsyevd,
   dsyevd), as a network's spectra layer computes them (net.c, LayerSpectra). Usage:
   bench_spectra N [REPS] [svd|eig] [C] (C: the SVD's columns, default N) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "nnlimits/rng.h"
#include "nnlimits/spectra.h"
#include "netkernel.h"

int main(int argc, char **argv)
{
  PetscInt    n = argc > 1 ? atoi(argv[1]) : 4096, reps = argc > 2 ? atoi(argv[2]) : 1;
  const char *op  = argc > 3 ? argv[3] : "svd";
  PetscBool   eig = strcmp(op, "eig") == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscInt    c   = !eig && argc > 4 ? atoi(argv[4]) : n;
  PetscMPIInt rank, size;
  double *A = NULL, *s, *s0, tteam = 1e300, tlocal = 1e300, diff = 0, cteam = 0, csum = 0, cmax = 0,
         ctmin = 1e300, clocal = 1e300;
  NNLSpectraTeam team;
  PetscBool      ok;
  char           msg[256];

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  s  = malloc(sizeof(double) * (size_t)PetscMax(n, c));
  s0 = malloc(sizeof(double) * (size_t)PetscMax(n, c));
  if (rank == 0) {
    NNLRngStream st;
    double      *G = malloc(sizeof(double) * (size_t)(n * c));
    NNLRngStreamInit(&st, 1, 2, 3, NNL_PURPOSE_TEST);
    NNLRngNormals(&st, 0, (size_t)(n * c), G);
    if (eig) { /* the Gram of n×n normals over n: a Wishart matrix, as a square layer's */
      clock_t c0;
      A  = malloc(sizeof(double) * (size_t)(n * n));
      c0 = clock();
      NNLGram(n, n, G, 1.0 / (double)n, 0.0, A);
      printf("bench=gram n=%" PetscInt_FMT " m=%" PetscInt_FMT " cpu_s=%.4g\n", n, n,
             (double)(clock() - c0) / CLOCKS_PER_SEC);
      free(G);
    } else
      A = G;
  }
  PetscCall(NNLSpectraTeamCreate(PETSC_COMM_WORLD, &team));
  for (PetscInt r = 0; r < reps; r++) {
    double  t0;
    clock_t c0;
    MPI_Barrier(PETSC_COMM_WORLD);
    t0 = MPI_Wtime();
    c0 = clock();
    if (eig)
      PetscCall(NNLSpectraEigTeam(team, n, A, s, &ok, msg, sizeof(msg)));
    else
      PetscCall(NNLSpectraSVDTeam(team, n, c, A, s, &ok, msg, sizeof(msg)));
    cteam = (double)(clock() - c0) /
            CLOCKS_PER_SEC; /* CPU seconds of this rank: the machine may be shared */
    MPI_Barrier(PETSC_COMM_WORLD);
    tteam = PetscMin(tteam, MPI_Wtime() - t0);
    MPI_Allreduce(&cteam, &cmax, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
    ctmin = PetscMin(ctmin, cmax); /* the busiest rank's CPU: the wall on idle cores */
    if (!ok && rank == 0) printf("error=%s\n", msg);
  }
  if (size == 1) {
    for (PetscInt r = 0; r < reps; r++) {
      double  t0 = MPI_Wtime();
      clock_t c0 = clock();
      if (eig)
        PetscCall(NNLSpectraEigLocal(n, A, s0, &ok, msg, sizeof(msg)));
      else
        PetscCall(NNLSpectraSVDLocal(n, c, A, s0, &ok, msg, sizeof(msg)));
      tlocal = PetscMin(tlocal, MPI_Wtime() - t0);
      clocal = PetscMin(clocal, (double)(clock() - c0) / CLOCKS_PER_SEC);
    }
    for (PetscInt i = 0; i < PetscMin(n, c); i++) diff = PetscMax(diff, fabs(s[i] - s0[i]) / s0[0]);
    printf("bench=%s n=%" PetscInt_FMT " c=%" PetscInt_FMT
           " ranks=1 lapack_s=%.4g lapack_cpu_s=%.4g max_rel_diff=%.2g\n",
           op, n, c, tlocal, clocal, diff);
  }
  MPI_Reduce(&cteam, &csum, 1, MPI_DOUBLE, MPI_SUM, 0, PETSC_COMM_WORLD);
  if (rank == 0)
    printf("bench=%s n=%" PetscInt_FMT " c=%" PetscInt_FMT
           " ranks=%d scalapack_s=%.4g cpu_s_all_ranks_last_rep=%.4g cpu_s_busiest_rank=%.4g\n",
           op, n, c, size, tteam, csum, ctmin);
  PetscCall(NNLSpectraTeamDestroy(&team));
  free(A);
  free(s);
  free(s0);
  PetscFinalize();
  return 0;
}
