/* nnlimits plan: a job's points, per-shard counts, predicted times, peak memory and store size,
   and what a run into an existing -output would still compute; nothing is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include "nnlimits/grid.h"
#include "nnlimits/net.h"
#include "nnlimits/sched.h"
#include "nnlimits/store.h"
#include "bigalloc.h"
#include "commands.h"
#include "error.h"
#include "parse.h"

/* The cost model's unit is a nanosecond of one core of the machine it was fitted on (cost.c); used
 * only for predictions. */
#define NNL_COST_RATE 1e9
/* A rank's first task of a size touches its arrays' pages fresh (page faults, the kernel zeroing
   them); the tasks after it reuse them. Past glibc's largest mmap threshold (NNL_BIG_TASK: below
   it, the start-up's heap holds them), per byte of the job's largest task, measured 2026-12-07 as
   the first network's seconds over the least of its 7-8 seeds' (relu MLPs of depth 1, load ~3):
   0.42, 0.37, 0.99, 0.48 ns a byte at n = 2·10^6 (m = 2), 262144 (m = 32), 2^20 (m = 16, 32); 40
   ms of a 45 ms network at n = 2·10^6, which plan did not see. */
#define NNL_TOUCH_NS_PER_BYTE 0.6
/* An empty store (schema, views, the run's provenance): 80 KB. */
#define NNL_STORE_EMPTY_BYTES 81920.0

typedef struct {
  uint64_t id; /* first: NNLGridCmpId sorts by it */
  PetscInt i;
} IdIndex;

/* -plan_calibrate S: rank 0 runs about S seconds of the job's own tasks here (their results
   discarded), taking the points in order of their ids (a fixed pseudo-random sample of the grid)
   and passing over any the model, scaled by what was measured so far, puts past what is left of S.
   *factor is their measured seconds over the model's (the commits apart): it scales every predicted
   time from the model's reference cores to this machine's. 1 when no task ran (S = 0, or every task
   too long for it). The tasks run here alone, so they are priced alone: with no spectra team.
   Collective. */
static PetscErrorCode PlanCalibrate(MPI_Comm comm, const NNLJob *job, const NNLGrid *grid,
                                    double budget, double *factor)
{
  PetscMPIInt rank;
  double      sums[3] = {0, 0, 0}; /* tasks, measured seconds, model seconds */

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && budget > 0) {
    IdIndex *order;
    double   t0;
    PetscCall(PetscMalloc1(grid->npoints, &order));
    for (PetscInt i = 0; i < grid->npoints; i++) {
      NNLPoint pt;
      NNLGridPoint(grid, i, &pt);
      order[i] = (IdIndex){pt.id, i};
    }
    qsort(order, (size_t)grid->npoints, sizeof(*order), NNLGridCmpId);
    t0 = MPI_Wtime(); /* the budget is the tasks': the sort of 6e7 ids alone took it all, and
                         calibrated nothing */
    for (PetscInt k = 0; k < grid->npoints; k++) {
      NNLPoint   pt;
      double     model, left = budget - (MPI_Wtime() - t0), t;
      NNLResult *res = NULL;
      NNLGridPoint(grid, order[k].i, &pt);
      model = (NNLPointCostAlone(job, &pt) - NNLPointCommitCost(job, &pt)) / NNL_COST_RATE;
      if (left <= 0) break;
      if (model * (sums[2] > 0 ? sums[1] / sums[2] : 1.0) > left) continue;
      t = MPI_Wtime();
      PetscCall(NNLTaskCompute(job, &pt, NULL, NULL, &res));
      sums[1] += MPI_Wtime() - t;
      sums[0] += 1;
      sums[2] += model;
      PetscCall(NNLResultDestroy(&res));
    }
    PetscCall(PetscFree(order));
    PetscCall(NNLNetFreeKept()); /* a run's sweep frees it at its end (NNLSchedRun) */
  }
  PetscCallMPI(MPI_Bcast(sums, 3, MPI_DOUBLE, 0, comm));
  *factor = sums[2] > 0 ? sums[1] / sums[2] : 1.0;
  if (budget > 0)
    PetscCall(PetscPrintf(
      comm, "plan_calibration tasks=%.0f measured_seconds=%.4g model_seconds=%.4g factor=%.4g\n",
      sums[0], sums[1], sums[2], *factor));
  if (budget > 0 && !sums[0])
    PetscCall(
      PetscFPrintf(comm, stderr,
                   "nnlimits: warning: -plan_calibrate %.6g: no task of this job fits in %.6g "
                   "s here, so nothing was measured "
                   "(factor 1: the model's reference cores); give it more seconds\n",
                   budget, budget));
  PetscFunctionReturn(0);
}

/* Seconds in the largest unit that keeps it at least 1 ("45 s", "2.3 h", "8.4 days"), into buf. */
static const char *Duration(double sec, char buf[], size_t len)
{
  if (sec < 120)
    snprintf(buf, len, "%.3g s", sec);
  else if (sec < 7200)
    snprintf(buf, len, "%.3g min", sec / 60);
  else if (sec < 172800)
    snprintf(buf, len, "%.3g h", sec / 3600);
  else
    snprintf(buf, len, "%.3g days", sec / 86400);
  return buf;
}

typedef struct {
  const NNLGrid *grid;
  const double  *cellcommit, *cellbytes;
  PetscInt       nsum;
  double (*sum)[6]; /* a shard's tasks, cost, commits, store bytes, and its first (largest) task's
                       cost and commit */
} PlanShards;

static PetscErrorCode PlanShardAdd(void *ctx, PetscInt point, PetscInt shard)
{
  PlanShards    *ps = (PlanShards *)ctx;
  const PetscInt c  = NNLGridCellOf(ps->grid, point);
  double        *u  = ps->sum[shard];

  if (u[0] == 0) {
    u[4] = NNLGridCost(ps->grid, point);
    u[5] = ps->cellcommit[c];
  }
  u[0] += 1;
  u[1] += NNLGridCost(ps->grid, point);
  u[2] += ps->cellcommit[c];
  u[3] += ps->cellbytes[c];
  return 0;
}

/* A shard's wall time on its ranks, in cost units: its tasks' compute spread over the ranks that
   compute (rank 0 among them, or not: NNLSchedPlanRanks), but rank 0 alone commits every result,
   the single writer of the store; and no less than its largest task. compute: the tasks' compute
   less their commits (calibrated); commit: rank 0's commits. */
static double PlanWall(double compute, double commit, double largest, PetscInt workers,
                       PetscBool rank0_computes)
{
  const double w = rank0_computes ? (compute + commit) / workers : compute / workers;
  return PetscMax(PetscMax(w, commit), largest);
}

/* A plan's figures, filled in step by step (NNLCommandPlan). */
typedef struct {
  NNLJob  *job;
  NNLGrid *grid;
  PetscInt ranks,
    workers;    /* ranks per shard; of them, those that compute points (NNLSchedPlanRanks) */
  PetscBool r0; /* rank 0 computes too */
  double    calibrate, factor; /* -plan_calibrate's seconds; the measured speed over the model's */
  PetscBool factor_set; /* -plan_factor: an earlier calibration's factor, not measured again */
  double   *cellbytes, *cellcommit; /* a point's store bytes and commit cost are its cell's */
  PetscInt  stored;                 /* points -output holds (-1: no store) */
  PetscBool ext; /* they are a run of fewer axis values, which this job extends */
  double
    left[4]; /* what a run into -output would compute: tasks, cost, its commits', the largest's */
  double    total, commit, bytes, core; /* the job's cost, commits, store bytes, core seconds */
  double    maxshard;                   /* the slowest shard's predicted seconds */
  double    touch;     /* a computing rank's seconds touching its largest task's fresh pages */
  PetscBool bound;     /* its time is its rank 0's commits */
  PetscReal grace;     /* the run's -stop_grace ... */
  PetscBool grace_set; /* ... given, not the default: jobs/slurm/sweep.sbatch keeps it */
} Plan;

/* Tasks of model cost `cost`, of which `commit` is rank 0's commits, in the model's units on this
   machine: the calibration scales their compute, not the commits. */
static double Calibrated(const Plan *p, double cost, double commit)
{
  return p->factor * (cost - commit) + commit;
}

/* The core seconds of tasks of `seconds` on their ranks: with spectra teams of k, each task holds
   its leader's k ranks throughout (the others serve its spectra, and wait between them), and a
   task's cost is its leader's time. */
static double CoreSeconds(const Plan *p, double seconds)
{
  return seconds * (double)PetscMax(1, p->job->spectra_team);
}

/* plan's own options. `mpiexec -n 2 nnlimits plan` predicts for 2 ranks (it predicted for 1 unless
   told -plan_ranks 2). */
static PetscErrorCode PlanOptions(MPI_Comm comm, Plan *p)
{
  int size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  p->ranks = size;
  NNLErrorOptionsPhase(PETSC_TRUE);
  PetscOptionsBegin(comm, NULL, "nnlimits plan: its own options (and every option of run)", NULL);
  /* read as the job's integers are (NNLParseInt): PETSc's own read of 2147483648 wrapped it, "must
   * be >= 1" */
  PetscCall(
    NNLParseIntOption(PetscOptionsObject, "-plan_ranks",
                      "Ranks per shard to predict wall time for (default: the ranks plan runs on)",
                      1, &p->ranks, NULL));
  PetscCall(PetscOptionsReal("-plan_calibrate",
                             "Seconds of the job's own tasks to run here first, to scale the "
                             "predicted times to this machine's cores "
                             "(0: the cost model's reference cores)",
                             "", p->calibrate, &p->calibrate, NULL));
  /* jobs/slurm/submit plans each shard it resubmits: one calibration serves them all */
  PetscCall(PetscOptionsReal("-plan_factor",
                             "Scale the predicted compute times by this factor (an earlier "
                             "-plan_calibrate's plan_calibration factor), measuring nothing",
                             "", p->factor, &p->factor, &p->factor_set));
  PetscOptionsEnd();
  NNLErrorOptionsPhase(PETSC_FALSE);
  PetscCheck(p->calibrate >= 0 && p->calibrate <= 3600, comm, PETSC_ERR_USER_INPUT,
             "-plan_calibrate: seconds in [0, 3600], not %.6g", p->calibrate);
  PetscCheck(!p->factor_set || p->factor > 0, comm, PETSC_ERR_USER_INPUT,
             "-plan_factor: must be > 0, not %.6g", p->factor);
  PetscCheck(!p->factor_set || p->calibrate == 0, comm, PETSC_ERR_USER_INPUT,
             "-plan_factor and -plan_calibrate: give one (the factor is what the calibration "
             "measures)");
  PetscFunctionReturn(0);
}

/* What a run would find in -output: another job's store is refused here, as the run would refuse
   it. What is left is collective: every rank must know. */
static PetscErrorCode PlanStored(MPI_Comm comm, Plan *p)
{
  int            rank;
  PetscErrorCode e = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  NNLErrorSetQuiet(PETSC_TRUE);
  if (rank == 0) e = NNLStoreCheckOutput(p->job, &p->stored, &p->ext);
  NNLErrorSetQuiet(PETSC_FALSE);
  PetscCall(NNLErrorAgree(comm, e));
  PetscCallMPI(MPI_Bcast(&p->stored, 1, MPIU_INT, 0, comm));
  PetscFunctionReturn(0);
}

/* A partly done run: what is left of this shard (a resumed run's time, not the whole job's), the
   points a run would compute as it finds them. */
static PetscErrorCode PlanLeft(MPI_Comm comm, Plan *p)
{
  int            rank;
  PetscErrorCode e = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    NNLStore st = NULL;
    PetscInt n = 0, *todo = NULL;
    e = NNLStoreOpenRead(p->job->output, &st);
    if (!e) e = NNLRunPending(p->job, p->grid, st, &n, &todo, NULL);
    for (PetscInt i = 0; !e && i < n; i++) {
      const double c  = NNLGridCost(p->grid, todo[i]),
                   cm = p->cellcommit[NNLGridCellOf(p->grid, todo[i])];
      p->left[0] += 1;
      p->left[1] += c;
      p->left[2] += cm;
      p->left[3] = PetscMax(p->left[3], Calibrated(p, c, cm));
    }
    PetscCall(NNLGridFreeIndices(&todo));
    if (st) PetscCall(NNLStoreClose(&st));
  }
  PetscCall(NNLErrorAgree(comm, e));
  PetscCallMPI(MPI_Bcast(p->left, 4, MPI_DOUBLE, 0, comm));
  PetscFunctionReturn(0);
}

/* The whole job's line: points, cost, core seconds, peak memory and store size. */
static PetscErrorCode PlanTotals(MPI_Comm comm, Plan *p)
{
  const NNLJob  *job  = p->job;
  const NNLGrid *grid = p->grid;
  double         peak = 0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < grid->npoints; i++) {
    p->total += NNLGridCost(grid, i);
    p->commit += p->cellcommit[NNLGridCellOf(grid, i)];
    p->bytes += p->cellbytes[NNLGridCellOf(grid, i)];
  }
  for (PetscInt c = 0; c < grid->ncells; c++) peak = PetscMax(peak, grid->cells[c].mem);
  p->touch = PetscMax(0.0, peak - (double)NNL_BIG_TASK) * NNL_TOUCH_NS_PER_BYTE / NNL_COST_RATE;
  p->core  = CoreSeconds(p, Calibrated(p, p->total, p->commit) / NNL_COST_RATE +
                              (double)p->workers * p->touch);
  peak += (double)grid->npoints *
          NNL_GRID_BYTES_PER_POINT; /* rank 0 holds the whole grid beside its largest task */
  peak += NNLStoreCacheBytes((double)grid->npoints / job->shard_count) -
          NNL_STORE_CACHE_MIN; /* its page cache beyond a tiny run's */
  PetscCall(PetscPrintf(
    comm,
    "plan points=%" PetscInt_FMT " limits=%" PetscInt_FMT " shards=%" PetscInt_FMT
    " cost=%.4g core_seconds=%.4g commit_core_seconds=%.4g peak_mem_mb=%.4g store_mb=%.4g "
    "sde=%" PetscInt_FMT "\n",
    grid->nnets, grid->nlimits, job->shard_count, p->total, p->core, p->commit / NNL_COST_RATE,
    peak / 1048576.0, (p->bytes + job->shard_count * NNL_STORE_EMPTY_BYTES) / 1048576.0,
    grid->nsde));
  PetscFunctionReturn(0);
}

/* Every shard's tasks, cost, commits and store in one pass over the assignment (a pass a shard
   took 30 s for 100 shards of 6e6 points; shards beyond the points' count are empty); a line per
   shard (the empty ones past 1000 are alike, and not printed), and the slowest. */
static PetscErrorCode PlanShardLines(MPI_Comm comm, Plan *p)
{
  const NNLJob  *job = p->job;
  PlanShards     ps  = {p->grid, p->cellcommit, p->cellbytes,
                        PetscMin(job->shard_count, PetscMax(p->grid->npoints, 1)), NULL};
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(ps.nsum, &ps.sum));
  ierr = NNLGridShardEach(p->grid, job->shard_count, PlanShardAdd, &ps);
  if (!ierr && p->stored >= 0) /* after the header line, which scripts read first */
    ierr = PetscPrintf(comm,
                       "plan output=%s stored=%" PetscInt_FMT " of shard %" PetscInt_FMT
                       "/%" PetscInt_FMT "'s %.0f tasks%s\n",
                       job->output, p->stored, job->shard_index, job->shard_count,
                       job->shard_index < ps.nsum ? ps.sum[job->shard_index][0] : 0.0,
                       p->ext ? " (a run of fewer axis values, which this job's run extends)" : "");
  for (PetscInt s = 0; !ierr && s < PetscMin(job->shard_count, PetscMax(ps.nsum, 1000)); s++) {
    /* tasks, cost, commits, bytes, the first (largest) task's */
    const double *u   = s < ps.nsum ? ps.sum[s] : NULL;
    double        big = u && u[0] > 0 ? Calibrated(p, u[4], u[5]) : 0, c;
    c                 = u && u[0] > 0
                          ? PlanWall(p->factor * (u[1] - u[2]), u[2], big, p->workers, p->r0) / NNL_COST_RATE +
              p->touch
                          : 0;
    if (c > p->maxshard) { /* the slowest shard, and whether its time is its rank 0's commits
                              (PlanWall gave them back) */
      p->maxshard = c;
      p->bound    = u[2] / NNL_COST_RATE >= c ? PETSC_TRUE : PETSC_FALSE;
    }
    if (s < 1000)
      ierr = PetscPrintf(comm,
                         "shard index=%" PetscInt_FMT
                         " tasks=%.0f wall_seconds=%.4g ranks=%" PetscInt_FMT " store_mb=%.4g\n",
                         s, u ? u[0] : 0.0, c, p->ranks,
                         ((u ? u[3] : 0) + NNL_STORE_EMPTY_BYTES) / 1048576.0);
  }
  PetscCall(PetscFree(ps.sum));
  PetscCall(ierr);
  PetscCall(PetscPrintf(
    comm, "plan predicted_wall_seconds=%.4g (slowest shard at %" PetscInt_FMT " rank%s)\n",
    p->maxshard, p->ranks, p->ranks == 1 ? "" : "s"));
  PetscFunctionReturn(0);
}

/* The free bytes of the file system that would hold dir (dir, or its nearest existing parent,
   which dir is cut to); -1 if none is found. */
static double FreeBytes(char dir[], size_t len)
{
  struct statvfs fs;

  while (dir[0]) {
    char *slash;
    if (statvfs(dir, &fs) == 0) return (double)fs.f_bavail * (double)fs.f_frsize;
    slash = strrchr(dir, '/');
    if (!slash)
      snprintf(dir, len, ".");
    else if (slash == dir)
      dir[1] = 0;
    else
      *slash = 0;
  }
  return -1;
}

/* The plan in words, and a store the output's file system cannot hold (it would end the run with a
   full disk). */
static PetscErrorCode PlanWords(MPI_Comm comm, Plan *p)
{
  const NNLJob *job = p->job;
  char          words[2][32], dir[PETSC_MAX_PATH_LEN];
  double        store = (p->bytes + job->shard_count * NNL_STORE_EMPTY_BYTES) / job->shard_count,
         free_bytes;
  int rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscPrintf(comm,
                        "plan in_words: %s of compute; the slowest shard %s at %" PetscInt_FMT
                        " rank%s; %.3g MB of store a shard\n",
                        Duration(p->core, words[0], sizeof(words[0])),
                        Duration(p->maxshard, words[1], sizeof(words[1])), p->ranks,
                        p->ranks == 1 ? "" : "s", store / 1048576.0));
  if (p->bound) /* more ranks cannot shorten it: the commits are rank 0's alone, a shard's rank 0
                   each */
    PetscCall(PetscPrintf(comm, "plan note: the slowest shard's time is its rank 0 committing "
                                "every result (commit_core_seconds): more "
                                "ranks would not shorten it; more shards would (-shard i/k, "
                                "jobs/slurm/submit --array), each with a rank "
                                "0 and a store of its own\n"));
  PetscCall(PetscStrncpy(dir, job->output, sizeof(dir)));
  free_bytes = rank == 0 ? FreeBytes(dir, sizeof(dir)) : -1;
  if (rank == 0 && free_bytes >= 0 && store > free_bytes)
    fprintf(stderr,
            "nnlimits: warning: a shard's store would take %.3g MB, more than the %.3g MB free "
            "on the file system of '%s'\n",
            store / 1048576.0, free_bytes / 1048576.0, dir);
  PetscFunctionReturn(0);
}

/* The same for a run into -output now: its shard less what is stored. */
static PetscErrorCode PlanLeftLines(MPI_Comm comm, const Plan *p)
{
  const NNLJob *job   = p->job;
  const double *left  = p->left;
  const double  touch = left[0] > 0 ? p->touch : 0,
               lcore  = CoreSeconds(p, Calibrated(p, left[1], left[2]) / NNL_COST_RATE +
                                         (double)p->workers * touch),
               lwall =
                 PlanWall(p->factor * (left[1] - left[2]), left[2], left[3], p->workers, p->r0) /
                   NNL_COST_RATE +
                 touch;
  char words[2][32];

  PetscFunctionBegin;
  PetscCall(PetscPrintf(
    comm,
    "plan left tasks=%.0f core_seconds=%.4g wall_seconds=%.4g ranks=%" PetscInt_FMT
    " (shard %" PetscInt_FMT "/%" PetscInt_FMT " less the %" PetscInt_FMT " points %s holds)\n",
    left[0], lcore, lwall, p->ranks, job->shard_index, job->shard_count, p->stored, job->output));
  PetscCall(PetscPrintf(comm,
                        "plan in_words: a run into %s now computes the %.0f tasks left: %s of "
                        "compute, %s at %" PetscInt_FMT " rank%s\n",
                        job->output, left[0], Duration(lcore, words[0], sizeof(words[0])),
                        Duration(lwall, words[1], sizeof(words[1])), p->ranks,
                        p->ranks == 1 ? "" : "s"));
  PetscFunctionReturn(0);
}

/* A run or merge writing -output now: a run into it would be refused (plan said what it would
   compute). */
static PetscErrorCode PlanNoteWriter(MPI_Comm comm, const Plan *p)
{
  int rank, pid = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) pid = NNLStoreWriter(p->job->output);
  if (pid)
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "plan note: %s is being written now by another nnlimits process (pid "
                          "%d, on the node that holds "
                          "its lock): a run into it would be refused until that one ends; what "
                          "is left is as of now\n",
                          p->job->output, pid));
  PetscFunctionReturn(0);
}

/* The plan of a job set up (NNLRunSetUp) in p: its figures and lines. */
static PetscErrorCode PlanBody(MPI_Comm comm, Plan *p)
{
  PetscFunctionBegin;
  PetscCall(PlanStored(comm, p));
  if (!p->factor_set) PetscCall(PlanCalibrate(comm, p->job, p->grid, p->calibrate, &p->factor));
  /* the calibration measured tasks alone, so it scales their compute, not rank 0's commits (a job
     of small tasks with spectra, mostly commits, was predicted at half its time) */
  PetscCall(PetscMalloc2(p->grid->ncells, &p->cellbytes, p->grid->ncells, &p->cellcommit));
  for (PetscInt c = 0; c < p->grid->ncells; c++) {
    p->cellbytes[c]  = NNLPointStoreBytes(p->job, &p->grid->cells[c]);
    p->cellcommit[c] = NNLPointCommitCost(p->job, &p->grid->cells[c]);
  }
  if (p->stored > 0) PetscCall(PlanLeft(comm, p));
  PetscCall(PlanTotals(comm, p));
  PetscCall(PlanShardLines(comm, p));
  PetscCall(PlanWords(comm, p));
  if (p->stored > 0) PetscCall(PlanLeftLines(comm, p));
  PetscCall(PlanNoteWriter(comm, p));
  /* the run's, from every source PETSc reads (a nested YAML key included): the batch script asks
     here rather than reading the job file itself */
  {
    char g[32]; /* PetscPrintf's %g prints 10 as "10.", which a script reads as no number */
    snprintf(g, sizeof(g), "%g", (double)p->grace);
    PetscCall(PetscPrintf(comm, "plan stop_grace=%s given=%s\n", g, p->grace_set ? "yes" : "no"));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLCommandPlan(MPI_Comm comm)
{
  Plan           p     = {.ranks = 1, .workers = 1, .r0 = PETSC_TRUE, .factor = 1, .stored = -1};
  NNLSched       sched = NULL;
  PetscBool      help;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PlanOptions(comm, &p));
  /* The scheduler reads its options too, so that any job file a run accepts, plan accepts. */
  ierr = NNLRunSetUp(comm, "plan", p.ranks, &p.job, &p.grid, &sched, &help);
  if (!ierr && sched) ierr = NNLSchedPlanRanks(sched, p.ranks, &p.workers, &p.r0);
  if (!ierr && sched) ierr = NNLSchedGetStopGrace(sched, &p.grace, &p.grace_set);
  if (!ierr && sched && !help)
    ierr = NNLSchedWarnTeams(sched, p.ranks, PETSC_FALSE); /* at -plan_ranks */
  PetscCall(NNLSchedDestroy(&sched));
  if (!ierr && !help) ierr = PlanBody(comm, &p);
  PetscCall(PetscFree2(p.cellbytes, p.cellcommit));
  PetscCall(NNLGridDestroy(&p.grid));
  PetscCall(NNLJobDestroy(&p.job));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
