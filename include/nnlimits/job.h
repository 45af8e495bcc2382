/* The job: every option of a sweep, read once from the PETSc options database, validated,
 * immutable. */
#ifndef NNLIMITS_JOB_H
#define NNLIMITS_JOB_H

#include <petscsys.h>
#include "nnlimits/activation.h"

/* CONTROLLED: the controlled ResNet with shared weights driven by x_t = t (Cirone–Lemercier–Salvi
   2023), Y_0 = W_in x, Y_ℓ = Y_{ℓ−1} + (A φ(Y_{ℓ−1}) + b)/L with A ~ N(0, σ_A²/n) and b ~ N(0,
   σ_b²) the same at every layer; its limits are the neural signature kernel's Goursat problem
   (signature.h). */
typedef enum {
  NNL_FAMILY_MLP                 = 0,
  NNL_FAMILY_RESNET              = 1,
  NNL_FAMILY_SHAPED              = 2,
  NNL_FAMILY_CONTROLLED          = 3,
  NNL_FAMILY_ATTENTION           = 4,
  NNL_FAMILY_SOFTMAX             = 5,
  NNL_FAMILY_TRANSFORMER         = 6,
  NNL_FAMILY_SOFTMAX_TRANSFORMER = 7,
  NNL_FAMILY_COUNT
} NNLFamily;
typedef enum {
  NNL_SAMPLER_AUTO       = 0,
  NNL_SAMPLER_DENSE      = 1,
  NNL_SAMPLER_PROJECTION = 2
} NNLSamplerType;
typedef enum {
  NNL_RECORD_ALL  = 0,
  NNL_RECORD_LAST = 1,
  NNL_RECORD_LOG  = 2,
  NNL_RECORD_NONE = 3
} NNLRecordMode;
/* The settings a comma list sweeps within the activation axis (NNLJob's act[]), in the order of the
 * entries' names */
typedef enum {
  NNL_SETTING_SIGMA_W2 = 0,
  NNL_SETTING_SIGMA_B2,
  NNL_SETTING_BRANCH_ALPHA,
  NNL_SETTING_ATTN_TAU0,
  NNL_SETTING_ATTN_GAMMA,
  NNL_SETTING_COUNT
} NNLSetting;

extern const char
  *const NNLFamilies[]; /* "mlp","resnet","shaped_mlp","controlled_resnet" (NULL-terminated) */
extern const char *const NNLSamplerTypes[]; /* "auto","dense","projection" */

/* Axes are arrays in canonical order (as given, duplicates rejected). All fields read-only after
 * NNLJobCreate. */
typedef struct {
  PetscInt       nfamily, nwidth, ndepth, nseed, nact;
  NNLFamily     *family;
  PetscInt      *width, *depth, *seed;
  NNLActivation *act;
  PetscInt       inputs;    /* m */
  PetscInt       input_dim; /* d */
  PetscReal input_correlation; /* r: x_a·x_b/d = r for every a ≠ b, ‖x_a‖² = d; NaN when the pairs'
                                  differ */
  PetscReal
    *input_corr; /* m(m−1)/2: x_a·x_b/d of each pair a < b, in (0,1), (0,2), …, (1,2), … order */
  PetscInt input_corr_distinct; /* distinct values among them (bitwise): the limits' quadratures per
                                   layer */
  PetscReal sigma_w2, sigma_b2, branch_alpha; /* the first value of each list (sigma_w2 -1: auto) */
  /* The swept settings (NNLSetting: -sigma_w2, -sigma_b2, -branch_alpha, -attn_tau0, -attn_gamma)
     are comma lists: the job sweeps their product (nvar settings) within its activation axis. act[]
     holds nact_base activations × nvar settings, activation-major (settings in NNLSetting's order,
     σ_w² slowest, γ fastest), an entry's canon its activation's plus ";sigma_w2=v" for each list of
     two or more values, and act_set[s] each entry's value of setting s: with one value each, act[]
     is the activations as given. */
  PetscInt   nset[NNL_SETTING_COUNT], nvar, nact_base;
  PetscReal *set_list[NNL_SETTING_COUNT];
  PetscReal *act_set[NNL_SETTING_COUNT];
  char *entry_names; /* with nvar > 1: NNLJobEntryName's, NNL_FAMILY_COUNT per entry, sizeof(canon)
                        each */
  NNLSamplerType sampler;
  NNLRecordMode  record_mode;
  PetscInt       record_k; /* NNL_RECORD_LOG: number of log-spaced layers */
  NNLRecordMode
            spectra_mode; /* layers whose spectra are computed (-spectra_layers; default none) */
  PetscInt  spectra_k;
  PetscReal spectra_rtol; /* relative threshold of rank_rtol (-spectra_rtol) */
  PetscInt  run_seed;
  PetscReal shape_c_plus, shape_c_minus; /* shaped ReLU: s± = 1 + c±/√n (shaped_mlp) */
  PetscReal shape_a; /* smooth shaped φ_s(x) = s φ(x/s), s = a√n (shaped_mlp, φ(0)=0, φ'(0)=1) */
  PetscReal attn_tau0, attn_gamma; /* the first value of each list: logits over τ₀√(n n_k); Y ← λY +
                                      γ·(values), λ² + γ² = 1 */
  PetscInt  attn_key_width; /* shaped_attention: n_k of the queries and keys; 0: the width n */
  PetscInt  sde_paths;      /* SDE paths per (family, activation, width, depth); 0: no SDE tasks */
  PetscReal sde_dt;         /* Euler–Maruyama step in SDE time */
  PetscInt  fp_cells;       /* Fokker–Planck cells (NNL_FP_GRID) */
  PetscInt  shard_index, shard_count; /* 0 <= shard_index < shard_count */
  PetscReal mem_budget;               /* bytes a rank may use for one task */
  /* The ranks a network's large spectra are computed on as the cost model prices them: the
     scheduler's -spectra_team_size where the ranks planned for (a run's own, plan's -plan_ranks)
     form teams, and -spectra_team_min (0 or 1: LAPACK on the task's rank). Set by NNLRunSetUp; a
     cost, not a result: no part of the canonical text. */
  PetscInt spectra_team, spectra_team_min;
  char     output[PETSC_MAX_PATH_LEN];
  char    *canonical; /* "key=value\n" lines of every option that changes results; the store's
                         fingerprint */
} NNLJob;

/**
  @brief Read and validate every job option. Collective on comm: all ranks read the same database
  and reach the same verdict; input errors are PETSC_ERR_USER_INPUT with a message naming the option
  and the allowed values. With -help, prints every option and its default (help is printed and *job
  is still created).
*/
/** @brief A warning on stderr (rank 0 of comm) for each option given that the job does not use
   (-sigma_w2 without an MLP, -shape_c_plus without shaped_mlp, -sde_dt without SDE tasks, ...). */
PetscErrorCode NNLJobWarnUnused(MPI_Comm comm, const NNLJob *job);
PetscErrorCode NNLJobCreate(MPI_Comm comm, NNLJob **job);
/**
  @brief A job text stored by an earlier build, as this build writes the same job: solver options
  that change nothing (SolverLineCounts: of a solver the job does not run, or at their default)
  dropped, and -record_layers K or -spectra_layers K at least the stored grid's depth written as
  all. *out is freed by the caller.
*/
PetscErrorCode NNLJobNormalizeStored(const NNLJob *job, const char stored[], char **out);
/**
  @brief Whether the job whose canonical text is stored is this job on fewer values of its axes
  (families, widths, depths, seeds, activations): every stored value one of this job's, and every
  other option the same. A run of this job can then extend that job's store: every point it holds is
  a point of this grid, with the same id and numbers.
*/
PetscErrorCode NNLJobExtends(const NNLJob *job, const char stored[], PetscBool *extends);
/** @brief Free the job; safe on NULL; nulls the handle. Not collective. */
PetscErrorCode NNLJobDestroy(NNLJob **job);
/**
  @brief Error if an option in the database was never read (a misspelling, or another command's
  option), with a "did you mean" suggestion among the options of command cmd ("run", "plan",
  "status", "export", "merge"). Collective. Call after every object has read its options.
*/
PetscErrorCode NNLOptionsCheckUnused(MPI_Comm comm, const char cmd[]);
/** @brief The largest of the job's depths. */
PetscInt NNLJobMaxDepth(const NNLJob *job);
/**
  @brief Error if option opt (no prefix) holds a value of len characters or more: read into a buffer
  of len, PETSc would have cut it short without a word.
*/
PetscErrorCode NNLOptionsCheckLength(const char opt[], size_t len);

/** @brief Recorded layer indices of a network of the given family and depth (ascending); *n set.
 * Caller frees. */
PetscErrorCode NNLJobRecordLayers(const NNLJob *job, NNLFamily family, PetscInt depth, PetscInt *n,
                                  PetscInt **layers);
/* How many layers NNLJobRecordLayers / NNLJobSpectraLayers give, without the list. */
PetscInt NNLJobRecordCount(const NNLJob *job, NNLFamily family, PetscInt depth);
PetscInt NNLJobSpectraCount(const NNLJob *job, NNLFamily family, PetscInt depth);

/** @brief Layers whose spectra are computed (-spectra_layers; ascending; *n = 0 for none). Caller
 * frees. */
PetscErrorCode NNLJobSpectraLayers(const NNLJob *job, NNLFamily family, PetscInt depth, PetscInt *n,
                                   PetscInt **layers);

/** @brief x_a·x_b/d of inputs a and b (1 for a = b). */
PetscReal NNLJobInputCorrelation(const NNLJob *job, PetscInt a, PetscInt b);
/** @brief The inputs' m×m correlation matrix (column-major, full). */
void NNLJobInputCov(const NNLJob *job, double *C);
/** @brief -sigma_w2 auto's σ_w² for φ: critical, 1/E φ(Z)² for a·min + b·max, 1/φ'(0)² for the odd
   smooth φ that have one in closed form, else 1 (softmax_transformer's MLP gain too). */
PetscReal NNLActivationAutoSigmaW2(const NNLActivation *a);
/** @brief σ_w² of the MLP for activation entry act (resolves -sigma_w2 auto to the critical value).
 */
PetscReal NNLJobSigmaW2(const NNLJob *job, PetscInt act);
/** @brief σ_A² of the controlled ResNet for entry act: its -sigma_w2, or 1 for auto (it has no
 * critical value). */
PetscReal NNLJobSigmaA2(const NNLJob *job, PetscInt act);
/** @brief σ_b² of entry act (MLP, controlled ResNet). */
PetscReal NNLJobSigmaB2(const NNLJob *job, PetscInt act);
/** @brief The ResNet branch exponent α of entry act. */
PetscReal NNLJobBranchAlpha(const NNLJob *job, PetscInt act);
/** @brief The attention blocks' τ₀ of entry act. */
PetscReal NNLJobAttnTau0(const NNLJob *job, PetscInt act);
/** @brief The attention blocks' γ of entry act. */
PetscReal NNLJobAttnGamma(const NNLJob *job, PetscInt act);
/** @brief The name of activation entry act in a family's points (ids, the store, exports): the
   activation's canon and the swept settings the family uses (the MLP's
   tanh;sigma_w2=1.5;sigma_b2=0.1, the ResNet's relu;branch_alpha=1, the shaped MLP's tanh), so that
   a value added to a list another family uses renames none of its points. */
const char *NNLJobEntryName(const NNLJob *job, NNLFamily family, PetscInt act);
/** @brief Whether a family has a grid cell for activation entry act: every swept setting the family
   does not use (α for the MLPs, σ_w² and σ_b² for the ResNet, all three for the shaped MLP) at its
   first value, so that a sweep of -branch_alpha does not repeat the MLP's networks. */
PetscBool NNLJobEntryApplies(const NNLJob *job, NNLFamily family, PetscInt act);
/** @brief Whether the job's -family list holds `family`. */
PetscBool NNLJobHasFamily(const NNLJob *job, NNLFamily family);

/** @brief Whether the SDE task of a family applies to activation entry act (-sde_paths > 0; ResNet
   with α = 1/2, shaped MLP, shaped attention); act < 0: to some entry. */
PetscBool NNLJobHasSDE(const NNLJob *job, NNLFamily family, PetscInt act);

/** @brief Whether a family has attention blocks (its layer 0 the tokens' embedding):
   shaped_attention, softmax_attention (its unshaped form), shaped_transformer (the shaped attention
   and an MLP sub-block), softmax_transformer (its unshaped form). */
PetscBool NNLFamilyIsAttention(NNLFamily family);
/** @brief Whether a family applies the shaped MLP's activation φ_s (-shape_c_plus, -shape_c_minus,
   -shape_a): shaped_mlp, and shaped_transformer's MLP sub-block. */
PetscBool NNLFamilyIsShapedMLP(NNLFamily family);
/** @brief Whether a family's SDE task is the proportional limit's covariance SDE, in t =
   layer/width: shaped_mlp, shaped_attention, shaped_transformer (the ResNet's is in t =
   layer/depth). */
PetscBool NNLFamilyHasProportionalSDE(NNLFamily family);
/** @brief The key of swept setting k in a job's text and its option's name without the '-':
 * "sigma_w2", …, "attn_gamma". */
const char *NNLJobSettingKey(NNLSetting k);
/** @brief Whether a family's layers have an MLP sub-block after their attention:
 * shaped_transformer, softmax_transformer. */
PetscBool NNLFamilyIsTransformer(NNLFamily family);
/** @brief Whether a family's attention is the unshaped softmax (O(1) logits: its A stays random as
   n → ∞, no kernel limit, no SDE): softmax_attention, softmax_transformer. */
PetscBool NNLFamilyIsSoftmax(NNLFamily family);

/** @brief First layer index of a family (MLP, shaped MLP: 1 = first hidden pre-activation; ResNet,
   controlled ResNet, shaped and softmax attention: 0 = embedding). */
PetscInt NNLFamilyFirstLayer(NNLFamily family);

#endif
