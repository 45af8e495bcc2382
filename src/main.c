/* nnlimits: the command line — run, plan, status, export. */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cblas.h>
#include "nnlimits/attention.h"
#include "nnlimits/grid.h"
#include "nnlimits/limits.h"
#include "nnlimits/rng.h"
#include "nnlimits/sched.h"
#include "nnlimits/store.h"
#include "error.h"
#include "log.h"
#include "options.h"
#include "parse.h"
#include "simd.h"
#include "sockets.h"
#include "orphan.h"
#include "summary.h"

/* The cost model's unit is a nanosecond of one core of the machine it was fitted on (grid.c); used
 * only for predictions. */
#define NNL_COST_RATE 1e9
/* An empty store (schema, views, the run's provenance): 80 KB. */
#define NNL_STORE_EMPTY_BYTES 81920.0

static const char usage[] =
  "nnlimits: sweeps of random neural networks beside their theoretical limits\n"
  "usage:\n"
  "  nnlimits run [options]            run the sweep (no options: the default job into "
  "results/default)\n"
  "  nnlimits plan [options]           dry run: points, per-shard counts, predicted time, peak "
  "memory and store size\n"
  "  nnlimits status DIR...            done / failed / pending counts and ETA of run directories\n"
  "  nnlimits export DIR [-table "
  "gram|points|stats|limits|compare|extrapolate|spectra|spectrum|sde|fokker_planck|laws] [-o "
  "FILE]\n"
  "                                    tidy CSV\n"
  "  nnlimits merge DIR... -output DIR  combine shard stores (job arrays) into one; idempotent\n"
  "Options come from the command line, -options_file FILE (plain or .yaml) and PETSC_OPTIONS.\n"
  "'nnlimits run -help' lists every sweep option with its default.\n";

/* 'nnlimits status|export|merge -help': what the command does and its options; nothing is read or
 * written. */
static const char *const command_help[][2] = {
  {"status", "nnlimits status DIR...\n"
             "  Done / failed / pending points, the last run's state, the rate of the last run "
             "that computed points, and\n"
             "  the ETA, of each run directory (readable while a run writes it). No options.\n"},
  {"export",
   "nnlimits export DIR [-table T] [-o FILE]\n"
   "  Tidy CSV, one row per observation, of one table of a run directory.\n"
   "  -table <gram>: gram, points, stats, limits, compare, extrapolate, spectra, spectrum, sde, "
   "fokker_planck, laws\n"
   "  -o <stdout>: output file (a regular file is written as FILE.partial, then renamed)\n"},
  {"merge",
   "nnlimits merge DIR... -output DIR\n"
   "  Combine the stores of the shards of one job (job arrays) into one; idempotent, the inputs "
   "are not changed.\n"
   "  -output <required>: the merged run directory (new, or an earlier merge of the same job)\n"},
};

static int command_help_asked; /* -help, -h or --help on the command line (taken out of what
                                  PetscInitialize sees) */
static int stray_word,
  stray_opt; /* argv indices: a word after an option's one value, and that option (0: none) */
static char **raw_argv;

/* The help text of status, export or merge; NULL for another command (run and plan: PETSc's -help
 * lists theirs). */
static const char *CommandHelp(const char *cmd)
{
  for (size_t i = 0; cmd && i < sizeof(command_help) / sizeof(command_help[0]); i++)
    if (!strcmp(cmd, command_help[i][0])) return command_help[i][1];
  return NULL;
}

/* `run -help` and `plan -help`: our option blocks (titles "nnlimits…") whole; of the sections of
   PETSc's solvers (the ODE's TS, the Fokker-Planck TS and its SNES, KSP, PC, their monitors and
   viewers: 900 lines) only the options a user of the limits sets, under one heading a solver;
   `-help full`: every line. PETSc prints help through PetscHelpPrintf, and a type's list through
   PetscFPrintf on the solver's communicator (PETSC_COMM_SELF: every rank printed it), so the filter
   sits below both, at PetscVFPrintf, on stdout: rank 0 prints, the others nothing. */
static const char *const help_solver_kept[] = {
  "ts_type", "ts_rk_type",   "ts_rtol",       "ts_atol",
  "ts_dt",   "ts_max_steps", "ts_adapt_type", "ts_exact_final_time"};
static const char *const help_solvers[][2] = {
  {"-limit_", "the depth-limit covariance ODE (mlp, resnet)"},
  {"-limit_fp_", "the Fokker-Planck PDE (shaped_mlp relu, with -sde_paths)"},
};
static struct {
  PetscErrorCode (*vfprintf)(FILE *, const char[],
                             va_list); /* PETSc's, to print with; NULL: no help asked */
  int         full;                    /* -help full */
  const char *bad;                     /* a word after -help other than full */
  int         silent;                  /* a rank other than 0 */
  int         solver;                  /* in a solver's section: its kept options only */
  int         after_rule; /* the line before was a section's rule: this one is its title */
  int         dropped;    /* option lines left out */
  char
    line[8192];   /* PETSc prints a line in pieces (a list's entries one by one): the line so far */
  char rule[128]; /* the rule before a section's title */
  char prefix[64]; /* the solver whose options were printed last */
} help;

static PetscErrorCode HelpOut(const char fmt[], ...)
{
  PetscErrorCode ierr;
  va_list        ap;

  va_start(ap, fmt);
  ierr = help.vfprintf(PETSC_STDOUT, fmt, ap);
  va_end(ap);
  return ierr;
}

/* The length of the solver's prefix ("-limit_fp_") of a kept option's line; 0 for another line */
static size_t HelpSolverKept(const char *line)
{
  size_t n = 0, k;

  if (strncmp(line, "  -", 3)) return 0; /* a sub-heading ("RK ODE solver options") */
  line += 2;
  while (line[n] && line[n] != ' ' && line[n] != '<' && line[n] != ':') n++;
  for (size_t i = 0; i < sizeof(help_solver_kept) / sizeof(help_solver_kept[0]); i++)
    if (n > (k = strlen(help_solver_kept[i])) && !strncmp(line + n - k, help_solver_kept[i], k) &&
        line[n - k - 1] == '_')
      return n - k;
  return 0;
}

/* One whole line of help, with its newline */
static PetscErrorCode HelpLine(const char *line)
{
  size_t p;

  PetscFunctionBegin;
  if (!strncmp(line, "-----", 5)) {
    help.after_rule = 1;
    snprintf(help.rule, sizeof(help.rule), "%s", line);
  } else if (help.after_rule) {
    help.after_rule = 0;
    help.solver     = strncmp(line, "nnlimits", 8) != 0;
    if (!help.solver) PetscCall(HelpOut("%s%s", help.rule, line));
  } else if (!help.solver) {
    PetscCall(HelpOut("%s", line));
  } else if (!(p = HelpSolverKept(line))) {
    help.dropped += !strncmp(line, "  -", 3);
  } else {
    if (strlen(help.prefix) != p || strncmp(help.prefix, line + 2, p)) {
      const char *what = "";
      snprintf(help.prefix, sizeof(help.prefix), "%.*s", (int)p, line + 2);
      for (size_t i = 0; i < sizeof(help_solvers) / sizeof(help_solvers[0]); i++)
        if (!strcmp(help.prefix, help_solvers[i][0])) what = help_solvers[i][1];
      PetscCall(HelpOut("%sPETSc's solver of %s: its main options (TS)\n", help.rule, what));
    }
    PetscCall(HelpOut("%s", line));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode HelpVFPrintf(FILE *fd, const char fmt[], va_list ap)
{
  size_t n = strlen(help.line);
  char  *nl;

  if (fd != PETSC_STDOUT) return help.vfprintf(fd, fmt, ap);
  if (help.silent) return 0;
  if (help.full) return help.vfprintf(fd, fmt, ap);
  vsnprintf(help.line + n, sizeof(help.line) - n, fmt, ap);
  while ((nl = strchr(help.line, '\n'))) {
    char c = nl[1];

    nl[1] = 0;
    PetscCall(HelpLine(help.line));
    nl[1] = c;
    memmove(help.line, nl + 1, strlen(nl + 1) + 1);
  }
  return 0;
}

typedef struct {
  int    npos;
  char **pos; /* positional arguments after the subcommand */
} Args;

/* Points still to compute: this shard's points minus those the store already holds, largest cost
 * first. */
static PetscErrorCode PendingPoints(const NNLJob *job, const NNLGrid *grid, NNLStore st,
                                    PetscInt *n, PetscInt **todo)
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

/* The option that makes task p large (opt, or by its kind: a network's width, an SDE task's paths,
   a limit's inputs) and the task, for a message. */
static void TaskName(const NNLJob *job, const NNLPoint *p, const char *opt, char *what, size_t len)
{
  if (p->kind == NNL_TASK_NETWORK)
    snprintf(
      what, len, "%s: a network of width %" PetscInt_FMT ", depth %" PetscInt_FMT " (sampler %s)",
      opt ? opt : "-grid_width", p->width, p->depth, NNLSamplerTypes[NNLPointSampler(job, p)]);
  else if (p->kind == NNL_TASK_SDE)
    snprintf(what, len,
             "%s: the SDE task of width %" PetscInt_FMT ", depth %" PetscInt_FMT
             " (-sde_paths, -fp_cells)",
             opt ? opt : "-sde_paths", p->width, p->depth);
  else
    snprintf(what, len, "%s: the limit task of depth %" PetscInt_FMT " (-inputs, -grid_depth)",
             opt ? opt : "-inputs", p->depth);
}

/* Everything the run needs from the job, checked on every rank before anything touches the disk. */
static PetscErrorCode SetUpJob(MPI_Comm comm, const char cmd[], NNLJob **job, NNLGrid **grid,
                               NNLSched *sched, PetscBool *help)
{
  double         worst = 0;
  PetscInt       wp    = 0;
  char           what[256];
  int            rank;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  NNLErrorOptionsPhase(PETSC_TRUE);
  PetscCall(NNLJobCreate(comm, job));
  PetscCall(NNLJobWarnUnused(comm, *job));
  if (sched) {
    PetscCall(NNLSchedCreate(comm, *job, sched));
    PetscCall(NNLSchedSetFromOptions(*sched));
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
  for (PetscInt i = 0; i < (*grid)->ncells; i++) /* a task's memory is its cell's */
    if ((*grid)->cells[i].mem > worst) worst = (*grid)->cells[wp = i].mem;
  if (worst >
      (*job)->mem_budget) { /* name what makes the largest task large: its recorded layers when they
                               are most of it, else a network's width or a limit's options */
    const NNLPoint *p        = &(*grid)->cells[wp];
    char            recs[64] = "";
    if (NNLPointRecordBytes(*job, p) > 0.5 * worst)
      snprintf(recs, sizeof(recs), ", recording %" PetscInt_FMT " layers,",
               NNLJobRecordCount(*job, p->family, p->depth));
    TaskName(*job, p, recs[0] ? "-record_layers" : NULL, what, sizeof(what));
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "%s%s needs %.3g MB, more than the budget of %.3g MB per task (-mem_budget_mb)", what,
            recs, worst / 1048576.0, (*job)->mem_budget / 1048576.0);
  }
  for (PetscInt i = 0; i < (*grid)->ncells;
       i++) { /* within the budget, and still beyond a fixed limit (a large node) */
    double value, count;
    NNLPointArrays(*job, &(*grid)->cells[i], &value, &count);
    if (value > NNL_STORE_MAX_VALUE) {
      TaskName(*job, &(*grid)->cells[i], "-record_layers", what, sizeof(what));
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s records %" PetscInt_FMT " layers of %" PetscInt_FMT
              " Gram entries (-inputs %" PetscInt_FMT "): an array of %.4g MB, more than SQLite's"
              " %.0f MB for one value (record fewer layers, or fewer inputs)",
              what, NNLJobRecordCount(*job, (*grid)->cells[i].family, (*grid)->cells[i].depth),
              (*job)->inputs * ((*job)->inputs + 1) / 2, (*job)->inputs, value / 1e6,
              NNL_STORE_MAX_VALUE / 1e6);
    }
    if (count > NNL_MAX_ARRAY) {
      const NNLPoint *c = &(*grid)->cells[i];
      const PetscBool keys =
        NNLFamilyIsAttention(c->family) && NNLAttentionKeyWidth(*job, c->width) > c->width
          ? PETSC_TRUE
          : PETSC_FALSE;
      TaskName(*job, c, keys ? "-attn_key_width" : NULL, what, sizeof(what));
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s needs an array of %.4g doubles, more than the %.4g this build indexes (%d-bit "
              "PetscInt)",
              what, count, (double)NNL_MAX_ARRAY, (int)(8 * sizeof(PetscInt)));
    }
  }
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
            "the whole sweep: launch with srun --mpi=pmix (or --mpi=pmi2; 'srun --mpi=list' shows "
            "this Slurm's), or with "
            "mpirun inside the allocation",
            n, count[k], n);
  SETERRQ(comm, PETSC_ERR_USER_INPUT,
          "launch: %s tasks but MPI made each a separate 1-rank job (%s=%s, MPI size 1), so each "
          "would run the whole "
          "sweep: the launcher belongs to another MPI; use the mpiexec of the MPI nnlimits was "
          "built with",
          n, count[k], n);
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
  PetscErrorCode ierr = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(CheckLaunch(comm));
  PetscCall(SetUpJob(comm, "run", jobp, gridp, schedp, &help));
  if (help) PetscFunctionReturn(0);
  PetscCall(NNLLogCheckView(comm));
  job = *jobp, grid = *gridp, sched = *schedp;
  /* Rank 0 alone touches the store; its verdict (a different job there, a bad directory) is
   * everyone's. */
  NNLErrorSetQuiet(PETSC_TRUE);
  if (rank == 0) {
    ierr = NNLStoreOpen(job->output, job, grid, &st);
    if (!ierr) ierr = PendingPoints(job, grid, st, &ntodo, todop);
    if (!ierr) todo = *todop;
    if (ierr) NNLStoreClose(&st);
  }
  NNLErrorSetQuiet(PETSC_FALSE);
  PetscCall(NNLErrorAgree(comm, ierr));
  PetscCall(PetscFPrintf(comm, stderr,
                         "run output=%s tasks=%" PetscInt_FMT " (networks=%" PetscInt_FMT
                         " limits=%" PetscInt_FMT " sde=%" PetscInt_FMT ") shard=%" PetscInt_FMT
                         "/%" PetscInt_FMT " todo=%" PetscInt_FMT " ranks=%d\n",
                         job->output, grid->npoints, grid->nnets, grid->nlimits, grid->nsde,
                         job->shard_index, job->shard_count, ntodo, size));
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
  if (rank == 0) {
    PetscCall(NNLStoreFinishRun(st, stats.interrupted ? "interrupted" : "complete"));
    PetscCall(NNLStoreClose(&st));
    if (stats.interrupted) /* its last line (a "finished" line after it read as if the sweep had
                              ended) */
      fprintf(stderr,
              "interrupted done=%" PetscInt_FMT " failed=%" PetscInt_FMT " abandoned=%" PetscInt_FMT
              " output=%s seconds=%.2f (rerun the same command to finish)\n",
              stats.done, stats.failed, stats.abandoned, job->output, stats.seconds);
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
              job->output, stats.seconds, stats.done, stats.failed,
              100 * NNLSchedStoreShare(&stats));
      /* rank 0 is the store's one writer: past a few ranks, a run of small tasks waits on its
         commits (plan's note says so beforehand; this is the measured case, a second or more of it)
       */
      if (size > 1 && NNLSchedStoreShare(&stats) > 0.5 && stats.store_seconds >= 1)
        fprintf(
          stderr,
          "note: rank 0 spent %.0f%% of the run committing results (the store has one writer): "
          "more ranks would not "
          "have made it faster, more shards would (-shard i/k, or jobs/slurm/submit --array)\n",
          100 * NNLSchedStoreShare(&stats));
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
      fflush(stdout);
      PetscCall(ierr);
    }
  }
  *code = stats.interrupted ? NNL_EXIT_INTERRUPTED : NNL_EXIT_OK;
  PetscFunctionReturn(0);
}

static PetscErrorCode CommandRun(MPI_Comm comm, int *code)
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

typedef struct {
  uint64_t id; /* first: NNLGridCmpId sorts by it */
  PetscInt i;
} IdIndex;

/* -plan_calibrate S: rank 0 runs about S seconds of the job's own tasks here (their results
   discarded), taking the points in order of their ids (a fixed pseudo-random sample of the grid)
   and passing over any the model, scaled by what was measured so far, puts past what is left of S.
   *factor is their measured seconds over the model's (the commits apart): it scales every predicted
   time from the model's reference cores to this machine's. 1 when no task ran (S = 0, or every task
   too long for it). Collective. */
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
      model = (pt.cost - NNLPointCommitCost(job, &pt)) / NNL_COST_RATE;
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
  }
  PetscCallMPI(MPI_Bcast(sums, 3, MPI_DOUBLE, 0, comm));
  *factor = sums[2] > 0 ? sums[1] / sums[2] : 1.0;
  if (budget > 0)
    PetscCall(PetscPrintf(
      comm, "plan_calibration tasks=%.0f measured_seconds=%.4g model_seconds=%.4g factor=%.4g\n",
      sums[0], sums[1], sums[2], *factor));
  if (budget > 0 && !sums[0])
    PetscCall(PetscFPrintf(comm, stderr,
                           "nnlimits: warning: -plan_calibrate %g: no task of this job fits in %g "
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

static PetscErrorCode CommandPlan(MPI_Comm comm)
{
  NNLJob   *job   = NULL;
  NNLGrid  *grid  = NULL;
  NNLSched  sched = NULL;
  PetscBool help;
  PetscInt  ranks = 1,
           workers =
             1; /* ranks per shard; of them, those that compute points (NNLSchedPlanRanks) */
  PetscBool r0    = PETSC_TRUE,
            bound = PETSC_FALSE; /* rank 0 computes too; a shard's time is rank 0's commits */
  double total = 0, commit = 0, core, peak = 0, maxshard = 0, bytes = 0, calibrate = 0, factor = 1,
         *cellbytes, *cellcommit;
  double left[4] = {
    0, 0, 0,
    0}; /* what a run into -output would compute: tasks, cost, its commits', the largest's */
  PetscInt   stored = -1;          /* points -output holds (-1: no store) */
  PetscBool  ext    = PETSC_FALSE; /* they are a run of fewer axis values, which this job extends */
  PlanShards ps;                   /* every shard's figures */
  PetscErrorCode ierr;
  char           rtext[64];
  PetscBool      rset = PETSC_FALSE;

  PetscFunctionBegin;
  { /* `mpiexec -n 2 nnlimits plan` predicts for 2 ranks (it predicted for 1 unless told -plan_ranks
       2) */
    int size;
    PetscCallMPI(MPI_Comm_size(comm, &size));
    ranks = size;
  }
  NNLErrorOptionsPhase(PETSC_TRUE);
  PetscOptionsBegin(comm, NULL, "nnlimits plan: its own options (and every option of run)", NULL);
  /* read as the job's integers are (NNLParseInt): PETSc's own read of 2147483648 wrapped it, "must
   * be >= 1" */
  snprintf(rtext, sizeof(rtext), "%" PetscInt_FMT, ranks);
  PetscCall(PetscOptionsString(
    "-plan_ranks", "Ranks per shard to predict wall time for (default: the ranks plan runs on)", "",
    rtext, rtext, sizeof(rtext), &rset));
  PetscCall(PetscOptionsReal("-plan_calibrate",
                             "Seconds of the job's own tasks to run here first, to scale the "
                             "predicted times to this machine's cores "
                             "(0: the cost model's reference cores)",
                             "", calibrate, &calibrate, NULL));
  PetscOptionsEnd();
  NNLErrorOptionsPhase(PETSC_FALSE);
  if (rset) PetscCall(NNLParseInt("-plan_ranks", rtext, 1, &ranks));
  PetscCheck(calibrate >= 0 && calibrate <= 3600, comm, PETSC_ERR_USER_INPUT,
             "-plan_calibrate: seconds in [0, 3600], not %g", calibrate);
  /* The scheduler reads its options too, so that any job file a run accepts, plan accepts. */
  ierr = SetUpJob(comm, "plan", &job, &grid, &sched, &help);
  if (!ierr && sched) PetscCall(NNLSchedPlanRanks(sched, ranks, &workers, &r0));
  PetscCall(NNLSchedDestroy(&sched));
  if (ierr) PetscCall(NNLGridDestroy(&grid));
  if (ierr) PetscCall(NNLJobDestroy(&job));
  PetscCall(ierr);
  if (help) PetscCall(NNLJobDestroy(&job));
  if (help) PetscFunctionReturn(0);
  { /* what a run would find in -output: another job's store is refused here, as the run would
       refuse it */
    int            rank;
    PetscErrorCode e = 0;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    NNLErrorSetQuiet(PETSC_TRUE);
    if (rank == 0) e = NNLStoreCheckOutput(job, &stored, &ext);
    NNLErrorSetQuiet(PETSC_FALSE);
    ierr = NNLErrorAgree(comm, e);
    if (ierr) PetscCall(NNLGridDestroy(&grid));
    if (ierr) PetscCall(NNLJobDestroy(&job));
    PetscCall(ierr);
    PetscCallMPI(MPI_Bcast(&stored, 1, MPIU_INT, 0,
                           comm)); /* what is left is collective: every rank must know */
  }
  PetscCall(PlanCalibrate(comm, job, grid, calibrate, &factor));
  /* a point's store bytes and commit are its cell's; the calibration measured tasks alone, so it
     scales their compute, not rank 0's commits (a job of small tasks with spectra, mostly commits,
     was predicted at half its time) */
  PetscCall(PetscMalloc2(grid->ncells, &cellbytes, grid->ncells, &cellcommit));
  for (PetscInt c = 0; c < grid->ncells; c++) {
    cellbytes[c]  = NNLPointStoreBytes(job, &grid->cells[c]);
    cellcommit[c] = NNLPointCommitCost(job, &grid->cells[c]);
  }
  if (stored > 0) { /* a partly done run: what is left of this shard (a resumed run's time, not the
                       whole job's) */
    int            rank;
    PetscErrorCode e = 0;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0) { /* the points a run would compute (as it finds them) */
      NNLStore st = NULL;
      PetscInt n = 0, *todo = NULL;
      e = NNLStoreOpenRead(job->output, &st);
      if (!e) e = PendingPoints(job, grid, st, &n, &todo);
      for (PetscInt i = 0; !e && i < n; i++) {
        const double c = NNLGridCost(grid, todo[i]), cm = cellcommit[NNLGridCellOf(grid, todo[i])];
        left[0] += 1;
        left[1] += c;
        left[2] += cm;
        left[3] = PetscMax(left[3], factor * (c - cm) + cm);
      }
      PetscCall(NNLGridFreeIndices(&todo));
      if (st) PetscCall(NNLStoreClose(&st));
    }
    PetscCall(NNLErrorAgree(comm, e));
    PetscCallMPI(MPI_Bcast(left, 4, MPI_DOUBLE, 0, comm));
  }
  /* every shard's tasks, cost, commits and store in one pass over the assignment (a pass a shard
     took 30 s for 100 shards of 6e6 points); shards beyond the points' count are empty */
  ps = (PlanShards){grid, cellcommit, cellbytes,
                    PetscMin(job->shard_count, PetscMax(grid->npoints, 1)), NULL};
  PetscCall(PetscCalloc1(ps.nsum, &ps.sum));
  ierr = NNLGridShardEach(grid, job->shard_count, PlanShardAdd, &ps);
  if (ierr) PetscCall(PetscFree(ps.sum));
  PetscCall(ierr);
  for (PetscInt i = 0; i < grid->npoints; i++) {
    total += NNLGridCost(grid, i);
    commit += cellcommit[NNLGridCellOf(grid, i)];
    bytes += cellbytes[NNLGridCellOf(grid, i)];
  }
  core = (factor * (total - commit) + commit) / NNL_COST_RATE;
  for (PetscInt c = 0; c < grid->ncells; c++) peak = PetscMax(peak, grid->cells[c].mem);
  peak += (double)grid->npoints *
          NNL_GRID_BYTES_PER_POINT; /* rank 0 holds the whole grid beside its largest task */
  peak += NNLStoreCacheBytes((double)grid->npoints / job->shard_count) -
          NNL_STORE_CACHE_MIN; /* its page cache beyond a tiny run's */
  PetscCall(PetscPrintf(
    comm,
    "plan points=%" PetscInt_FMT " limits=%" PetscInt_FMT " shards=%" PetscInt_FMT
    " cost=%.4g core_seconds=%.4g commit_core_seconds=%.4g peak_mem_mb=%.4g store_mb=%.4g "
    "sde=%" PetscInt_FMT "\n",
    grid->nnets, grid->nlimits, job->shard_count, total, core, commit / NNL_COST_RATE,
    peak / 1048576.0, (bytes + job->shard_count * NNL_STORE_EMPTY_BYTES) / 1048576.0, grid->nsde));
  if (stored >= 0) /* after the header line, which scripts read first */
    PetscCall(
      PetscPrintf(comm,
                  "plan output=%s stored=%" PetscInt_FMT " of shard %" PetscInt_FMT
                  "/%" PetscInt_FMT "'s %.0f tasks%s\n",
                  job->output, stored, job->shard_index, job->shard_count,
                  job->shard_index < ps.nsum ? ps.sum[job->shard_index][0] : 0.0,
                  ext ? " (a run of fewer axis values, which this job's run extends)" : ""));
  {
    for (PetscInt s = 0; !ierr && s < PetscMin(job->shard_count, PetscMax(ps.nsum, 1000));
         s++) { /* the empty past 1000: alike */
      const double *u   = s < ps.nsum
                            ? ps.sum[s]
                            : NULL; /* tasks, cost, commits, bytes, the first (largest) task's */
      double        big = u && u[0] > 0 ? factor * (u[4] - u[5]) + u[5] : 0, c;
      c = u ? PlanWall(factor * (u[1] - u[2]), u[2], big, workers, r0) / NNL_COST_RATE : 0;
      if (c > maxshard) { /* the slowest shard, and whether its time is its rank 0's commits
                             (PlanWall gave them back) */
        maxshard = c;
        bound    = u[2] / NNL_COST_RATE >= c ? PETSC_TRUE : PETSC_FALSE;
      }
      if (s < 1000)
        ierr = PetscPrintf(comm,
                           "shard index=%" PetscInt_FMT
                           " tasks=%.0f wall_seconds=%.4g ranks=%" PetscInt_FMT " store_mb=%.4g\n",
                           s, u ? u[0] : 0.0, c, ranks,
                           ((u ? u[3] : 0) + NNL_STORE_EMPTY_BYTES) / 1048576.0);
    }
    PetscCall(PetscFree(ps.sum));
    PetscCall(ierr);
  }
  PetscCall(PetscPrintf(
    comm, "plan predicted_wall_seconds=%.4g (slowest shard at %" PetscInt_FMT " ranks)\n", maxshard,
    ranks));
  { /* the same in words, and a store the output's file system cannot hold (it would end the run
       with a full disk) */
    char   words[2][32], dir[PETSC_MAX_PATH_LEN];
    double store      = (bytes + job->shard_count * NNL_STORE_EMPTY_BYTES) / job->shard_count,
           free_bytes = -1;
    struct statvfs fs;
    int            rank;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    PetscCall(PetscPrintf(comm,
                          "plan in_words: %s of compute; the slowest shard %s at %" PetscInt_FMT
                          " ranks; %.3g MB of store a shard\n",
                          Duration(core, words[0], sizeof(words[0])),
                          Duration(maxshard, words[1], sizeof(words[1])), ranks,
                          store / 1048576.0));
    if (bound) /* more ranks cannot shorten it: the commits are rank 0's alone, a shard's rank 0
                  each */
      PetscCall(PetscPrintf(comm, "plan note: the slowest shard's time is its rank 0 committing "
                                  "every result (commit_core_seconds): more "
                                  "ranks would not shorten it; more shards would (-shard i/k, "
                                  "jobs/slurm/submit --array), each with a rank "
                                  "0 and a store of its own\n"));
    PetscCall(PetscStrncpy(dir, job->output, sizeof(dir)));
    while (rank == 0 && dir[0]) { /* the output, or its nearest existing parent */
      char *slash;
      if (statvfs(dir, &fs) == 0) {
        free_bytes = (double)fs.f_bavail * (double)fs.f_frsize;
        break;
      }
      slash = strrchr(dir, '/');
      if (!slash)
        PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
      else if (slash == dir)
        dir[1] = 0;
      else
        *slash = 0;
    }
    if (rank == 0 && free_bytes >= 0 && store > free_bytes)
      fprintf(stderr,
              "nnlimits: warning: a shard's store would take %.3g MB, more than the %.3g MB free "
              "on the file system of '%s'\n",
              store / 1048576.0, free_bytes / 1048576.0, dir);
  }
  if (stored > 0) { /* the same for a run into -output now: its shard less what is stored */
    const double lcore = (factor * (left[1] - left[2]) + left[2]) / NNL_COST_RATE,
                 lwall = PlanWall(factor * (left[1] - left[2]), left[2], left[3], workers, r0) /
                         NNL_COST_RATE;
    char words[2][32];
    PetscCall(PetscPrintf(
      comm,
      "plan left tasks=%.0f core_seconds=%.4g wall_seconds=%.4g ranks=%" PetscInt_FMT
      " (shard %" PetscInt_FMT "/%" PetscInt_FMT " less the %" PetscInt_FMT " points %s holds)\n",
      left[0], lcore, lwall, ranks, job->shard_index, job->shard_count, stored, job->output));
    PetscCall(PetscPrintf(comm,
                          "plan in_words: a run into %s now computes the %.0f tasks left: %s of "
                          "compute, %s at %" PetscInt_FMT " ranks\n",
                          job->output, left[0], Duration(lcore, words[0], sizeof(words[0])),
                          Duration(lwall, words[1], sizeof(words[1])), ranks));
  }
  { /* a run or merge writing -output now: a run into it would be refused (plan said what it would
       compute) */
    int rank, pid = 0;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0) pid = NNLStoreWriter(job->output);
    if (pid)
      PetscCall(PetscPrintf(PETSC_COMM_SELF,
                            "plan note: %s is being written now by another nnlimits process (pid "
                            "%d, on the node that holds "
                            "its lock): a run into it would be refused until that one ends; what "
                            "is left is as of now\n",
                            job->output, pid));
  }
  PetscCall(PetscFree2(cellbytes, cellcommit));
  PetscCall(NNLGridDestroy(&grid));
  PetscCall(NNLJobDestroy(&job));
  PetscFunctionReturn(0);
}

static PetscErrorCode CommandStatus(MPI_Comm comm, const Args *args)
{
  PetscFunctionBegin;
  PetscCheck(args->npos >= 1, comm, PETSC_ERR_USER_INPUT,
             "status: which run directory? usage: nnlimits status DIR...");
  PetscCall(NNLOptionsCheckUnused(comm, "status"));
  PetscCall(NNLStoreStatusMany(args->npos, (const char *const *)args->pos, stdout));
  PetscFunctionReturn(0);
}

static PetscErrorCode CommandMerge(MPI_Comm comm, const Args *args)
{
  char      out[PETSC_MAX_PATH_LEN] = "";
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-output", out, sizeof(out), &set));
  PetscCall(NNLOptionsCheckLength("-output", sizeof(out)));
  PetscCheck(set && out[0], comm, PETSC_ERR_USER_INPUT,
             "merge: -output DIR is required: nnlimits merge DIR... -output DIR");
  PetscCall(NNLOptionsCheckUnused(comm, "merge"));
  PetscCall(NNLStoreMerge(args->npos, (const char *const *)args->pos, out));
  PetscCall(NNLStoreStatusMany(1, (const char *const[]){out}, stdout));
  PetscFunctionReturn(0);
}

/* export reads its run directory only: refuse an -o that names one of the store's own files
   (nnlimits.sqlite, its -wal, -shm or journal, the lock), which the export would have replaced with
   CSV. */
static PetscErrorCode ExportTargetCheck(MPI_Comm comm, const char dir[], const char file[])
{
  char        fdir[PETSC_MAX_PATH_LEN];
  const char *slash = strrchr(file, '/'), *base = slash ? slash + 1 : file;

  PetscFunctionBegin;
  if (!file[0] || strncmp(base, "nnlimits.", 9)) PetscFunctionReturn(0);
  snprintf(fdir, sizeof(fdir), "%.*s", slash ? (int)(slash - file) + 1 : 1, slash ? file : ".");
  PetscCheck(!NNLStoreSamePath(fdir, dir), comm, PETSC_ERR_USER_INPUT,
             "-o: '%s' is one of the run directory's own files: write the CSV elsewhere", file);
  PetscFunctionReturn(0);
}

static PetscErrorCode CommandExport(MPI_Comm comm, const Args *args)
{
  char      table[64] = "gram", file[PETSC_MAX_PATH_LEN] = "", tmp[PETSC_MAX_PATH_LEN + 16];
  NNLStore  st    = NULL;
  FILE     *out   = stdout;
  int       aside = 0, ok, err;
  PetscBool oset;

  PetscFunctionBegin;
  PetscCheck(args->npos != 2 || !NNLStoreIsTable(args->pos[1]), comm, PETSC_ERR_USER_INPUT,
             "export: give one run directory, "
             "and the table as an option: nnlimits export %s -table %s",
             args->pos[0], args->pos[1]);
  PetscCheck(args->npos == 1, comm, PETSC_ERR_USER_INPUT,
             "export: give one run directory: nnlimits export DIR [-table T] [-o FILE]");
  PetscCall(PetscOptionsGetString(NULL, NULL, "-table", table, sizeof(table), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-o", file, sizeof(file), &oset));
  /* -o with no name wrote the CSV to the terminal, as if -o were not there */
  PetscCheck(!oset || file[0], comm, PETSC_ERR_USER_INPUT,
             "-o: give a file name (or - for standard output)");
  PetscCall(NNLOptionsCheckLength("-table", sizeof(table)));
  PetscCall(NNLOptionsCheckLength("-o", sizeof(file)));
  PetscCall(NNLOptionsCheckUnused(comm, "export"));
  if (!strcmp(file, "-")) file[0] = 0; /* -o -: standard output, as without -o */
  PetscCall(ExportTargetCheck(comm, args->pos[0], file));
  PetscCall(NNLStoreOpenRead(args->pos[0], &st));
  if (file[0]) { /* a file: write aside, then rename, so a reader never sees half a file; a device
                    or a pipe: into it */
    struct stat sb;
    aside = stat(file, &sb) || S_ISREG(sb.st_mode);
    snprintf(tmp, sizeof(tmp), "%s.partial", file);
    out = fopen(aside ? tmp : file, "w");
    PetscCheck(out, comm, PETSC_ERR_USER_INPUT, "-o: cannot write '%s' (%s)", file,
               strerror(errno)); /* not its .partial */
  }
  PetscCall(NNLStoreExport(st, table, out));
  PetscCall(NNLStoreExportNote(st, args->pos[0],
                               stderr)); /* the rows were exported all the same: a note, exit 0 */
  /* every write error, a full disk's too, is one line and exit code 2, and no half file is left
   * under FILE's name */
  ok  = !ferror(out) && fflush(out) == 0;
  err = errno;
  if (file[0]) {
    ok = (fclose(out) == 0) && ok;
    if (!ok) err = errno;
    if (aside && ok && rename(tmp, file)) ok = 0, err = errno;
    if (aside && !ok) (void)remove(tmp);
  }
  PetscCheck(ok, comm, PETSC_ERR_USER_INPUT, "export: writing %s%s%s failed (%s)",
             file[0] ? "'" : "", file[0] ? file : "stdout", file[0] ? "'" : "", strerror(err));
  PetscCall(NNLStoreClose(&st));
  PetscFunctionReturn(0);
}

/* The error for words[stray], a word after the one value of option words[opt] (opt 0: none), which
   PETSc would drop
   ("-grid_width 16 32" ran width 16 alone): what says where it came from. */
static PetscErrorCode StrayWord(MPI_Comm comm, const char what[], char **words, int stray, int opt,
                                const char hint[])
{
  PetscFunctionBegin;
  SETERRQ(comm, PETSC_ERR_USER_INPUT,
          "%s '%s'%s%s%s%s: an option takes one word (a list is one word, comma-separated: "
          "-grid_width 32,64)%s",
          what, words[stray], opt ? " after " : "", opt ? words[opt] : "",
          opt && opt + 1 < stray ? " " : "", opt && opt + 1 < stray ? words[opt + 1] : "", hint);
}

/* PETSC_OPTIONS as the command line: a word after an option's one value is an error. */
static PetscErrorCode CheckPetscOptionsEnv(MPI_Comm comm)
{
  const char *env = getenv("PETSC_OPTIONS");
  char buf[4096], *words[512] = {"PETSC_OPTIONS"}; /* words[0] as argv's: its options start at 1 */
  int  n = 1, opt, stray;

  PetscFunctionBegin;
  if (!env) PetscFunctionReturn(0);
  PetscCall(PetscStrncpy(buf, env, sizeof(buf)));
  for (char *w = strtok(buf, " \t\n"); w && n < 512; w = strtok(NULL, " \t\n")) words[n++] = w;
  stray = NNLOptionsStrayWord(n, words, 1, &opt);
  if (stray) PetscCall(StrayWord(comm, "PETSC_OPTIONS: unexpected word", words, stray, opt, ""));
  PetscFunctionReturn(0);
}

static PetscErrorCode Dispatch(const char *cmd, const Args *args, int *code)
{
  MPI_Comm comm = PETSC_COMM_WORLD;

  PetscFunctionBegin;
  *code = NNL_EXIT_OK;
  if (stray_word)
    PetscCall(StrayWord(comm, "unexpected argument", raw_argv, stray_word, stray_opt,
                        CommandHelp(cmd) ? "; run directories come right after the command" : ""));
  PetscCall(CheckPetscOptionsEnv(comm));
  PetscCheck(!help.bad, comm, PETSC_ERR_USER_INPUT,
             "-help %s: the one word -help takes is full (PETSc's solvers' every option too)",
             help.bad);
  if (!cmd || !strcmp(cmd, "help")) {
    PetscCall(PetscPrintf(comm, "%s", usage));
    if (!cmd && !command_help_asked)
      *code = NNL_EXIT_INPUT; /* no command is a usage error; `nnlimits -help` is not */
  } else if (!strcmp(cmd, "run") || !strcmp(cmd, "plan")) {
    /* a stray word (a job file without -options_file, a value whose option lost its dash) must not
     * be ignored */
    PetscCheck(args->npos == 0, comm, PETSC_ERR_USER_INPUT,
               "%s: unexpected argument '%s' (options start with '-'; a job file is "
               "given as -options_file FILE)",
               cmd, args->pos[0]);
    if (!strcmp(cmd, "run"))
      PetscCall(CommandRun(comm, code));
    else
      PetscCall(CommandPlan(comm));
    if (help.vfprintf && !help.silent && help.dropped)
      PetscCall(HelpOut("(%d more options of PETSc's solvers, their monitors and viewers: "
                        "'nnlimits %s -help full' lists them)\n",
                        help.dropped, cmd));
    if (help.vfprintf && !help.silent)
      PetscCall(HelpOut("PETSc's own options (profiling, debugging, memory checks: -log_view, "
                        "-malloc_debug, -on_error_attach_debugger, "
                        "...): https://petsc.org/release/manualpages/Sys/PetscInitialize/\n"));
  } else {
    int rank;
    PetscCheck(CommandHelp(cmd), comm, PETSC_ERR_USER_INPUT,
               "unknown command '%s' (allowed: run, plan, status, export, merge)", cmd);
    /* they read stores on one rank: under mpiexec or srun, rank 0 does it and the others end
     * quietly */
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank > 0) PetscFunctionReturn(0);
    comm = PETSC_COMM_SELF;
    if (command_help_asked) {
      PetscCall(PetscPrintf(comm, "%s", CommandHelp(cmd)));
      PetscFunctionReturn(0);
    }
    if (!strcmp(cmd, "status"))
      PetscCall(CommandStatus(comm, args));
    else if (!strcmp(cmd, "merge"))
      PetscCall(CommandMerge(comm, args));
    else
      PetscCall(CommandExport(comm, args));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  const char    *cmd  = (argc > 1 && argv[1][0] != '-') ? argv[1] : NULL;
  Args           args = {0, argv + 2};
  int            code = NNL_EXIT_OK, pargc, installed = 0, version_only = 0;
  char         **pargv = malloc(sizeof(char *) * (size_t)(argc + 2)),
       **files         = malloc(sizeof(char *) * (size_t)(argc + 1));

  /* run: a stop signal from the first line on exits 3 before the sweep begins, as in it (sched.h).
     Library constructors have started threads by now (OpenBLAS's pool), with the signals unblocked:
     blocking them here would not keep a signal off those, and with the default action one killed
     the process (exit 138 for SIGUSR1, which Slurm does not requeue; a `scancel --signal=USR1
     --batch` of an array hits tasks that are just starting). PETSc is told -no_signal_handler
     below: its handler would replace this one for SIGTERM and SIGUSR1 and abort the job. */
  if (cmd && !strcmp(cmd, "run")) NNLSchedCatchSignals();
  while (cmd && 2 + args.npos < argc && argv[2 + args.npos][0] != '-') args.npos++;
  raw_argv   = argv;
  stray_word = NNLOptionsStrayWord(argc, argv, cmd ? 2 + args.npos : 1, &stray_opt);
  /* Launched as a rank (by mpiexec, or srun with PMI): once its launcher is gone, so is its job. */
  const int launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
  /* A singleton (no launcher) needs no daemon: Open MPI would fork and exec an orted for it, to
     serve MPI_Comm_spawn, which nnlimits never calls. Without it every command without mpiexec
     starts in 0.13 s instead of 0.22 s here, and there is one process less to hang or be left
     behind. A value the user set is kept. */
  if (!launched) setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
  const char *isolated = launched ? NULL : getenv("OMPI_MCA_ess_singleton_isolated");
  if (isolated && !strcmp(isolated, "1") && !getenv("OMPI_MCA_orte_jobfam_session_dir")) {
    /* An isolated singleton's name is the same in every process (job family 0): concurrent ones
       shared a session directory, and one's clean-up at exit removed it under another's start ("A
       call to mkdir was unable to create the desired directory", exit 1, in a parallel test of 4
       singletons at a time). Each gets its own, which Open MPI removes at exit as before, beside
       the usual ones: TMPDIR (else /tmp)/ompi.HOST.UID/nnlimits.PID. */
    char        dir[PETSC_MAX_PATH_LEN], host[256] = "localhost";
    const char *tmp = getenv("TMPDIR");
    if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1]   = 0; /* gethostname need not terminate a name it cut */
    host[strcspn(host, ".")] = 0;
    snprintf(dir, sizeof(dir), "%s/ompi.%s.%u/nnlimits.%ld", tmp && *tmp ? tmp : "/tmp", host,
             (unsigned)getuid(), (long)getpid());
    setenv("OMPI_MCA_orte_jobfam_session_dir", dir, 1);
  }
  /* MPI first, so that a failure inside PetscInitialize (a bad PETSC_OPTIONS) is collective and one
   * line. */
  MPI_Init(&argc, &argv);
  /* kill_anywhere saw it twice in hundreds of kills: a rank spinning 30 s after its peer's SIGKILL
   * and mpiexec's exit */
  if (launched) (void)NNLOrphanGuardStart(1);
  NNLSocketsNoDelay(); /* MPI_Finalize: 48 ms -> 6 ms (sockets.c) */
  pargc = NNLOptionsSplitArgs(argc, argv, pargv, files);
  if (cmd && !strcmp(cmd, "run"))
    pargv[pargc++] = (char *)"-no_signal_handler", pargv[pargc] = NULL;
  for (int i = 1; i < pargc; i++) /* -h and --help are -help, for every command */
    if (!strcmp(pargv[i], "-h") || !strcmp(pargv[i], "--help")) pargv[i] = (char *)"-help";
  {
    /* PetscInitialize would print its page of generic options (debuggers, malloc checks: 78 lines)
       before ours. So it does not see -help: status, export and merge print their own help
       (Dispatch), `nnlimits -help` the usage with exit 0 (exit 2 made mpiexec abort the job: a 2 s
       wait and a banner), and run and plan get -help back after it, for their options blocks, which
       then come first. */
    int k = 0;
    for (int i = 0; i < pargc; i++) {
      if (i > 0 && !strcmp(pargv[i], "-help")) {
        command_help_asked = 1;
        if (i + 1 < pargc && pargv[i + 1][0] != '-') { /* -help full */
          help.full = !strcmp(pargv[i + 1], "full");
          if (!help.full) help.bad = pargv[i + 1];
          i++;
        }
      } else
        pargv[k++] = pargv[i];
    }
    pargv[pargc = k] = NULL;
  }
  { /* -version: this build and its libraries in two lines, instead of PETSc's banner of nine (it is
       taken out) */
    int k = 0, asked = 0, rank = 0;
    for (int i = 0; i < pargc; i++) {
      if (i > 0 && (!strcmp(pargv[i], "-version") || !strcmp(pargv[i], "--version")))
        asked = 1;
      else
        pargv[k++] = pargv[i];
    }
    pargv[pargc = k] = NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (asked && rank == 0) {
      char libs[1024];
      NNLLibraryVersions(libs, sizeof(libs));
      printf("%s\nlibraries: %s\n", NNLVersion(), strchr(libs, ';') ? strchr(libs, ';') + 2 : libs);
      fflush(stdout);
    }
    version_only =
      asked && !cmd; /* `nnlimits -version`: the versions, then exit 0 (no usage, no exit 2) */
  }
  NNLErrorCaptureBegin();
  ierr = PetscInitialize(&pargc, &pargv, NULL, usage);
  {
    const char *msg = NNLErrorCaptureEnd();
    int         bad = ierr ? 1 : 0, anybad = 0, rank = 0;
    MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (anybad) {
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      if (rank == 0)
        fprintf(stderr, "nnlimits: error: options: %s\n", msg[0] ? msg : "PETSc could not start");
      if (!ierr) PetscFinalize();
      MPI_Finalize();
      return NNL_EXIT_INPUT;
    }
  }
  {
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* help once: the limits' solvers live on PETSC_COMM_SELF, and every rank printed their options,
       interleaved; HelpVFPrintf prints rank 0's */
    if (command_help_asked && cmd && !CommandHelp(cmd)) {
      (void)PetscOptionsSetValue(NULL, "-help", NULL);
      help.vfprintf = PetscVFPrintf;
      help.silent   = rank > 0;
      PetscVFPrintf = HelpVFPrintf;
    }
  }
  /* `nnlimits export DIR | head` is normal use: a closed pipe ends the process quietly, not through
   * PETSc's handler. */
  signal(SIGPIPE, SIG_DFL);
  /* A file size limit (ulimit -f, a batch system's) then fails the store's write with EFBIG and one
     clear message, instead of killing the process with no word. */
  signal(SIGXFSZ, SIG_IGN);
  /* One rank per core: BLAS threads would oversubscribe and could reorder sums across runs. */
  openblas_set_num_threads(1);
  ierr      = NNLErrorInstall();
  installed = !ierr;
  if (!ierr) ierr = NNLOptionsInsertFiles(PETSC_COMM_WORLD, files, argc, argv);
  if (!ierr && !version_only) ierr = Dispatch(cmd, &args, &code);
  if (ierr) {
    if (!NNLErrorIsInput(ierr)) MPI_Abort(PETSC_COMM_WORLD, 1);
    code = NNL_EXIT_INPUT;
  }
  if (installed)
    PetscPopErrorHandler(); /* -malloc_dump lists what is still allocated: leave nothing */
  if (PetscFinalize() && code == NNL_EXIT_OK)
    code = 1; /* -log_view's file, say, could not be written: not a success */
  MPI_Finalize();
  free(pargv);
  free(files);
  return code;
}
