/* Options that do nothing: never read (an error, with a "did you mean"), cut short, or read but
 * of no use to this job (a warning). */
#include <string.h>
#include "jobimpl.h"
#include "options.h"
#include "nnlimits/shaped.h"

/* What an option needs to have an effect (UnusedOptions' table) */
enum {
  MLP_OR_CONTROLLED = 1 << NNL_FAMILY_MLP | 1 << NNL_FAMILY_CONTROLLED,
  ATTENTION         = NNL_ATTENTION_FAMILIES,
  SDE               = 1 << NNL_FAMILY_COUNT,
  FP                = SDE << 1,
  SRELU             = FP << 1,
  SSMOOTH           = SRELU << 1
};

/* Whether the job has what an option needs (applies, as in UnusedOptions' table) */
static PetscBool OptionUsed(const NNLJob *j, int applies)
{
  PetscBool used;

  if (applies < SDE) {
    used = PETSC_FALSE;
    for (PetscInt f = 0; f < NNL_FAMILY_COUNT; f++)
      if (applies & (1 << f) && NNLJobHasFamily(j, (NNLFamily)f)) used = PETSC_TRUE;
  } else if (applies >= SRELU) {
    used = PETSC_FALSE;
    for (PetscInt a = 0; a < j->nact && NNLJobHasAny(j, NNLFamilyIsShapedMLP); a++)
      if (NNLShapedIsRelu(&j->act[a]) == (applies == SRELU)) used = PETSC_TRUE;
  } else
    used = j->sde_paths > 0 && (applies == SDE || NNLJobHasFamily(j, NNL_FAMILY_SHAPED))
             ? PETSC_TRUE
             : PETSC_FALSE;
  return used;
}

/* A warning for each option of some families or tasks given to a job without them */
static PetscErrorCode UnusedOptions(MPI_Comm comm, const NNLJob *j)
{
  const struct {
    const char *name, *needs;
    int applies; /* families (bits 1 << NNLFamily), or SDE: any SDE task, FP: a shaped MLP's SDE
                    task, SRELU and SSMOOTH: a shaped MLP of relu, or of a smooth activation */
  } opts[] = {
    {"-sigma_w2", "-family mlp or controlled_resnet", MLP_OR_CONTROLLED},
    {"-sigma_b2", "-family mlp or controlled_resnet", MLP_OR_CONTROLLED},
    {"-branch_alpha", "-family resnet", 1 << NNL_FAMILY_RESNET},
    {"-shape_c_plus", "-family shaped_mlp or shaped_transformer with -grid_activation relu", SRELU},
    {"-shape_c_minus", "-family shaped_mlp or shaped_transformer with -grid_activation relu",
     SRELU},
    {"-shape_a",
     "-family shaped_mlp or shaped_transformer with a smooth activation, tanh say; relu is shaped "
     "by -shape_c_plus, -shape_c_minus",
     SSMOOTH},
    {"-sde_dt", "-sde_paths > 0", SDE},
    {"-fp_cells", "-sde_paths > 0 and -family shaped_mlp", FP},
    {"-limit_goursat_cells", "-family controlled_resnet", 1 << NNL_FAMILY_CONTROLLED},
    {"-attn_tau0",
     "-family shaped_attention, softmax_attention, shaped_transformer or softmax_transformer",
     ATTENTION},
    {"-attn_gamma",
     "-family shaped_attention, softmax_attention, shaped_transformer or softmax_transformer",
     ATTENTION},
    {"-attn_key_width",
     "-family shaped_attention, softmax_attention, shaped_transformer or softmax_transformer",
     ATTENTION},
  };

  PetscFunctionBegin;
  for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
    PetscBool set;
    PetscCall(PetscOptionsHasName(NULL, NULL, opts[i].name, &set));
    if (!set) continue;
    if (!OptionUsed(j, opts[i].applies))
      PetscCall(PetscFPrintf(comm, stderr,
                             "nnlimits: warning: %s has no effect in this job (it needs %s)\n",
                             opts[i].name, opts[i].needs));
  }
  PetscFunctionReturn(0);
}

/* A warning naming the MLP's activations for which -sigma_w2 auto is 1: auto is 1 where it knows no
   critical value, say so */
static PetscErrorCode AutoSigmaW2NotCritical(MPI_Comm comm, const NNLJob *j)
{
  PetscBool auto_sw2 = PETSC_FALSE;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < j->nset[NNL_SETTING_SIGMA_W2]; k++)
    auto_sw2 = auto_sw2 || j->set_list[NNL_SETTING_SIGMA_W2][k] < 0;
  if (auto_sw2 && NNLJobHasFamily(j, NNL_FAMILY_MLP)) {
    char   names[256] = "";
    size_t len        = 0;
    for (PetscInt b = 0; b < j->nact_base && len < sizeof(names); b++)
      if (!NNLActivationIsHomogeneous(&j->act[b * j->nvar]) &&
          !(NNLActivationCriticalSigmaW2(&j->act[b * j->nvar]) > 0)) {
        char name[256];
        NNLActivationDisplayBase(j->act[b * j->nvar].canon, name, sizeof(name));
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", name);
      }
    if (len)
      PetscCall(PetscFPrintf(
        comm, stderr,
        "nnlimits: warning: -sigma_w2 auto is 1, not critical, for the MLP of %s (no critical "
        "value in closed form: its kernel drifts with depth); give -sigma_w2 to choose one\n",
        names));
  }
  PetscFunctionReturn(0);
}

/* Options given that this job does not use: a warning each on stderr (rank 0), the run goes on. A
   stray option is usually a misunderstanding: -sigma_w2 for a ResNet (its branches are N(0, 1/n),
   scaled by L^-α), -shape_c_plus without -family shaped_mlp, -sde_dt with no SDE tasks. */
PetscErrorCode NNLJobWarnUnused(MPI_Comm comm, const NNLJob *j)
{
  PetscFunctionBegin;
  PetscCall(UnusedOptions(comm, j));
  PetscCall(AutoSigmaW2NotCritical(comm, j));
  if (j->inputs == 1) { /* one input has no pair to correlate: -inputs 1 -input_correlation 0.3 ran,
                           and said nothing */
    PetscBool set;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-input_correlation", &set));
    if (set)
      PetscCall(PetscFPrintf(comm, stderr,
                             "nnlimits: warning: -input_correlation has no effect in this job (it "
                             "needs -inputs 2 or more)\n"));
  }
  if (j->sde_paths > 0) { /* SDE tasks exist for some families only: -family mlp -sde_paths 10 ran
                             none, and said nothing */
    PetscBool any = PETSC_FALSE;
    for (PetscInt f = 0; f < j->nfamily; f++) any = any || NNLJobHasSDE(j, j->family[f], -1);
    if (!any)
      PetscCall(
        PetscFPrintf(comm, stderr,
                     "nnlimits: warning: -sde_paths has no effect in this job (SDE tasks are for "
                     "-family shaped_mlp, "
                     "shaped_attention, shaped_transformer, and resnet with -branch_alpha 0.5)\n"));
  }
  PetscFunctionReturn(0);
}

/* Options that are ours (for "did you mean"), with the commands that read them, and prefixes that
 * PETSc itself reads. Every option -help lists is here (tests/cli.sh misspells each). */
static const struct {
  const char *name, *commands; /* commands: space-separated, each padded by spaces */
} KnownOptions[]                         = {{"family", " run plan "},
                                            {"grid_width", " run plan "},
                                            {"grid_depth", " run plan "},
                                            {"grid_seed", " run plan "},
                                            {"grid_activation", " run plan "},
                                            {"inputs", " run plan "},
                                            {"input_dim", " run plan "},
                                            {"input_correlation", " run plan "},
                                            {"sigma_w2", " run plan "},
                                            {"sigma_b2", " run plan "},
                                            {"branch_alpha", " run plan "},
                                            {"sampler", " run plan "},
                                            {"record_layers", " run plan "},
                                            {"spectra_layers", " run plan "},
                                            {"spectra_rtol", " run plan "},
                                            {"spectra_team_size", " run plan "},
                                            {"spectra_team_min", " run plan "},
                                            {"run_seed", " run plan "},
                                            {"shard", " run plan "},
                                            {"output", " run plan merge "},
                                            {"mem_budget_mb", " run plan "},
                                            {"shape_c_plus", " run plan "},
                                            {"shape_c_minus", " run plan "},
                                            {"shape_a", " run plan "},
                                            {"attn_tau0", " run plan "},
                                            {"attn_gamma", " run plan "},
                                            {"attn_key_width", " run plan "},
                                            {"sde_paths", " run plan "},
                                            {"sde_dt", " run plan "},
                                            {"fp_cells", " run plan "},
                                            {"progress_interval", " run plan "},
                                            {"sched_rank0_computes", " run plan "},
                                            {"isa", " run plan "},
                                            {"stop_grace", " run plan "},
                                            {"limit_goursat_cells", " run plan "},
                                            /* the solvers' options run -help shows (PETSc's TS,
                                               under our prefixes) */
                                            {"limit_ts_type", " run plan "},
                                            {"limit_ts_rk_type", " run plan "},
                                            {"limit_ts_rtol", " run plan "},
                                            {"limit_ts_atol", " run plan "},
                                            {"limit_ts_dt", " run plan "},
                                            {"limit_ts_max_steps", " run plan "},
                                            {"limit_ts_exact_final_time", " run plan "},
                                            {"limit_ts_adapt_type", " run plan "},
                                            {"limit_ts_monitor", " run plan "},
                                            {"limit_fp_ts_type", " run plan "},
                                            {"limit_fp_ts_rtol", " run plan "},
                                            {"limit_fp_ts_atol", " run plan "},
                                            {"limit_fp_ts_dt", " run plan "},
                                            {"limit_fp_ts_max_steps", " run plan "},
                                            {"limit_fp_ts_exact_final_time", " run plan "},
                                            {"limit_fp_ts_adapt_type", " run plan "},
                                            {"limit_fp_ts_monitor", " run plan "},
                                            {"table", " export "},
                                            {"o", " export "},
                                            {"plan_ranks", " plan "},
                                            {"plan_calibrate", " plan "},
                                            {"plan_factor", " plan "},
                                            {"options_file", " run plan status export merge "},
                                            {"help", " run plan status export merge "},
                                            {NULL, NULL}};
static const char *const PetscPrefixes[] = {"help",
                                            "options_",
                                            "log_",
                                            "malloc",
                                            "info",
                                            "on_error_",
                                            "no_signal_handler",
                                            "fp_trap",
                                            "mpi_",
                                            "skip_petscrc",
                                            "check_pointer_intensity",
                                            "memory_view",
                                            "objects_dump",
                                            "error_output_",
                                            "debugger",
                                            "start_in_debugger",
                                            "stop_for_debugger",
                                            "checkstack",
                                            "use_gpu_aware_mpi",
                                            "saws",
                                            NULL};

/* PETSc's options under those prefixes that a user types: a name within two edits of one of them,
   but not one, is a misspelling (-log_veiw ran with no profile, -malloc_dbug with no checks); other
   names under the prefixes pass, as PETSc may read them late (at its finalize) or in a version we
   do not list. */
static const char *const PetscSystemOptions[] = {"help",
                                                 "log_view",
                                                 "log_view_memory",
                                                 "log_view_gpu_time",
                                                 "log_all",
                                                 "log_trace",
                                                 "log_exclude",
                                                 "log_sync",
                                                 "log_summary",
                                                 "malloc_debug",
                                                 "malloc_dump",
                                                 "malloc_view",
                                                 "malloc_test",
                                                 "malloc_coalesce",
                                                 "malloc_view_threshold",
                                                 "malloc_requested_size",
                                                 "info",
                                                 "info_exclude",
                                                 "options_left",
                                                 "options_view",
                                                 "options_monitor",
                                                 "on_error_abort",
                                                 "on_error_attach_debugger",
                                                 "memory_view",
                                                 "objects_dump",
                                                 "fp_trap",
                                                 "no_signal_handler",
                                                 "checkstack",
                                                 NULL};

static int Distance(const char *a, const char *b)
{
  int la = (int)strlen(a), lb = (int)strlen(b), row[128];

  if (la > 120 || lb > 120) return 1000;
  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0];
    row[0]   = i;
    for (int j = 1; j <= lb; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag   = up;
      row[j] = best;
    }
  }
  return row[lb];
}

static PetscBool ReadBy(int k, const char cmd[])
{
  char pad[32];

  snprintf(pad, sizeof(pad), " %s ", cmd);
  return strstr(KnownOptions[k].commands, pad) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode NNLOptionsCheckLength(const char opt[], size_t len)
{
  const char *v = NULL;
  PetscBool   set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsFindPair(NULL, NULL, opt, &v, &set));
  PetscCheck(!set || !v || strlen(v) < len, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: its value is %zu characters long, more than the %zu this option takes (for "
             "seeds, a range a-b is short)",
             opt, strlen(v), len - 1);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLOptionsCheckUnused(MPI_Comm comm, const char cmd[])
{
  PetscInt n;
  char   **names, **values;

  PetscFunctionBegin;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) {
    const char *best = NULL, *other = NULL;
    int         bestd = 4;
    PetscBool   petsc = PETSC_FALSE;
    for (int k = 0; PetscPrefixes[k]; k++)
      if (!strncmp(names[i], PetscPrefixes[k], strlen(PetscPrefixes[k]))) petsc = PETSC_TRUE;
    for (int k = 0; petsc && PetscSystemOptions[k]; k++) {
      int d = Distance(names[i], PetscSystemOptions[k]);
      if (d == 0) best = NULL, bestd = 0;
      if (bestd && d < 3 && d < bestd) {
        bestd = d;
        best  = PetscSystemOptions[k];
      }
    }
    if (petsc && !best) continue;
    for (int k = 0; !petsc && KnownOptions[k].name; k++) {
      int d = Distance(names[i], KnownOptions[k].name);
      if (!ReadBy(
            k, cmd)) { /* another command's option, given to this one (export's -o to run, say) */
        if (d == 0) other = KnownOptions[k].commands;
        continue;
      }
      if (d < bestd) {
        bestd = d;
        best  = KnownOptions[k].name;
      }
    }
    {
      char name[256], whose[64], at[PETSC_MAX_PATH_LEN + 32] = "", file[PETSC_MAX_PATH_LEN + 16];
      if (NNLOptionsWhere(names[i], file, sizeof(file))) snprintf(at, sizeof(at), " in %s", file);
      PetscCall(PetscStrncpy(name, names[i], sizeof(name)));
      PetscCall(PetscStrncpy(whose, other ? other + 1 : "", sizeof(whose)));
      whose[strcspn(whose, " ")] = 0; /* the first command that reads it */
      PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
      if (other)
        SETERRQ(comm, PETSC_ERR_USER_INPUT,
                "-%s%s is an option of 'nnlimits %s', not of 'nnlimits %s'%s%s%s; -help lists "
                "every option",
                name, at, whose, cmd, best ? " (did you mean -" : "", best ? best : "",
                best ? "?)" : "");
      if (best)
        SETERRQ(comm, PETSC_ERR_USER_INPUT,
                "unknown option -%s%s (did you mean -%s?); -help lists every option", name, at,
                best);
      SETERRQ(comm, PETSC_ERR_USER_INPUT, "unknown option -%s%s; -help lists every option", name,
              at);
    }
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscFunctionReturn(0);
}
