/* Private parts of the job shared by its files: reading (job.c), the swept settings
 * (jobsettings.c), the layers (joblayers.c), the canonical text (jobcanon.c) and the option checks
 * (optionscheck.c). */
#ifndef NNLIMITS_JOBIMPL_H
#define NNLIMITS_JOBIMPL_H

#include "nnlimits/job.h"

/* the families NNLFamilyIsAttention names, as bits 1 << NNLFamily (the attention options' and
 * settings' users) */
#define NNL_ATTENTION_FAMILIES                                                                     \
  (1u << NNL_FAMILY_ATTENTION | 1u << NNL_FAMILY_SOFTMAX | 1u << NNL_FAMILY_TRANSFORMER |          \
   1u << NNL_FAMILY_SOFTMAX_TRANSFORMER)

/** @brief Read string option opt into buf (size len), def when absent; a value too long for buf is
 * an input error. */
PetscErrorCode NNLJobOptString(PetscOptionItems *PetscOptionsObject, const char opt[],
                               const char help[], const char man[], const char def[], char buf[],
                               size_t len, PetscBool *set);
/** @brief Whether the job's -family list holds a family for which is() holds. */
PetscBool NNLJobHasAny(const NNLJob *job, PetscBool (*is)(NNLFamily));
/** @brief Read the swept settings' lists into the job (set_list, nset and their first values). */
PetscErrorCode NNLJobReadSettings(PetscOptionItems *PetscOptionsObject, NNLJob *job);
/** @brief Expand the activations read into the entries of the swept settings (act, act_set, nvar).
 */
PetscErrorCode NNLJobExpandSettings(NNLJob *job);
/** @brief Whether setting k has a line of its own in every job's text. */
PetscBool NNLJobSettingIsAlways(NNLSetting k);
/** @brief One value of setting k as the job's text spells it, into out (size len); snprintf's
 * count. */
int NNLJobSettingValue(NNLSetting k, PetscReal v, char out[], size_t len);
/** @brief Activation b's canon, without the settings of its entries, into out (size len). */
void NNLJobBaseCanon(const NNLJob *job, PetscInt b, char out[], size_t len);
/** @brief Parse buf, the value of -record_layers or -spectra_layers (opt; none allows "none"). */
PetscErrorCode NNLJobParseLayers(const NNLJob *job, const char opt[], const char buf[],
                                 PetscBool none, NNLRecordMode *mode, PetscInt *k);
/** @brief The job's canonical text into job->canonical (allocated). */
PetscErrorCode NNLJobMakeCanonical(NNLJob *job);

#endif
