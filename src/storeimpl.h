/* Private layout of the run store, and what its files share: the store (store.c), its SQLite file
 * (storedb.c), tables (storeschema.c), writes (storecommit.c), checkpointer (storeckpt.c) and
 * comparisons (storesame.c), and its readers (export.c, compare.c, status.c, merge.c). */
#ifndef NNLIMITS_STOREIMPL_H
#define NNLIMITS_STOREIMPL_H

#include <sqlite3.h>
#include "nnlimits/store.h"

/* The checkpointer of a writer (storeckpt.c). */
typedef struct _n_NNLStoreCkpt *NNLStoreCkpt;

struct _p_NNLStore {
  sqlite3      *db;
  const NNLJob *job; /* NULL when opened for reading */
  char          dir[PETSC_MAX_PATH_LEN];
  sqlite3_stmt *ins_point, *ins_net, *ins_seq, *ins_limit, *ins_spectra, *ins_spectrum, *ins_path,
    *ins_fp;
  /* the commit's transaction statements, prepared once: parsing them per task cost more than the
   * rows of a tiny task */
  sqlite3_stmt *tx_begin, *tx_commit;
  double       *blob;  /* an array in little-endian bytes, while it is bound */
  size_t        nblob; /* its length in doubles */
  PetscInt      nseq;  /* rows of table seq (0 .. nseq − 1) present since the store was opened */
  sqlite3_int64 run;   /* this run's row in runs */
  PetscBool     wal;   /* opened for writing and switched to WAL: switch back at close */
  int           lock;  /* descriptor holding the writer's lock, or -1 */
  PetscBool     group; /* a transaction of grouped commits is open (NNLStoreCommit) */
  double        group_t0; /* when it began (MPI_Wtime) */
  NNLStoreCkpt
    ckpt; /* copies the WAL into the store file on its own thread while a run writes, or NULL */
};

/** @brief Not collective: start the checkpointer of a writer in WAL mode (if no thread can start,
   SQLite's own checkpoint at close does its work). */
PetscErrorCode NNLStoreCkptStart(NNLStore s);
/** @brief Stop and join it, closing its connection; *done (may be NULL): the checkpoints it ran.
 * Nothing if none. */
PetscErrorCode NNLStoreCkptStop(NNLStore s, int *done);
/** @brief Error (PETSC_ERR_FILE_WRITE, SQLite's message) unless rc is OK, DONE or ROW. */
PetscErrorCode NNLStoreCheck(sqlite3 *db, int rc, const char what[]);
/** @brief Create the run directory (and parents); an existing file there or no write access is an
 * input error. */
PetscErrorCode NNLStoreMakeDir(const char dir[]);
/** @brief Take DIR's writer lock (fd >= 0) or fail naming the process that holds it; Unlock
 * releases it. */
PetscErrorCode NNLStoreLock(const char dir[], int *fd);
int            NNLStoreLockHeld(const char dir[]);
void           NNLStoreUnlock(int *fd);
/** @brief Run SQL statements without results. */
PetscErrorCode NNLStoreExec(sqlite3 *db, const char sql[]);
/** @brief Open DIR's store file; read-only opens refuse a missing file. */
PetscErrorCode NNLStoreOpenDB(const char dir[], PetscBool write, sqlite3 **db);
/** @brief Refuse files that are not stores or have a newer schema; *fresh (may be NULL): the file
 * is empty. */
PetscErrorCode NNLStoreVerify(sqlite3 *db, const char dir[], PetscBool *fresh);
/** @brief The schema number of database name ("main" or an attached input). */
PetscErrorCode NNLStoreSchema(sqlite3 *db, const char name[], int *schema);
/** @brief A store of schema 4 or 5 becomes this build's schema, in one transaction; nothing for a
 * current store. */
PetscErrorCode NNLStoreUpgrade(sqlite3 *db, const char dir[]);
/** @brief Schema 4's table layers of database from into netlayers rows (existing points kept) and
   seq; in the caller's transaction. */
PetscErrorCode NNLStoreLayersToNet(sqlite3 *db, const char from[]);
/** @brief Create the tables of an empty store and its meta records, in one transaction. */
PetscErrorCode NNLStoreCreateSchema(sqlite3 *db, const char canonical[], const char shard[],
                                    PetscInt total, PetscInt grid_points, PetscInt inputs);
/** @brief Register the SQL functions the store's views use (nnl_at) on a connection. */
PetscErrorCode NNLStoreFunctions(sqlite3 *db);
/* Entry k of a BLOB of little-endian doubles (the arrays of netlayers), as nnl_at reads it; the
 * caller checks the length. */
double NNLStoreBlobAt(const unsigned char *p, sqlite3_int64 k);
/* What creating the run directory would refuse (NNLStoreMakeDir), checked without creating it. */
PetscErrorCode NNLStoreCheckDir(const char dir[]);
/* Switch a store written in WAL mode back to a single file (the final checkpoint), and warn on
 * stderr if it stays in WAL: a reader holds it, or the checkpoint failed (a full disk). */
void NNLStoreLeaveWAL(sqlite3 *db, const char dir[]);
/* The largest power of two <= |x| (1 for 0, inf or NaN): the unit in which the seeds' squared
 * deviations are summed (compare.c, summary.c), so that q far from 1 neither underflows nor
 * overflows them, and every other result keeps its bits. */
double NNLStorePow2Below(double x);
/* Seeds too heavy-tailed for their mean ± se to be read as a Gaussian's (compare.c, summary.c): of
   n >= 64 seeds, one's squared deviation from their mean (dmax) is more than half of all of them
   (ss), in any one unit. A ReLU MLP's q at depth/width 1 (log-normal, log-variance 5: Hanin-Nica)
   is so in 69 % of such rows at 64 seeds and 47 % at 512; a Gaussian sample of 64 never (0 in
   200000), a χ² of 1 or 2 degrees of freedom (widths 1, 2) in 7 or 2 % at 64 seeds, none at 512. */
PetscBool NNLStoreHeavyTailed(long long n, double ss, double dmax);
/** @brief Doubles as little-endian bytes, the layout of every array BLOB (storedb.c). */
void NNLStoreDoublesLE(PetscInt n, const double v[], unsigned char *p);
/* Table seq's rows ?1 .. ?2 − 1 (storeschema.c creates the table; a run's writer and an upgrade add
 * rows). */
#define NNL_STORE_SEQ_SQL                                                                          \
  "WITH RECURSIVE c(r) AS (SELECT ?1 UNION ALL SELECT r + 1 FROM c WHERE r + 1 < ?2)"              \
  " INSERT OR IGNORE INTO seq SELECT r FROM c"
/** @brief Rows 0 .. n − 1 of table seq, if the store may lack some (storecommit.c). */
PetscErrorCode NNLStoreSeqReserve(NNLStore s, PetscInt n);
/** @brief A meta value (caller frees; NULL if absent) / set one. */
PetscErrorCode NNLStoreMetaGet(sqlite3 *db, const char key[], char **value);
/** @brief Error unless the store's networks were drawn with this build's random stream version. */
PetscErrorCode NNLStoreCheckStream(sqlite3 *db, const char dir[]);
/* A warning if the store holds points of runs with other OpenBLAS builds or kernel types
   (current: this run's, else -1). */
PetscErrorCode NNLStoreWarnKernels(sqlite3 *db, const char dir[], sqlite3_int64 current);
/* A check of an existing, not fresh store at dir before a run or merge adds to it (ctx: what it is
 * checked against). */
typedef PetscErrorCode (*NNLStoreCheckFn)(sqlite3 *db, const char dir[], const void *ctx);
/** @brief Before the lock: if dir holds a store, open it read-only, verify it and (unless fresh)
   check it, so that a refused run or merge leaves the directory exactly as it was (not even a lock
   file). */
PetscErrorCode NNLStorePreCheck(const char dir[], NNLStoreCheckFn check, const void *ctx);
PetscErrorCode NNLStoreMetaSet(sqlite3 *db, const char key[], const char value[]);
/* The shaped MLP's SDE time of layer ℓ is (ℓ − offset)/n: offset 0 in stores with meta "sde_time"
   (MATH.md's ℓ/n), 1 in stores written before it existed (whose SDE paths were integrated to (L −
   1)/n). As SQL, and from C: */
#define NNL_SDE_OFFSET_SQL "(SELECT count(*) = 0 FROM meta WHERE key = 'sde_time')"
/* Edge I (an SQL expression) in ρ of the row f of table fokker_planck: its cells number max(cell) +
 * 1 over its (point, layer). */
#define NNL_FP_EDGE_SQL(I)                                                                         \
  "nnl_fp_edge(" I ",(SELECT max(g.cell)+1 FROM fokker_planck g WHERE g.point=f.point AND "        \
  "g.layer=f.layer),(SELECT value FROM meta WHERE key='fp_grid'))"
PetscErrorCode NNLStoreSDETimeOffset(sqlite3 *db, int *offset);
/** @brief Error naming the first option whose canonical line differs between have (the store's) and
 * want. */
PetscErrorCode NNLStoreCompareJob(const char dir[], const char have[], const char want[],
                                  const char advice[]);
/** @brief All rows of one task's result; *dup (and nothing written) if its id is stored already. */
PetscErrorCode NNLStoreInsertRows(NNLStore s, const NNLPoint *pt, const NNLResult *res,
                                  PetscBool *dup);
/** @brief In a commit's transaction, for a point whose id is stored already: error if its stored
 * rows differ from res. */
PetscErrorCode NNLStoreSameAsHeld(NNLStore s, const NNLPoint *pt, const NNLResult *res);
/** @brief Error naming the first point the attached merge input `src` and the output both hold with
 * different rows. */
PetscErrorCode NNLStoreMergeConflict(sqlite3 *db, const char a[], const char b[],
                                     const char a_dir[], const char b_dir[], sqlite3_int64 since,
                                     PetscBool with_netlayers);
/** @brief The compare and extrapolate tables' writers (compare.c): their rows to out; st is only a
 * handle on the store. */
PetscErrorCode NNLStoreWriteCompare(sqlite3_stmt *st, FILE *out);
PetscErrorCode NNLStoreWriteExtrapolate(sqlite3_stmt *st, FILE *out);
/* The export's own readers and CSV writer (export.c), which compare.c shares too. */
/** @brief Whether the store keeps its networks' arrays in netlayers (schema 5 and later; schema 4
 * had a table layers). */
PetscBool NNLStoreHasNetlayers(sqlite3 *db);
/** @brief Layer number r of a network's layers array (doubles); PETSC_FALSE if it is no integer a
 * layer could be. */
PetscBool NNLStoreLayerAt(const unsigned char *lay, PetscInt r, long long *L);
/** @brief The store's np pairs: order[o] the o-th in (a, b) order, a[k] and b[k] those of pair k;
 * an error unless k = 0 .. np − 1, each once. The caller frees the arrays (only on success). */
PetscErrorCode NNLStoreLoadPairs(sqlite3 *db, PetscInt *np, PetscInt **order, long long **a,
                                 long long **b);
/** @brief A CSV field after a comma: v with %.17g, empty for NaN. */
void NNLStoreWriteOptional(FILE *out, double v);
/** @brief Seconds since the epoch, with fractions (commit times, rates). */
double NNLStoreEpoch(void);
/** @brief UTC time as ISO 8601. */
void NNLStoreNow(char buf[], size_t len);

#endif
