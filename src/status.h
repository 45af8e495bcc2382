/* What status reads besides a store's counts: a job array's merge job, as jobs/slurm's scripts
 * record it (statusmerge.c), and a shard's store as this build cuts its job (statuscut.c). */
#ifndef NNLIMITS_STATUS_H
#define NNLIMITS_STATUS_H

#include <stdio.h>
#include <petscsys.h>
#include <sqlite3.h>
#include "nnlimits/store.h"

/** @brief Whether dir is a job array's OUTPUT/all or OUTPUT/shard-<i> whose OUTPUT records a merge
   (submit's logs/merge.queued, merge.sbatch's logs/merge.state). Not collective. */
PetscBool NNLStatusMergeKnown(const char dir[]);
/** @brief For each distinct OUTPUT of dirs that records a merge, a line "status
   merge=queued|running|died|complete|failed job=ID at=TIME output=OUTPUT/all log=LOG" on out
   (died: recorded running, but killed in its merge: MergeKilled), and on stderr a failed merge's
   first error line (or where a queued one waits, or that a died one is kept); returns the lines
   printed. Not collective. */
PetscInt NNLStatusMergePrint(PetscInt n, const char *const dirs[], FILE *out);
/** @brief A merge into dir's store db (status.c): *state 0 none, 1 merging (a process holds the
   lock, or whether one does cannot be told), 2 killed before it ended (its flag left in meta, and
   no process holds the lock: held, NNLStoreLockHeld before the read, and a look after it, as a
   merge that begins in between sets the flag). */
PetscErrorCode NNLStatusMergeFlag(sqlite3 *db, const char dir[], int held, int *state);

/* This build's cut of a stored job into shards, kept from one store to the next (statuscut.c). */
typedef struct _n_NNLStatusCut *NNLStatusCut;
typedef struct {
  PetscBool known;   /* this build could read the store's job back, and cut it */
  long long total;   /* the points this build gives the store's shard */
  long long done;    /* of those, done in the store */
  long long failed;  /* of those, failed in the store */
  long long foreign; /* points it holds (done or failed) that this build gives other shards */
} NNLStatusCutCounts;
/** @brief Shard i of k's store s counted as this build cuts its job (*cut: NULL at first, then the
   cut kept for the next store of the same job; NNLStatusCutDestroy frees it). Nothing known (not
   an error) where this build cannot read the stored job back as the same job. Not collective. */
PetscErrorCode NNLStatusCutCount(NNLStatusCut *cut, NNLStore s, long long i, long long k,
                                 NNLStatusCutCounts *cc);
PetscErrorCode NNLStatusCutDestroy(NNLStatusCut *cut);

#endif
