/* The run store's SQLite file: its directory and writer lock, opening and verifying it, errors,
 * meta records, and the SQL functions its views use. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "storeimpl.h"
#include "nnlimits/activation.h"
#include "nnlimits/fokker_planck.h"

/* A full disk or a file size limit reaches SQLite as SQLITE_FULL or SQLITE_IOERR ("disk I/O
   error"): say which, and what to do, in the one error line. */
static void IOHint(sqlite3 *db, int rc, char buf[], size_t len)
{
  int         err  = db ? sqlite3_system_errno(db) : 0;
  const char *file = db ? sqlite3_db_filename(db, "main") : NULL;

  buf[0] = 0;
  if ((rc & 0xff) != SQLITE_FULL && (rc & 0xff) != SQLITE_IOERR) return;
  snprintf(buf, len,
           " (%s, writing '%s'): free space there or raise the file size limit, then rerun the "
           "same command "
           "(committed points are kept)",
           err ? strerror(err) : "disk full or file size limit",
           file && file[0] ? file : "the store");
}

PetscErrorCode NNLStoreCheck(sqlite3 *db, int rc, const char what[])
{
  char hint[PETSC_MAX_PATH_LEN + 256];

  PetscFunctionBegin;
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) PetscFunctionReturn(0);
  IOHint(db, db ? sqlite3_extended_errcode(db) : rc, hint, sizeof(hint));
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "store: %s: %s%s", what,
          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), hint);
}

PetscErrorCode NNLStoreExec(sqlite3 *db, const char sql[])
{
  char *msg = NULL;
  int   rc;

  PetscFunctionBegin;
  rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    char buf[512], hint[PETSC_MAX_PATH_LEN + 256];
    snprintf(buf, sizeof(buf), "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    IOHint(db, sqlite3_extended_errcode(db), hint, sizeof(hint));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "store: %s%s", buf, hint);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreMetaGet(sqlite3 *db, const char key[], char **value)
{
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  *value = NULL;
  PetscCall(NNLStoreCheck(
    db, sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL), "read meta"));
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) PetscCall(PetscStrallocpy((const char *)sqlite3_column_text(st, 0), value));
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc, "read meta"));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreMetaSet(sqlite3 *db, const char key[], const char value[])
{
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  PetscCall(NNLStoreCheck(
    db, sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &st, NULL), "meta"));
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc, "write meta"));
  PetscFunctionReturn(0);
}

/* What NNLStoreMakeDir would refuse, without creating anything (plan): an existing -output that is
   not a directory or not writable, or a missing one whose nearest existing ancestor is not a
   writable directory. */
PetscErrorCode NNLStoreCheckDir(const char dir[])
{
  char        path[PETSC_MAX_PATH_LEN];
  struct stat sb;
  char       *slash;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(path, dir, sizeof(path)));
  PetscCheck(!stat(path, &sb) || lstat(path, &sb), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "-output: '%s' exists and is not a directory (a dangling symlink)", dir);
  if (!stat(path, &sb)) {
    PetscCheck(S_ISDIR(sb.st_mode), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
               "-output: '%s' exists and is not a directory", dir);
    PetscCheck(access(path, W_OK | X_OK) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
               "-output: directory '%s' is not writable", dir);
    PetscFunctionReturn(0);
  }
  while ((slash = strrchr(path, '/')) && slash != path) { /* the nearest existing ancestor */
    *slash = 0;
    if (!stat(path, &sb)) break;
  }
  if (!slash) snprintf(path, sizeof(path), ".");
  if (slash == path) snprintf(path, sizeof(path), "/");
  PetscCheck(!stat(path, &sb) && S_ISDIR(sb.st_mode) && access(path, W_OK | X_OK) == 0,
             PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "-output: directory '%s' cannot be created ('%s' is not a writable directory)", dir,
             path);
  PetscFunctionReturn(0);
}

/* The run directory: created if missing; an existing non-directory, or one we cannot write, is an
 * input error. */
PetscErrorCode NNLStoreMakeDir(const char dir[])
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(path, dir, sizeof(path)));
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) && errno != EEXIST) break; /* the final mkdir reports */
    *p = '/';
  }
  if (mkdir(dir, 0777) && errno != EEXIST)
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output: directory '%s' cannot be created (%s)",
            dir, strerror(errno));
  PetscCall(NNLStoreCheckDir(dir)); /* a directory now, and writable (plan's checks) */
  PetscFunctionReturn(0);
}

/* One writer per store: a run, or a merge, holds an fcntl write lock on DIR/nnlimits.lock for as
   long as it writes. SQLite alone would let two runs into one directory interleave their
   transactions, and both would compute and insert the same points (a rerun started while the ranks
   of a killed mpirun are still alive does exactly that). The kernel drops the lock when its holder
   dies, however it dies; the file itself stays. */
PetscErrorCode NNLStoreLock(const char dir[], int *fd)
{
  char         path[PETSC_MAX_PATH_LEN];
  struct flock fl;
  int          f, err;

  PetscFunctionBegin;
  *fd = -1;
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_LOCK);
  f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output: cannot create '%s' (%s)", path,
             strerror(errno));
  memset(&fl, 0, sizeof(fl));
  fl.l_type   = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(f, F_SETLK, &fl) == 0) {
    *fd = f; /* the file stays empty: a refused run changes nothing in the directory */
    PetscFunctionReturn(0);
  }
  err = errno;
  memset(&fl, 0, sizeof(fl));
  fl.l_type   = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(f, F_GETLK, &fl) != 0) fl.l_pid = 0;
  close(f);
  PetscCheck(err != EACCES && err != EAGAIN, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "-output: '%s' is being written by another nnlimits process (pid %d, on the node that "
             "holds the lock); wait for "
             "it to end or use another -output",
             dir, (int)fl.l_pid);
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "-output: cannot lock '%s' (%s)", path,
          strerror(err));
}

/* Whether a process holds DIR's write lock, asked without taking it (status is read-only): 1 held,
   0 free (or no lock file: every writer creates it before it writes), -1 unknown (a file system
   without fcntl locks, e.g. NFS without its lock daemon). Not for the process that holds the lock:
   its own lock does not conflict (0), and closing any descriptor of the file would release it. */
static int LockQuery(const char dir[], int *pid)
{
  char         path[PETSC_MAX_PATH_LEN];
  struct flock fl;
  int          f, held;

  *pid = 0;
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_LOCK);
  f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return errno == ENOENT ? 0 : -1;
  memset(&fl, 0, sizeof(fl));
  fl.l_type   = F_WRLCK;
  fl.l_whence = SEEK_SET;
  held        = fcntl(f, F_GETLK, &fl) != 0 ? -1 : fl.l_type != F_UNLCK;
  if (held == 1) *pid = (int)fl.l_pid;
  close(f);
  return held;
}

int NNLStoreLockHeld(const char dir[])
{
  int pid;

  return LockQuery(dir, &pid);
}

int NNLStoreWriter(const char dir[])
{
  int pid;

  return LockQuery(dir, &pid) == 1 ? PetscMax(pid, 1) : 0;
}

void NNLStoreUnlock(int *fd)
{
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* nnl_at(blob, k): double k of a BLOB of little-endian doubles; NULL past its end, for NULL, and
   for NaN (as SQLite stores a bound NaN). */
double NNLStoreBlobAt(const unsigned char *p, sqlite3_int64 k)
{
  uint64_t bits = 0;
  double   v;

  for (int i = 7; i >= 0; i--) bits = bits << 8 | p[8 * k + i];
  memcpy(&v, &bits, sizeof(v));
  return v;
}

double NNLStorePow2Below(double x)
{
  return x != 0 && isfinite(x) ? ldexp(1.0, ilogb(x)) : 1.0;
}

PetscBool NNLStoreHeavyTailed(long long n, double ss, double dmax)
{
  return n >= 64 && ss > 0 && dmax > 0.5 * ss ? PETSC_TRUE : PETSC_FALSE;
}

void NNLStoreLeaveWAL(sqlite3 *db, const char dir[])
{
  sqlite3_stmt *st = NULL;
  int           rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &st, NULL);
  const char   *mode;

  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
  if (!mode || strcmp(mode, "delete")) {
    const int busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED || (mode && !strcmp(mode, "wal"));
    fprintf(stderr,
            "nnlimits: warning: the store's last commits stay in '%s/%s-wal' (its final checkpoint "
            "%s: %s): they are safe there, but copy the directory whole (the store file alone "
            "lacks them); the next nnlimits run into it folds them in\n",
            dir, NNL_STORE_FILE, busy ? "waits for a reader" : "failed", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
}

/* Doubles as little-endian bytes, the layout of every array BLOB. */
void NNLStoreDoublesLE(PetscInt n, const double v[], unsigned char *p)
{
  for (PetscInt k = 0; k < n; k++) {
    uint64_t bits;
    memcpy(&bits, &v[k], sizeof(bits));
    for (int j = 0; j < 8; j++, bits >>= 8) p[8 * k + j] = (unsigned char)bits;
  }
}

static void NNLAt(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const unsigned char *p = (const unsigned char *)sqlite3_value_blob(argv[0]);
  sqlite3_int64        k = sqlite3_value_int64(argv[1]);
  double               v;

  (void)argc;
  if (!p || sqlite3_value_type(argv[1]) == SQLITE_NULL || k < 0 ||
      k >= sqlite3_value_bytes(argv[0]) / 8) { /* (k + 1) * 8 overflowed */
    sqlite3_result_null(ctx);
    return;
  }
  v = NNLStoreBlobAt(p, k);
  if (v != v)
    sqlite3_result_null(ctx);
  else
    sqlite3_result_double(ctx, v);
}

/* nnl_fp_edge(i, ncell, grid): edge i in ρ of a Fokker–Planck density's ncell cells, grid the
   store's meta "fp_grid" (NULL before it existed): NNLFokkerPlanckEdge. */
static void NNLFPEdge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const char *grid = (const char *)sqlite3_value_text(argv[2]);

  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_int64(argv[1]) < 1)
    sqlite3_result_null(ctx);
  else
    sqlite3_result_double(ctx, NNLFokkerPlanckEdge(grid, (PetscInt)sqlite3_value_int64(argv[0]),
                                                   (PetscInt)sqlite3_value_int64(argv[1])));
}

/* nnl_act(name): NNLActivationDisplayName of a canonical activation name (NULL for NULL). */
static void NNLAct(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  char out[256];

  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  NNLActivationDisplayName((const char *)sqlite3_value_text(argv[0]), out, sizeof(out));
  sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

/* Register nnl_at (the views gram and stats need it), nnl_fp_edge and nnl_act on a connection. */
PetscErrorCode NNLStoreFunctions(sqlite3 *db)
{
  PetscFunctionBegin;
  PetscCall(
    NNLStoreCheck(db,
                  sqlite3_create_function(db, "nnl_at", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                          NNLAt, NULL, NULL),
                  "register nnl_at"));
  PetscCall(
    NNLStoreCheck(db,
                  sqlite3_create_function(db, "nnl_fp_edge", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                          NULL, NNLFPEdge, NULL, NULL),
                  "register nnl_fp_edge"));
  PetscCall(
    NNLStoreCheck(db,
                  sqlite3_create_function(db, "nnl_act", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                          NULL, NNLAct, NULL, NULL),
                  "register nnl_act"));
  PetscFunctionReturn(0);
}

/* Open DIR/nnlimits.sqlite. Read-only opens refuse a missing file rather than creating one. */
/* What a path that is not a run directory may be instead: the store file itself, or a job's
 * directory of shards. */
static const char *NotRunDirHint(const char dir[])
{
  static char hint[PETSC_MAX_PATH_LEN + 96];
  const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  char        pattern[PETSC_MAX_PATH_LEN];
  struct stat sb;
  glob_t      g;

  hint[0] = 0;
  snprintf(pattern, sizeof(pattern), "%s/shard-*/%s", dir, NNL_STORE_FILE);
  if (!strcmp(base, NNL_STORE_FILE) && !stat(dir, &sb) && S_ISREG(sb.st_mode))
    snprintf(hint, sizeof(hint), ": give its directory, '%.*s'",
             base > dir ? (int)(base - dir - 1) : 1, base > dir ? dir : ".");
  else if (!glob(pattern, 0, NULL, &g)) {
    char all[PETSC_MAX_PATH_LEN + 32];
    snprintf(all, sizeof(all), "%s/all/%s", dir, NNL_STORE_FILE);
    if (!access(all, F_OK)) /* their merge is there already (jobs/slurm/submit's) */
      snprintf(
        hint, sizeof(hint),
        ": it holds the shards of a job and their merge, '%s/all' (or: nnlimits status %s/shard-*)",
        dir, dir);
    else
      snprintf(hint, sizeof(hint),
               ": it holds the shards of a job; combine them with nnlimits merge %s/shard-* "
               "-output %s/all",
               dir, dir);
    globfree(&g);
  }
  return hint;
}

PetscErrorCode NNLStoreOpenDB(const char dir[], PetscBool write, sqlite3 **db)
{
  char path[PETSC_MAX_PATH_LEN];
  int  rc;

  PetscFunctionBegin;
  /* Before SQLite's first use: multi-thread mode and no allocation statistics. No connection is
     used by two threads (each opens with SQLITE_OPEN_NOMUTEX), but two threads use SQLite at once:
     the writer and the checkpointer (storeckpt.c), whose connections share SQLite's per-file lock
     and WAL-index bookkeeping. That needs SQLite's core mutexes, which single-thread mode (chosen
     here before the checkpointer existed) switches off: "SQLite is unsafe to use in more than a
     single thread at once" (sqlite.org/threadsafe.html). Without allocation statistics, allocations
     take no global mutex, which had been most of what single-thread mode saved. Refused harmlessly
     once SQLite is initialised. */
  (void)sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_FILE);
  if (!write && access(path, R_OK))
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "'%s' is not a run directory (no readable %s)%s",
            dir, NNL_STORE_FILE, NotRunDirHint(dir));
  if (!write) { /* a writer killed inside a transaction in rollback-journal mode (the store's
                   creation, before WAL) leaves a hot journal, which SQLite rolls back at the next
                   read, but only through a read-write connection: a read-only one fails with
                   "attempt to write a readonly database", and the store could never be resumed.
                   SQLite itself tells a hot journal from a live writer's (whose lock it sees). */
    char        jpath[PETSC_MAX_PATH_LEN + 16];
    struct stat jst;
    snprintf(jpath, sizeof(jpath), "%s-journal", path);
    if (!stat(jpath, &jst) && jst.st_size > 0 && !access(path, W_OK) && !access(dir, W_OK))
      write = PETSC_TRUE;
  }
  rc = sqlite3_open_v2(path, db,
                       (write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                         SQLITE_OPEN_NOMUTEX,
                       NULL);
  if (rc != SQLITE_OK) {
    char   real[PATH_MAX] = "", cwd[PETSC_MAX_PATH_LEN] = "";
    size_t len =
      realpath(dir, real) /* SQLite follows symlinks first */
        ? strlen(real) + 1 + strlen(NNL_STORE_FILE)
        : strlen(path) + (path[0] == '/' || !getcwd(cwd, sizeof(cwd)) ? 0 : strlen(cwd) + 1);
    sqlite3_close(*db);
    *db = NULL;
    /* SQLite's unix files take absolute paths of at most 512 bytes, its -journal and -wal too: past
       that, its bare "unable to open database file" */
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open store '%s': %s%s", path,
            sqlite3_errstr(rc),
            len + 8 >= 512 ? " (SQLite opens files by their absolute paths, symlinks followed, "
                             "of at most 512 bytes, its journal's too: use an -output whose real "
                             "path is shorter)"
                           : "");
  }
  sqlite3_busy_timeout(*db, 60000);
  PetscCall(NNLStoreFunctions(*db));
  PetscFunctionReturn(0);
}

/* Verify that db is a store of a schema we can read; *fresh is set if it is an empty new file. */
PetscErrorCode NNLStoreVerify(sqlite3 *db, const char dir[], PetscBool *fresh)
{
  sqlite3_stmt *st = NULL;
  int           rc, ntab = -1;
  char         *schema = NULL;

  PetscFunctionBegin;
  rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) ntab = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  PetscCheck(ntab >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s/%s' is not an nnlimits store (%s)", dir, NNL_STORE_FILE, sqlite3_errmsg(db));
  if (fresh) *fresh = ntab == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscCheck(fresh || ntab > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s' holds no run yet: its store is empty (a run or a merge stopped while creating "
             "it; rerun it)",
             dir);
  if (ntab == 0) PetscFunctionReturn(0);
  rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    PetscCall(PetscStrallocpy((const char *)sqlite3_column_text(st, 0), &schema));
  sqlite3_finalize(st);
  PetscCheck(schema, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s/%s' is not an nnlimits store (no schema record)", dir, NNL_STORE_FILE);
  rc = atoi(schema);
  PetscCall(PetscFree(schema));
  PetscCheck(rc <= NNL_STORE_SCHEMA, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s' was written by a newer nnlimits (store schema %d, this build reads up to %d): "
             "upgrade nnlimits",
             dir, rc, NNL_STORE_SCHEMA);
  /* readers take the older schemas whose tables they read alike; writers upgrade them first
   * (NNLStoreUpgrade) */
  PetscCheck(rc >= NNL_STORE_SCHEMA_READ, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s' was written by an older nnlimits (store schema %d, this build reads and "
             "upgrades from %d): export it with"
             " the nnlimits that wrote it, or rerun into a new -output",
             dir, rc, NNL_STORE_SCHEMA_READ);
  PetscFunctionReturn(0);
}

/* Points computed with other OpenBLAS builds or kernel types (runs.versions names the one each run
   used: DYNAMIC_ARCH picks it by CPU) may differ in their last bits where OpenBLAS computes them:
   spectra, Fokker-Planck densities and their laws, and everything past NNL_SMALL_M inputs (the
   reproducibility review: OPENBLAS_CORETYPE=Prescott changed them, and a merge of shards from two
   node types said nothing). One warning line naming them, for a run into the store (its own run
   counts: current, else -1) or a merge's output. */
PetscErrorCode NNLStoreWarnKernels(sqlite3 *db, const char dir[], sqlite3_int64 current)
{
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  /* the runs alone first: the points' runs are a scan of the whole points table (0.8 s for 10^7
     rows here) at every run's start and merge's end, needed only where the runs name two kernels */
  PetscCall(NNLStoreCheck(
    db,
    sqlite3_prepare_v2(db,
                       "SELECT count(DISTINCT substr(versions, instr(versions, 'OpenBLAS '))) FROM"
                       " runs WHERE instr(versions, 'OpenBLAS ') > 0",
                       -1, &st, NULL),
    "runs' OpenBLAS"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) <= 1) {
    sqlite3_finalize(st);
    PetscFunctionReturn(0);
  }
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "runs' OpenBLAS"));
  PetscCall(NNLStoreCheck(
    db,
    sqlite3_prepare_v2(db,
                       "SELECT count(DISTINCT k), group_concat(DISTINCT k) FROM (SELECT"
                       " substr(versions, instr(versions, 'OpenBLAS ')) AS k FROM runs WHERE"
                       " instr(versions, 'OpenBLAS ') > 0 AND (run = ?1 OR run IN (SELECT DISTINCT"
                       " run FROM points)))",
                       -1, &st, NULL),
    "runs' OpenBLAS"));
  sqlite3_bind_int64(st, 1, current);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 1)
    PetscCall(
      PetscFPrintf(PETSC_COMM_SELF, stderr,
                   "nnlimits: warning: '%s' holds points of runs with other OpenBLAS builds "
                   "or kernels (%s): their spectra, Fokker-Planck densities and laws, and "
                   "every number past 8 inputs, may differ in their last bits "
                   "(OPENBLAS_CORETYPE set alike on every node keeps them alike)\n",
                   dir, (const char *)sqlite3_column_text(st, 1)));
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "runs' OpenBLAS"));
  PetscFunctionReturn(0);
}
