/* What status reads besides a store's counts: a job array's merge job, as jobs/slurm's scripts
 * record it (statusmerge.c). */
#ifndef NNLIMITS_STATUS_H
#define NNLIMITS_STATUS_H

#include <stdio.h>
#include <petscsys.h>

/** @brief Whether dir is a job array's OUTPUT/all or OUTPUT/shard-<i> whose OUTPUT records a merge
   (submit's logs/merge.queued, merge.sbatch's logs/merge.state). Not collective. */
PetscBool NNLStatusMergeKnown(const char dir[]);
/** @brief For each distinct OUTPUT of dirs that records a merge, a line "status
   merge=queued|running| complete|failed job=ID at=TIME output=OUTPUT/all log=LOG" on out, and on
   stderr a failed merge's first error line (or where a queued one waits); returns the lines
   printed. Not collective. */
PetscInt NNLStatusMergePrint(PetscInt n, const char *const dirs[], FILE *out);

#endif
