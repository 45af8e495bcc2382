/* ScaLAPACK spectra on a team (BLACS grid) against LAPACK on one rank, at 1, 2 and 4 ranks (ctest
   runs all three). Catches: a wrong block-cyclic distribution (pdgemr2d descriptors, local leading
   dimensions), values returned in the wrong order or from the wrong rank, a grid built on the wrong
   communicator, workspace too small. */
// ctest-label: mpi
// ctest-ranks: 1 2 4
#include <string.h>
#include <cblas.h>
#include "testutil.h"
#include "nnlimits/rng.h"
#include "nnlimits/spectra.h"

/* r×c standard normal matrix (stream k), identical on every rank; of rank `rk` when 0 < rk < min(r,
 * c). */
static void Matrix(PetscInt r, PetscInt c, PetscInt rk, uint64_t k, double *A)
{
  NNLRngStream s;

  NNLRngStreamInit(&s, 777, k, 0, NNL_PURPOSE_TEST);
  if (rk <= 0 || rk >= PetscMin(r, c)) {
    NNLRngNormals(&s, 0, (size_t)(r * c), A);
    return;
  }
  double *L = malloc(sizeof(double) * (size_t)(r * rk)),
         *R = malloc(sizeof(double) * (size_t)(rk * c));
  NNLRngNormals(&s, 0, (size_t)(r * rk), L);
  NNLRngNormals(&s, (uint64_t)(r * rk), (size_t)(rk * c), R);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)r, (int)c, (int)rk, 1.0, L, (int)r, R,
              (int)rk, 0.0, A, (int)r);
  free(L);
  free(R);
}

/* max |a_i - b_i| / max |b| over k values. */
static double RelDiff(PetscInt k, const double *a, const double *b)
{
  double d = 0, mx = 0;
  for (PetscInt i = 0; i < k; i++) {
    d  = PetscMax(d, fabs(a[i] - b[i]));
    mx = PetscMax(mx, fabs(b[i]));
  }
  return d / mx;
}

/* Every rank asserts rank 0's verdict, so that all ranks fail together and none waits in a
 * collective. */
static void AssertAll(MPI_Comm comm, int good, double worst, const char *what)
{
  double w[2] = {good ? 0.0 : 1.0, worst};
  MPI_Bcast(w, 2, MPI_DOUBLE, 0, comm);
  if (w[0] != 0)
    fail_msg("%s: team and LAPACK spectra differ by %.3g (relative to the largest)", what, w[1]);
}

/* One matrix through both paths; the ranks at LAPACK's tolerance and at 1e-6 must agree too. */
static void CompareSVD(NNLSpectraTeam team, MPI_Comm comm, PetscInt r, PetscInt c, PetscInt rk,
                       uint64_t key, PetscBool gram)
{
  PetscMPIInt rank;
  PetscInt    k = gram ? c : PetscMin(r, c);
  double     *A = malloc(sizeof(double) * (size_t)(r * c)),
         *K     = malloc(sizeof(double) * (size_t)(c * c));
  double   *v1 = calloc((size_t)k, sizeof(double)), *v2 = calloc((size_t)k, sizeof(double)), d = 0;
  PetscBool ok1 = PETSC_FALSE, ok2 = PETSC_FALSE;
  char      msg[256] = "";
  NNLSpectraStats s1, s2;
  int             good = 1;

  MPI_Comm_rank(comm, &rank);
  Matrix(r, c, rk, key, A);
  if (gram) {
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)c, (int)c, (int)r, 1.0 / r, A, (int)r,
                A, (int)r, 0.0, K, (int)c);
    assert_int_equal(NNLSpectraEigTeam(team, c, K, v2, &ok2, msg, sizeof(msg)), 0);
  } else
    assert_int_equal(NNLSpectraSVDTeam(team, r, c, A, v2, &ok2, msg, sizeof(msg)), 0);
  assert_true(ok2);
  if (rank == 0) {
    if (gram)
      assert_int_equal(NNLSpectraEigLocal(c, K, v1, &ok1, msg, sizeof(msg)), 0);
    else
      assert_int_equal(NNLSpectraSVDLocal(r, c, A, v1, &ok1, msg, sizeof(msg)), 0);
    d = RelDiff(k, v2, v1);
    NNLSpectraStatsCompute(k, v1, 0, gram, r, c, 1e-6, &s1);
    NNLSpectraStatsCompute(k, v2, 0, gram, r, c, 1e-6, &s2);
    good = ok1 && d <= 1e-10 && s1.rank == s2.rank && s1.rank_rtol == s2.rank_rtol &&
           (rk <= 0 || s1.rank_rtol == rk);
    if (!good)
      print_message("%s %" PetscInt_FMT "x%" PetscInt_FMT " rank %" PetscInt_FMT
                    ": diff %.3g, ranks %" PetscInt_FMT "/%" PetscInt_FMT
                    " rtol-ranks %" PetscInt_FMT "/%" PetscInt_FMT "\n",
                    gram ? "eig" : "svd", r, c, rk, d, s1.rank, s2.rank, s1.rank_rtol,
                    s2.rank_rtol);
  }
  AssertAll(comm, good, d, gram ? "pdsyevd" : "pdgesvd");
  free(A);
  free(K);
  free(v1);
  free(v2);
}

/* Random and rank-deficient, tall, wide and square, with a small block so that every rank holds
 * several blocks. */
static void RunCases(NNLSpectraTeam team, MPI_Comm comm)
{
  for (int nb = 0; nb < 2; nb++) {
    assert_int_equal(NNLSpectraTeamSetBlockSize(team, nb ? 64 : 8), 0);
    CompareSVD(team, comm, 203, 97, 0, 1, PETSC_FALSE);
    CompareSVD(team, comm, 61, 150, 0, 2, PETSC_FALSE);
    CompareSVD(team, comm, 180, 180, 0, 3, PETSC_FALSE);
    CompareSVD(team, comm, 190, 130, 37, 4, PETSC_FALSE); /* rank 37 by construction */
    CompareSVD(team, comm, 150, 90, 0, 5, PETSC_TRUE);    /* Gram of a random matrix */
    CompareSVD(team, comm, 60, 110, 0, 6, PETSC_TRUE);    /* Gram 110×110 of rank 60 */
  }
}

static void test_team_world(void **state)
{
  NNLSpectraTeam team = NULL;

  assert_int_equal(NNLSpectraTeamCreate(PETSC_COMM_WORLD, &team), 0);
  RunCases(team, PETSC_COMM_WORLD);
  assert_int_equal(NNLSpectraTeamDestroy(&team), 0);
  assert_null(team);
}

/* Teams on sub-communicators (pairs of ranks) compute different matrices at the same time; the
   served protocol (members in NNLSpectraTeamServe, rank 0 asking) gives the same values as all
   ranks calling. */
static void test_team_split_and_serve(void **state)
{
  NNLSpectraTeam team = NULL;
  MPI_Comm       sub;
  PetscMPIInt    rank, trank;

  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_split(PETSC_COMM_WORLD, rank / 2, rank, &sub);
  assert_int_equal(NNLSpectraTeamCreate(sub, &team), 0);
  assert_int_equal(NNLSpectraTeamGetSize(team, NULL, &trank), 0);
  if (trank == 0) {
    double   *A = malloc(sizeof(double) * 120 * 70), s1[70], s2[70];
    PetscBool ok1, ok2;
    char      msg[256];
    Matrix(120, 70, 0, 100 + (uint64_t)rank, A);
    assert_int_equal(NNLSpectraSVDTeam(team, 120, 70, A, s2, &ok2, msg, sizeof(msg)), 0);
    assert_int_equal(NNLSpectraTeamRelease(team), 0);
    assert_int_equal(NNLSpectraSVDLocal(120, 70, A, s1, &ok1, msg, sizeof(msg)), 0);
    assert_true(ok1 && ok2);
    assert_true(RelDiff(70, s2, s1) <= 1e-10);
    free(A);
  } else
    assert_int_equal(NNLSpectraTeamServe(team), 0);
  assert_int_equal(NNLSpectraTeamDestroy(&team), 0);
  MPI_Comm_free(&sub);
  MPI_Barrier(PETSC_COMM_WORLD);
}

/* One rank's failure (the last rank reports info ≠ 0) fails the call on every rank with a message
   naming that rank, no rank waits, and the team computes correctly afterwards. Catches: a failure
   seen only where it happened (the other ranks would go on to the next collective and hang) or a
   team left unusable. */
static void test_team_failure(void **state)
{
  NNLSpectraTeam team = NULL;
  PetscMPIInt    size, rank;
  double         A[40 * 30], s[30], s0[30];
  PetscBool      ok       = PETSC_TRUE;
  char           msg[256] = "", want[64];

  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  Matrix(40, 30, 0, 9, A);
  assert_int_equal(NNLSpectraTeamCreate(PETSC_COMM_WORLD, &team), 0);
  assert_int_equal(NNLSpectraTeamSetFailRank(team, size - 1), 0);
  assert_int_equal(NNLSpectraSVDTeam(team, 40, 30, A, s, &ok, msg, sizeof(msg)), 0);
  assert_false(ok);
  snprintf(want, sizeof(want), "info -999 on team rank %d", size - 1);
  assert_non_null(strstr(msg, want));
  assert_int_equal(NNLSpectraEigTeam(team, 30, A, s, &ok, msg, sizeof(msg)), 0);
  assert_false(ok);
  assert_int_equal(NNLSpectraTeamSetFailRank(team, -1), 0);
  assert_int_equal(NNLSpectraSVDTeam(team, 40, 30, A, s, &ok, msg, sizeof(msg)), 0);
  assert_true(ok);
  if (rank == 0) {
    assert_int_equal(NNLSpectraSVDLocal(40, 30, A, s0, &ok, msg, sizeof(msg)), 0);
    assert_true(RelDiff(30, s, s0) <= 1e-10);
  }
  assert_int_equal(NNLSpectraTeamDestroy(&team), 0);
}

/* A matrix too tall for ScaLAPACK's 32-bit workspace counts (rows · (block + 8) ≥ 1.5e9) is
   computed alone, not by the team: 2.1e7 rows at the block size 64, whose pdgesvd query overflowed
   (and whose padded LWORK overflowed int, an abort) from 2.35e7. Here a block size of 2^24 puts the
   bound at 89 rows, and a team whose last rank fails tells which way a matrix went. Catches: the
   bound dropped (the 100-row matrix fails with the team) or inverted (the 30-row one succeeds
   alone). */
static void test_team_rows_bound(void **state)
{
  NNLSpectraTeam team = NULL;
  PetscMPIInt    size;
  double         A[100 * 3], s[3], s0[3];
  PetscBool      ok       = PETSC_FALSE;
  char           msg[256] = "";

  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  if (size < 2) skip();
  Matrix(100, 3, 0, 11, A);
  assert_int_equal(NNLSpectraTeamCreate(PETSC_COMM_WORLD, &team), 0);
  assert_int_equal(NNLSpectraTeamSetBlockSize(team, 1 << 24), 0);
  assert_int_equal(NNLSpectraTeamSetMinSize(team, 1), 0);
  assert_int_equal(NNLSpectraTeamSetFailRank(team, size - 1), 0);
  assert_int_equal(NNLSpectraSVD(team, 100, 3, A, s, &ok, msg, sizeof(msg)),
                   0); /* every rank alone */
  assert_true(ok);
  assert_int_equal(NNLSpectraSVDLocal(100, 3, A, s0, &ok, msg, sizeof(msg)), 0);
  assert_true(RelDiff(3, s, s0) == 0);
  assert_int_equal(NNLSpectraSVD(team, 30, 3, A, s, &ok, msg, sizeof(msg)),
                   0); /* the team: its last rank fails */
  assert_false(ok);
  assert_int_equal(NNLSpectraTeamDestroy(&team), 0);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_team_world), cmocka_unit_test(test_team_split_and_serve),
    cmocka_unit_test(test_team_failure), cmocka_unit_test(test_team_rows_bound)};
  int rc;

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
