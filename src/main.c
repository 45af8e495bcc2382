/* nnlimits: the command line — its usage and help, and the dispatch to a command (commands.h). */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <cblas.h>
#include "nnlimits/sched.h"
#include "nnlimits/store.h"
#include "commands.h"
#include "error.h"
#include "options.h"
#include "nnlimits/limits.h"
#include "sockets.h"
#include "orphan.h"

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
  "'nnlimits run -help' lists every sweep option with its default, 'nnlimits COMMAND -help' a\n"
  "command's own; 'nnlimits -version' prints this build and its libraries.\n";

/* 'nnlimits status|export|merge -help': what the command does and its options; nothing is read or
 * written. */
static const char *const command_help[][2] = {
  {"status",
   "nnlimits status DIR...\n"
   "  Done / failed / pending points, the last run's state, the rate of the last run "
   "that computed points, and\n"
   "  the ETA, of each run directory (readable while a run writes it); a shard's as "
   "this build cuts its job\n"
   "  (one finished under another build's cut reads pending, and says so). Of a Slurm job "
   "array's OUTPUT/shard-<i>\n"
   "  or OUTPUT/all, also its merge job: status merge=queued|running|died|complete|"
   "failed (a failure's first error\n"
   "  line on stderr), as jobs/slurm's scripts record it. No options.\n"},
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
static int    raw_argc;

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
  {"-limit_", "the depth-limit covariance ODE (resnet, -branch_alpha 0.5)"},
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
    if (!strncmp(line, "  -limit_ts_type ", 17) && strstr(line, "(one of) ")) {
      char types[256]; /* PETSc lists all its types; the run refuses most (limits.c) */
      NNLLimitODETypes(types, sizeof(types));
      PetscCall(
        HelpOut("%.*s(one of) %s (TSSetType; PETSc's other types are refused; rk 5dp reads "
                "the layers off its interpolant, the others reach each layer from their last "
                "step before it)\n",
                (int)(strstr(line, "(one of) ") - line), line, types));
    } else
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

static PetscErrorCode Dispatch(const char *cmd, const NNLArgs *args, int *code)
{
  MPI_Comm comm = PETSC_COMM_WORLD;

  PetscFunctionBegin;
  *code = NNL_EXIT_OK;
  if (stray_word)
    PetscCall(StrayWord(comm, "unexpected argument", raw_argv, stray_word, stray_opt,
                        CommandHelp(cmd) ? "; run directories come right after the command" : ""));
  PetscCall(CheckPetscOptionsEnv(comm));
  {
    int again, first = NNLOptionsTwice(raw_argc, raw_argv, 1, &again);
    if (first) /* a job file may not set one twice (an error); here the last wins, as in PETSc */
      PetscCall(PetscFPrintf(comm, stderr,
                             "nnlimits: warning: %s is given twice on the command line: the later, "
                             "'%s', is taken\n",
                             raw_argv[first],
                             again + 1 < raw_argc && NNLOptionsIsValue(raw_argv[again + 1])
                               ? raw_argv[again + 1]
                               : raw_argv[again]));
  }
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
      PetscCall(NNLCommandRun(comm, code));
    else
      PetscCall(NNLCommandPlan(comm));
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
      PetscCall(NNLCommandStatus(comm, args));
    else if (!strcmp(cmd, "merge"))
      PetscCall(NNLCommandMerge(comm, args));
    else
      PetscCall(NNLCommandExport(comm, args));
  }
  PetscFunctionReturn(0);
}

/* run -help and plan -help: -help back for PETSc's options blocks, printed through HelpVFPrintf's
   filter, once: the limits' solvers live on PETSC_COMM_SELF, and every rank printed their options,
   interleaved; HelpVFPrintf prints rank 0's. */
static void HelpFilter(void)
{
  int rank;

  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  (void)PetscOptionsSetValue(NULL, "-help", NULL);
  help.vfprintf = PetscVFPrintf;
  help.silent   = rank > 0;
  PetscVFPrintf = HelpVFPrintf;
}

static int RemoveEntry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st, (void)flag, (void)ftw;
  (void)remove(path); /* one gone under us (its own clean-up) is no matter */
  return 0;
}

/* The session directories in dir (TMPDIR/ompi.HOST.UID) of isolated singletons that are gone
   without their clean-up: Open MPI removes a singleton's in MPI_Finalize, and a process ended
   otherwise (SIGKILL, the OOM killer, a second stop signal in the set-up; until this release any
   stop before the sweep) left its nnlimits.PID there for good, one more on every such end (the
   clean-clone CI found one a run interrupted in its set-up left). Each singleton removes those
   whose process no longer exists: one read of a directory that holds only this user's (one owned
   by another is left alone, and nftw follows no link). A PID taken again since keeps its directory
   until that process ends. */
static void RemoveStaleSessionDirs(const char *dir)
{
  DIR           *d;
  struct dirent *e;
  struct stat    st;
  char           path[PETSC_MAX_PATH_LEN];

  /* this user's own (Open MPI makes it so), not one another user put in a shared TMPDIR */
  if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || !(d = opendir(dir)))
    return;
  while ((e = readdir(d))) {
    char *end;
    long  pid;
    if (strncmp(e->d_name, "nnlimits.", 9)) continue;
    errno = 0;
    pid   = strtol(e->d_name + 9, &end, 10);
    if (errno || *end || end == e->d_name + 9 || pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to tell */
    if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) continue;
    (void)nftw(path, RemoveEntry, 8, FTW_DEPTH | FTW_PHYS);
  }
  closedir(d);
}

/* An isolated singleton's session directory of its own. */
static void SingletonSessionDir(void)
{
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
  snprintf(dir, sizeof(dir), "%s/ompi.%s.%u", tmp && *tmp ? tmp : "/tmp", host, (unsigned)getuid());
  RemoveStaleSessionDirs(dir);
  snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/nnlimits.%ld", (long)getpid());
  setenv("OMPI_MCA_orte_jobfam_session_dir", dir, 1);
}

/* -help taken out of the arguments (with its word, as in -help full), into help and
   command_help_asked; returns the new count. PetscInitialize would print its page of generic
   options (debuggers, malloc checks: 78 lines) before ours. So it does not see -help: status,
   export and merge print their own help (Dispatch), `nnlimits -help` the usage with exit 0 (exit 2
   made mpiexec abort the job: a 2 s wait and a banner), and run and plan get -help back after it,
   for their options blocks, which then come first. */
static int TakeHelp(int pargc, char **pargv)
{
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
  pargv[k] = NULL;
  return k;
}

/* -version: this build and its libraries in two lines, instead of PETSc's banner of nine (it is
   taken out of the arguments); returns whether that is all (`nnlimits -version`). */
static int TakeVersion(int *pargc, char **pargv, const char *cmd)
{
  int k = 0, asked = 0, rank = 0;
  for (int i = 0; i < *pargc; i++) {
    if (i > 0 && (!strcmp(pargv[i], "-version") || !strcmp(pargv[i], "--version")))
      asked = 1;
    else
      pargv[k++] = pargv[i];
  }
  pargv[ *pargc = k] = NULL;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (asked && rank == 0) {
    char libs[1024];
    NNLLibraryVersions(libs, sizeof(libs));
    printf("%s\nlibraries: %s\n", NNLVersion(), strchr(libs, ';') ? strchr(libs, ';') + 2 : libs);
    fflush(stdout);
  }
  return asked && !cmd; /* `nnlimits -version`: the versions, then exit 0 (no usage, no exit 2) */
}

/* PetscInitialize, its failure (a bad PETSC_OPTIONS) collective and one line; nonzero: it failed
   everywhere, and MPI is finalized. */
static int StartPetsc(int *pargc, char ***pargv)
{
  PetscErrorCode ierr;
  const char    *msg;
  int            bad, anybad = 0, rank = 0;

  NNLErrorCaptureBegin();
  ierr = PetscInitialize(pargc, pargv, NULL, usage);
  msg  = NNLErrorCaptureEnd();
  bad  = ierr ? 1 : 0;
  MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (!anybad) return 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    fprintf(stderr, "nnlimits: error: options: %s\n", msg[0] ? msg : "PETSc could not start");
  if (!ierr) PetscFinalize();
  MPI_Finalize();
  return 1;
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  const char    *cmd  = (argc > 1 && argv[1][0] != '-') ? argv[1] : NULL;
  NNLArgs        args = {0, argv + 2};
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
  raw_argc   = argc;
  stray_word = NNLOptionsStrayWord(argc, argv, cmd ? 2 + args.npos : 1, &stray_opt);
  /* Launched as a rank (by mpiexec, or srun with PMI): once its launcher is gone, so is its job. */
  const int launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
  /* Its guard starts before MPI_Init: kill_anywhere saw a rank spinning 30 s after its peer's
     SIGKILL and mpiexec's exit (twice in hundreds of kills), and, with the guard started after
     MPI_Init, a lone-threaded rank still there 30 s after mpiexec was killed during start-up. A
     launcher gone before this line leaves MPI_Init without its server: it ends the process at
     once ("Local abort before MPI_INIT completed"). */
  if (launched) (void)NNLOrphanGuardStart(1);
  /* A singleton (no launcher) needs no daemon: Open MPI would fork and exec an orted for it, to
     serve MPI_Comm_spawn, which nnlimits never calls. Without it every command without mpiexec
     starts in 0.13 s instead of 0.22 s here, and there is one process less to hang or be left
     behind. A value the user set is kept. */
  if (!launched) setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
  const char *isolated = launched ? NULL : getenv("OMPI_MCA_ess_singleton_isolated");
  if (isolated && !strcmp(isolated, "1") && !getenv("OMPI_MCA_orte_jobfam_session_dir"))
    SingletonSessionDir();
  /* srun started several tasks without wiring them for MPI (no PMIx or PMI in their environment:
     a site's MpiDefault=none; --mpi=pmi2 sets PMI_RANK and is not seen here): this Open MPI stops
     inside MPI_Init with twenty lines about rebuilding Slurm, and run's own one-line refusal of
     such a launch (CheckLaunch) never comes. Task 0 says first what to do. An MPI that manages
     anyway (one built with Slurm's PMI) goes on: the note says "if". */
  if (cmd && !strcmp(cmd, "run") && !launched && getenv("SLURM_STEP_ID") &&
      getenv("SLURM_STEP_NUM_TASKS") && atol(getenv("SLURM_STEP_NUM_TASKS")) > 1 &&
      getenv("SLURM_PROCID") && !strcmp(getenv("SLURM_PROCID"), "0"))
    fprintf(stderr,
            "nnlimits: note: srun started %s tasks without PMIx (srun --mpi=%s): if MPI stops "
            "below, launch with srun --mpi=pmix ('srun --mpi=list' shows this Slurm's), or with "
            "mpirun inside the allocation\n",
            getenv("SLURM_STEP_NUM_TASKS"),
            getenv("SLURM_MPI_TYPE") ? getenv("SLURM_MPI_TYPE") : "none");
  /* MPI first, so that a failure inside PetscInitialize (a bad PETSC_OPTIONS) is collective and one
   * line. */
  MPI_Init(&argc, &argv);
  NNLSocketsNoDelay(); /* MPI_Finalize: 48 ms -> 6 ms (sockets.c) */
  pargc = NNLOptionsSplitArgs(argc, argv, pargv, files);
  if (cmd && !strcmp(cmd, "run"))
    pargv[pargc++] = (char *)"-no_signal_handler", pargv[pargc] = NULL;
  for (int i = 1; i < pargc; i++) /* -h and --help are -help, for every command */
    if (!strcmp(pargv[i], "-h") || !strcmp(pargv[i], "--help")) pargv[i] = (char *)"-help";
  pargc        = TakeHelp(pargc, pargv);
  version_only = TakeVersion(&pargc, pargv, cmd);
  if (StartPetsc(&pargc, &pargv)) return NNL_EXIT_INPUT;
  if (command_help_asked && cmd && !CommandHelp(cmd)) HelpFilter();
  /* `nnlimits export DIR | head` is normal use: a closed pipe ends the process quietly, not through
     PETSc's handler. A run's stdout (its summary, a solver's monitor) is not its result: the run
     goes on when it closes (`nnlimits run -limit_ts_monitor | head` had ended it at once, read as
     died), and its writes there fail quietly. */
  signal(SIGPIPE, cmd && !strcmp(cmd, "run") ? SIG_IGN : SIG_DFL);
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
  if (code == NNL_EXIT_INPUT) NNLSchedLeaving(code);
  if (installed)
    PetscPopErrorHandler(); /* -malloc_dump lists what is still allocated: leave nothing */
  if (PetscFinalize() && code == NNL_EXIT_OK)
    code = 1; /* -log_view's file, say, could not be written: not a success */
  MPI_Finalize();
  free(pargv);
  free(files);
  return code;
}
