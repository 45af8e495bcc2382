/* The run store: one SQLite file per run directory; rank 0 is the only writer; each point commits
 * atomically. */
#ifndef NNLIMITS_STORE_H
#define NNLIMITS_STORE_H

#include <stdio.h>
#include "nnlimits/grid.h"
#include "nnlimits/result.h"

#define NNL_STORE_FILE "nnlimits.sqlite"
#define NNL_STORE_LOCK "nnlimits.lock" /* held (fcntl) by the one process writing the store */
#define NNL_STORE_SCHEMA                                                                           \
  12 /* 2: limit tasks (points.kind, table limits); 3: spectra, spectrum, SDE tasks (sde_paths,    \
      fokker_planck); 4: a network's per-layer arrays as BLOBs (table layers, views gram and       \
      stats); 5: all of a network's layers in one row (table netlayers; layers a view); 6: points  \
      and netlayers rows appended (their id a UNIQUE column, not the rowid); 7: the tables as 6;   \
      its rows follow the conventions its meta names (sde_time, fp_grid), which builds before 7 do \
      not read: they refuse it rather than add rows of another convention; 8: the tables as 7, and \
      the convention attention_logits, which builds before 8 do not read; 9: the tables as 8, and  \
      the convention relu_drift; 10: the tables as 9, and the convention fp_layers; 11: the tables \
      as 10, and the convention ode_steps; 12: the tables as 11, and the convention psd_copies */
#define NNL_STORE_SCHEMA_READ                                                                      \
  4 /* the oldest schema export, status and laws read: 4's table layers has the rows of the        \
       view layers, and gram and stats are the same views on it; 5 differs only in keys */

/* The largest value SQLite stores (its default SQLITE_MAX_LENGTH, which Debian's build keeps): a
   network's Gram over its recorded layers is one BLOB (NNLPointArrays), so a job whose arrays
   exceed it is refused before it runs. */
#define NNL_STORE_MAX_VALUE 1e9
/* The largest array a task may allocate, index or send (PetscInt and MPI counts), less room for a
 * message's header */
#define NNL_MAX_ARRAY ((double)PETSC_MAX_INT - 65536)

typedef struct _p_NNLStore *NNLStore;

/**
  @brief Open (creating if needed) DIR/nnlimits.sqlite for the job. Not collective: rank 0 only.
  Refuses (PETSC_ERR_USER_INPUT, message naming the first differing option) a store made by a
  different job; refuses a newer schema and a file that is not a store. Records a new row of run
  provenance.
*/
PetscErrorCode NNLStoreOpen(const char dir[], const NNLJob *job, const NNLGrid *grid, NNLStore *st);
/**
  @brief What a run of the job would find in its -output, read-only (nothing created or locked):
  *stored = the points committed there (-1: no store yet), *extends = it holds this job on fewer
  axis values. Refuses, with NNLStoreOpen's message, what a run would refuse: another job, another
  shard, a newer schema, a file that is not a store. Rank 0 only.
*/
PetscErrorCode NNLStoreCheckOutput(const NNLJob *job, PetscInt *stored, PetscBool *extends);
/** @brief Open an existing store read-only (export, status, merge). */
PetscErrorCode NNLStoreOpenRead(const char dir[], NNLStore *st);
/** @brief Ids of committed points (done or failed), in ascending order. Caller frees *ids. */
PetscErrorCode NNLStoreCommittedIds(NNLStore st, PetscInt *n, uint64_t **ids);
/** @brief Whether id is one of the n ascending ids (of NNLStoreCommittedIds). */
PetscBool NNLStoreIdsHave(const uint64_t *ids, PetscInt n, uint64_t id);
/** @brief True if paths a and b both exist and are the same directory or file (after symbolic
 * links, . and ..). */
PetscBool NNLStoreSamePath(const char a[], const char b[]);
/* The process id of a run or merge writing DIR now (holding its lock; 1 where the lock's holder is
 * not told), else 0. */
int NNLStoreWriter(const char dir[]);
/** @brief Commit one point and its arrays in one transaction. */
PetscErrorCode NNLStoreCommit(NNLStore st, const NNLPoint *pt, const NNLResult *res);
/**
  @brief Keep the run's own estimate of the seconds it has left (meta 'eta': "<epoch seconds>
  <seconds left>"), for `status` to read while the run is live. Best effort: a failed write is
  ignored (a commit would report it).
*/
void NNLStoreSetETA(NNLStore st, double left);
/**
  @brief Commit the open group of commits if it is older than the group's time (0.25 s).
  NNLStoreCommit does so at each commit; rank 0 calls this while it waits on long tasks, so that
  what finished before them is not held back.
*/
PetscErrorCode NNLStoreTick(NNLStore st);
/** @brief Record the end of this run (status text, e.g. "complete", "interrupted"). */
PetscErrorCode NNLStoreFinishRun(NNLStore st, const char status[]);
/** @brief A stop signal came (rank 0, once): commit the open group's finished tasks and mark this
   run "stopping" in runs, so that a run killed in its stop (mpiexec's SIGKILL 1 s after its
   SIGTERM, Slurm's after KillWait) reads interrupted, not died. */
PetscErrorCode NNLStoreMarkStopping(NNLStore st);
/** @brief After an error: commit the open group's finished tasks, roll back what else is open, and
   mark this run "failed" in runs (best effort, silent; rank 0). */
void NNLStoreMarkFailed(NNLStore st);
/** @brief "nnlimits VERSION (git COMMIT)": this build, as the store's provenance records it. */
const char *NNLVersion(void);
/** @brief "nnlimits V; PETSc ...; Open MPI ...; SQLite ...; OpenBLAS ..." into buf: what a run
 * records as its versions. */
void           NNLLibraryVersions(char *buf, size_t len);
PetscErrorCode NNLStoreClose(NNLStore *st);

/** @brief Write a tidy CSV of table ("gram", "points", "stats") to out, rows in canonical order. */
PetscErrorCode NNLStoreExport(NNLStore st, const char table[], FILE *out);
/** @brief Whether name is one of the tables export writes (case-insensitive). */
PetscBool NNLStoreIsTable(const char name[]);
/** @brief Print one line "status dir=.. done=.. failed=.. pending=.. total=.. .. eta=.." for the
 * store to out. */
PetscErrorCode NNLStoreStatus(NNLStore st, const char dir[], FILE *out);
/** @brief Status lines of several run directories (the shards of a job array), then their sum when
 * n > 1. */
PetscErrorCode NNLStoreStatusMany(PetscInt n, const char *const dirs[], FILE *out);
/** @brief After an export of dir's store: a line on out if the store is not finished (tasks
 * pending), saying why. */
PetscErrorCode NNLStoreExportNote(NNLStore st, const char dir[], FILE *out);
/** @brief After an export of table from dir's store: a line on out if its job makes no rows of
 * that table (spectra, spectrum without -spectra_layers; sde, fokker_planck without -sde_paths),
 * naming the option that would. */
PetscErrorCode NNLStoreExportNone(NNLStore st, const char dir[], const char table[], FILE *out);
/**
  @brief Merge the stores of dirs[0..n) (shards of one job) into the store in output, creating it if
  needed. Idempotent: points already there are kept. Refuses inputs of different jobs before
  touching output.
*/
PetscErrorCode NNLStoreMerge(PetscInt n, const char *const dirs[], const char output[]);

#endif
