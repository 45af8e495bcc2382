/* Benchmark (prints key=value figures, asserts nothing): the coordinator's cost per task —
   hand-out, result message, SQLite commit — from a run of N no-op tasks (NNL_TASK_NOOP) through the
   real scheduler and store, or of N tiny real networks for comparison. -store 0: no store (results
   are dropped), to tell the scheduler and its messages from the commits. grid_per_task_us: rank 0's
   set-up of the grid per task, before the scheduler starts; grid_cells_us, grid_ids_us,
   grid_shard_us: its parts (the cells, the check of the ids, the shard). Usage: mpiexec -n R
   bench_sched -output DIR [-tasks N] [-task noop|real] [-store 0|1] */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <petscsys.h>
#include "nnlimits/grid.h"
#include "nnlimits/result.h"
#include "nnlimits/sched.h"
#include "nnlimits/store.h"

int main(int argc, char **argv)
{
  PetscInt      ntask = 100000, n, *todo = NULL;
  char          kind[16] = "noop", dir[PETSC_MAX_PATH_LEN] = "", opts[1024];
  NNLJob       *job   = NULL;
  NNLGrid      *grid  = NULL;
  NNLSched      sched = NULL;
  NNLStore      st    = NULL;
  NNLSchedStats stats;
  int           rank, size;
  PetscBool     store = PETSC_TRUE;
  double        t0, cpu0, tg, tc, ti = 0, ts = 0;
  struct rusage ru;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tasks", &ntask, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-task", kind, sizeof(kind), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-output", dir, sizeof(dir), NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-store", &store, NULL));
  PetscCheck(dir[0], PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "-output DIR is required (an empty or new directory)");
  /* The tiniest network the grid allows in quantity: ResNet width 32, depth 4, 2 inputs, the last
   * layer recorded. */
  PetscCall(PetscSNPrintf(
    opts, sizeof(opts),
    "-family resnet -grid_width 32 -grid_depth 4 -grid_seed 0-%" PetscInt_FMT
    " -grid_activation relu -inputs 2 -record_layers last -output %s -progress_interval 0",
    ntask, dir));
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, opts));
  PetscCall(NNLJobCreate(PETSC_COMM_WORLD, &job));
  /* The grid as a run sets it up (run.c): its cells on every rank, its ids checked and its one
     shard made (the points by decreasing cost) on rank 0; timed, since a run pays it for every task
     too. */
  tg = MPI_Wtime();
  PetscCall(NNLGridCreate(job, PETSC_FALSE, &grid));
  tc = MPI_Wtime() - tg;
  if (rank == 0) {
    PetscInt nall, k = 0;
    ti = MPI_Wtime();
    PetscCall(NNLGridCheckIds(grid));
    ts = MPI_Wtime();
    ti = ts - ti;
    PetscCall(NNLGridShard(grid, 0, 1, &nall, &todo));
    if (grid->npoints >= NNL_GRID_ORDER_MIN_POINTS) /* as a run hands them out (run.c) */
      PetscCall(NNLGridOrderTiesById(grid, nall, todo));
    ts = MPI_Wtime() - ts;
    for (PetscInt i = 0; i < nall; i++)
      if (todo[i] < grid->nnets)
        todo[k++] = todo[i]; /* the limit task is left out: it is not tiny */
  }
  tg = MPI_Wtime() - tg;
  n  = grid->nnets;
  if (!strcmp(kind, "noop")) /* the networks' cells: every point decoded from them is a no-op */
    for (PetscInt c = 0; c < grid->ncells - grid->nlimits - grid->nsde; c++)
      grid->cells[c].kind = NNL_TASK_NOOP;
  PetscCall(NNLSchedCreate(PETSC_COMM_WORLD, job, &sched));
  PetscCall(NNLSchedSetFromOptions(sched));
  if (rank == 0 && store) PetscCall(NNLStoreOpen(dir, job, grid, &st));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  t0 = MPI_Wtime();
  getrusage(RUSAGE_SELF, &ru);
  cpu0 = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
         1e-6 * ru.ru_stime.tv_usec;
  PetscCall(NNLSchedRun(sched, grid, st, rank == 0 ? n : 0, todo, &stats));
  if (rank == 0) {
    double wall = MPI_Wtime() - t0, cpu, alloc, close;
    getrusage(RUSAGE_SELF, &ru);
    /* rank 0's processor time: on a shared machine it is what the coordinator costs, whatever the
     * wall clock says */
    cpu = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
          1e-6 * ru.ru_stime.tv_usec - cpu0;
    /* the store's close copies what its WAL still holds into the store file: part of what the
     * commits cost */
    t0 = MPI_Wtime();
    if (st) PetscCall(NNLStoreFinishRun(st, "complete"));
    PetscCall(NNLStoreClose(&st));
    close = MPI_Wtime() - t0;
    PetscCheck(stats.done == n, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "only %" PetscInt_FMT " of %" PetscInt_FMT " tasks done", stats.done, n);
    /* What a no-op task costs itself (the empty result every task makes and frees), so that the
       scheduler's own part of per_task_us can be told from it. */
    t0 = MPI_Wtime();
    for (PetscInt i = 0; i < n; i++) {
      NNLResult *res;
      PetscCall(NNLResultCreate(0, job->inputs, &res));
      PetscCall(NNLResultDestroy(&res));
    }
    alloc = MPI_Wtime() - t0;
    printf("bench=sched task=%s store=%d tasks=%" PetscInt_FMT
           " ranks=%d wall_s=%.3f per_task_us=%.3f tasks_per_s=%.0f rank0_cpu_s=%.3f "
           "rank0_cpu_per_task_us=%.2f result_alloc_us=%.3f close_s=%.3f "
           "per_task_with_close_us=%.3f grid_per_task_us=%.3f "
           "grid_cells_us=%.3f grid_ids_us=%.3f grid_shard_us=%.3f store_share=%.3f\n",
           kind, (int)store, n, size, wall, 1e6 * wall / (double)n, (double)n / wall, cpu,
           1e6 * cpu / (double)n, 1e6 * alloc / (double)n, close, 1e6 * (wall + close) / (double)n,
           1e6 * tg / (double)n, 1e6 * tc / (double)n, 1e6 * ti / (double)n, 1e6 * ts / (double)n,
           NNLSchedStoreShare(&stats));
  }
  PetscCall(NNLGridFreeIndices(&todo));
  PetscCall(NNLSchedDestroy(&sched));
  PetscCall(NNLGridDestroy(&grid));
  PetscCall(NNLJobDestroy(&job));
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscFinalize());
  return 0;
}
