/* The swept settings (-sigma_w2, -sigma_b2, -branch_alpha, -attn_tau0, -attn_gamma): read,
 * expanded into the activation entries, and each entry's values. */
#include <string.h>
#include <strings.h>
#include "jobimpl.h"
#include "nnlimits/gauss.h"
#include "parse.h"

/* The swept settings: each a comma list of distinct values, its entries named ";key=value" where
   the list has two or more. The families that use a setting get an entry per value; the others only
   its first value's (NNLJobEntryApplies). */
enum {
  CHECK_AUTO,
  CHECK_NONNEG,
  CHECK_POSITIVE,
  CHECK_UNIT
}; /* > 0 or auto (-1), >= 0, > 0, in (0, 1] */
static const struct {
  const char *key, *help, *def;
  int         check;
  unsigned    families; /* bits 1 << NNLFamily */
  PetscBool
    always; /* a line of its own in every job's text (else within the attention line, below) */
} Settings[NNL_SETTING_COUNT] = {
  {"sigma_w2",
   "MLP weight variance, comma list (auto: critical, 2/(a^2+b^2) for a*min+b*max, 1/phi'(0)^2 for "
   "tanh (1), erf (pi/4) and a*sin(b*x) without a phase (1/(ab)^2), else 1, not critical: gelu, "
   "swish, softplus, a*sin(b*x+c) with c != 0); controlled_resnet: sigma_A^2 (auto: 1)",
   "auto", CHECK_AUTO, 1u << NNL_FAMILY_MLP | 1u << NNL_FAMILY_CONTROLLED, PETSC_TRUE},
  {"sigma_b2",
   "MLP bias variance, comma list, from layer 2 on (the first layer y1 = W1 x has none); "
   "controlled_resnet: sigma_b^2 of its shared bias",
   "0", CHECK_NONNEG, 1u << NNL_FAMILY_MLP | 1u << NNL_FAMILY_CONTROLLED, PETSC_TRUE},
  {"branch_alpha", "ResNet branch scale exponent, comma list: L^-alpha", "0.5", CHECK_NONNEG,
   1u << NNL_FAMILY_RESNET, PETSC_TRUE},
  {"attn_tau0",
   "attention blocks (shaped_attention, softmax_attention and the transformers): logits Q^T K / "
   "(tau0 sqrt(n n_k)) (softmax: tau0 sqrt(n_k)), queries and keys of RMS-normalised tokens; comma "
   "list",
   "1", CHECK_POSITIVE, NNL_ATTENTION_FAMILIES, PETSC_FALSE},
  {"attn_gamma",
   "attention blocks (shaped_attention, softmax_attention and the transformers): Y <- lambda Y + "
   "gamma W^V Y A^T / sqrt(n), lambda^2 + gamma^2 = 1 (the transformers' MLP sub-block too); comma "
   "list",
   "0.5", CHECK_UNIT, NNL_ATTENTION_FAMILIES, PETSC_FALSE},
};

const char *NNLJobSettingKey(NNLSetting k)
{
  return Settings[k].key;
}

/* Whether setting k has a line of its own in every job's text (else it is within the attention
   line) */
PetscBool NNLJobSettingIsAlways(NNLSetting k)
{
  return Settings[k].always;
}

static PetscErrorCode ReadSettingList(PetscOptionItems *PetscOptionsObject, NNLSetting k,
                                      PetscReal **vals, PetscInt *n)
{
  char           opt[32], buf[4096], **w = NULL;
  PetscInt       nw     = 0;
  PetscReal     *v      = NULL;
  const int      check  = Settings[k].check;
  const char    *want[] = {"> 0 or auto", ">= 0", "> 0", "in (0, 1]"};
  PetscErrorCode ierr;

  PetscFunctionBegin;
  snprintf(opt, sizeof(opt), "-%s", Settings[k].key);
  PetscCall(NNLJobOptString(PetscOptionsObject, opt, Settings[k].help, "", Settings[k].def, buf,
                            sizeof(buf), NULL));
  PetscCall(NNLParseWords(opt, buf, &w, &nw));
  ierr = PetscMalloc1(nw, &v);
  for (PetscInt i = 0; !ierr && i < nw; i++) {
    if (check == CHECK_AUTO && !strcasecmp(w[i], "auto"))
      v[i] = -1;
    else {
      ierr = NNLParseReal(opt, w[i], &v[i]);
      if (!ierr &&
          !(check == CHECK_NONNEG ? v[i] >= 0 : v[i] > 0 && (check != CHECK_UNIT || v[i] <= 1)))
        ierr =
          PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
                     PETSC_ERROR_INITIAL, "%s: must be %s (got %s)", opt, want[check], w[i]);
    }
    for (PetscInt j = 0; !ierr && j < i; j++)
      if (v[j] == v[i])
        ierr =
          PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
                     PETSC_ERROR_INITIAL, "%s: '%s' and '%s' are one value twice", opt, w[j], w[i]);
  }
  PetscCall(NNLParseFreeWords(&w, nw));
  if (ierr) PetscCall(PetscFree(v));
  PetscCall(ierr);
  *vals = v;
  *n    = nw;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLJobReadSettings(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  PetscFunctionBegin;
  for (int k = 0; k < NNL_SETTING_COUNT; k++)
    PetscCall(ReadSettingList(PetscOptionsObject, (NNLSetting)k, &job->set_list[k], &job->nset[k]));
  job->sigma_w2     = job->set_list[NNL_SETTING_SIGMA_W2][0];
  job->sigma_b2     = job->set_list[NNL_SETTING_SIGMA_B2][0];
  job->branch_alpha = job->set_list[NNL_SETTING_BRANCH_ALPHA][0];
  job->attn_tau0    = job->set_list[NNL_SETTING_ATTN_TAU0][0];
  job->attn_gamma   = job->set_list[NNL_SETTING_ATTN_GAMMA][0];
  PetscFunctionReturn(0);
}

/* Whether a family uses a swept setting: σ_w² and σ_b² the MLP's (the controlled ResNet's σ_A²,
   σ_b²), α the ResNet's, τ₀ and γ the attention blocks'; the shaped MLP none. The one rule behind
   an entry's name in a family and whether the family has it. uses < 0: every setting (the entry's
   canon). */
static PetscBool FamilyUses(int family, NNLSetting k)
{
  return family < 0 || Settings[k].families & 1u << family ? PETSC_TRUE : PETSC_FALSE;
}

/* One value of setting k as the job's text and the entries' names spell it */
int NNLJobSettingValue(NNLSetting k, PetscReal v, char out[], size_t len)
{
  return k == NNL_SETTING_SIGMA_W2 && v < 0 ? snprintf(out, len, "auto")
                                            : snprintf(out, len, "%.17g", (double)v);
}

/* out (size len) = activation canon base and ";key=value" for each swept setting of entry i that
   family uses (< 0: all); returns whether it fit. */
static PetscBool SettingsName(const NNLJob *job, const char base[], PetscInt i, int family,
                              char out[], size_t len)
{
  size_t n = (size_t)snprintf(out, len, "%s", base);

  for (int k = 0; k < NNL_SETTING_COUNT && n < len; k++)
    if (FamilyUses(family, (NNLSetting)k) && job->nset[k] > 1) {
      char v[32];
      NNLJobSettingValue((NNLSetting)k, job->act_set[k][i], v, sizeof(v));
      n += (size_t)snprintf(out + n, len - n, ";%s=%s", Settings[k].key, v);
    }
  return n < len ? PETSC_TRUE : PETSC_FALSE;
}

/* The activations × the settings of the swept lists (see NNLJob): entry b·nvar + v is activation b
   under setting v (mixed radix, the last setting fastest), its canon the activation's with
   ";sigma_w2=…" for each list of two or more values, and (nvar > 1) its name in each family with
   the settings that family uses. */
PetscErrorCode NNLJobExpandSettings(NNLJob *job)
{
  const PetscInt nb = job->nact;
  const size_t   sz = sizeof(job->act[0].canon);
  PetscInt       nv = 1;
  NNLActivation *act;

  PetscFunctionBegin;
  for (int k = 0; k < NNL_SETTING_COUNT; k++) nv *= job->nset[k];
  PetscCall(PetscMalloc1(nb * nv, &act));
  for (int k = 0; k < NNL_SETTING_COUNT; k++) PetscCall(PetscMalloc1(nb * nv, &job->act_set[k]));
  if (nv > 1) PetscCall(PetscMalloc1((size_t)nb * nv * NNL_FAMILY_COUNT * sz, &job->entry_names));
  for (PetscInt b = 0; b < nb; b++)
    for (PetscInt v = 0; v < nv; v++) {
      const PetscInt i = b * nv + v;
      PetscBool      fit;
      act[i] = job->act[b];
      for (PetscInt k = NNL_SETTING_COUNT - 1, r = v; k >= 0; r /= job->nset[k], k--)
        job->act_set[k][i] = job->set_list[k][r % job->nset[k]];
      fit = SettingsName(job, job->act[b].canon, i, -1, act[i].canon, sz);
      for (int f = 0; fit && nv > 1 && f < NNL_FAMILY_COUNT;
           f++) /* each no longer than the canon */
        (void)SettingsName(job, job->act[b].canon, i, f,
                           job->entry_names + ((size_t)i * NNL_FAMILY_COUNT + (size_t)f) * sz, sz);
      if (!fit) {
        PetscCall(PetscFree(act));
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                "-grid_activation: '%s' with its settings is longer than %zu characters",
                job->act[b].canon, sz - 1);
      }
    }
  PetscCall(PetscFree(job->act));
  job->act       = act;
  job->nact      = nb * nv;
  job->nact_base = nb;
  job->nvar      = nv;
  PetscFunctionReturn(0);
}

const char *NNLJobEntryName(const NNLJob *job, NNLFamily family, PetscInt act)
{
  if (!job->entry_names) return job->act[act].canon;
  return job->entry_names +
         ((size_t)act * NNL_FAMILY_COUNT + (size_t)family) * sizeof(job->act[0].canon);
}

/* Activation b's canon, without the settings of its entries. */
void NNLJobBaseCanon(const NNLJob *job, PetscInt b, char out[], size_t len)
{
  const char *c = job->act[b * job->nvar].canon;
  snprintf(out, len, "%.*s", (int)strcspn(c, ";"), c);
}

/* Entry act's value of a setting: its own (act_*), or the job's one value where the entries have
   none (a job made by hand, not by NNLJobCreate). */
static PetscReal Setting(const PetscReal *of, PetscReal one, PetscInt act)
{
  return of ? of[act] : one;
}

PetscReal NNLJobSigmaB2(const NNLJob *job, PetscInt act)
{
  return Setting(job->act_set[NNL_SETTING_SIGMA_B2], job->sigma_b2, act);
}

PetscReal NNLJobBranchAlpha(const NNLJob *job, PetscInt act)
{
  return Setting(job->act_set[NNL_SETTING_BRANCH_ALPHA], job->branch_alpha, act);
}

PetscReal NNLJobAttnTau0(const NNLJob *job, PetscInt act)
{
  return Setting(job->act_set[NNL_SETTING_ATTN_TAU0], job->attn_tau0, act);
}

PetscReal NNLJobAttnGamma(const NNLJob *job, PetscInt act)
{
  return Setting(job->act_set[NNL_SETTING_ATTN_GAMMA], job->attn_gamma, act);
}

PetscBool NNLJobEntryApplies(const NNLJob *job, NNLFamily family, PetscInt act)
{
  if (job->nvar <= 1) return PETSC_TRUE;
  /* a setting the family does not use at its list's first value (a list's values are distinct) */
  for (int k = 0; k < NNL_SETTING_COUNT; k++)
    if (!FamilyUses(family, (NNLSetting)k) && job->act_set[k][act] != job->set_list[k][0])
      return PETSC_FALSE;
  return PETSC_TRUE;
}

PetscReal NNLJobSigmaA2(const NNLJob *job, PetscInt act)
{
  const PetscReal s = Setting(job->act_set[NNL_SETTING_SIGMA_W2], job->sigma_w2, act);
  return s > 0 ? s : 1.0;
}

PetscReal NNLActivationAutoSigmaW2(const NNLActivation *a)
{
  double c;

  /* Positively homogeneous φ (a·min + b·max): the critical σ² keeps E φ(z)² = E z²/σ², i.e. σ² =
   * 1/E φ(Z)². */
  if (NNLActivationIsHomogeneous(a)) return 1.0 / NNLGaussDual(a, 1, 1, 1);
  /* Odd smooth φ: q* = 0 is marginal when σ_w² φ'(0)² = 1 (erf: φ'(0)² = 4/π, so π/4; MATH.md §1's
     "tanh/erf: 1" holds for tanh only: at 1 the erf recursion has a stable fixed point q* = 0.142,
     with χ = 1.017 there). */
  c = NNLActivationCriticalSigmaW2(a);
  return c > 0 ? c : 1.0;
}

PetscReal NNLJobSigmaW2(const NNLJob *job, PetscInt act)
{
  const PetscReal s = Setting(job->act_set[NNL_SETTING_SIGMA_W2], job->sigma_w2, act);

  return s > 0 ? s : NNLActivationAutoSigmaW2(&job->act[act]);
}
