/* nnlimits run: the set-up of a job that run and plan share, and the run itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnlimits/attention.h"
#include "nnlimits/grid.h"
#include "nnlimits/limits.h"
#include "nnlimits/rng.h"
#include "nnlimits/sched.h"
#include "nnlimits/store.h"
#include "commands.h"
#include "error.h"
#include "log.h"
#include "netkernel.h"
#include "options.h"
#include "simd.h"
#include "summary.h"

PetscErrorCode NNLRunPending(const NNLJob *job, const NNLGrid *grid, NNLStore st, PetscInt *n,
                             PetscInt **todo, PetscInt *foreign)
{
  PetscInt       nshard, *shard, ndone, cnt = 0;
  uint64_t      *done;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(NNLGridShard(grid, job->shard_index, job->shard_count, &nshard, &shard));
  ierr = NNLStoreCommittedIds(st, &ndone, &done); /* ascending */
  if (ierr) PetscCall(NNLGridFreeIndices(&shard));
  PetscCall(ierr);
  if (!ndone) cnt = nshard; /* a fresh store: no point to decode for its id */
  for (PetscInt i = 0; i < nshard && ndone; i++) {
    NNLPoint pt;
    NNLGridPoint(grid, shard[i], &pt);
    if (!NNLStoreIdsHave(done, ndone, pt.id)) shard[cnt++] = shard[i];
  }
  PetscCall(PetscFree(done));
  if (foreign) *foreign = ndone - (nshard - cnt); /* stored, less those of the shard */
  *n    = cnt;
  *todo = shard;
  PetscFunctionReturn(0);
}

/* -isa: the instruction set of our vector kernels and of the normals' generator on this rank. Every
   one gives the same bits (the tests compare each kernel with the portable one); this runs a sweep
   as a CPU without AVX-512 or AVX2 would, to check that end to end (tests/isa_invariance.sh). */
static PetscErrorCode SetISA(MPI_Comm comm)
{
  char      isa[16] = "auto";
  PetscBool ok;

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "nnlimits: kernels", NULL);
  PetscCall(PetscOptionsString("-isa",
                               "Instruction set of the kernels: auto (the widest this CPU has), "
                               "avx512, avx2, plain (the same bits in each)",
                               "", isa, isa, sizeof(isa), NULL));
  PetscOptionsEnd();
  if (!strcmp(isa, "auto"))
    ok = !NNLSimdUse(NULL) && !NNLRngUseKernel(NULL);
  else
    ok = !NNLSimdUse(isa) && !NNLRngUseKernel(strcmp(isa, "plain") ? isa : "portable");
  PetscCheck(ok, comm, PETSC_ERR_USER_INPUT,
             "-isa %s: not one of auto, avx512, avx2, plain, or this CPU does not have it", isa);
  PetscFunctionReturn(0);
}

/* A network's size by one of the two measures CheckTaskSizes applies: its peak memory (bytes) or
   its largest array (doubles). */
typedef enum { SIZE_MEMORY, SIZE_ARRAY } SizeKind;

static double TaskSize(const NNLJob *job, const NNLPoint *p, SizeKind kind)
{
  double cost, mem, value, count;

  if (kind == SIZE_MEMORY) {
    NNLPointCostModel(job, p, &cost, &mem);
    return mem;
  }
  NNLPointArrays(job, p, &value, &count);
  return count;
}

/* The relative shrink of a network's size per relative shrink of one of its counts, from x to y <
   x (0 if it cannot shrink). */
static double Elasticity(double s0, double s, PetscInt x, PetscInt y)
{
  return y < x && s0 > 0 ? ((s0 - s) / s0) / ((double)(x - y) / (double)x) : 0;
}

/* Of a network's width, inputs and input dimension, those that drive its size most (a wide
   network's W, a large Gram of many inputs, or the dense sampler's n×d first layer), into opt:
   naming the width alone sent a user with -inputs 40000 at width 64 to lower a width that was not
   the cause. Each count is lowered by a quarter with the task's sampler kept, and its inputs on
   their side of NNL_SMALL_M (the dense sampler's W whole or in panels), so that no step of the
   model is taken for the count's effect; counts within 5 % of the largest effect are named too (an
   n×d W: the width and the dimension alike). */
static void NetworkDriver(const NNLJob *job, const NNLPoint *p, SizeKind kind, char opt[],
                          size_t len)
{
  static const char *const names[3] = {"-grid_width", "-inputs", "-input_dim"};
  NNLJob                   j = *job; /* a shallow copy: the size models read the counts only */
  NNLPoint                 q = *p;
  const PetscInt           m = job->inputs, d = job->input_dim,
                 m1 = m > NNL_SMALL_M ? PetscMax(NNL_SMALL_M + 1, m - m / 4) : m - m / 4;
  double e[3], best, s0;

  j.sampler   = NNLPointSampler(job, p);
  s0          = TaskSize(&j, p, kind);
  q.width     = p->width - p->width / 4;
  e[0]        = Elasticity(s0, TaskSize(&j, &q, kind), p->width, q.width);
  j.inputs    = m1;
  e[1]        = Elasticity(s0, TaskSize(&j, p, kind), m, m1);
  j.inputs    = m;
  j.input_dim = d - d / 4;
  e[2]        = Elasticity(s0, TaskSize(&j, p, kind), d, j.input_dim);
  best        = PetscMax(e[0], PetscMax(e[1], e[2]));
  opt[0]      = 0;
  for (int k = 0; k < 3; k++) /* nothing shrinks it (best 0): the width, as before */
    if (best > 0 ? e[k] >= 0.95 * best : k == 0)
      snprintf(opt + strlen(opt), len - strlen(opt), "%s%s", opt[0] ? " and " : "", names[k]);
}

/* The option that makes task p large (opt, or by its kind: what drives a network's size, an SDE
   task's paths, a limit's inputs) and the task, for a message. */
static void TaskName(const NNLJob *job, const NNLPoint *p, const char *opt, SizeKind kind,
                     char *what, size_t len)
{
  char drive[64] = "", counts[96] = "";

  if (p->kind == NNL_TASK_NETWORK && !opt) NetworkDriver(job, p, kind, drive, sizeof(drive));
  if (strstr(drive, "-input")) /* the counts named, as the width is */
    snprintf(counts, sizeof(counts), " with %" PetscInt_FMT " inputs of dimension %" PetscInt_FMT,
             job->inputs, job->input_dim);
  if (p->kind == NNL_TASK_NETWORK)
    snprintf(
      what, len, "%s: a network of width %" PetscInt_FMT ", depth %" PetscInt_FMT " (sampler %s)%s",
      opt ? opt : drive, p->width, p->depth, NNLSamplerTypes[NNLPointSampler(job, p)], counts);
  else if (p->kind == NNL_TASK_SDE)
    snprintf(what, len,
             "%s: the SDE task of width %" PetscInt_FMT ", depth %" PetscInt_FMT
             " (-sde_paths, -fp_cells)",
             opt ? opt : "-sde_paths", p->width, p->depth);
  else
    snprintf(what, len, "%s: the limit task of depth %" PetscInt_FMT " (-inputs, -grid_depth)",
             opt ? opt : "-inputs", p->depth);
}

/* Every task within -mem_budget_mb, and within the store's and the build's fixed limits (a large
   node): else the error names what makes the largest task large. Collective (every rank has the
   cells). */
static PetscErrorCode CheckTaskSizes(MPI_Comm comm, const NNLJob *job, const NNLGrid *grid)
{
  double   worst = 0;
  PetscInt wp    = 0;
  char     what[256];

  PetscFunctionBegin;
  for (PetscInt i = 0; i < grid->ncells; i++) /* a task's memory is its cell's */
    if (grid->cells[i].mem > worst) worst = grid->cells[wp = i].mem;
  if (worst >
      job->mem_budget) { /* name what makes the largest task large: its recorded layers when they
                               are most of it, else a network's width or a limit's options */
    const NNLPoint *p        = &grid->cells[wp];
    char            recs[64] = "";
    if (NNLPointRecordBytes(job, p) > 0.5 * worst)
      snprintf(recs, sizeof(recs), ", recording %" PetscInt_FMT " layers,",
               NNLJobRecordCount(job, p->family, p->depth));
    TaskName(job, p, recs[0] ? "-record_layers" : NULL, SIZE_MEMORY, what, sizeof(what));
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "%s%s needs %.3g MB, more than the budget of %.3g MB per task (-mem_budget_mb)", what,
            recs, worst / 1048576.0, job->mem_budget / 1048576.0);
  }
  for (PetscInt i = 0; i < grid->ncells;
       i++) { /* within the budget, and still beyond a fixed limit (a large node) */
    double value, count;
    NNLPointArrays(job, &grid->cells[i], &value, &count);
    if (value > NNL_STORE_MAX_VALUE) {
      TaskName(job, &grid->cells[i], "-record_layers", SIZE_ARRAY, what, sizeof(what));
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s records %" PetscInt_FMT " layers of %.0f"
              " Gram entries (-inputs %" PetscInt_FMT "): an array of %.4g MB, more than SQLite's"
              " %.0f MB for one value (record fewer layers, or fewer inputs)",
              what, NNLJobRecordCount(job, grid->cells[i].family, grid->cells[i].depth),
              (double)job->inputs * (job->inputs + 1) / 2, /* m(m+1)/2 passes 2^31 from m = 46341 */
              job->inputs, value / 1e6, NNL_STORE_MAX_VALUE / 1e6);
    }
    if (count > NNL_MAX_ARRAY) {
      const NNLPoint *c = &grid->cells[i];
      const PetscBool keys =
        NNLFamilyIsAttention(c->family) && NNLAttentionKeyWidth(job, c->width) > c->width
          ? PETSC_TRUE
          : PETSC_FALSE;
      TaskName(job, c, keys ? "-attn_key_width" : NULL, SIZE_ARRAY, what, sizeof(what));
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s needs an array of %.4g doubles, more than the %.4g this build indexes (%d-bit "
              "PetscInt)",
              what, count, (double)NNL_MAX_ARRAY, (int)(8 * sizeof(PetscInt)));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLRunSetUp(MPI_Comm comm, const char cmd[], PetscInt ranks, NNLJob **job,
                           NNLGrid **grid, NNLSched *sched, PetscBool *help)
{
  int            rank;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  NNLErrorOptionsPhase(PETSC_TRUE);
  PetscCall(NNLJobCreate(comm, job));
  PetscCall(NNLJobWarnUnused(comm, *job));
  if (sched) {
    PetscCall(NNLSchedCreate(comm, *job, sched));
    PetscCall(NNLSchedSetFromOptions(*sched));
    PetscCall(NNLSchedPlanTeam(*sched, ranks, &(*job)->spectra_team, &(*job)->spectra_team_min));
  }
  PetscCall(NNLLimitSetFromOptions(comm));
  PetscCall(SetISA(comm));
  NNLErrorOptionsPhase(PETSC_FALSE);
  PetscCall(PetscOptionsHasHelp(NULL, help));
  if (*help) PetscFunctionReturn(0);
  PetscCall(NNLOptionsCheckUnused(comm, cmd));
  /* No rank expands the grid (grid.h). Its checks are every rank's, but for rank 0's check of its
     ids: agreed, so that no rank waits. */
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  NNLErrorSetQuiet(PETSC_TRUE);
  ierr = NNLGridCreate(*job, PETSC_FALSE, grid);
  if (!ierr && rank == 0) ierr = NNLGridCheckIds(*grid);
  NNLErrorSetQuiet(PETSC_FALSE);
  PetscCall(NNLErrorAgree(comm, ierr));
  PetscCall(CheckTaskSizes(comm, *job, *grid));
  PetscFunctionReturn(0);
}

/* The "N singletons" launch: a launcher started several tasks (srun without MPI wiring, or another
   MPI's mpiexec) but MPI made each of them a world of one rank, so each would run the whole sweep
   into the same store. The launcher's own task count gives it away; in a batch script's shell
   SLURM_NTASKS is set too, but no SLURM_STEP_ID. Not collective (each task is alone): the task the
   launcher numbered 0 prints the one line, all exit 2. */
static PetscErrorCode CheckLaunch(MPI_Comm comm)
{
  const char *const count[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS",
                               "SLURM_NTASKS"};
  const char *const index[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "SLURM_PROCID"};
  const char       *step = getenv("SLURM_STEP_ID"), *n = NULL, *i;
  int               size, k;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (size > 1) PetscFunctionReturn(0);
  for (k = 0; k < 4; k++) {
    if (k >= 2 && !step) break;
    if ((n = getenv(count[k]))) break;
  }
  if (!n || atol(n) <= 1) PetscFunctionReturn(0);
  i = getenv(index[k]);
  if (i && atol(i) > 0) NNLErrorSetQuiet(PETSC_TRUE);
  if (step)
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "launch: srun started %s tasks but MPI made each a separate 1-rank job (%s=%s, MPI "
            "size 1), so each would run "
            "the whole sweep: launch with srun --mpi=pmix ('srun --mpi=list' shows this Slurm's), "
            "or with mpirun inside the allocation",
            n, count[k], n);
  SETERRQ(comm, PETSC_ERR_USER_INPUT,
          "launch: %s tasks but MPI made each a separate 1-rank job (%s=%s, MPI size 1), so each "
          "would run the whole "
          "sweep: the launcher belongs to another MPI; use the mpiexec of the MPI nnlimits was "
          "built with",
          n, count[k], n);
}

/* Rank 0's end of a run: the store's last word on it, then the interrupted line, or the finished
   line and the summary table. */
static PetscErrorCode RunReport(const NNLJob *job, NNLStore *st, const NNLSchedStats *stats,
                                int size)
{
  PetscErrorCode ierr;

  PetscFunctionBegin;
  /* its last writes (the open group's commit, the run's row) failing, as on a disk that fills at
     the very end, end it as a sweep's error does: marked failed and closed (it returned with the
     store open: status said died, and the checkpointer was never joined) */
  ierr = NNLStoreFinishRun(*st, stats->interrupted ? "interrupted" : "complete");
  if (ierr) {
    NNLStoreMarkFailed(*st);
    NNLStoreClose(st);
    PetscCall(ierr);
  }
  PetscCall(NNLStoreClose(st));
  if (stats->interrupted) /* its last line (a "finished" line after it read as if the sweep had
                            ended) */
    fprintf(stderr,
            "interrupted done=%" PetscInt_FMT " failed=%" PetscInt_FMT " abandoned=%" PetscInt_FMT
            " output=%s seconds=%.2f (rerun the same command to finish)\n",
            stats->done, stats->failed, stats->abandoned, job->output, stats->seconds);
  else {
    /* The line, then the table in one write: with both streams in one file or terminal (2>&1,
       mpiexec's forwarding of each), the line landed inside the table, between two of stdout's 4
       KB buffers. */
    char  *table = NULL;
    size_t len   = 0;
    FILE  *mem   = open_memstream(&table, &len);
    fprintf(stderr,
            "finished output=%s seconds=%.2f done=%" PetscInt_FMT " failed=%" PetscInt_FMT
            " store=%.0f%%\n",
            job->output, stats->seconds, stats->done, stats->failed,
            100 * NNLSchedStoreShare(stats));
    /* rank 0 is the store's one writer: past a few ranks, a run of small tasks waits on its
       commits (plan's note says so beforehand; this is the measured case, a second or more of it)
     */
    if (size > 1 && NNLSchedStoreShare(stats) > 0.5 && stats->store_seconds >= 1)
      fprintf(stderr,
              "note: rank 0 spent %.0f%% of the run committing results (the store has one writer): "
              "more ranks would not "
              "have made it faster, more shards would (-shard i/k, or jobs/slurm/submit --array)\n",
              100 * NNLSchedStoreShare(stats));
    fflush(stderr);
    fflush(stdout);
    ierr = NNLSummaryPrint(
      job->output, 64,
      mem ? mem : stdout); /* the default job's 60 rows whole; a bigger sweep's first 64 */
    if (mem) {
      fclose(mem);
      if (!ierr && len) fwrite(table, 1, len, stdout);
      free(table);
    }
    if (!ierr && job->shard_count > 1) /* a shard's rows read as the job's (a third of its seeds) */
      printf("(shard %" PetscInt_FMT "/%" PetscInt_FMT
             ": these rows are of this shard's points only; nnlimits merge of the shards gives the "
             "job's)\n",
             job->shard_index, job->shard_count);
    fflush(stdout);
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}

/* The run; its objects are the caller's, so that they are freed however it ends. */
static PetscErrorCode RunBody(MPI_Comm comm, int *code, NNLJob **jobp, NNLGrid **gridp,
                              NNLSched *schedp, PetscInt **todop)
{
  NNLJob        *job;
  NNLGrid       *grid;
  NNLSched       sched;
  NNLStore       st    = NULL;
  PetscInt       ntodo = 0, *todo = NULL;
  PetscBool      help;
  NNLSchedStats  stats;
  int            rank, size;
  PetscInt       foreign = 0;
  PetscErrorCode ierr    = 0;
  PetscBool      stopped;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(CheckLaunch(comm));
  PetscCall(NNLRunSetUp(comm, "run", size, jobp, gridp, schedp, &help));
  if (help) PetscFunctionReturn(0);
  PetscCall(NNLSchedWarnTeams(*schedp, size, PETSC_TRUE));
  PetscCall(NNLLogCheckView(comm));
  job = *jobp, grid = *gridp, sched = *schedp;
  /* a stop in the set-up (sched.h): no store made */
  PetscCall(NNLSchedStoppedBeforeSweep(comm, &stopped));
  if (stopped) {
    *code = NNL_EXIT_INTERRUPTED;
    PetscFunctionReturn(0);
  }
  /* Rank 0 alone touches the store; its verdict (a different job there, a bad directory) is
   * everyone's. */
  NNLErrorSetQuiet(PETSC_TRUE);
  if (rank == 0) {
    ierr = NNLStoreOpen(job->output, job, grid, &st);
    if (!ierr) ierr = NNLRunPending(job, grid, st, &ntodo, todop, &foreign);
    if (!ierr && grid->npoints / job->shard_count >= NNL_GRID_ORDER_MIN_POINTS)
      ierr = NNLGridOrderTiesById(grid, ntodo, *todop); /* the store's order (grid.c) */
    if (!ierr) todo = *todop;
    if (ierr) NNLStoreClose(&st);
  }
  NNLErrorSetQuiet(PETSC_FALSE);
  PetscCall(NNLErrorAgree(comm, ierr));
  /* a stop while the store opened: its run recorded interrupted, as one stopped in its sweep */
  PetscCall(NNLSchedStoppedBeforeSweep(comm, &stopped));
  if (stopped) {
    if (rank == 0) PetscCall(NNLStoreFinishRun(st, "interrupted"));
    PetscCall(NNLStoreClose(&st));
    *code = NNL_EXIT_INTERRUPTED;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscFPrintf(comm, stderr,
                         "run output=%s tasks=%" PetscInt_FMT " (networks=%" PetscInt_FMT
                         " limits=%" PetscInt_FMT " sde=%" PetscInt_FMT ") shard=%" PetscInt_FMT
                         "/%" PetscInt_FMT " todo=%" PetscInt_FMT " ranks=%d\n",
                         job->output, grid->npoints, grid->nnets, grid->nlimits, grid->nsde,
                         job->shard_index, job->shard_count, ntodo, size));
  /* Shards are cut by the cost model (NNLGridShard), so a build with another model cuts them
     otherwise: a shard begun by one build and resumed by another computes its new share, and the
     points that moved to shards the other build finished belong to no finished shard. */
  if (foreign > 0)
    PetscCall(PetscFPrintf(
      comm, stderr,
      "nnlimits: warning: '%s' holds %" PetscInt_FMT " points that this build gives to other "
      "shards of the job (a build with another cost model cut its shards otherwise): this run "
      "computes shard %" PetscInt_FMT "/%" PetscInt_FMT " as this build cuts it. Run every shard "
      "of the job with this build before merging, the finished ones too: each then computes only "
      "what its share lacks\n",
      job->output, foreign, job->shard_index, job->shard_count));
  PetscCall(NNLLogRegister());
  PetscCall(PetscLogStagePush(NNL_STAGE_SWEEP));
  ierr = NNLSchedRun(sched, grid, st, ntodo, todo, &stats);
  PetscCall(PetscLogStagePop());
  if (ierr) {
    NNLStoreMarkFailed(st); /* rank 0's own error (its store): status then says failed, not died */
    NNLErrorAbort(comm, ierr); /* returns only on one rank */
    NNLStoreClose(&st);
    PetscCall(ierr);
  }
  if (rank == 0) PetscCall(RunReport(job, &st, &stats, size));
  *code = stats.interrupted ? NNL_EXIT_INTERRUPTED : NNL_EXIT_OK;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLCommandRun(MPI_Comm comm, int *code)
{
  NNLJob        *job   = NULL;
  NNLGrid       *grid  = NULL;
  NNLSched       sched = NULL;
  PetscInt      *todo  = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = RunBody(comm, code, &job, &grid, &sched, &todo);
  PetscCall(NNLGridFreeIndices(&todo));
  PetscCall(NNLSchedDestroy(&sched));
  PetscCall(NNLGridDestroy(&grid));
  PetscCall(NNLJobDestroy(&job));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
