/* The job: every option of a sweep read once from the PETSc options database, validated, made
 * canonical. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "nnlimits/job.h"
#include "nnlimits/grid.h"
#include <petscblaslapack.h>
#include "nnlimits/gauss.h"
#include "options.h"
#include "parse.h"
#include "nnlimits/shaped.h"
#include <petscts.h> /* the solvers' default types (limits.h, fokker_planck.h) */
#include "nnlimits/limits.h"
#include "nnlimits/fokker_planck.h"

#define NNL_DEPTH_MAX                                                                              \
  (1 << 30) /* -grid_depth at most: layer loops run to l <= depth, networks record depth + 1       \
               layers */

const char *const NNLFamilies[]     = {"mlp",
                                       "resnet",
                                       "shaped_mlp",
                                       "controlled_resnet",
                                       "shaped_attention",
                                       "softmax_attention",
                                       "shaped_transformer",
                                       "softmax_transformer",
                                       NULL};
const char *const NNLSamplerTypes[] = {"auto", "dense", "projection", NULL};

/* The default job: a small Hayou–Yang commutation sweep (ResNet, relu and tanh, L >> n included, 16
   log-spaced layers of each network) that runs in about a minute on 2 cores (9 s on this project's
   2-core machine). */
#define D_FAMILY     "resnet"
#define D_WIDTH      "32,64,128,256,512,1024"
#define D_DEPTH      "4,16,64,256,1024"
#define D_SEED       "0-512"
#define D_ACTIVATION "relu,tanh"
#define D_RECORD     16

/* PetscOptionsString leaves the value untouched when the option is absent: start it at the default.
   A value that does not fit buf is an error (PETSc would cut it short: a seed list could lose its
   tail and end in another seed). */
static PetscErrorCode OptString(PetscOptionItems *PetscOptionsObject, const char opt[],
                                const char help[], const char man[], const char def[], char buf[],
                                size_t len, PetscBool *set)
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(buf, def, len));
  PetscCall(PetscOptionsString(opt, help, man, def, buf, len, set));
  PetscCall(NNLOptionsCheckLength(opt, len));
  PetscFunctionReturn(0);
}

/* "mlp, resnet, ..." from NNLFamilies, built on first call: the -family help and its refusal name
 * every family. */
static const char *FamilyNames(void)
{
  static char names[256];

  if (!names[0])
    for (size_t f = 0, len = 0; NNLFamilies[f] && len < sizeof(names); f++)
      len +=
        (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", f ? ", " : "", NNLFamilies[f]);
  return names;
}

static PetscErrorCode ReadAxes(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  static char help[320];  /* static: PETSc may keep the help text until the options block ends */
  char        buf[65536]; /* an explicit list of 10^4 seeds */
  char      **words = NULL;
  PetscInt    nw;

  PetscFunctionBegin;
  snprintf(help, sizeof(help), "Network families, comma list: %s", FamilyNames());
  PetscCall(OptString(PetscOptionsObject, "-family", help, "", D_FAMILY, buf, sizeof(buf), NULL));
  PetscCall(NNLParseWords("-family", buf, &words, &nw));
  PetscCall(PetscMalloc1(nw, &job->family));
  job->nfamily = nw;
  for (PetscInt i = 0; i < nw; i++) {
    PetscInt f = 0;
    while (NNLFamilies[f] && strcasecmp(NNLFamilies[f], words[i]))
      f++; /* MLP is mlp, as option names are */
    if (!NNLFamilies[f]) {
      char bad[256];
      PetscCall(PetscStrncpy(bad, words[i], sizeof(bad)));
      PetscCall(NNLParseFreeWords(&words, nw));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "-family: unknown family '%s' (allowed: %s)",
              bad, FamilyNames());
    }
    job->family[i] = (NNLFamily)f;
  }
  PetscCall(NNLParseFreeWords(&words, nw));

  PetscCall(OptString(PetscOptionsObject, "-grid_width",
                      "Widths n, comma list or range a-b (b exclusive)", "", D_WIDTH, buf,
                      sizeof(buf), NULL));
  PetscCall(NNLParseIntList("-grid_width", buf, 1, &job->width, &job->nwidth));
  PetscCall(OptString(PetscOptionsObject, "-grid_depth",
                      "Depths L (MLP: layers; ResNet: residual blocks)", "", D_DEPTH, buf,
                      sizeof(buf), NULL));
  PetscCall(NNLParseIntList("-grid_depth", buf, 1, &job->depth, &job->ndepth));
  /* a layer loop runs to l <= depth and a network records up to depth + 1 layers: both in PetscInt
   */
  PetscCheck(NNLJobMaxDepth(job) <= NNL_DEPTH_MAX, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-grid_depth: %" PetscInt_FMT " is too deep (at most 2^30 = %d)", NNLJobMaxDepth(job),
             NNL_DEPTH_MAX);
  PetscCall(OptString(PetscOptionsObject, "-grid_seed",
                      "Seeds, comma list or range: 0-32 = the 32 seeds 0..31; 8 = the one seed 8",
                      "", D_SEED, buf, sizeof(buf), NULL));
  PetscCall(NNLParseIntList("-grid_seed", buf, 0, &job->seed, &job->nseed));

  PetscCall(OptString(PetscOptionsObject, "-grid_activation",
                      "Activations, comma list; parameters as name:p1:p2 (leaky_relu:0.2)", "",
                      D_ACTIVATION, buf, sizeof(buf), NULL));
  PetscCall(NNLParseWords("-grid_activation", buf, &words, &nw));
  PetscCall(PetscCalloc1(nw, &job->act));
  job->nact = nw;
  for (PetscInt i = 0; i < nw; i++) {
    char err[512];
    if (NNLActivationParse(words[i], &job->act[i], err, sizeof(err))) {
      PetscCall(NNLParseFreeWords(&words, nw));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "-grid_activation: %s", err);
    }
    for (PetscInt j = 0; j < i; j++)
      PetscCheck(strcmp(job->act[i].canon, job->act[j].canon), PETSC_COMM_SELF,
                 PETSC_ERR_USER_INPUT, "-grid_activation: '%s' appears twice", job->act[i].canon);
  }
  PetscCall(NNLParseFreeWords(&words, nw));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadReal(PetscOptionItems *PetscOptionsObject, const char opt[],
                               const char help[], const char def[], PetscReal *v)
{
  char buf[256];

  PetscFunctionBegin;
  PetscCall(OptString(PetscOptionsObject, opt, help, "", def, buf, sizeof(buf), NULL));
  PetscCall(NNLParseReal(opt, buf, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadInt(PetscOptionItems *PetscOptionsObject, const char opt[],
                              const char help[], const char def[], PetscInt min, PetscInt *v)
{
  char buf[256];

  PetscFunctionBegin;
  PetscCall(OptString(PetscOptionsObject, opt, help, "", def, buf, sizeof(buf), NULL));
  PetscCall(NNLParseInt(opt, buf, min, v));
  PetscFunctionReturn(0);
}

PetscInt NNLJobMaxDepth(const NNLJob *job)
{
  PetscInt d = 0;
  for (PetscInt i = 0; i < job->ndepth; i++) d = PetscMax(d, job->depth[i]);
  return d;
}

/* K log-spaced layers of 1..L (and layer 0 where the family has one): K at least the deepest
   network's depth is every layer, the same job as "all" (as the default 16 is all in a job no
   deeper than 16). */
static NNLRecordMode LogOrAll(const NNLJob *job, PetscInt k)
{
  return k >= NNLJobMaxDepth(job) ? NNL_RECORD_ALL : NNL_RECORD_LOG;
}

/* A choice of layers as -record_layers and -spectra_layers take it: all, last, K (log-spaced), or
 * none where allowed. */
static PetscErrorCode ParseLayers(const NNLJob *job, const char opt[], const char buf[],
                                  PetscBool none, NNLRecordMode *mode, PetscInt *k)
{
  PetscFunctionBegin;
  if (none && !strcasecmp(buf, "none"))
    *mode = NNL_RECORD_NONE;
  else if (!strcasecmp(buf, "all"))
    *mode = NNL_RECORD_ALL;
  else if (!strcasecmp(buf, "last"))
    *mode = NNL_RECORD_LAST;
  else {
    PetscCheck(buf[0] >= '0' && buf[0] <= '9', PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: '%s' is not %sall, last or a positive integer K", opt, buf,
               none ? "none, " : "");
    PetscCall(NNLParseInt(opt, buf, 1, k));
    *mode = LogOrAll(job, *k);
  }
  PetscFunctionReturn(0);
}

PetscReal NNLJobInputCorrelation(const NNLJob *job, PetscInt a, PetscInt b)
{
  PetscInt lo = PetscMin(a, b), hi = PetscMax(a, b), m = job->inputs;

  if (a == b) return 1.0;
  return job->input_corr ? job->input_corr[lo * m - lo * (lo + 1) / 2 + hi - lo - 1]
                         : job->input_correlation;
}

void NNLJobInputCov(const NNLJob *job, double *C)
{
  for (PetscInt a = 0; a < job->inputs; a++)
    for (PetscInt b = 0; b < job->inputs; b++)
      C[a + b * job->inputs] = NNLJobInputCorrelation(job, a, b);
}

/* -input_correlation: one r for every pair (-1/(m-1) <= r <= 1: the inputs' Gram is then positive
   semidefinite), or m(m-1)/2 values, one per pair a < b in (0,1), (0,2), …, (1,2), … order, each in
   [-1, 1], whose matrix with a unit diagonal must be positive semidefinite (inputs with those Gram
   entries exist): its smallest eigenvalue at least -1e-12 m, a rounding's worth (cos(θ_a − θ_b) of
   points on a circle, rank 2, has eigenvalues of -1e-16). */
static PetscErrorCode ReadInputCorrelation(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  const PetscInt m = job->inputs, np = m * (m - 1) / 2;
  char          *buf;
  PetscReal     *v = NULL;
  PetscInt       n = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(65536, &buf));
  ierr = OptString(PetscOptionsObject, "-input_correlation",
                   "Input correlations x_a.x_b/d: one r for every pair, or m(m-1)/2 of them, pairs "
                   "(0,1),(0,2),...,(1,2),... in order",
                   "", "0.5", buf, 65536, NULL);
  if (!ierr) ierr = NNLParseRealList("-input_correlation", buf, &v, &n);
  PetscCall(PetscFree(buf));
  PetscCall(ierr);
  if (n == 1) {
    job->input_correlation = v[0];
    PetscCall(PetscFree(v)); /* no list: m(m-1)/2 copies of r were 9 MB at m = 1500 */
    PetscCheck(job->input_correlation <= 1 && (m == 1 || job->input_correlation >= -1.0 / (m - 1)),
               PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "-input_correlation: %g is not a valid correlation for %" PetscInt_FMT
               " inputs (allowed: -1/(m-1) <= r <= 1)",
               (double)job->input_correlation, m);
    job->input_corr_distinct = np > 0;
  } else {
    PetscBLASInt bm, lwork, info;
    PetscReal   *C, *w, *work;
    if (n != np) PetscCall(PetscFree(v));
    PetscCheck(n == np, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "-input_correlation: %" PetscInt_FMT " values for %" PetscInt_FMT
               " inputs: give one (every pair alike) or m(m-1)/2 = %" PetscInt_FMT
               ", one per pair a < b in the order (0,1), (0,2), ..., (1,2), ...",
               n, m, np);
    for (PetscInt k = 0; k < np; k++)
      if (!(v[k] >= -1 && v[k] <= 1)) {
        double bad = v[k];
        PetscCall(PetscFree(v));
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                "-input_correlation: value %" PetscInt_FMT
                " (%g) is not a correlation (allowed: -1 <= r <= 1)",
                k + 1, bad);
      }
    job->input_corr        = v;
    job->input_correlation = v[0];
    for (PetscInt k = 1; k < np; k++)
      if (v[k] != v[0]) job->input_correlation = NAN;
    PetscCall(PetscBLASIntCast(m, &bm));
    lwork = 3 * bm;
    PetscCall(PetscMalloc3(m * m, &C, m, &w, 3 * m, &work));
    NNLJobInputCov(job, C);
    PetscCallBLAS("LAPACKsyev", LAPACKsyev_("N", "U", &bm, C, &bm, w, work, &lwork, &info));
    ierr = info || w[0] < -1e-12 * m
             ? PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__,
                          PETSC_ERR_USER_INPUT, PETSC_ERROR_INITIAL,
                          "-input_correlation: no inputs have these correlations: their matrix "
                          "(unit diagonal) is not positive "
                          "semidefinite (smallest eigenvalue %g)",
                          (double)w[0])
             : 0;
    PetscCall(PetscFree3(C, w, work));
    PetscCall(ierr);
  }
  if (v) { /* bitwise, as NNLLimitDual's memo tells them apart */
    uint64_t *bits;
    PetscCall(PetscMalloc1(np, &bits));
    memcpy(bits, v, sizeof(uint64_t) * np);
    qsort(bits, (size_t)np, sizeof(uint64_t), NNLGridCmpId);
    for (PetscInt k = 0; k < np; k++) job->input_corr_distinct += !k || bits[k] != bits[k - 1];
    PetscCall(PetscFree(bits));
  }
  PetscFunctionReturn(0);
}

/* The swept settings: each a comma list of distinct values, its entries named ";key=value" where
   the list has two or more. The families that use a setting get an entry per value; the others only
   its first value's (NNLJobEntryApplies). */
enum {
  CHECK_AUTO,
  CHECK_NONNEG,
  CHECK_POSITIVE,
  CHECK_UNIT
}; /* > 0 or auto (-1), >= 0, > 0, in (0, 1] */
/* the families NNLFamilyIsAttention names, as bits 1 << NNLFamily (the attention options' and
 * settings' users) */
#define ATTENTION_FAMILIES                                                                         \
  (1u << NNL_FAMILY_ATTENTION | 1u << NNL_FAMILY_SOFTMAX | 1u << NNL_FAMILY_TRANSFORMER |          \
   1u << NNL_FAMILY_SOFTMAX_TRANSFORMER)
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
   "1", CHECK_POSITIVE, ATTENTION_FAMILIES, PETSC_FALSE},
  {"attn_gamma",
   "attention blocks (shaped_attention, softmax_attention and the transformers): Y <- lambda Y + "
   "gamma W^V Y A^T / sqrt(n), lambda^2 + gamma^2 = 1 (the transformers' MLP sub-block too); comma "
   "list",
   "0.5", CHECK_UNIT, ATTENTION_FAMILIES, PETSC_FALSE},
};

const char *NNLJobSettingKey(NNLSetting k)
{
  return Settings[k].key;
}

/* Whether the job's -family list holds a family for which is() holds */
static PetscBool JobHasAny(const NNLJob *job, PetscBool (*is)(NNLFamily))
{
  for (PetscInt f = 0; f < job->nfamily; f++)
    if (is(job->family[f])) return PETSC_TRUE;
  return PETSC_FALSE;
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
  PetscCall(OptString(PetscOptionsObject, opt, Settings[k].help, "", Settings[k].def, buf,
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

static PetscErrorCode ReadSettings(PetscOptionItems *PetscOptionsObject, NNLJob *job)
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
static int SettingValue(NNLSetting k, PetscReal v, char out[], size_t len)
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
      SettingValue((NNLSetting)k, job->act_set[k][i], v, sizeof(v));
      n += (size_t)snprintf(out + n, len - n, ";%s=%s", Settings[k].key, v);
    }
  return n < len ? PETSC_TRUE : PETSC_FALSE;
}

/* The activations × the settings of the swept lists (see NNLJob): entry b·nvar + v is activation b
   under setting v (mixed radix, the last setting fastest), its canon the activation's with
   ";sigma_w2=…" for each list of two or more values, and (nvar > 1) its name in each family with
   the settings that family uses. */
static PetscErrorCode ExpandSettings(NNLJob *job)
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
static void BaseCanon(const NNLJob *job, PetscInt b, char out[], size_t len)
{
  const char *c = job->act[b * job->nvar].canon;
  snprintf(out, len, "%.*s", (int)strcspn(c, ";"), c);
}

static PetscErrorCode ReadModel(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  char      buf[256];
  PetscInt  sampler = NNL_SAMPLER_AUTO;
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(ReadInt(PetscOptionsObject, "-inputs", "Number of inputs m", "2", 1, &job->inputs));
  PetscCall(ReadInt(PetscOptionsObject, "-input_dim", "Input dimension d (>= m)", "16", 1,
                    &job->input_dim));
  PetscCheck(job->input_dim >= job->inputs, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-input_dim: %" PetscInt_FMT " is smaller than -inputs %" PetscInt_FMT
             " (inputs must be independent vectors)",
             job->input_dim, job->inputs);
  PetscCall(ReadInputCorrelation(PetscOptionsObject, job));
  PetscCall(ReadSettings(PetscOptionsObject, job));
  PetscCall(OptString(PetscOptionsObject, "-sampler",
                      "Sampler: auto (projection when m < n), dense, projection", "", "auto", buf,
                      sizeof(buf), NULL));
  while (NNLSamplerTypes[sampler] && strcasecmp(NNLSamplerTypes[sampler], buf)) sampler++;
  PetscCheck(NNLSamplerTypes[sampler], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-sampler: unknown sampler '%s' (allowed: auto, dense, projection)", buf);
  job->sampler = (NNLSamplerType)sampler;
  PetscCheck(job->sampler != NNL_SAMPLER_PROJECTION || !NNLJobHasFamily(job, NNL_FAMILY_CONTROLLED),
             PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-sampler projection: controlled_resnet shares its weights across layers, which the "
             "projection sampler (fresh "
             "Gaussian products at every layer) cannot; use auto or dense (auto gives it the dense "
             "sampler)");
  PetscCall(OptString(PetscOptionsObject, "-record_layers",
                      "Layers recorded: all, last, or K (K log-spaced layers, and layer 0 where "
                      "the family has one; all when K >= the deepest depth)",
                      "", PetscStringize(D_RECORD), buf, sizeof(buf), &set));
  PetscCall(
    ParseLayers(job, "-record_layers", buf, PETSC_FALSE, &job->record_mode, &job->record_k));
  PetscCall(OptString(PetscOptionsObject, "-spectra_layers",
                      "Layers whose spectra (Gram eigenvalues, feature singular values, ranks) are "
                      "computed: none, all, last, or K (as -record_layers)",
                      "", "none", buf, sizeof(buf), NULL));
  PetscCall(
    ParseLayers(job, "-spectra_layers", buf, PETSC_TRUE, &job->spectra_mode, &job->spectra_k));
  PetscCall(ReadReal(PetscOptionsObject, "-spectra_rtol",
                     "Relative threshold of the thresholded rank: values > rtol * largest", "1e-3",
                     &job->spectra_rtol));
  PetscCheck(job->spectra_rtol > 0 && job->spectra_rtol < 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-spectra_rtol: must be in (0, 1) (got %g)", (double)job->spectra_rtol);
  PetscCall(ReadInt(PetscOptionsObject, "-run_seed",
                    "Run seed: a second key of every random stream", "0", 0, &job->run_seed));
  PetscFunctionReturn(0);
}

/* The shaped MLP (Li–Nica–Roy) and the SDE / Fokker–Planck limit tasks. */
static PetscErrorCode ReadShapeSDE(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  PetscFunctionBegin;
  PetscCall(ReadReal(PetscOptionsObject, "-shape_c_plus",
                     "shaped_mlp, shaped_transformer ReLU: s+ = 1 + c+/sqrt(n)", "0",
                     &job->shape_c_plus));
  PetscCall(ReadReal(PetscOptionsObject, "-shape_c_minus",
                     "shaped_mlp, shaped_transformer ReLU: s- = 1 + c-/sqrt(n)", "-1",
                     &job->shape_c_minus));
  PetscCall(ReadReal(
    PetscOptionsObject, "-shape_a",
    "shaped_mlp, shaped_transformer smooth activations: phi_s(x) = s phi(x/s), s = a sqrt(n)", "1",
    &job->shape_a));
  PetscCheck(job->shape_a > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-shape_a: must be > 0 (got %g)", (double)job->shape_a);
  PetscCall(ReadInt(PetscOptionsObject, "-attn_key_width",
                    "attention blocks: width n_k of the queries and keys; 0: the width n", "0", 0,
                    &job->attn_key_width));
  PetscCall(ReadInt(PetscOptionsObject, "-sde_paths",
                    "SDE paths per (family, activation, width, depth); 0: no SDE tasks", "0", 0,
                    &job->sde_paths));
  PetscCall(ReadReal(PetscOptionsObject, "-sde_dt",
                     "Euler-Maruyama step of the SDE tasks (SDE time)", "1e-3", &job->sde_dt));
  PetscCheck(job->sde_dt > 0 && job->sde_dt <= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-sde_dt: must be in (0, 1] (got %g)", (double)job->sde_dt);
  if (job->sde_paths > 0) { /* the longest SDE time: 1 (ResNet), L/n (shaped MLP, shaped attention);
                               its steps must be countable */
    double T = 1.0, L = (double)NNLJobMaxDepth(job);
    if (JobHasAny(job, NNLFamilyHasProportionalSDE))
      for (PetscInt w = 0; w < job->nwidth; w++) T = PetscMax(T, L / (double)job->width[w]);
    PetscCheck(ceil(T / job->sde_dt) <= (double)PETSC_MAX_INT, PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT,
               "-sde_dt: %g makes %.3g Euler-Maruyama steps over SDE time %g, more than a step "
               "count holds (%" PetscInt_FMT ")",
               (double)job->sde_dt, ceil(T / job->sde_dt), T, PETSC_MAX_INT);
  }
  PetscCall(ReadInt(
    PetscOptionsObject, "-fp_cells",
    "Fokker-Planck finite-volume cells, uniform in atanh(rho) on [-14, 14] (shaped ReLU SDE tasks)",
    "400", 8, &job->fp_cells));
  for (PetscInt f = 0; f < job->nfamily;
       f++) /* the shaped MLP's activations: its own, and the transformer's MLP sub-block's */
    for (PetscInt a = 0; a < job->nact && NNLFamilyIsShapedMLP(job->family[f]); a++) {
      char err[256];
      PetscCheck(!NNLShapedCheck(&job->act[a], err, sizeof(err)), PETSC_COMM_SELF,
                 PETSC_ERR_USER_INPUT, "-family %s: %s", NNLFamilies[job->family[f]], err);
    }
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact && NNLFamilyIsAttention(job->family[f]) &&
                         !NNLFamilyIsTransformer(job->family[f]);
         a++)
      PetscCheck(!strcmp(job->act[a].def->name, "linear"), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "-family %s: activation '%s' (the attention block has no activation: give "
                 "-grid_activation linear, "
                 "and run other families' activations in a job of their own)",
                 NNLFamilies[job->family[f]], job->act[a].canon);
  PetscFunctionReturn(0);
}

/* Shard "i/k": explicit, else from a Slurm job array, else 0/1. */
static PetscErrorCode ReadShard(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  char        buf[256] = "", def[64] = "0/1";
  const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT"),
             *min = getenv("SLURM_ARRAY_TASK_MIN");
  const char *stp = getenv("SLURM_ARRAY_TASK_STEP");
  long long   i, k, step = stp && atoll(stp) > 0 ? atoll(stp) : 1;
  long long   off =
    id ? atoll(id) - (min ? atoll(min) : 0) : 0; /* --array=a-b:s numbers its tasks a, a+s, ... */
  char      c;
  PetscBool set;

  PetscFunctionBegin;
  if (id && cnt)
    snprintf(def, sizeof(def), "%lld/%s", off / step, cnt); /* task (id - a)/s of COUNT */
  PetscCall(OptString(PetscOptionsObject, "-shard",
                      "This run's shard i/k of the grid (default from SLURM_ARRAY_TASK_ID/COUNT)",
                      "", def, buf, sizeof(buf), &set));
  PetscCheck(set || !id || !cnt || off % step == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-shard: Slurm array task %s is not min %s + a multiple of step %lld: give -shard i/k",
             id, min ? min : "0", step);
  PetscCheck(sscanf(buf, "%lld/%lld%c", &i, &k, &c) == 2 && k >= 1 && i >= 0 && i < k &&
               k <= PETSC_MAX_INT,
             PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-shard: '%s' is not i/k with 0 <= i < k (e.g. 0/4)%s", buf,
             set ? ""
                 : "; it came from SLURM_ARRAY_TASK_ID/_MIN/_COUNT (an array given as a list? give "
                   "-shard i/k)");
  job->shard_index = (PetscInt)i;
  job->shard_count = (PetscInt)k;
  PetscFunctionReturn(0);
}

/* Default output: results/<job file name> (or results/default), plus shard-i-of-k when sharded. */
static PetscErrorCode DefaultOutput(const NNLJob *job, char out[], size_t len)
{
  char      file[PETSC_MAX_PATH_LEN], *base, *dot;
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-options_file", file, sizeof(file), &set));
  if (!set)
    PetscCall(PetscOptionsGetString(NULL, NULL, "-options_file_yaml", file, sizeof(file), &set));
  base = strrchr(file, '/');
  base = set ? (base ? base + 1 : file) : (char *)"default";
  if ((dot = strrchr(base, '.')) && dot != base) *dot = 0;
  if (job->shard_count > 1)
    snprintf(out, len, "results/%.200s/shard-%" PetscInt_FMT "-of-%" PetscInt_FMT, base,
             job->shard_index, job->shard_count);
  else
    snprintf(out, len, "results/%.200s", base);
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadRun(MPI_Comm comm, PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  char      def[PETSC_MAX_PATH_LEN], buf[256];
  double    budget = 0;
  int       rank;
  MPI_Comm  node;
  int       local;
  PetscReal mb;

  PetscFunctionBegin;
  PetscCall(ReadShard(PetscOptionsObject, job));
  PetscCall(DefaultOutput(job, def, sizeof(def)));
  PetscCall(OptString(PetscOptionsObject, "-output",
                      "Run directory (holds the store nnlimits.sqlite)", "", def, job->output,
                      sizeof(job->output), NULL));
  PetscCheck(job->output[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-output: empty directory name");
  /* Memory per task: a node's memory shared by its ranks; rank 0's view is everyone's so verdicts
   * agree. */
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &local));
  PetscCallMPI(MPI_Comm_free(&node));
  if (rank == 0)
    budget = 0.8 * (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / local;
  PetscCallMPI(MPI_Bcast(&budget, 1, MPI_DOUBLE, 0, comm));
  PetscCall(OptString(PetscOptionsObject, "-mem_budget_mb",
                      "Memory one task may use, MB (auto: 80% of the node's memory / its ranks)",
                      "", "auto", buf, sizeof(buf), NULL));
  if (strcasecmp(buf, "auto")) {
    PetscCall(NNLParseReal("-mem_budget_mb", buf, &mb));
    PetscCheck(mb > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "-mem_budget_mb: must be > 0 or auto (got %s)", buf);
    budget = mb * 1048576.0;
  }
  job->mem_budget = budget;
  PetscFunctionReturn(0);
}

static PetscErrorCode Appendf(char **s, size_t *len, size_t *cap, const char *fmt, const char *key,
                              const char *val)
{
  size_t need = strlen(key) + strlen(val) + 4;

  PetscFunctionBegin;
  if (*len + need >= *cap) {
    char *t;
    *cap = 2 * (*cap + need);
    PetscCall(PetscMalloc1(*cap, &t));
    PetscCall(PetscArraycpy(t, *s, *len + 1));
    PetscCall(PetscFree(*s));
    *s = t;
  }
  *len += (size_t)snprintf(*s + *len, *cap - *len, fmt, key, val);
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
    if (!isval && !strncmp(tok, "-limit_", 7) && !strstr(tok, "monitor") && !strstr(tok, "view") &&
        n < 256) {
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
  PetscCall(Appendf(s, len, cap, "%s=%s", Settings[k].key, ""));
  for (PetscInt i = 0; i < job->nset[k]; i++) {
    SettingValue(k, job->set_list[k][i], num, sizeof(num));
    PetscCall(Appendf(s, len, cap, "%s%s", i ? "," : "", num));
  }
  PetscCall(Appendf(s, len, cap, "%s%s", "\n", ""));
  PetscFunctionReturn(0);
}

/* The canonical text: every option that changes results, in a fixed order, values in one spelling.
 */
static PetscErrorCode MakeCanonical(NNLJob *job)
{
  size_t len = 0, cap = 1024;
  char  *s, *lst, num[128];
  struct {
    const char     *key;
    const PetscInt *v;
    PetscInt        n;
  } lists[]                 = {{"grid_width", job->width, job->nwidth},
                               {"grid_depth", job->depth, job->ndepth},
                               {"grid_seed", job->seed, job->nseed}};
  const NNLSetting reals[]  = {NNL_SETTING_SIGMA_B2, NNL_SETTING_BRANCH_ALPHA,
                               NNL_SETTING_SIGMA_W2}; /* the lines of every job */
  PetscBool        auto_sw2 = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(cap, &s));
  s[0] = 0;
  PetscCall(Appendf(&s, &len, &cap, "%s=%s", "family", NNLFamilies[job->family[0]]));
  for (PetscInt i = 1; i < job->nfamily; i++)
    PetscCall(Appendf(&s, &len, &cap, "%s%s", ",", NNLFamilies[job->family[i]]));
  PetscCall(Appendf(&s, &len, &cap, "%s%s", "\n", ""));
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    PetscCall(NNLFormatIntList(lists[i].v, lists[i].n, &lst));
    PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", lists[i].key, lst));
    PetscCall(PetscFree(lst));
  }
  for (PetscInt b = 0; b < job->nact_base;
       b++) { /* the activations as given, not the entries of their settings */
    char base[sizeof(job->act[0].canon)];
    BaseCanon(job, b, base, sizeof(base));
    PetscCall(Appendf(&s, &len, &cap, b ? "%s%s" : "%s=%s", b ? "," : "grid_activation", base));
  }
  PetscCall(Appendf(&s, &len, &cap, "%s%s", "\n", ""));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, job->inputs);
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "inputs", num));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, job->input_dim);
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "input_dim", num));
  /* one value where every pair has it (every job's before the list), else the list */
  if (job->input_correlation == job->input_correlation) {
    snprintf(num, sizeof(num), "%.17g", (double)job->input_correlation);
    PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "input_correlation", num));
  } else {
    PetscCall(Appendf(&s, &len, &cap, "%s=%s", "input_correlation", ""));
    for (PetscInt k = 0; k < job->inputs * (job->inputs - 1) / 2; k++) {
      snprintf(num, sizeof(num), "%s%.17g", k ? "," : "", (double)job->input_corr[k]);
      PetscCall(Appendf(&s, &len, &cap, "%s%s", num, ""));
    }
    PetscCall(Appendf(&s, &len, &cap, "%s%s", "\n", ""));
  }
  /* each list as given, one value as it always was (sigma_w2 auto as "auto"), sigma_w2 last */
  for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
    PetscCall(AppendSetting(job, reals[i], &s, &len, &cap));
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
    BaseCanon(job, b, base, sizeof(base));
    snprintf(num, sizeof(num), "%.17g", c);
    PetscCall(Appendf(&s, &len, &cap, "sigma_w2_auto_%s=%s\n", base, num));
  }
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "sampler", NNLSamplerTypes[job->sampler]));
  if (job->record_mode == NNL_RECORD_LOG)
    snprintf(num, sizeof(num), "%" PetscInt_FMT, job->record_k);
  else
    snprintf(num, sizeof(num), "%s", job->record_mode == NNL_RECORD_ALL ? "all" : "last");
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "record_layers", num));
  if (job->spectra_mode == NNL_RECORD_LOG)
    snprintf(num, sizeof(num), "%" PetscInt_FMT, job->spectra_k);
  else
    snprintf(num, sizeof(num), "%s",
             job->spectra_mode == NNL_RECORD_ALL    ? "all"
             : job->spectra_mode == NNL_RECORD_LAST ? "last"
                                                    : "none");
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "spectra_layers", num));
  if (job->spectra_mode !=
      NNL_RECORD_NONE) { /* the threshold changes nothing when no spectra are computed */
    snprintf(num, sizeof(num), "%.17g", (double)job->spectra_rtol);
    PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "spectra_rtol", num));
  }
  snprintf(num, sizeof(num), "%" PetscInt_FMT, job->run_seed);
  PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "run_seed", num));
  if (JobHasAny(
        job,
        NNLFamilyIsShapedMLP)) { /* only when used: stores of earlier jobs keep their fingerprint */
    snprintf(num, sizeof(num), "%.17g,%.17g,%.17g", (double)job->shape_c_plus,
             (double)job->shape_c_minus, (double)job->shape_a);
    PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "shape_c_plus,shape_c_minus,shape_a", num));
  }
  if (JobHasAny(job, NNLFamilyIsAttention)) { /* only when used, as the shaping's */
    if (job->nset[NNL_SETTING_ATTN_TAU0] == 1 &&
        job->nset[NNL_SETTING_ATTN_GAMMA] == 1) { /* one line, as first written */
      snprintf(num, sizeof(num), "%.17g,%.17g,%" PetscInt_FMT, (double)job->attn_tau0,
               (double)job->attn_gamma, job->attn_key_width);
      PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "attn_tau0,attn_gamma,attn_key_width", num));
    } else { /* a list swept: a line each, as the other settings' (NNLJobExtends reads them) */
      snprintf(num, sizeof(num), "%" PetscInt_FMT, job->attn_key_width);
      PetscCall(AppendSetting(job, NNL_SETTING_ATTN_TAU0, &s, &len, &cap));
      PetscCall(AppendSetting(job, NNL_SETTING_ATTN_GAMMA, &s, &len, &cap));
      PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "attn_key_width", num));
    }
  }
  if (job->sde_paths > 0) {
    snprintf(num, sizeof(num), "%" PetscInt_FMT ",%.17g,%" PetscInt_FMT, job->sde_paths,
             (double)job->sde_dt, job->fp_cells);
    PetscCall(Appendf(&s, &len, &cap, "%s=%s\n", "sde_paths,sde_dt,fp_cells", num));
  }
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
  size_t    len = 0, cap = strlen(stored) + 64;
  char     *s, *depths   = NULL, line[512];
  PetscInt *d = NULL, nd = 0, maxd = 0;

  PetscFunctionBegin;
  PetscCall(CanonValue(stored, "grid_depth", &depths));
  if (depths) PetscCall(NNLParseIntList("grid_depth", depths, 1, &d, &nd));
  for (PetscInt i = 0; i < nd; i++) maxd = PetscMax(maxd, d[i]);
  PetscCall(PetscFree(d));
  PetscCall(PetscFree(depths));
  PetscCall(PetscMalloc1(cap, &s));
  s[0] = 0;
  for (const char *l = stored; *l; l += strcspn(l, "\n"), l += *l ? 1 : 0) {
    size_t   n = strcspn(l, "\n");
    PetscInt k;
    char     key[32], rest;
    snprintf(line, sizeof(line), "%.*s", (int)n, l);
    if (!strncmp(line, "limit_", 6) && !SolverLineCounts(job, line))
      continue; /* an option that changes nothing here */
    if (sscanf(line, "%31[a-z_]=%" PetscInt_FMT "%c", key, &k, &rest) == 2 &&
        (!strcmp(key, "record_layers") || !strcmp(key, "spectra_layers")) && k >= maxd)
      snprintf(line, sizeof(line), "%s=all", key); /* every layer, as LogOrAll reads it now */
    PetscCall(Appendf(&s, &len, &cap, "%s%s\n", line, ""));
  }
  *out = s;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLJobExtends(const NNLJob *job, const char stored[], PetscBool *extends)
{
  NNLJob sub = *job; /* the job with the stored axes: its canonical text must be the stored one */
  char  *fam = NULL, *act = NULL, *lst[3] = {NULL, NULL, NULL}, **w = NULL;
  PetscInt *axis[3] = {NULL, NULL, NULL}, naxis[3] = {0, 0, 0}, *idx = NULL,
           max            = job->nfamily + job->nact + 1;
  const char     *keys[3] = {"grid_width", "grid_depth", "grid_seed"}, **names = NULL;
  const PetscInt *have[3] = {job->width, job->depth, job->seed},
                 nhave[3] = {job->nwidth, job->ndepth, job->nseed};
  PetscBool ok;

  PetscFunctionBegin;
  *extends      = PETSC_FALSE;
  sub.canonical = NULL;
  sub.family    = NULL;
  sub.act       = NULL;
  PetscCall(CanonValue(stored, "family", &fam));
  PetscCall(CanonValue(stored, "grid_activation", &act));
  for (int a = 0; a < 3; a++) PetscCall(CanonValue(stored, keys[a], &lst[a]));
  ok                                     = fam && act && lst[0] && lst[1] && lst[2];
  char(*base)[sizeof(job->act[0].canon)] = NULL;
  /* a swept setting (two or more values there and here: the entries' names carry it) may have
   * gained values too */
  PetscReal *sv[NNL_SETTING_COUNT] = {NULL};

  for (int k = 0; k < NNL_SETTING_COUNT && ok; k++) {
    char    *val = NULL, *p;
    PetscInt n   = 1;
    PetscCall(CanonValue(stored, Settings[k].key, &val));
    if (!val) { /* a text without the line: not this job, or (the attention's) one value each */
      ok = Settings[k].always ? PETSC_FALSE : PETSC_TRUE;
      continue;
    }
    for (p = val; *p; p++) n += *p == ',';
    if (n >= 2 && job->nset[k] >= 2) {
      PetscCall(PetscMalloc1(n, &sv[k]));
      p = val;
      for (PetscInt i = 0; i < n && ok; i++) {
        char *end;
        sv[k][i] = strncmp(p, "auto", 4) ? strtod(p, &end) : (end = p + 4, -1.0);
        ok       = (*end == ',' || !*end) && end != p ? PETSC_TRUE : PETSC_FALSE;
        for (PetscInt j = 0, in = 0; ok && !in; j++) { /* one of the job's values */
          if (j == job->nset[k])
            ok = PETSC_FALSE;
          else
            in = job->set_list[k][j] == sv[k][i];
        }
        p = *end ? end + 1 : end;
      }
      sub.set_list[k] = sv[k];
      sub.nset[k]     = n;
    }
    PetscCall(PetscFree(val));
  }
  sub.nvar = 1;
  for (int k = 0; k < NNL_SETTING_COUNT; k++) sub.nvar *= sub.nset[k];

  PetscCall(PetscMalloc3(max, &w, max, &names, max, &idx));
  PetscCall(PetscMalloc3(job->nfamily, &sub.family, job->nact, &sub.act, job->nact_base, &base));
  /* every stored value must be one of the job's: families and activations by name, the rest by
   * number */
  if (ok) {
    for (PetscInt f = 0; f < job->nfamily; f++) names[f] = NNLFamilies[job->family[f]];
    ok = NamesIn(fam, names, job->nfamily, w, idx, &sub.nfamily);
    for (PetscInt i = 0; ok && i < sub.nfamily; i++) sub.family[i] = job->family[idx[i]];
  }
  if (ok) {
    /* by the activations as given; MakeCanonical reads an entry of each (its activation) at the
       stride of sub's settings */
    for (PetscInt b = 0; b < job->nact_base; b++)
      BaseCanon(job, b, base[b], sizeof(base[b])), names[b] = base[b];
    ok = NamesIn(act, names, job->nact_base, w, idx, &sub.nact_base);
    for (PetscInt i = 0; ok && i < sub.nact_base; i++)
      for (PetscInt v = 0; v < sub.nvar; v++)
        sub.act[i * sub.nvar + v] = job->act[idx[i] * job->nvar];
    sub.nact = sub.nact_base * sub.nvar;
  }
  for (int a = 0; a < 3 && ok; a++) {
    PetscCall(NNLParseIntList(keys[a], lst[a], 0, &axis[a], &naxis[a]));
    for (PetscInt i = 0; i < naxis[a] && ok; i++) {
      ok = PETSC_FALSE;
      for (PetscInt j = 0; j < nhave[a] && !ok; j++)
        ok = axis[a][i] == have[a][j] ? PETSC_TRUE : PETSC_FALSE;
    }
  }
  if (ok) {
    sub.width = axis[0], sub.nwidth = naxis[0];
    sub.depth = axis[1], sub.ndepth = naxis[1];
    sub.seed = axis[2], sub.nseed = naxis[2];
    PetscCall(MakeCanonical(&sub));
    *extends = strcmp(sub.canonical, stored) ? PETSC_FALSE : PETSC_TRUE;
    PetscCall(PetscFree(sub.canonical));
  }
  for (int a = 0; a < 3; a++) PetscCall(PetscFree(axis[a]));
  for (int a = 0; a < 3; a++) PetscCall(PetscFree(lst[a]));
  PetscCall(PetscFree3(sub.family, sub.act, base));
  for (int k = 0; k < NNL_SETTING_COUNT; k++) PetscCall(PetscFree(sv[k]));
  PetscCall(PetscFree3(w, names, idx));
  PetscCall(PetscFree(fam));
  PetscCall(PetscFree(act));
  PetscFunctionReturn(0);
}

/* Options given that this job does not use: a warning each on stderr (rank 0), the run goes on. A
   stray option is usually a misunderstanding: -sigma_w2 for a ResNet (its branches are N(0, 1/n),
   scaled by L^-α), -shape_c_plus without -family shaped_mlp, -sde_dt with no SDE tasks. */
PetscErrorCode NNLJobWarnUnused(MPI_Comm comm, const NNLJob *j)
{
  enum {
    MLP_OR_CONTROLLED = 1 << NNL_FAMILY_MLP | 1 << NNL_FAMILY_CONTROLLED,
    ATTENTION         = ATTENTION_FAMILIES,
    SDE               = 1 << NNL_FAMILY_COUNT,
    FP                = SDE << 1,
    SRELU             = FP << 1,
    SSMOOTH           = SRELU << 1
  };
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
    PetscBool set, used;
    PetscCall(PetscOptionsHasName(NULL, NULL, opts[i].name, &set));
    if (!set) continue;
    if (opts[i].applies < SDE) {
      used = PETSC_FALSE;
      for (PetscInt f = 0; f < NNL_FAMILY_COUNT; f++)
        if (opts[i].applies & (1 << f) && NNLJobHasFamily(j, (NNLFamily)f)) used = PETSC_TRUE;
    } else if (opts[i].applies >= SRELU) {
      used = PETSC_FALSE;
      for (PetscInt a = 0; a < j->nact && JobHasAny(j, NNLFamilyIsShapedMLP); a++)
        if (NNLShapedIsRelu(&j->act[a]) == (opts[i].applies == SRELU)) used = PETSC_TRUE;
    } else
      used = j->sde_paths > 0 && (opts[i].applies == SDE || NNLJobHasFamily(j, NNL_FAMILY_SHAPED))
               ? PETSC_TRUE
               : PETSC_FALSE;
    if (!used)
      PetscCall(PetscFPrintf(comm, stderr,
                             "nnlimits: warning: %s has no effect in this job (it needs %s)\n",
                             opts[i].name, opts[i].needs));
  }
  PetscBool auto_sw2 = PETSC_FALSE;
  for (PetscInt k = 0; k < j->nset[NNL_SETTING_SIGMA_W2]; k++)
    auto_sw2 = auto_sw2 || j->set_list[NNL_SETTING_SIGMA_W2][k] < 0;
  if (auto_sw2 &&
      NNLJobHasFamily(j, NNL_FAMILY_MLP)) { /* auto is 1 where it knows no critical value: say so */
    char   names[256] = "";
    size_t len        = 0;
    for (PetscInt b = 0; b < j->nact_base && len < sizeof(names); b++)
      if (!NNLActivationIsHomogeneous(&j->act[b * j->nvar]) &&
          !(NNLActivationCriticalSigmaW2(&j->act[b * j->nvar]) > 0)) {
        char name[256], base[sizeof(j->act[0].canon)];
        BaseCanon(j, b, base, sizeof(base));
        NNLActivationDisplayName(base, name, sizeof(name));
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", name);
      }
    if (len)
      PetscCall(PetscFPrintf(
        comm, stderr,
        "nnlimits: warning: -sigma_w2 auto is 1, not critical, for the MLP of %s (no critical "
        "value in closed form: its kernel drifts with depth); give -sigma_w2 to choose one\n",
        names));
  }
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

PetscBool NNLJobHasFamily(const NNLJob *job, NNLFamily family)
{
  for (PetscInt f = 0; f < job->nfamily; f++)
    if (job->family[f] == family) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode NNLJobCreate(MPI_Comm comm, NNLJob **job)
{
  NNLJob *j;

  PetscErrorCode ierr;

  PetscFunctionBegin;
  *job = NULL;
  PetscCall(PetscNew(&j));
  /* Errors are collected, not returned at once: the options block and the half-read job must be
     freed (a library caller, or the fuzzer, reads many jobs in one process). */
  PetscOptionsBegin(comm, NULL, "nnlimits run: sweep options (the defaults are the default job)",
                    NULL);
  ierr = ReadAxes(PetscOptionsObject, j);
  if (!ierr) ierr = ReadModel(PetscOptionsObject, j);
  if (!ierr) ierr = ExpandSettings(j);
  if (!ierr) ierr = ReadShapeSDE(PetscOptionsObject, j);
  if (!ierr) ierr = ReadRun(comm, PetscOptionsObject, j);
  PetscOptionsEnd();
  if (!ierr) ierr = MakeCanonical(j);
  if (ierr) PetscCall(NNLJobDestroy(&j));
  PetscCall(ierr);
  *job = j;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLJobDestroy(NNLJob **job)
{
  PetscFunctionBegin;
  if (!*job) PetscFunctionReturn(0);
  PetscCall(PetscFree((*job)->family));
  PetscCall(PetscFree((*job)->width));
  PetscCall(PetscFree((*job)->depth));
  PetscCall(PetscFree((*job)->seed));
  PetscCall(PetscFree((*job)->act));
  PetscCall(PetscFree((*job)->input_corr));
  for (int k = 0; k < NNL_SETTING_COUNT; k++) {
    PetscCall(PetscFree((*job)->set_list[k]));
    PetscCall(PetscFree((*job)->act_set[k]));
  }
  PetscCall(PetscFree((*job)->entry_names));
  PetscCall(PetscFree((*job)->canonical));
  PetscCall(PetscFree(*job));
  PetscFunctionReturn(0);
}

PetscBool NNLJobHasSDE(const NNLJob *job, NNLFamily family, PetscInt act)
{
  if (job->sde_paths <= 0) return PETSC_FALSE;
  if (NNLFamilyHasProportionalSDE(family)) return PETSC_TRUE;
  if (family != NNL_FAMILY_RESNET) return PETSC_FALSE;
  for (PetscInt a = act < 0 ? 0 : act; a < (act < 0 ? job->nact : act + 1); a++)
    if (NNLJobBranchAlpha(job, a) == 0.5) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscInt NNLFamilyFirstLayer(NNLFamily family)
{
  return family == NNL_FAMILY_RESNET || family == NNL_FAMILY_CONTROLLED ||
             NNLFamilyIsAttention(family)
           ? 0
           : 1;
}

PetscBool NNLFamilyIsAttention(NNLFamily family)
{
  return family == NNL_FAMILY_ATTENTION || NNLFamilyIsSoftmax(family) ||
             NNLFamilyIsTransformer(family)
           ? PETSC_TRUE
           : PETSC_FALSE;
}

PetscBool NNLFamilyIsTransformer(NNLFamily family)
{
  return family == NNL_FAMILY_TRANSFORMER || family == NNL_FAMILY_SOFTMAX_TRANSFORMER ? PETSC_TRUE
                                                                                      : PETSC_FALSE;
}

PetscBool NNLFamilyIsSoftmax(NNLFamily family)
{
  return family == NNL_FAMILY_SOFTMAX || family == NNL_FAMILY_SOFTMAX_TRANSFORMER ? PETSC_TRUE
                                                                                  : PETSC_FALSE;
}

PetscBool NNLFamilyHasProportionalSDE(NNLFamily family)
{
  return family == NNL_FAMILY_SHAPED || family == NNL_FAMILY_ATTENTION ||
             family == NNL_FAMILY_TRANSFORMER
           ? PETSC_TRUE
           : PETSC_FALSE;
}

PetscBool NNLFamilyIsShapedMLP(NNLFamily family)
{
  return family == NNL_FAMILY_SHAPED || family == NNL_FAMILY_TRANSFORMER ? PETSC_TRUE : PETSC_FALSE;
}

/* The layers of a record or spectra mode, in order, into l (NULL: only counted); returns their
   count. K log-spaced layers lie in [max(first,1), depth], both ends included, duplicates merged,
   with layer 0 where the family has one. */
static PetscInt LayerList(NNLRecordMode mode, PetscInt k, NNLFamily family, PetscInt depth,
                          PetscInt *l)
{
  const PetscInt first = NNLFamilyFirstLayer(family), lo = first > 1 ? first : 1;
  PetscInt       cnt = 0, prev = -1;
  /* the last counts of K log-spaced layers: the grid asks for each cell's several times, and K of
     5e6 took 18 s of plan's set-up for 40 cells (a pure function of its arguments: a process-wide
     cache, ranks are processes) */
  static struct {
    PetscInt k, first, depth, cnt;
  } memo[8];
  static int next;

  if (mode == NNL_RECORD_NONE) return 0;
  if (mode == NNL_RECORD_ALL) {
    for (PetscInt i = first; i <= depth; i++, cnt++)
      if (l) l[cnt] = i;
    return cnt;
  }
  if (mode == NNL_RECORD_LAST || k == 1) {
    if (l) l[0] = depth;
    return 1;
  }
  if (!l)
    for (int i = 0; i < 8; i++)
      if (memo[i].k == k && memo[i].first == first && memo[i].depth == depth && memo[i].cnt)
        return memo[i].cnt;
  if (first == 0) {
    if (l) l[cnt] = 0;
    cnt++;
    prev = 0;
  }
  for (PetscInt i = 0; i < k; i++) {
    PetscInt v = (PetscInt)llround(
      exp(log((double)lo) + (log((double)depth) - log((double)lo)) * i / (k - 1)));
    if (v < lo) v = lo;
    if (v > depth) v = depth;
    if (v > prev) {
      if (l) l[cnt] = v;
      cnt++;
      prev = v;
    }
  }
  if (!l) {
    memo[next].k = k, memo[next].first = first, memo[next].depth = depth, memo[next].cnt = cnt;
    next = (next + 1) % 8;
  }
  return cnt;
}

static PetscErrorCode SelectLayers(NNLRecordMode mode, PetscInt k, NNLFamily family, PetscInt depth,
                                   PetscInt *n, PetscInt **layers)
{
  PetscFunctionBegin;
  *n = LayerList(mode, k, family, depth, NULL);
  PetscCall(PetscMalloc1(*n > 0 ? *n : 1, layers));
  (void)LayerList(mode, k, family, depth, *layers);
  PetscFunctionReturn(0);
}

PetscInt NNLJobRecordCount(const NNLJob *job, NNLFamily family, PetscInt depth)
{
  return LayerList(job->record_mode, job->record_k, family, depth, NULL);
}

PetscInt NNLJobSpectraCount(const NNLJob *job, NNLFamily family, PetscInt depth)
{
  return LayerList(job->spectra_mode, job->spectra_k, family, depth, NULL);
}

PetscErrorCode NNLJobRecordLayers(const NNLJob *job, NNLFamily family, PetscInt depth, PetscInt *n,
                                  PetscInt **layers)
{
  PetscFunctionBegin;
  PetscCall(SelectLayers(job->record_mode, job->record_k, family, depth, n, layers));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLJobSpectraLayers(const NNLJob *job, NNLFamily family, PetscInt depth, PetscInt *n,
                                   PetscInt **layers)
{
  PetscFunctionBegin;
  PetscCall(SelectLayers(job->spectra_mode, job->spectra_k, family, depth, n, layers));
  PetscFunctionReturn(0);
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

/* Options that are ours (for "did you mean"), with the commands that read them, and prefixes that
 * PETSc itself reads. */
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
                                            {"table", " export "},
                                            {"o", " export "},
                                            {"plan_ranks", " plan "},
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
