/* The job: every option of a sweep read once from the PETSc options database and validated, and
 * what each network family has. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "jobimpl.h"
#include "nnlimits/grid.h"
#include <petscblaslapack.h>
#include "parse.h"
#include "nnlimits/shaped.h"

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
PetscErrorCode NNLJobOptString(PetscOptionItems *PetscOptionsObject, const char opt[],
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
  PetscCall(
    NNLJobOptString(PetscOptionsObject, "-family", help, "", D_FAMILY, buf, sizeof(buf), NULL));
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

  PetscCall(NNLJobOptString(PetscOptionsObject, "-grid_width",
                            "Widths n, comma list or range a-b (b exclusive)", "", D_WIDTH, buf,
                            sizeof(buf), NULL));
  PetscCall(NNLParseIntList("-grid_width", buf, 1, &job->width, &job->nwidth));
  PetscCall(NNLJobOptString(PetscOptionsObject, "-grid_depth",
                            "Depths L (MLP: layers; ResNet: residual blocks)", "", D_DEPTH, buf,
                            sizeof(buf), NULL));
  PetscCall(NNLParseIntList("-grid_depth", buf, 1, &job->depth, &job->ndepth));
  /* a layer loop runs to l <= depth and a network records up to depth + 1 layers: both in PetscInt
   */
  PetscCheck(NNLJobMaxDepth(job) <= NNL_DEPTH_MAX, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-grid_depth: %" PetscInt_FMT " is too deep (at most 2^30 = %d)", NNLJobMaxDepth(job),
             NNL_DEPTH_MAX);
  PetscCall(
    NNLJobOptString(PetscOptionsObject, "-grid_seed",
                    "Seeds, comma list or range: 0-32 = the 32 seeds 0..31; 8 = the one seed 8", "",
                    D_SEED, buf, sizeof(buf), NULL));
  PetscCall(NNLParseIntList("-grid_seed", buf, 0, &job->seed, &job->nseed));

  PetscCall(NNLJobOptString(PetscOptionsObject, "-grid_activation",
                            "Activations, comma list; parameters as name:p1:p2 (leaky_relu:0.2)",
                            "", D_ACTIVATION, buf, sizeof(buf), NULL));
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
  PetscCall(NNLJobOptString(PetscOptionsObject, opt, help, "", def, buf, sizeof(buf), NULL));
  PetscCall(NNLParseReal(opt, buf, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadInt(PetscOptionItems *PetscOptionsObject, const char opt[],
                              const char help[], const char def[], PetscInt min, PetscInt *v)
{
  char buf[256];

  PetscFunctionBegin;
  PetscCall(NNLJobOptString(PetscOptionsObject, opt, help, "", def, buf, sizeof(buf), NULL));
  PetscCall(NNLParseInt(opt, buf, min, v));
  PetscFunctionReturn(0);
}

PetscInt NNLJobMaxDepth(const NNLJob *job)
{
  PetscInt d = 0;
  for (PetscInt i = 0; i < job->ndepth; i++) d = PetscMax(d, job->depth[i]);
  return d;
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
  ierr = NNLJobOptString(
    PetscOptionsObject, "-input_correlation",
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
               "-input_correlation: %.6g is not a valid correlation for %" PetscInt_FMT
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
                " (%.6g) is not a correlation (allowed: -1 <= r <= 1)",
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
                          "semidefinite (smallest eigenvalue %.6g)",
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

/* Whether the job's -family list holds a family for which is() holds */
PetscBool NNLJobHasAny(const NNLJob *job, PetscBool (*is)(NNLFamily))
{
  for (PetscInt f = 0; f < job->nfamily; f++)
    if (is(job->family[f])) return PETSC_TRUE;
  return PETSC_FALSE;
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
  PetscCall(NNLJobReadSettings(PetscOptionsObject, job));
  PetscCall(NNLJobOptString(PetscOptionsObject, "-sampler",
                            "Sampler: auto (projection when m < n), dense, projection", "", "auto",
                            buf, sizeof(buf), NULL));
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
  PetscCall(
    NNLJobOptString(PetscOptionsObject, "-record_layers",
                    "Layers recorded: all, last, or K (K log-spaced layers, and layer 0 where "
                    "the family has one; all when K >= the deepest depth)",
                    "", PetscStringize(D_RECORD), buf, sizeof(buf), &set));
  PetscCall(
    NNLJobParseLayers(job, "-record_layers", buf, PETSC_FALSE, &job->record_mode, &job->record_k));
  PetscCall(
    NNLJobOptString(PetscOptionsObject, "-spectra_layers",
                    "Layers whose spectra (Gram eigenvalues, feature singular values, ranks) are "
                    "computed: none, all, last, or K (as -record_layers)",
                    "", "none", buf, sizeof(buf), NULL));
  PetscCall(NNLJobParseLayers(job, "-spectra_layers", buf, PETSC_TRUE, &job->spectra_mode,
                              &job->spectra_k));
  PetscCall(ReadReal(PetscOptionsObject, "-spectra_rtol",
                     "Relative threshold of the thresholded rank: values > rtol * largest", "1e-3",
                     &job->spectra_rtol));
  PetscCheck(job->spectra_rtol > 0 && job->spectra_rtol < 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-spectra_rtol: must be in (0, 1) (got %.6g)", (double)job->spectra_rtol);
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
             "-shape_a: must be > 0 (got %.6g)", (double)job->shape_a);
  PetscCall(ReadInt(PetscOptionsObject, "-attn_key_width",
                    "attention blocks: width n_k of the queries and keys; 0: the width n", "0", 0,
                    &job->attn_key_width));
  PetscCall(ReadInt(PetscOptionsObject, "-sde_paths",
                    "SDE paths per (family, activation, width, depth); 0: no SDE tasks", "0", 0,
                    &job->sde_paths));
  PetscCall(ReadReal(PetscOptionsObject, "-sde_dt",
                     "Euler-Maruyama step of the SDE tasks (SDE time)", "1e-3", &job->sde_dt));
  PetscCheck(job->sde_dt > 0 && job->sde_dt <= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-sde_dt: must be in (0, 1] (got %.6g)", (double)job->sde_dt);
  if (job->sde_paths > 0) { /* the longest SDE time: 1 (ResNet), L/n (shaped MLP, shaped attention);
                               its steps must be countable */
    double T = 1.0, L = (double)NNLJobMaxDepth(job);
    if (NNLJobHasAny(job, NNLFamilyHasProportionalSDE))
      for (PetscInt w = 0; w < job->nwidth; w++) T = PetscMax(T, L / (double)job->width[w]);
    PetscCheck(ceil(T / job->sde_dt) <= (double)PETSC_MAX_INT, PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT,
               "-sde_dt: %.6g makes %.3g Euler-Maruyama steps over SDE time %.6g, more than a step "
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
         a++) {
      char name[128]; /* as given: a sweep entry's ;branch_alpha=... is no setting of the block */
      PetscCheck(!strcmp(job->act[a].def->name, "linear"), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "-family %s: activation '%s' (the attention block has no activation: give "
                 "-grid_activation linear, "
                 "and run other families' activations in a job of their own)",
                 NNLFamilies[job->family[f]],
                 NNLActivationDisplayBase(job->act[a].canon, name, sizeof(name)));
    }
  PetscFunctionReturn(0);
}

/* *v from the environment variable name's value, a whole decimal number (dflt where unset); 0 where
   it is set to something else (atoll took 'abc' as 0, '1x' as 1: another shard, silently). */
static int EnvInteger(const char name[], long long dflt, long long *v, const char **bad)
{
  const char *s = getenv(name);
  char       *end;

  *v = dflt;
  if (!s) return 1;
  errno = 0;
  *v    = strtoll(s, &end, 10);
  if (end != s && !*end && !errno) return 1;
  *bad = name;
  return 0;
}

/* Shard "i/k": explicit, else from a Slurm job array, else 0/1. */
static PetscErrorCode ReadShard(PetscOptionItems *PetscOptionsObject, NNLJob *job)
{
  char        buf[256] = "", def[64] = "0/1";
  const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT"),
             *min = getenv("SLURM_ARRAY_TASK_MIN"), *bad = NULL;
  long long i, k, step, tid, tmin, off;
  char      c;
  PetscBool set;
  const int ok = EnvInteger("SLURM_ARRAY_TASK_STEP", 1, &step, &bad) &
                 EnvInteger("SLURM_ARRAY_TASK_ID", 0, &tid, &bad) &
                 EnvInteger("SLURM_ARRAY_TASK_MIN", 0, &tmin, &bad);

  PetscFunctionBegin;
  if (step <= 0) step = 1;
  /* --array=a-b:s numbers its tasks a, a+s, ... (values EnvInteger refused are not subtracted:
     clamped to LLONG_MAX, their difference would overflow) */
  off = ok ? tid - tmin : 0;
  if (id && cnt)
    snprintf(def, sizeof(def), "%lld/%s", off / step, cnt); /* task (id - a)/s of COUNT */
  PetscCall(
    NNLJobOptString(PetscOptionsObject, "-shard",
                    "This run's shard i/k of the grid (default from SLURM_ARRAY_TASK_ID/COUNT)", "",
                    def, buf, sizeof(buf), &set));
  PetscCheck(set || !id || !cnt || ok, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "-shard: %s='%s' is not an integer: give -shard i/k", bad ? bad : "?",
             bad && getenv(bad) ? getenv(bad) : "");
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
  PetscCall(NNLJobOptString(PetscOptionsObject, "-output",
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
  PetscCall(
    NNLJobOptString(PetscOptionsObject, "-mem_budget_mb",
                    "Memory one task may use, MB (auto: 80% of the node's memory / its ranks)", "",
                    "auto", buf, sizeof(buf), NULL));
  if (strcasecmp(buf, "auto")) {
    PetscCall(NNLParseReal("-mem_budget_mb", buf, &mb));
    PetscCheck(mb > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "-mem_budget_mb: must be > 0 or auto (got %s)", buf);
    budget = mb * 1048576.0;
  }
  job->mem_budget = budget;
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
  if (!ierr) ierr = NNLJobExpandSettings(j);
  if (!ierr) ierr = ReadShapeSDE(PetscOptionsObject, j);
  if (!ierr) ierr = ReadRun(comm, PetscOptionsObject, j);
  PetscOptionsEnd();
  if (!ierr) ierr = NNLJobMakeCanonical(j);
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
