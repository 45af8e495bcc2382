/* The canonical job text (every option that changes results, in one spelling: the store's
 * fingerprint), and a stored text compared with this job's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "jobimpl.h"
#include "parse.h"
#include <petscts.h> /* the solvers' default types (limits.h, fokker_planck.h) */
#include "nnlimits/limits.h"
#include "nnlimits/fokker_planck.h"

/* Append fmt (two %s: key, val) to the text s of length len in a buffer of cap bytes, grown to
   what the formatted line needs (snprintf's own count: a format's literal characters are any in
   number; a fixed allowance for them cut the text at 1023 bytes, whose NUL then hid the lines
   after it, the sampler and the run seed among them, from the store's check). */
static PetscErrorCode Appendf(char **s, size_t *len, size_t *cap, const char *fmt, const char *key,
                              const char *val)
{
  int n = snprintf(NULL, 0, fmt, key, val);

  PetscFunctionBegin;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "job text: a line that cannot be formatted");
  if (*len + (size_t)n + 1 > *cap) {
    char *t;
    *cap = 2 * (*len + (size_t)n + 1);
    PetscCall(PetscMalloc1(*cap, &t));
    PetscCall(PetscArraycpy(t, *s, *len + 1));
    PetscCall(PetscFree(*s));
    *s = t;
  }
  PetscCheck(snprintf(*s + *len, *cap - *len, fmt, key, val) == n, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "job text: a line formatted to two lengths");
  *len += (size_t)n;
  PetscFunctionReturn(0);
}

/* The limits' solver options (-limit_ts_*, -limit_fp_ts_*, -limit_goursat_cells) change their
   values: they belong to the job, one line each, sorted, as given, but for those of a solver the
   job does not run and those at their default (SolverLineCounts). Monitors and viewers do not
   change values and may come and go between a run and its resume. */
static int CmpStr(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The solvers' defaults (limits.h, fokker_planck.h): an option given at its default is the job
   without it (a resume with -limit_ts_rtol 1e-12 written out was refused). Types and names compare
   without case, numbers by value. */
static const struct {
  const char *key, *value;
} SolverDefaults[] = {{"limit_ts_type", NNL_ODE_TS_TYPE},
                      {"limit_ts_rk_type", NNL_ODE_RK_TYPE},
                      {"limit_ts_rtol", PetscStringize(NNL_ODE_TOL)},
                      {"limit_ts_atol", PetscStringize(NNL_ODE_TOL)},
                      {"limit_ts_dt", PetscStringize(NNL_ODE_DT)},
                      {"limit_ts_init_time", "0"},
                      {"limit_ts_max_steps", PetscStringize(NNL_ODE_MAX_STEPS)},
                      {"limit_ts_exact_final_time", "matchstep"},
                      {"limit_fp_ts_type", NNL_FP_TS_TYPE},
                      {"limit_fp_ts_dt", PetscStringize(NNL_FP_DT)},
                      {"limit_fp_ts_init_time", "0"},
                      {"limit_fp_ts_max_steps", PetscStringize(NNL_FP_MAX_STEPS)},
                      {"limit_fp_ts_exact_final_time", "matchstep"},
                      {"limit_goursat_cells", PetscStringize(NNL_GOURSAT_CELLS)}};

/* Whether a "key=value" line of a solver option changes this job's values: the option must be one
   of a solver the job runs (the depth-limit ODE: resnet; Fokker-Planck: shaped_mlp with SDE tasks;
   the Goursat march: controlled_resnet), and not at its default. */
static PetscBool SolverLineCounts(const NNLJob *job, const char *line)
{
  const char *eq = strchr(line, '='), *v = eq ? eq + 1 : "";
  size_t      klen = eq ? (size_t)(eq - line) : strlen(line);

  if (!strncmp(line, "limit_fp_", 9)) {
    if (!NNLJobHasFamily(job, NNL_FAMILY_SHAPED) || job->sde_paths == 0) return PETSC_FALSE;
  } else if (!strncmp(line, "limit_goursat_", 14)) {
    if (!NNLJobHasFamily(job, NNL_FAMILY_CONTROLLED)) return PETSC_FALSE;
  } else if (!NNLJobHasFamily(job, NNL_FAMILY_RESNET))
    return PETSC_FALSE;
  for (size_t i = 0; i < sizeof(SolverDefaults) / sizeof(SolverDefaults[0]); i++) {
    char  *end = NULL, *dend = NULL;
    double x, d;
    if (strlen(SolverDefaults[i].key) != klen || strncmp(line, SolverDefaults[i].key, klen))
      continue;
    if (!strcasecmp(v, SolverDefaults[i].value)) return PETSC_FALSE;
    x = strtod(v, &end), d = strtod(SolverDefaults[i].value, &dend);
    return (*v && !*end && !*dend && x == d) ? PETSC_FALSE : PETSC_TRUE;
  }
  return PETSC_TRUE;
}

static PetscErrorCode LimitSolverOptions(const NNLJob *job, char **s, size_t *len, size_t *cap)
{
  char *all, *tok, *save = NULL, *lines[256];
  int   n = 0, last = -1; /* lines[last] is the kept key a following value belongs to */

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, &all));
  /* "-key value -flag -key2 value": a token not starting with '-' (or a negative number) is the
   * previous key's value */
  for (tok = strtok_r(all, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    PetscBool isval = (tok[0] != '-' || (tok[1] >= '0' && tok[1] <= '9') || tok[1] == '.')
                        ? PETSC_TRUE
                        : PETSC_FALSE;
    if (isval && last >= 0) {
      char *l;
      PetscCall(PetscMalloc1(strlen(lines[last]) + strlen(tok) + 2, &l));
      sprintf(l, "%s=%s", lines[last], tok);
      PetscCall(PetscFree(lines[last]));
      lines[last] = l;
    }
    last = -1;
    if (!isval && !strncmp(tok, "-limit_", 7) && !strstr(tok, "monitor") && !strstr(tok, "view")) {
      /* refused, not left out of the job's text: a rerun with others would pass the store's check
       */
      PetscCheck(n < 256, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "more than 256 -limit_* solver options: the job's text holds at most 256");
      PetscCall(PetscStrallocpy(tok + 1, &lines[n]));
      last = n++;
    }
  }
  PetscCall(PetscFree(all));
  qsort(lines, (size_t)n, sizeof(char *), CmpStr);
  for (int i = 0; i < n; i++) {
    if (SolverLineCounts(job, lines[i])) PetscCall(Appendf(s, len, cap, "%s%s\n", lines[i], ""));
    PetscCall(PetscFree(lines[i]));
  }
  PetscFunctionReturn(0);
}

/* The line "key=v1,v2,…" of setting k in a job's text: its list as given */
static PetscErrorCode AppendSetting(const NNLJob *job, NNLSetting k, char **s, size_t *len,
                                    size_t *cap)
{
  char num[40];

  PetscFunctionBegin;
  PetscCall(Appendf(s, len, cap, "%s=%s", NNLJobSettingKey(k), ""));
  for (PetscInt i = 0; i < job->nset[k]; i++) {
    NNLJobSettingValue(k, job->set_list[k][i], num, sizeof(num));
    PetscCall(Appendf(s, len, cap, "%s%s", i ? "," : "", num));
  }
  PetscCall(Appendf(s, len, cap, "%s%s", "\n", ""));
  PetscFunctionReturn(0);
}

/* The lines of the grid's axes: family, grid_width, grid_depth, grid_seed, grid_activation */
static PetscErrorCode AppendAxes(const NNLJob *job, char **s, size_t *len, size_t *cap)
{
  char *lst;
  struct {
    const char     *key;
    const PetscInt *v;
    PetscInt        n;
  } lists[] = {{"grid_width", job->width, job->nwidth},
               {"grid_depth", job->depth, job->ndepth},
               {"grid_seed", job->seed, job->nseed}};

  PetscFunctionBegin;
  PetscCall(Appendf(s, len, cap, "%s=%s", "family", NNLFamilies[job->family[0]]));
  for (PetscInt i = 1; i < job->nfamily; i++)
    PetscCall(Appendf(s, len, cap, "%s%s", ",", NNLFamilies[job->family[i]]));
  PetscCall(Appendf(s, len, cap, "%s%s", "\n", ""));
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    PetscCall(NNLFormatIntList(lists[i].v, lists[i].n, &lst));
    PetscCall(Appendf(s, len, cap, "%s=%s\n", lists[i].key, lst));
    PetscCall(PetscFree(lst));
  }
  for (PetscInt b = 0; b < job->nact_base;
       b++) { /* the activations as given, not the entries of their settings */
    char base[sizeof(job->act[0].canon)];
    NNLJobBaseCanon(job, b, base, sizeof(base));
    PetscCall(Appendf(s, len, cap, b ? "%s%s" : "%s=%s", b ? "," : "grid_activation", base));
  }
  PetscCall(Appendf(s, len, cap, "%s%s", "\n", ""));
  PetscFunctionReturn(0);
}

/* The lines of the inputs: inputs, input_dim, input_correlation */
static PetscErrorCode AppendInputs(const NNLJob *job, char **s, size_t *len, size_t *cap)
{
  char num[128];

  PetscFunctionBegin;
  snprintf(num, sizeof(num), "%" PetscInt_FMT, job->inputs);
  PetscCall(Appendf(s, len, cap, "%s=%s\n", "inputs", num));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, job->input_dim);
  PetscCall(Appendf(s, len, cap, "%s=%s\n", "input_dim", num));
  /* one value where every pair has it (every job's before the list), else the list */
  if (job->input_correlation == job->input_correlation) {
    snprintf(num, sizeof(num), "%.17g", (double)job->input_correlation);
    PetscCall(Appendf(s, len, cap, "%s=%s\n", "input_correlation", num));
  } else {
    PetscCall(Appendf(s, len, cap, "%s=%s", "input_correlation", ""));
    for (PetscInt k = 0; k < job->inputs * (job->inputs - 1) / 2; k++) {
      snprintf(num, sizeof(num), "%s%.17g", k ? "," : "", (double)job->input_corr[k]);
      PetscCall(Appendf(s, len, cap, "%s%s", num, ""));
    }
    PetscCall(Appendf(s, len, cap, "%s%s", "\n", ""));
  }
  PetscFunctionReturn(0);
}

/* The lines of the settings of every job (sigma_b2, branch_alpha, sigma_w2), and of -sigma_w2
   auto's critical values */
static PetscErrorCode AppendCommonSettings(const NNLJob *job, char **s, size_t *len, size_t *cap)
{
  char             num[128];
  const NNLSetting reals[]  = {NNL_SETTING_SIGMA_B2, NNL_SETTING_BRANCH_ALPHA,
                               NNL_SETTING_SIGMA_W2}; /* the lines of every job */
  PetscBool        auto_sw2 = PETSC_FALSE;

  PetscFunctionBegin;
  /* each list as given, one value as it always was (sigma_w2 auto as "auto"), sigma_w2 last */
  for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
    PetscCall(AppendSetting(job, reals[i], s, len, cap));
  for (PetscInt k = 0; k < job->nset[NNL_SETTING_SIGMA_W2]; k++)
    auto_sw2 = auto_sw2 || job->set_list[NNL_SETTING_SIGMA_W2][k] < 0;
  /* auto's value where it is not 1 (or the homogeneous rule's, unchanged since the first release)
     for an MLP: erf's was 1 until this was written, so a store of such a job made before is
     refused, not resumed with another σ_w² */
  for (PetscInt b = 0; b < job->nact_base && auto_sw2 && NNLJobHasFamily(job, NNL_FAMILY_MLP);
       b++) {
    const double c = NNLActivationCriticalSigmaW2(&job->act[b * job->nvar]);
    char         base[sizeof(job->act[0].canon)];
    if (c <= 0 || c == 1.0) continue;
    NNLJobBaseCanon(job, b, base, sizeof(base));
    snprintf(num, sizeof(num), "%.17g", c);
    PetscCall(Appendf(s, len, cap, "sigma_w2_auto_%s=%s\n", base, num));
  }
  PetscFunctionReturn(0);
}

/* The lines of the layers recorded and of their spectra: record_layers, spectra_layers,
   spectra_rtol */
static PetscErrorCode AppendLayers(const NNLJob *job, char **s, size_t *len, size_t *cap)
{
  char num[128];

  PetscFunctionBegin;
  if (job->record_mode == NNL_RECORD_LOG)
    snprintf(num, sizeof(num), "%" PetscInt_FMT, job->record_k);
  else
    snprintf(num, sizeof(num), "%s", job->record_mode == NNL_RECORD_ALL ? "all" : "last");
  PetscCall(Appendf(s, len, cap, "%s=%s\n", "record_layers", num));
  if (job->spectra_mode == NNL_RECORD_LOG)
    snprintf(num, sizeof(num), "%" PetscInt_FMT, job->spectra_k);
  else
    snprintf(num, sizeof(num), "%s",
             job->spectra_mode == NNL_RECORD_ALL    ? "all"
             : job->spectra_mode == NNL_RECORD_LAST ? "last"
                                                    : "none");
  PetscCall(Appendf(s, len, cap, "%s=%s\n", "spectra_layers", num));
  if (job->spectra_mode !=
      NNL_RECORD_NONE) { /* the threshold changes nothing when no spectra are computed */
    snprintf(num, sizeof(num), "%.17g", (double)job->spectra_rtol);
    PetscCall(Appendf(s, len, cap, "%s=%s\n", "spectra_rtol", num));
  }
  PetscFunctionReturn(0);
}

/* The lines of options that only some families or tasks use, each only where used: the shaping,
   the attention, the SDE tasks */
static PetscErrorCode AppendFamilyOptions(const NNLJob *job, char **s, size_t *len, size_t *cap)
{
  char num[128];

  PetscFunctionBegin;
  if (NNLJobHasAny(
        job,
        NNLFamilyIsShapedMLP)) { /* only when used: stores of earlier jobs keep their fingerprint */
    snprintf(num, sizeof(num), "%.17g,%.17g,%.17g", (double)job->shape_c_plus,
             (double)job->shape_c_minus, (double)job->shape_a);
    PetscCall(Appendf(s, len, cap, "%s=%s\n", "shape_c_plus,shape_c_minus,shape_a", num));
  }
  if (NNLJobHasAny(job, NNLFamilyIsAttention)) { /* only when used, as the shaping's */
    if (job->nset[NNL_SETTING_ATTN_TAU0] == 1 &&
        job->nset[NNL_SETTING_ATTN_GAMMA] == 1) { /* one line, as first written */
      snprintf(num, sizeof(num), "%.17g,%.17g,%" PetscInt_FMT, (double)job->attn_tau0,
               (double)job->attn_gamma, job->attn_key_width);
      PetscCall(Appendf(s, len, cap, "%s=%s\n", "attn_tau0,attn_gamma,attn_key_width", num));
    } else { /* a list swept: a line each, as the other settings' (NNLJobExtends reads them) */
      snprintf(num, sizeof(num), "%" PetscInt_FMT, job->attn_key_width);
      PetscCall(AppendSetting(job, NNL_SETTING_ATTN_TAU0, s, len, cap));
      PetscCall(AppendSetting(job, NNL_SETTING_ATTN_GAMMA, s, len, cap));
      PetscCall(Appendf(s, len, cap, "%s=%s\n", "attn_key_width", num));
    }
  }
  if (job->sde_paths > 0) {
    snprintf(num, sizeof(num), "%" PetscInt_FMT ",%.17g,%" PetscInt_FMT, job->sde_paths,
             (double)job->sde_dt, job->fp_cells);
    PetscCall(Appendf(s, len, cap, "%s=%s\n", "sde_paths,sde_dt,fp_cells", num));
  }
  PetscFunctionReturn(0);
}

/* The canonical text: every option that changes results, in a fixed order, values in one spelling.
 */
PetscErrorCode NNLJobMakeCanonical(NNLJob *job)
{
  size_t len = 0, cap = 1024;
  char  *s, num[128];

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(cap, &s));
  s[0] = 0;
  PetscCall(AppendAxes(job, &s, &len, &cap));
  PetscCall(AppendInputs(job, &s, &len, &cap));
  PetscCall(AppendCommonSettings(job, &s, &len, &cap));
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "sampler", NNLSamplerTypes[job->sampler]));
  PetscCall(AppendLayers(job, &s, &len, &cap));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, job->run_seed);
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "run_seed", num));
  PetscCall(AppendFamilyOptions(job, &s, &len, &cap));
  PetscCall(LimitSolverOptions(job, &s, &len, &cap));
  job->canonical = s;
  PetscFunctionReturn(0);
}

/* The values of axis key in a canonical text ("key=v1,v2,...\n"), as a copy of the value (caller
 * frees); NULL if absent. */
static PetscErrorCode CanonValue(const char canonical[], const char key[], char **value)
{
  size_t      k = strlen(key);
  const char *line;

  PetscFunctionBegin;
  *value = NULL;
  for (line = canonical; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, key, k) && line[k] == '=') {
      size_t n = strcspn(line + k + 1, "\n");
      PetscCall(PetscMalloc1(n + 1, value));
      memcpy(*value, line + k + 1, n);
      (*value)[n] = 0;
      break;
    }
  PetscFunctionReturn(0);
}

/* The words of a comma list (a canonical value: no spaces, no empty words); returns their count, at
 * most max. */
static PetscInt SplitCommas(char *v, char **w, PetscInt max)
{
  PetscInt n = 0;
  for (char *save = NULL, *t = strtok_r(v, ",", &save); t && n < max;
       t = strtok_r(NULL, ",", &save))
    w[n++] = t;
  return n;
}

/* Whether every word of the comma list v (modified) is one of names[0..n): then idx[i] is the index
   of its i-th word and *nidx their count (at most n). w: scratch for n + 1 words. */
static PetscBool NamesIn(char *v, const char *const names[], PetscInt n, char **w, PetscInt idx[],
                         PetscInt *nidx)
{
  PetscInt nw = SplitCommas(v, w, n + 1);

  if (nw > n) return PETSC_FALSE;
  for (*nidx = 0; *nidx < nw; (*nidx)++) {
    PetscInt j = 0;
    while (j < n && strcmp(names[j], w[*nidx])) j++;
    if (j == n) return PETSC_FALSE;
    idx[*nidx] = j;
  }
  return PETSC_TRUE;
}

PetscErrorCode NNLJobNormalizeStored(const NNLJob *job, const char stored[], char **out)
{
  const size_t lcap = strlen(stored) + 64; /* a stored line of any length (512 bytes cut a list) */
  size_t       len = 0, cap = lcap;
  char        *s, *depths   = NULL, *line;
  PetscInt    *d = NULL, nd = 0, maxd = 0;

  PetscFunctionBegin;
  PetscCall(CanonValue(stored, "grid_depth", &depths));
  if (depths) PetscCall(NNLParseIntList("grid_depth", depths, 1, &d, &nd));
  for (PetscInt i = 0; i < nd; i++) maxd = PetscMax(maxd, d[i]);
  PetscCall(PetscFree(d));
  PetscCall(PetscFree(depths));
  PetscCall(PetscMalloc1(cap, &s));
  PetscCall(PetscMalloc1(lcap, &line));
  s[0] = 0;
  for (const char *l = stored; *l; l += strcspn(l, "\n"), l += *l ? 1 : 0) {
    size_t   n = strcspn(l, "\n");
    PetscInt k;
    char     key[32], rest;
    memcpy(line, l, n);
    line[n] = 0;
    if (!strncmp(line, "limit_", 6) && !SolverLineCounts(job, line))
      continue; /* an option that changes nothing here */
    if (sscanf(line, "%31[a-z_]=%" PetscInt_FMT "%c", key, &k, &rest) == 2 &&
        (!strcmp(key, "record_layers") || !strcmp(key, "spectra_layers")) && (k >= maxd || k == 1))
      snprintf(line, lcap, "%s=%s", key,
               k >= maxd ? "all" : "last"); /* every layer, or the last alone, as read now */
    PetscCall(Appendf(&s, &len, &cap, "%s%s\n", line, ""));
  }
  PetscCall(PetscFree(line));
  *out = s;
  PetscFunctionReturn(0);
}

/* The axes a stored text's values are compared on as numbers, by their keys */
static const char *const AxisKeys[3] = {"grid_width", "grid_depth", "grid_seed"};

/* Setting k's values in a stored text (val, modified) as sub's where the setting is swept there and
   here (two or more values: the entries' names carry it), in sv[k] (allocated): PETSC_FALSE in *ok
   unless each is a number (or auto) and one of the job's values. */
static PetscErrorCode StoredSetting(const NNLJob *job, NNLSetting k, char *val, NNLJob *sub,
                                    PetscReal *sv[], PetscBool *ok)
{
  char    *p;
  PetscInt n = 1;

  PetscFunctionBegin;
  for (p = val; *p; p++) n += *p == ',';
  if (n >= 2 && job->nset[k] >= 2) {
    PetscCall(PetscMalloc1(n, &sv[k]));
    p = val;
    for (PetscInt i = 0; i < n && *ok; i++) {
      char *end;
      sv[k][i] = strncmp(p, "auto", 4) ? strtod(p, &end) : (end = p + 4, -1.0);
      *ok      = (*end == ',' || !*end) && end != p ? PETSC_TRUE : PETSC_FALSE;
      for (PetscInt j = 0, in = 0; *ok && !in; j++) { /* one of the job's values */
        if (j == job->nset[k])
          *ok = PETSC_FALSE;
        else
          in = job->set_list[k][j] == sv[k][i];
      }
      p = *end ? end + 1 : end;
    }
    sub->set_list[k] = sv[k];
    sub->nset[k]     = n;
  }
  PetscFunctionReturn(0);
}

/* The swept settings of a stored text as sub's (StoredSetting), and sub's number of settings:
   PETSC_FALSE in *ok if a value is not the job's or a line every job's text has is missing. */
static PetscErrorCode StoredSettings(const NNLJob *job, const char stored[], NNLJob *sub,
                                     PetscReal *sv[], PetscBool *ok)
{
  PetscFunctionBegin;
  for (int k = 0; k < NNL_SETTING_COUNT && *ok; k++) {
    char *val = NULL;
    PetscCall(CanonValue(stored, NNLJobSettingKey(k), &val));
    if (!val) { /* a text without the line: not this job, or (the attention's) one value each */
      *ok = NNLJobSettingIsAlways((NNLSetting)k) ? PETSC_FALSE : PETSC_TRUE;
      continue;
    }
    PetscCall(StoredSetting(job, (NNLSetting)k, val, sub, sv, ok));
    PetscCall(PetscFree(val));
  }
  sub->nvar = 1;
  for (int k = 0; k < NNL_SETTING_COUNT; k++) sub->nvar *= sub->nset[k];
  PetscFunctionReturn(0);
}

/* The stored families and activations (comma lists fam and act, modified) as sub's, each one of the
   job's by name: PETSC_FALSE in *ok if one is not. sub->family and sub->act have room for the
   job's. */
static PetscErrorCode StoredNames(const NNLJob *job, char *fam, char *act, NNLJob *sub,
                                  PetscBool *ok)
{
  const PetscInt max                     = job->nfamily + job->nact + 1;
  char         **w                       = NULL;
  const char   **names                   = NULL;
  PetscInt      *idx                     = NULL;
  char(*base)[sizeof(job->act[0].canon)] = NULL;

  PetscFunctionBegin;
  PetscCall(PetscMalloc4(max, &w, max, &names, max, &idx, job->nact_base, &base));
  for (PetscInt f = 0; f < job->nfamily; f++) names[f] = NNLFamilies[job->family[f]];
  *ok = NamesIn(fam, names, job->nfamily, w, idx, &sub->nfamily);
  for (PetscInt i = 0; *ok && i < sub->nfamily; i++) sub->family[i] = job->family[idx[i]];
  if (*ok) {
    /* by the activations as given; NNLJobMakeCanonical reads an entry of each (its activation) at
       the stride of sub's settings */
    for (PetscInt b = 0; b < job->nact_base; b++)
      NNLJobBaseCanon(job, b, base[b], sizeof(base[b])), names[b] = base[b];
    *ok = NamesIn(act, names, job->nact_base, w, idx, &sub->nact_base);
    for (PetscInt i = 0; *ok && i < sub->nact_base; i++)
      for (PetscInt v = 0; v < sub->nvar; v++)
        sub->act[i * sub->nvar + v] = job->act[idx[i] * job->nvar];
    sub->nact = sub->nact_base * sub->nvar;
  }
  PetscCall(PetscFree4(w, names, idx, base));
  PetscFunctionReturn(0);
}

/* The stored widths, depths and seeds (lists lst) into axis and naxis: PETSC_FALSE in *ok if a
   value is not one of the job's. */
static PetscErrorCode StoredAxes(const NNLJob *job, char *lst[3], PetscInt *axis[3],
                                 PetscInt naxis[3], PetscBool *ok)
{
  const PetscInt *have[3] = {job->width, job->depth, job->seed},
                 nhave[3] = {job->nwidth, job->ndepth, job->nseed};

  PetscFunctionBegin;
  for (int a = 0; a < 3 && *ok; a++) {
    PetscCall(NNLParseIntList(AxisKeys[a], lst[a], 0, &axis[a], &naxis[a]));
    for (PetscInt i = 0; i < naxis[a] && *ok; i++) {
      *ok = PETSC_FALSE;
      for (PetscInt j = 0; j < nhave[a] && !*ok; j++)
        *ok = axis[a][i] == have[a][j] ? PETSC_TRUE : PETSC_FALSE;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLJobExtends(const NNLJob *job, const char stored[], PetscBool *extends)
{
  NNLJob sub = *job; /* the job with the stored axes: its canonical text must be the stored one */
  char  *fam = NULL, *act = NULL, *lst[3] = {NULL, NULL, NULL};
  PetscInt *axis[3] = {NULL, NULL, NULL}, naxis[3] = {0, 0, 0};
  /* a swept setting (two or more values there and here: the entries' names carry it) may have
   * gained values too */
  PetscReal *sv[NNL_SETTING_COUNT] = {NULL};
  PetscBool  ok;

  PetscFunctionBegin;
  *extends      = PETSC_FALSE;
  sub.canonical = NULL;
  sub.family    = NULL;
  sub.act       = NULL;
  PetscCall(CanonValue(stored, "family", &fam));
  PetscCall(CanonValue(stored, "grid_activation", &act));
  for (int a = 0; a < 3; a++) PetscCall(CanonValue(stored, AxisKeys[a], &lst[a]));
  ok = fam && act && lst[0] && lst[1] && lst[2];
  PetscCall(StoredSettings(job, stored, &sub, sv, &ok));
  PetscCall(PetscMalloc2(job->nfamily, &sub.family, job->nact, &sub.act));
  /* every stored value must be one of the job's: families and activations by name, the rest by
   * number */
  if (ok) PetscCall(StoredNames(job, fam, act, &sub, &ok));
  PetscCall(StoredAxes(job, lst, axis, naxis, &ok));
  if (ok) {
    sub.width = axis[0], sub.nwidth = naxis[0];
    sub.depth = axis[1], sub.ndepth = naxis[1];
    sub.seed = axis[2], sub.nseed = naxis[2];
    PetscCall(NNLJobMakeCanonical(&sub));
    *extends = strcmp(sub.canonical, stored) ? PETSC_FALSE : PETSC_TRUE;
    PetscCall(PetscFree(sub.canonical));
  }
  for (int a = 0; a < 3; a++) PetscCall(PetscFree(axis[a]));
  for (int a = 0; a < 3; a++) PetscCall(PetscFree(lst[a]));
  PetscCall(PetscFree2(sub.family, sub.act));
  for (int k = 0; k < NNL_SETTING_COUNT; k++) PetscCall(PetscFree(sv[k]));
  PetscCall(PetscFree(fam));
  PetscCall(PetscFree(act));
  PetscFunctionReturn(0);
}
