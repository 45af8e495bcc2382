/* The run store: one SQLite file per run directory, provenance, and one transaction per finished
 * point. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include "storeimpl.h"
#include "nnl_git.h" /* NNL_GIT_COMMIT, written at every build (src/gitcommit.cmake) */
#include "log.h"
#include "nnlimits/activation.h"
#include "nnlimits/fokker_planck.h"
#include "nnlimits/rng.h"
#include "nnlimits/spectra.h"

static const char *SchemaSQL =
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE runs(run INTEGER PRIMARY KEY, started TEXT, finished TEXT, status TEXT, ranks "
  "INTEGER, host TEXT,"
  " git TEXT, versions TEXT, slurm TEXT, options TEXT, source TEXT, t0 REAL);"
  "CREATE TABLE pairs(k INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL);"
  /* the limit tasks' rows: NNGP kernel and depth-limit ODE (NULL where it does not apply or failed)
   */
  "CREATE TABLE limits(point INTEGER, layer INTEGER, a INTEGER, b INTEGER, q_nngp REAL, q_ode REAL,"
  " PRIMARY KEY(point, layer, a, b)) WITHOUT ROWID;"
  /* -spectra_layers: per (point, layer, matrix) its scalars, and its values (descending, i = 0 the
     largest) */
  "CREATE TABLE spectra(point INTEGER, layer INTEGER, matrix TEXT, k INTEGER, rank INTEGER, "
  "rank_rtol INTEGER, pr REAL,"
  " cond REAL, vmax REAL, vmin REAL, PRIMARY KEY(point, layer, matrix)) WITHOUT ROWID;"
  "CREATE TABLE spectrum(point INTEGER, layer INTEGER, matrix TEXT, i INTEGER, value REAL,"
  " PRIMARY KEY(point, layer, matrix, i)) WITHOUT ROWID;"
  /* SDE tasks: per path V_ab at the final time, and ln(‖φ(Y_a)‖²/n) on the diagonal rows (NULL off
     it) */
  "CREATE TABLE sde_paths(point INTEGER, path INTEGER, a INTEGER, b INTEGER, q REAL, lognorm_post "
  "REAL,"
  " PRIMARY KEY(point, path, a, b)) WITHOUT ROWID;"
  /* the Fokker–Planck density of ρ_01 at the recorded layers' times: per cell its centre in ρ and
     its mass over its width in ρ; the cells' edges are nnl_fp_edge(cell, cells, meta 'fp_grid') */
  "CREATE TABLE fokker_planck(point INTEGER, layer INTEGER, cell INTEGER, rho REAL, density REAL,"
  " PRIMARY KEY(point, layer, cell)) WITHOUT ROWID;";

/* A row per point. Its id (a hash of the point's parameters) is a UNIQUE column, not the rowid:
   keyed by the random ids, every group of commits dirtied pages all over the table, and SQLite
   wrote each of them to the WAL at the group's end (schema 5: jobs/pdlt_kurtosis.opts committed
   in 1.7–2.1 s, 0.67–0.78 s with rows appended in commit order). No index on ord (stores until
   2026-12 had points_ord; a run drops it, OpenWrite): rank 0 commits in cost order, so its entries
   too went all over the index, a fifth of a commit: 10^5 no-op tasks 2.89–2.99 -> 2.28–2.39 µs a
   commit with the store's close. The reads that order by ord sort instead, no slower: the default
   sweep's points, gram, stats and compare exports in the same time with and without it, laws 1.05
   -> 0.78 s. */
static const char *PointsSQL = "CREATE TABLE points(id INTEGER NOT NULL UNIQUE, ord INTEGER NOT "
                               "NULL, family TEXT, activation TEXT, width INTEGER,"
                               " depth INTEGER, seed INTEGER, status TEXT, sampler TEXT, "
                               "dead_layer INTEGER, message TEXT, seconds REAL,"
                               " committed REAL, run INTEGER, kind TEXT NOT NULL);";

/* All of a network's per-layer arrays are one row of `netlayers`: its recorded layers, its Gram
   entries q (per layer the packed upper triangle, (a, b) with a <= b in row order, pair k of table
   `pairs`) and its per-input statistics, each a BLOB of little-endian doubles over the layers (NaN
   for none; ks, one value per input, only for a finished point, at its last recorded layer). A row
   per layer cost SQLite ~2.5 µs each (a row per pair or input ~3 µs each, before that), a quarter
   of the default sweep. The view `layers` gives back one row per (point, layer), joining `seq` (0,
   1, … up to the deepest network's layer count) for the layer's index r, and the views `gram` and
   `stats` one row per observation, so that SQL (summary, export, analysis) joins and filters them
   as before; they read the arrays with nnl_at(blob, k), which every connection of nnlimits and of
   analysis/nnlimits.py registers. Schema 4 had a table `layers` of those rows instead of these
   tables and views, and schema 5 the point as the rowid (NNLStoreUpgrade). */
static const char *NetlayersSQL =
  "CREATE TABLE netlayers(point INTEGER NOT NULL UNIQUE, nrec INTEGER NOT NULL, np INTEGER NOT "
  "NULL, m INTEGER NOT NULL,"
  " layer BLOB, q BLOB, lognorm BLOB, lognorm_post BLOB, kurtosis BLOB, ks BLOB);";
static const char *NetViewsSQL =
  "CREATE VIEW layers AS SELECT n.point AS point, CAST(nnl_at(n.layer, s.r) AS INTEGER) AS layer,"
  " substr(n.q, 8 * n.np * s.r + 1, 8 * n.np) AS q, substr(n.lognorm, 8 * n.m * s.r + 1, 8 * n.m) "
  "AS lognorm,"
  " substr(n.lognorm_post, 8 * n.m * s.r + 1, 8 * n.m) AS lognorm_post,"
  " substr(n.kurtosis, 8 * n.m * s.r + 1, 8 * n.m) AS kurtosis, CASE WHEN s.r = n.nrec - 1 THEN "
  "n.ks END AS ks"
  " FROM netlayers n JOIN seq s ON s.r < n.nrec;"
  "CREATE VIEW gram AS SELECT l.point AS point, l.layer AS layer, p.a AS a, p.b AS b, nnl_at(l.q, "
  "p.k) AS q"
  " FROM layers l JOIN pairs p;"
  "CREATE VIEW stats AS SELECT l.point AS point, l.layer AS layer, p.a AS input, nnl_at(l.lognorm, "
  "p.a) AS lognorm,"
  " nnl_at(l.lognorm_post, p.a) AS lognorm_post, nnl_at(l.kurtosis, p.a) AS kurtosis, nnl_at(l.ks, "
  "p.a) AS ks"
  " FROM layers l JOIN pairs p ON p.a = p.b;";

/* Table seq, and its rows ?1 .. ?2 − 1. */
static const char *SeqTableSQL = "CREATE TABLE seq(r INTEGER PRIMARY KEY)";
static const char *SeqSQL =
  "WITH RECURSIVE c(r) AS (SELECT ?1 UNION ALL SELECT r + 1 FROM c WHERE r + 1 < ?2)"
  " INSERT OR IGNORE INTO seq SELECT r FROM c";

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

/* The run directory: created if missing; an existing non-directory, or one we cannot write, is an
 * input error. */
PetscErrorCode NNLStoreMakeDir(const char dir[])
{
  char        path[PETSC_MAX_PATH_LEN];
  struct stat sb;

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
  PetscCheck(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "-output: '%s' exists and is not a directory", dir);
  PetscCheck(access(dir, W_OK | X_OK) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "-output: directory '%s' is not writable", dir);
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
    sqlite3_close(*db);
    *db = NULL;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open store '%s': %s", path,
            sqlite3_errstr(rc));
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

PetscErrorCode NNLStoreCreateSchema(sqlite3 *db, const char canonical[], const char shard[],
                                    PetscInt total, PetscInt grid_points, PetscInt inputs)
{
  char          num[32];
  sqlite3_stmt *st = NULL;

  PetscFunctionBegin;
  /* 16 KB pages, not SQLite's 4 KB (a store's page size is set once, here, while it is empty): its
     b-trees are shallower and a group of commits dirties fewer pages. Measured (1 rank, this
     machine, interleaved, the checkpointer every 1 MB either way): 10^5 tiny networks 7.55 -> 6.85
     µs a task with the store, no-op tasks 3.0 -> 2.7 µs; time outside the tasks 0.25 -> 0.205 s for
     jobs/pdlt_kurtosis.opts, 0.83 -> 0.74 s for jobs/makwana_2025_effective_dimension.opts, 0.34 ->
     0.29 s for the default job, whose store shrank from 42.7 to 38.7 MB (less slack around its 1.4
     KB rows; the others within 3 %). Exports and status read as fast; 32 KB pages were no faster.
     An empty store takes 256 KB. Stores made with 4 KB pages keep them. */
  PetscCall(NNLStoreExec(db, "PRAGMA page_size=16384"));
  PetscCall(NNLStoreExec(db, "BEGIN IMMEDIATE"));
  PetscCall(NNLStoreExec(db, SchemaSQL));
  PetscCall(NNLStoreExec(db, PointsSQL));
  PetscCall(NNLStoreExec(db, NetlayersSQL));
  PetscCall(NNLStoreExec(db, SeqTableSQL));
  PetscCall(NNLStoreExec(db, NetViewsSQL));
  PetscCall(NNLStoreCheck(
    db, sqlite3_prepare_v2(db, "INSERT INTO pairs VALUES(?,?,?)", -1, &st, NULL), "pairs"));
  for (PetscInt a = 0, k = 0; a < inputs; a++)
    for (PetscInt b = a; b < inputs; b++, k++) {
      int rc;
      sqlite3_bind_int64(st, 1, k);
      sqlite3_bind_int64(st, 2, a);
      sqlite3_bind_int64(st, 3, b);
      rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) sqlite3_finalize(st);
      PetscCall(NNLStoreCheck(db, rc, "pairs"));
    }
  sqlite3_finalize(st);
  snprintf(num, sizeof(num), "%d", NNL_STORE_SCHEMA);
  PetscCall(NNLStoreMetaSet(db, "schema", num));
  PetscCall(NNLStoreMetaSet(db, "job", canonical));
  PetscCall(NNLStoreMetaSet(db, "rng", NNL_RNG_STREAM_VERSION));
  PetscCall(NNLStoreMetaSet(db, "sde_time", "layer/width"));
  PetscCall(NNLStoreMetaSet(db, "fp_grid", NNL_FP_GRID));
  PetscCall(NNLStoreMetaSet(db, "shard", shard));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, total);
  PetscCall(NNLStoreMetaSet(db, "total", num));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, grid_points);
  PetscCall(NNLStoreMetaSet(db, "grid_points", num));
  PetscCall(NNLStoreExec(db, "COMMIT"));
  PetscFunctionReturn(0);
}

/* Doubles as little-endian bytes, the layout of every array BLOB. */
static void DoublesLE(PetscInt n, const double v[], unsigned char *p)
{
  for (PetscInt k = 0; k < n; k++) {
    uint64_t bits;
    memcpy(&bits, &v[k], sizeof(bits));
    for (int j = 0; j < 8; j++, bits >>= 8) p[8 * k + j] = (unsigned char)bits;
  }
}

/* One network's arrays as its schema-4 rows (a row per recorded layer) are read: the BLOB columns
   of its netlayers row, appended layer by layer. */
typedef struct {
  sqlite3_int64  point;
  PetscInt       nrec, np, m;
  unsigned char *col[5]; /* layer, q, lognorm, lognorm_post, kurtosis */
  size_t         len[5], cap[5];
  unsigned char *ks; /* the last row's ks (m doubles), or NULL */
} NetRow;

static PetscErrorCode NetRowAppend(NetRow *row, int c, const void *data, size_t n)
{
  PetscFunctionBegin;
  if (row->len[c] + n > row->cap[c]) {
    row->cap[c] = PetscMax(row->len[c] + n, 2 * row->cap[c]);
    PetscCall(PetscRealloc(row->cap[c], &row->col[c]));
  }
  memcpy(row->col[c] + row->len[c], data, n);
  row->len[c] += n;
  PetscFunctionReturn(0);
}

/* Add a schema-4 row (point, layer, q, lognorm, lognorm_post, kurtosis, ks) of row->point, checking
   its arrays' sizes against the network's first row; only the last row may carry ks. */
static PetscErrorCode NetRowAdd(NetRow *row, sqlite3_stmt *sel)
{
  unsigned char layer[8];
  double        l  = (double)sqlite3_column_int64(sel, 1);
  PetscInt      nq = sqlite3_column_bytes(sel, 2), nm = sqlite3_column_bytes(sel, 3);

  PetscFunctionBegin;
  if (row->nrec == 0) {
    row->np = nq / 8;
    row->m  = nm / 8;
  }
  PetscCheck(!row->ks, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "schema-4 store: point %lld has ks before its last layer", (long long)row->point);
  PetscCheck(nq == 8 * row->np && nm == 8 * row->m &&
               (sqlite3_int64)row->np == (sqlite3_int64)row->m * (row->m + 1) / 2 && row->m > 0 &&
               sqlite3_column_bytes(sel, 4) == nm && sqlite3_column_bytes(sel, 5) == nm,
             PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "schema-4 store: point %lld has arrays of unexpected sizes at layer %.0f",
             (long long)row->point, l);
  DoublesLE(1, &l, layer);
  PetscCall(NetRowAppend(row, 0, layer, 8));
  for (int c = 1; c < 5; c++)
    PetscCall(NetRowAppend(row, c, sqlite3_column_blob(sel, c + 1),
                           (size_t)sqlite3_column_bytes(sel, c + 1)));
  if (sqlite3_column_type(sel, 6) != SQLITE_NULL) {
    PetscCheck(sqlite3_column_bytes(sel, 6) == nm, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "schema-4 store: point %lld has a ks of unexpected size", (long long)row->point);
    PetscCall(PetscMalloc1(nm, &row->ks));
    memcpy(row->ks, sqlite3_column_blob(sel, 6), (size_t)nm);
  }
  row->nrec++;
  PetscFunctionReturn(0);
}

/* Insert the network's netlayers row (unless its point has one) and start the next network. */
static PetscErrorCode NetRowFlush(sqlite3 *db, sqlite3_stmt *ins, NetRow *row, PetscInt *maxrec)
{
  int rc;

  PetscFunctionBegin;
  sqlite3_bind_int64(ins, 1, row->point);
  sqlite3_bind_int64(ins, 2, row->nrec);
  sqlite3_bind_int64(ins, 3, row->np);
  sqlite3_bind_int64(ins, 4, row->m);
  for (int c = 0; c < 5; c++)
    sqlite3_bind_blob(ins, 5 + c, row->col[c], (int)row->len[c], SQLITE_STATIC);
  if (row->ks)
    sqlite3_bind_blob(ins, 10, row->ks, (int)(8 * row->m), SQLITE_STATIC);
  else
    sqlite3_bind_null(ins, 10);
  rc = sqlite3_step(ins);
  sqlite3_reset(ins);
  sqlite3_clear_bindings(ins);
  PetscCall(NNLStoreCheck(db, rc, "netlayers"));
  *maxrec = PetscMax(*maxrec, row->nrec);
  PetscCall(PetscFree(row->ks));
  row->nrec = 0;
  for (int c = 0; c < 5; c++) row->len[c] = 0;
  PetscFunctionReturn(0);
}

/* Schema 4's table layers of database `from` ("main", or an attached input) into rows of netlayers
   (points that have one are kept) and the rows of seq they need. The bytes of every array are
   copied as they are, so the view layers gives back exactly the old table's rows. Inside the
   caller's transaction. */
PetscErrorCode NNLStoreLayersToNet(sqlite3 *db, const char from[])
{
  char           sql[160];
  sqlite3_stmt  *sel = NULL, *ins = NULL;
  NetRow         row    = {0};
  PetscInt       maxrec = 0;
  int            rc     = SQLITE_DONE;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  snprintf(sql, sizeof(sql),
           "SELECT point, layer, q, lognorm, lognorm_post, kurtosis, ks FROM %s.layers ORDER BY "
           "point, layer",
           from);
  ierr = NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &sel, NULL), "schema-4 layers");
  if (!ierr)
    ierr = NNLStoreCheck(
      db,
      sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO main.netlayers VALUES(?,?,?,?,?,?,?,?,?,?)", -1,
                         &ins, NULL),
      "netlayers");
  while (!ierr && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
    sqlite3_int64 point = sqlite3_column_int64(sel, 0);
    if (row.nrec > 0 && point != row.point) ierr = NetRowFlush(db, ins, &row, &maxrec);
    row.point = point;
    if (!ierr) ierr = NetRowAdd(&row, sel);
  }
  if (!ierr) ierr = NNLStoreCheck(db, rc, "schema-4 layers");
  if (!ierr && row.nrec > 0) ierr = NetRowFlush(db, ins, &row, &maxrec);
  sqlite3_finalize(sel);
  sqlite3_finalize(ins);
  sel = NULL;
  if (!ierr) ierr = NNLStoreCheck(db, sqlite3_prepare_v2(db, SeqSQL, -1, &sel, NULL), "seq");
  if (!ierr) {
    sqlite3_bind_int64(sel, 1, 0);
    sqlite3_bind_int64(sel, 2, maxrec);
    ierr = NNLStoreCheck(db, sqlite3_step(sel), "seq");
  }
  sqlite3_finalize(sel);
  for (int c = 0; c < 5; c++) PetscCall(PetscFree(row.col[c]));
  PetscCall(PetscFree(row.ks));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* The store's schema number (meta 'schema') of database `name` ("main", or an attached input). */
PetscErrorCode NNLStoreSchema(sqlite3 *db, const char name[], int *schema)
{
  char          sql[96];
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  *schema = 0;
  snprintf(sql, sizeof(sql), "SELECT value FROM %s.meta WHERE key='schema'", name);
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), "schema"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *schema = atoi((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc, "schema"));
  PetscFunctionReturn(0);
}

/* The conventions a store's rows were computed under, where a release changed one: meta `key` holds
   `value` in stores of this release, and a store without it (or with another value) that holds rows
   `held` selects is refused for writing, since rows added now would follow this release's
   convention. */
static const struct {
  const char *key, *value, *held, *what;
} Convention[] = {
  {"sde_time", "layer/width",
   "SELECT EXISTS (SELECT 1 FROM points WHERE kind='sde' AND family='shaped_mlp')",
   "shaped-MLP SDE paths integrated to t = (L-1)/n by an earlier release; this one integrates to t "
   "= L/n (MATH.md)"},
  {"fp_grid", NNL_FP_GRID, "SELECT EXISTS (SELECT 1 FROM fokker_planck)",
   "Fokker-Planck densities on cells uniform in rho, from an earlier release; this one's cells are "
   "uniform in atanh(rho)"},
};

/* A store of schema 4, 5 or 6 becomes one of this build's, in one transaction (a crash or a full
   disk leaves it as it was; 6 differs only in its number): schema 4's layers rows into netlayers
   (then the views in place of its table), schema 5's netlayers and both schemas' points copied into
   tables of this schema's keys. Older builds cannot write to it afterwards; this build's readers
   and writers can. Called by writers (run, merge) once the store is theirs. */
PetscErrorCode NNLStoreUpgrade(sqlite3 *db, const char dir[])
{
  int            schema;
  PetscErrorCode ierr;
  char           num[16];

  PetscFunctionBegin;
  /* a store without rows of an earlier convention (NNLStoreCheckStream refused the others) takes
   * this release's */
  for (size_t c = 0; c < sizeof(Convention) / sizeof(Convention[0]); c++) {
    char sql[512];
    snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO meta SELECT '%s', '%s' WHERE NOT (%s)",
             Convention[c].key, Convention[c].value, Convention[c].held);
    PetscCall(NNLStoreExec(db, sql));
  }
  PetscCall(NNLStoreSchema(db, "main", &schema));
  if (schema == NNL_STORE_SCHEMA) PetscFunctionReturn(0);
  PetscCheck(schema >= 4 && schema <= 6, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s': no upgrade from store schema %d", dir, schema);
  snprintf(num, sizeof(num), "%d", NNL_STORE_SCHEMA);
  if (schema == 6) { /* the same tables: the number alone, so that builds that do not know the
                        conventions refuse it */
    PetscCall(NNLStoreMetaSet(db, "schema", num));
    PetscCall(
      PetscInfo(NULL, "upgraded store '%s' from schema %d to %d\n", dir, schema, NNL_STORE_SCHEMA));
    PetscFunctionReturn(0);
  }
  PetscCall(NNLStoreExec(db, "BEGIN IMMEDIATE"));
  if (schema == 4) {
    ierr = NNLStoreExec(db, NetlayersSQL);
    if (!ierr) ierr = NNLStoreExec(db, SeqTableSQL);
    if (!ierr) ierr = NNLStoreLayersToNet(db, "main");
    if (!ierr) ierr = NNLStoreExec(db, "DROP VIEW gram; DROP VIEW stats; DROP TABLE layers");
  } else {
    ierr = NNLStoreExec(db, "DROP VIEW gram; DROP VIEW stats; DROP VIEW layers; ALTER TABLE "
                            "netlayers RENAME TO netlayers5");
    if (!ierr) ierr = NNLStoreExec(db, NetlayersSQL);
    if (!ierr)
      ierr = NNLStoreExec(
        db, "INSERT INTO netlayers SELECT * FROM netlayers5 ORDER BY point; DROP TABLE netlayers5");
  }
  if (!ierr)
    ierr =
      NNLStoreExec(db, "DROP INDEX IF EXISTS points_ord; ALTER TABLE points RENAME TO points_old");
  if (!ierr) ierr = NNLStoreExec(db, PointsSQL);
  if (!ierr)
    ierr = NNLStoreExec(
      db, "INSERT INTO points SELECT * FROM points_old ORDER BY ord; DROP TABLE points_old");
  if (!ierr) ierr = NNLStoreExec(db, NetViewsSQL);
  if (!ierr) ierr = NNLStoreMetaSet(db, "schema", num);
  if (!ierr) ierr = NNLStoreExec(db, "COMMIT");
  if (ierr) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  PetscCall(ierr);
  PetscCall(
    PetscInfo(NULL, "upgraded store '%s' from schema %d to %d\n", dir, schema, NNL_STORE_SCHEMA));
  PetscFunctionReturn(0);
}

/* The line "key=..." of a job text whose key is line[0..klen), or NULL. */
static const char *JobLine(const char *text, const char *line, size_t klen)
{
  for (const char *t = text; *t; t += strcspn(t, "\n"), t += *t ? 1 : 0)
    if (!strncmp(t, line, klen) && t[klen] == '=') return t;
  return NULL;
}

/* An axis of the grid, or what follows from one (the critical sigma_w2 of each activation): a run
   may take more of their values (an extension), so a difference there is named only when no other
   option differs. */
static PetscBool AxisKey(const char *line, size_t klen)
{
  const char *axes[] = {"family", "grid_width", "grid_depth", "grid_seed", "grid_activation"};
  for (size_t i = 0; i < sizeof(axes) / sizeof(axes[0]); i++)
    if (klen == strlen(axes[i]) && !strncmp(line, axes[i], klen)) return PETSC_TRUE;
  for (int k = 0; k < NNL_SETTING_COUNT; k++) /* the swept settings', which take more values too */
    if (klen == strlen(NNLJobSettingKey((NNLSetting)k)) &&
        !strncmp(line, NNLJobSettingKey((NNLSetting)k), klen))
      return PETSC_TRUE;
  return !strncmp(line, "sigma_w2_auto_", 14) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode NNLStoreCompareJob(const char dir[], const char have[], const char want[],
                                  const char advice[])
{
  const char *diff[2][2] = {
    {NULL, NULL}, {NULL, NULL}}; /* [axis?][there, here] of the first difference of each kind */
  PetscBool found[2] = {PETSC_FALSE, PETSC_FALSE};

  PetscFunctionBegin;
  /* by key, not by line: an option one side sets (a solver's) would shift every line after it */
  for (int side = 0; side < 2; side++) {
    const char *text = side ? want : have, *other = side ? have : want;
    for (const char *l = text; *l; l += strcspn(l, "\n"), l += *l ? 1 : 0) {
      size_t      klen = strcspn(l, "=\n"), len = strcspn(l, "\n");
      const char *o    = JobLine(other, l, klen);
      int         axis = AxisKey(l, klen) ? 1 : 0;
      if (found[axis] || (o && strcspn(o, "\n") == len && !strncmp(o, l, len))) continue;
      found[axis]          = PETSC_TRUE;
      diff[axis][side]     = l;
      diff[axis][1 - side] = o;
    }
  }
  for (int axis = 0; axis < 2; axis++) {
    const char *a = diff[axis][0], *b = diff[axis][1];
    if (!found[axis]) continue;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
            "'%s' holds a run made with different options: %.*s there, %.*s here (%s)", dir,
            a ? (int)strcspn(a, "\n") : 8, a ? a : "(absent)", b ? (int)strcspn(b, "\n") : 8,
            b ? b : "(absent)", advice);
  }
  PetscFunctionReturn(0);
}

double NNLStoreEpoch(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void NNLStoreNow(char buf[], size_t len)
{
  time_t    t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static PetscErrorCode SeqReserve(NNLStore s, PetscInt n);

/* One row of provenance: who ran what, where, with which libraries. */
static PetscErrorCode RecordRun(NNLStore s)
{
  sqlite3_stmt *st        = NULL;
  char          host[256] = "", versions[1024], slurm[256], now[32];
  char         *options   = NULL;
  int           size, rc;
  const char   *sj = getenv("SLURM_JOB_ID"), *aj = getenv("SLURM_ARRAY_JOB_ID"),
             *at = getenv("SLURM_ARRAY_TASK_ID");

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  gethostname(host, sizeof(host) - 1);
  NNLLibraryVersions(versions, sizeof(versions));
  snprintf(slurm, sizeof(slurm), "job=%s array_job=%s array_task=%s", sj ? sj : "", aj ? aj : "",
           at ? at : "");
  PetscCall(PetscOptionsGetAll(NULL, &options));
  NNLStoreNow(now, sizeof(now));
  /* This process holds the directory's lock: a run of it still marked running was killed before it
   * could say so. */
  PetscCall(
    NNLStoreExec(s->db, "UPDATE runs SET status='died' WHERE status='running' AND source IS NULL"));
  /* A merge into this directory that was killed: this run computes whatever its remaining inputs
     would have brought (the same job, bit for bit), so status follows this run from now on, not the
     merge ("killed: rerun the merge"). */
  PetscCall(NNLStoreExec(s->db, "DELETE FROM meta WHERE key='merging'"));
  PetscCall(NNLStoreCheck(
    s->db,
    sqlite3_prepare_v2(s->db,
                       "INSERT INTO runs(started,status,ranks,host,git,versions,slurm,options,t0)"
                       " VALUES(?,'running',?,?,?,?,?,?,?)",
                       -1, &st, NULL),
    "runs"));
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, size);
  sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, NNL_GIT_COMMIT, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, versions, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, slurm, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, options, -1, SQLITE_STATIC);
  sqlite3_bind_double(st, 8, NNLStoreEpoch());
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  PetscCall(PetscFree(options));
  PetscCall(NNLStoreCheck(s->db, rc, "record run"));
  s->run = sqlite3_last_insert_rowid(s->db);
  PetscFunctionReturn(0);
}

static PetscErrorCode Prepare(NNLStore s)
{
  const struct {
    const char    *sql;
    sqlite3_stmt **st;
  } stmt[] = {
    {"BEGIN IMMEDIATE", &s->tx_begin},
    {"COMMIT", &s->tx_commit},
    {"INSERT INTO points VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &s->ins_point},
    {"INSERT INTO netlayers VALUES(?,?,?,?,?,?,?,?,?,?)", &s->ins_net},
    {SeqSQL, &s->ins_seq},
    {"INSERT INTO limits VALUES(?,?,?,?,?,?)", &s->ins_limit},
    {"INSERT INTO spectra VALUES(?,?,?,?,?,?,?,?,?,?)", &s->ins_spectra},
    {"INSERT INTO spectrum VALUES(?,?,?,?,?)", &s->ins_spectrum},
    {"INSERT INTO sde_paths VALUES(?,?,?,?,?,?)", &s->ins_path},
    {"INSERT INTO fokker_planck VALUES(?,?,?,?,?)", &s->ins_fp},
  };

  PetscFunctionBegin;
  for (size_t i = 0; i < sizeof(stmt) / sizeof(stmt[0]); i++)
    PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, stmt[i].sql, -1, stmt[i].st, NULL),
                            "prepare"));
  PetscFunctionReturn(0);
}

/* The store's networks were drawn with this build's random streams (meta "rng"; absent: version 1,
   before the record existed). A run or merge that adds to a store of another version is refused. */
PetscErrorCode NNLStoreCheckStream(sqlite3 *db, const char dir[])
{
  char *have = NULL, h[32];

  PetscFunctionBegin;
  PetscCall(NNLStoreMetaGet(db, "rng", &have));
  PetscCall(PetscStrncpy(h, have ? have : "1", sizeof(h)));
  PetscCall(PetscFree(have));
  PetscCheck(!strcmp(h, NNL_RNG_STREAM_VERSION), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "'%s' holds networks drawn with random stream version %s, and this nnlimits draws "
             "with version %s: networks "
             "added now would not match the stored ones (rerun into a new -output)",
             dir, h, NNL_RNG_STREAM_VERSION);
  for (size_t c = 0; c < sizeof(Convention) / sizeof(Convention[0]); c++) {
    sqlite3_stmt *st = NULL;
    int           rc, held = 0;
    PetscBool     same;
    PetscCall(NNLStoreMetaGet(db, Convention[c].key, &have));
    same = have && !strcmp(have, Convention[c].value) ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(PetscFree(have));
    if (same) continue;
    PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, Convention[c].held, -1, &st, NULL),
                            Convention[c].key));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) held = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, Convention[c].key));
    PetscCheck(
      !held, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
      "'%s' holds %s: rows added now would not match the stored ones (rerun into a new -output)",
      dir, Convention[c].what);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreSDETimeOffset(sqlite3 *db, int *offset)
{
  char *have = NULL;

  PetscFunctionBegin;
  PetscCall(NNLStoreMetaGet(db, "sde_time", &have));
  *offset = have ? 0 : 1;
  PetscCall(PetscFree(have));
  PetscFunctionReturn(0);
}

/* The job and shard a run writes; the store in db (not fresh) must be theirs. */
typedef struct {
  const NNLJob *job;
  const char   *shard;
  PetscBool
    *extend; /* set: the store holds this job on fewer axis values, and this run extends it */
} JobShard;

static PetscErrorCode CheckJob(sqlite3 *db, const char dir[], const void *ctx)
{
  const NNLJob *job   = ((const JobShard *)ctx)->job;
  const char   *shard = ((const JobShard *)ctx)->shard;
  char         *have = NULL, *hshard = NULL;

  PetscFunctionBegin;
  PetscCall(NNLStoreCheckStream(db, dir));
  PetscCall(NNLStoreMetaGet(db, "job", &have));
  PetscCall(NNLStoreMetaGet(db, "shard", &hshard));
  if (have &&
      strcmp(have,
             job->canonical)) { /* an earlier build's words for the same job are the same job */
    char *norm = NULL;
    PetscCall(NNLJobNormalizeStored(job, have, &norm));
    PetscCall(PetscFree(have));
    have = norm;
  }
  if (have && strcmp(have, job->canonical)) {
    PetscBool      ext  = PETSC_FALSE;
    PetscErrorCode ierr = 0;
    /* a whole job (not a shard: a grown grid's shards are other points) may be extended with more
     * axis values */
    if (!strcmp(shard, "0/1") && hshard && !strcmp(hshard, "0/1"))
      ierr = NNLJobExtends(job, have, &ext);
    if (!ierr && !ext)
      ierr = NNLStoreCompareJob(
        dir, have, job->canonical,
        "use another -output, or the same options; a whole job's run directory also takes more "
        "values "
        "of -family, -grid_width, -grid_depth, -grid_seed, -grid_activation and of a list of two "
        "or more "
        "-sigma_w2, -sigma_b2, -branch_alpha, -attn_tau0 or -attn_gamma, the rest the same");
    *((const JobShard *)ctx)->extend = ext;
    PetscCall(PetscFree(have));
    PetscCall(PetscFree(hshard));
    PetscCall(ierr);
  }
  PetscCall(PetscFree(have));
  if (hshard && strcmp(hshard, shard)) {
    char h[64];
    PetscCall(PetscStrncpy(h, hshard, sizeof(h)));
    PetscCall(PetscFree(hshard));
    SETERRQ(
      PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
      "-shard: '%s' holds shard %s of this job, not %s (to finish that shard, give -shard %s; "
      "for this one, another -output)",
      dir, h, shard, h);
  }
  PetscCall(PetscFree(hshard));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStorePreCheck(const char dir[], NNLStoreCheckFn check, const void *ctx)
{
  char           path[PETSC_MAX_PATH_LEN];
  sqlite3       *db    = NULL;
  PetscBool      fresh = PETSC_TRUE;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_FILE);
  if (access(path, F_OK)) PetscFunctionReturn(0);
  PetscCall(NNLStoreOpenDB(dir, PETSC_FALSE, &db));
  ierr = NNLStoreVerify(db, dir, &fresh);
  if (!ierr && !fresh) ierr = check(db, dir, ctx);
  sqlite3_close(db);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* Make the store of a job on fewer axis values (NNLJobExtends) this job's: its fingerprint and
   counts, and each point's ord its index in this grid, so that exports (in ord order) are a fresh
   run's of this job. One transaction. */
static PetscErrorCode Extend(NNLStore s, const NNLJob *job, const NNLGrid *grid)
{
  sqlite3_stmt  *st = NULL;
  uint64_t      *ids;
  PetscInt       n, kept = 0;
  char           num[32];
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(NNLStoreCommittedIds(s, &n, &ids));
  PetscCall(NNLStoreExec(s->db, "BEGIN IMMEDIATE"));
  ierr = NNLStoreMetaSet(s->db, "job", job->canonical);
  snprintf(num, sizeof(num), "%" PetscInt_FMT, grid->npoints);
  if (!ierr) ierr = NNLStoreMetaSet(s->db, "total", num);
  if (!ierr) ierr = NNLStoreMetaSet(s->db, "grid_points", num);
  if (!ierr)
    ierr = NNLStoreCheck(
      s->db, sqlite3_prepare_v2(s->db, "UPDATE points SET ord=?1 WHERE id=?2", -1, &st, NULL),
      "extend");
  for (PetscInt i = 0; i < grid->npoints && !ierr && n; i++) {
    NNLPoint pt;
    NNLGridPoint(grid, i, &pt);
    if (!NNLStoreIdsHave(ids, n, pt.id)) continue;
    sqlite3_bind_int64(st, 1, i);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)pt.id);
    ierr = NNLStoreCheck(s->db, sqlite3_step(st), "extend");
    sqlite3_reset(st);
    kept++;
  }
  sqlite3_finalize(st);
  if (!ierr && kept == n) ierr = NNLStoreExec(s->db, "COMMIT");
  if (ierr || kept != n) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  PetscCall(PetscFree(ids));
  PetscCall(ierr);
  /* NNLJobExtends said every stored point is one of this grid's */
  PetscCheck(kept == n, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "extending '%s': %" PetscInt_FMT " of its %" PetscInt_FMT
             " points are not in the grid",
             s->dir, n - kept, n);
  if (n == grid->npoints) /* the same values in another order (-grid_width 64,16 after 16,64):
                             nothing to add */
    PetscCall(
      PetscFPrintf(PETSC_COMM_SELF, stderr,
                   "reordering '%s': the same %" PetscInt_FMT
                   " points with the axes' values in the order given; its exports follow it\n",
                   s->dir, n));
  else
    PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                           "extending '%s': its %" PetscInt_FMT
                           " points are kept, the grid is now %" PetscInt_FMT " tasks\n",
                           s->dir, n, grid->npoints));
  PetscFunctionReturn(0);
}

typedef struct {
  JobShard  js; /* first: CheckJob reads it */
  PetscInt *stored;
} JobCount;

static PetscErrorCode CheckJobCount(sqlite3 *db, const char dir[], const void *ctx)
{
  const JobCount *jc = (const JobCount *)ctx;
  sqlite3_stmt   *st = NULL;
  int             rc;

  PetscFunctionBegin;
  PetscCall(CheckJob(db, dir, &jc->js));
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM points", -1, &st, NULL),
                          "points"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *jc->stored = (PetscInt)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "points"));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreCheckOutput(const NNLJob *job, PetscInt *stored, PetscBool *extends)
{
  char     shard[64];
  JobCount jc = {{job, shard, extends}, stored};

  PetscFunctionBegin;
  *stored  = -1;
  *extends = PETSC_FALSE;
  snprintf(shard, sizeof(shard), "%" PetscInt_FMT "/%" PetscInt_FMT, job->shard_index,
           job->shard_count);
  PetscCall(NNLStorePreCheck(job->output, CheckJobCount, &jc));
  PetscFunctionReturn(0);
}

static PetscErrorCode OpenWrite(NNLStore s, const char dir[], const NNLJob *job,
                                const NNLGrid *grid)
{
  PetscBool fresh, extend = PETSC_FALSE;
  char      shard[64];
  JobShard  js = {job, shard, &extend};
  PetscInt  n;

  PetscFunctionBegin;
  snprintf(shard, sizeof(shard), "%" PetscInt_FMT "/%" PetscInt_FMT, job->shard_index,
           job->shard_count);
  PetscCall(NNLStoreMakeDir(dir));
  PetscCall(NNLStorePreCheck(dir, CheckJob, &js));
  PetscCall(NNLStoreLock(dir, &s->lock));
  s->job = job;
  PetscCall(PetscStrncpy(s->dir, dir, sizeof(s->dir)));
  PetscCall(NNLStoreOpenDB(dir, PETSC_TRUE, &s->db));
  PetscCall(NNLStoreVerify(s->db, dir, &fresh));
  if (fresh) {
    PetscCall(NNLGridShard(grid, job->shard_index, job->shard_count, &n, NULL));
    PetscCall(NNLStoreCreateSchema(s->db, job->canonical, shard, n, grid->npoints, job->inputs));
  } else {
    char *have = NULL;
    PetscCall(CheckJob(s->db, dir, &js)); /* again, under the lock */
    PetscCall(NNLStoreUpgrade(s->db, dir));
    PetscCall(NNLStoreMetaGet(s->db, "job", &have));
    /* the same job in an earlier build's words (CheckJob): this build's from now on, which merges
     * compare */
    if (!extend && have && strcmp(have, job->canonical))
      PetscCall(NNLStoreMetaSet(s->db, "job", job->canonical));
    PetscCall(PetscFree(have));
    PetscCall(NNLStoreExec(
      s->db, "DROP INDEX IF EXISTS points_ord")); /* a store of before 2026-12 (PointsSQL) */
    if (extend) PetscCall(Extend(s, job, grid));
  }
  /* While a run writes: WAL, so readers (status, export) never block it and a killed writer leaves
     only whole transactions; NORMAL sync is safe against any process crash. Closing returns the
     file to a rollback journal, so that read-only readers of a finished store leave no -wal/-shm
     files behind. */
  /* The checkpointer thread (storeckpt.c) copies the WAL into the store as the run goes. Without a
     thread, SQLite's autocheckpoint does, every 16384 pages (64 MB) rather than its 1000: a sweep
     of many small networks (jobs/pdlt_kurtosis.opts: 27003 points, 65 MB) rewrote its hot pages and
     paid a pread and a pwrite per page at each of 16 checkpoints on rank 0, and its commits
     took 1.8–2.1 s instead of 1.3–1.4 s. */
  /* A 16 MB page cache, not 64: a new page in the cache is a fresh allocation (malloc, a page
     fault), and a run that records every layer fills it with BLOB pages written once: the default
     job with 128 seeds (38 MB store, 1 rank) committed in 0.19 s instead of 0.30 s (4 MB: 0.14 s).
     10^6 tiny tasks' index pages still fit (6.4-6.6 µs a no-op commit either way; 13.4-14.4 µs with
     4 MB, which rereads them). */
  PetscCall(NNLStoreExec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA "
                                "temp_store=MEMORY; PRAGMA wal_autocheckpoint=16384"));
  { /* ... or NNL_STORE_CACHE_BYTES_PER_POINT a point of the shard (up to 1 GB), for stores of
       millions of tiny points: the UNIQUE indexes on their random ids (points.id, netlayers.point)
       take ~40 bytes a point, and every commit group inserts all over them. Past the cache each
       group reread their leaves: with 2e6 points stored, 15 s of tiny tasks committed 335k points
       with 16 MB, 950k-990k with 256 MB (commits 13x slower at 1.5e6 points than at the start). The
       default job's 30720 points keep 16 MB. */
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%.0f",
             NNLStoreCacheBytes((double)grid->npoints / (double)job->shard_count) / 1024);
    PetscCall(NNLStoreExec(s->db, sql));
  }
  s->wal = PETSC_TRUE;
  PetscCall(NNLStoreCkptStart(s));
  PetscCall(RecordRun(s));
  PetscCall(Prepare(s));
  { /* seq: one row per recorded layer of the network that records most (at most its depth + 1),
       before any commit (one row per layer of the deepest network wrote 3e7 rows, 268 MB, for a
       depth-3e7 job recording 16 layers) */
    PetscInt nseq = 1;
    for (PetscInt f = 0; f < job->nfamily; f++)
      for (PetscInt d = 0; d < job->ndepth; d++)
        nseq = PetscMax(nseq, NNLJobRecordCount(job, job->family[f], job->depth[d]) + 1);
    PetscCall(SeqReserve(s, nseq)); /* rows nseq_old .. nseq - 1 */
    s->nseq = nseq;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode OpenRead(NNLStore s, const char dir[])
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(s->dir, dir, sizeof(s->dir)));
  PetscCall(NNLStoreOpenDB(dir, PETSC_FALSE, &s->db));
  PetscCall(NNLStoreVerify(s->db, dir, NULL));
  PetscFunctionReturn(0);
}

/* A failed open leaves nothing behind: the handle stays NULL and the file is closed. */
PetscErrorCode NNLStoreOpen(const char dir[], const NNLJob *job, const NNLGrid *grid,
                            NNLStore *store)
{
  NNLStore       s;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *store = NULL;
  PetscCall(PetscNew(&s));
  s->lock = -1;
  ierr    = OpenWrite(s, dir, job, grid);
  if (ierr) PetscCall(NNLStoreClose(&s));
  PetscCall(ierr);
  *store = s;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreOpenRead(const char dir[], NNLStore *store)
{
  NNLStore       s;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *store = NULL;
  PetscCall(PetscNew(&s));
  s->lock = -1;
  ierr    = OpenRead(s, dir);
  if (ierr) PetscCall(NNLStoreClose(&s));
  PetscCall(ierr);
  *store = s;
  PetscFunctionReturn(0);
}

PetscBool NNLStoreIdsHave(const uint64_t *ids, PetscInt n, uint64_t id)
{
  for (PetscInt lo = 0, hi = n;
       lo < hi;) { /* no callback: a resume looks up every point of its shard */
    PetscInt mid = lo + (hi - lo) / 2;
    if (ids[mid] == id) return PETSC_TRUE;
    if (ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return PETSC_FALSE;
}

PetscBool NNLStoreSamePath(const char a[], const char b[])
{
  char ra[PETSC_MAX_PATH_LEN], rb[PETSC_MAX_PATH_LEN];

  return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode NNLStoreCommittedIds(NNLStore s, PetscInt *n, uint64_t **ids)
{
  sqlite3_stmt *st  = NULL;
  PetscInt      cnt = 0, cap = 1024;
  int           rc;

  PetscFunctionBegin;
  /* One statement, one snapshot: a count first would be a second read, which a writer (plan beside
     a live run) can outrun; the list grows instead. A read that failed half way would leave stored
     points out of the list, and the run would compute them again: any error ends it. */
  PetscCall(
    NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, "SELECT id FROM points", -1, &st, NULL), "ids"));
  PetscCall(PetscMalloc1(cap, ids));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (cnt == cap) {
      cap *= 2;
      PetscCall(PetscRealloc((size_t)cap * sizeof(uint64_t), ids));
    }
    (*ids)[cnt++] = (uint64_t)sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) PetscCall(PetscFree(*ids));
  PetscCall(NNLStoreCheck(s->db, rc, "read the stored ids"));
  qsort(*ids, (size_t)cnt, sizeof(uint64_t),
        NNLGridCmpId); /* ascending as unsigned (SQLite's ORDER BY is signed) */
  *n = cnt;
  PetscFunctionReturn(0);
}

static PetscErrorCode Step(NNLStore s, sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);

  PetscFunctionBegin;
  sqlite3_reset(st);
  PetscCall(NNLStoreCheck(s->db, rc, "commit"));
  PetscFunctionReturn(0);
}

/* NaN (not applicable, failed) is stored as NULL and exported as an empty field. */
static void BindReal(sqlite3_stmt *st, int i, double v)
{
  if (v != v)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_double(st, i, v);
}

static PetscErrorCode InsertLimitRows(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  const PetscInt m = res->m, np = m * (m + 1) / 2;

  PetscFunctionBegin;
  for (PetscInt r = 0; r < res->nrec; r++)
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) {
        sqlite3_bind_int64(s->ins_limit, 1, (sqlite3_int64)pt->id);
        sqlite3_bind_int64(s->ins_limit, 2, res->layers[r]);
        sqlite3_bind_int64(s->ins_limit, 3, a);
        sqlite3_bind_int64(s->ins_limit, 4, b);
        BindReal(s->ins_limit, 5, res->gram[r * np + k]);
        BindReal(s->ins_limit, 6, res->ode[r * np + k]);
        PetscCall(Step(s, s->ins_limit));
      }
  PetscFunctionReturn(0);
}

/* One spectrum: its scalars (thresholds from the job) and its values. */
static PetscErrorCode InsertSpectrum(NNLStore s, const NNLPoint *pt, PetscInt layer,
                                     NNLSpectraMatrix mat, PetscInt k, const double *v)
{
  NNLSpectraStats st;
  const PetscInt  rows = mat == NNL_SPECTRA_GRAM ? k : pt->width, cols = s->job->inputs;

  PetscFunctionBegin;
  NNLSpectraStatsCompute(k, v, mat == NNL_SPECTRA_GRAM ? PETSC_TRUE : PETSC_FALSE, rows, cols,
                         s->job->spectra_rtol, &st);
  sqlite3_bind_int64(s->ins_spectra, 1, (sqlite3_int64)pt->id);
  sqlite3_bind_int64(s->ins_spectra, 2, layer);
  sqlite3_bind_text(s->ins_spectra, 3, NNLSpectraMatrices[mat], -1, SQLITE_STATIC);
  sqlite3_bind_int64(s->ins_spectra, 4, k);
  sqlite3_bind_int64(s->ins_spectra, 5, st.rank);
  sqlite3_bind_int64(s->ins_spectra, 6, st.rank_rtol);
  BindReal(s->ins_spectra, 7, st.pr);
  BindReal(s->ins_spectra, 8, st.cond);
  BindReal(s->ins_spectra, 9, st.vmax);
  BindReal(s->ins_spectra, 10, st.vmin);
  PetscCall(Step(s, s->ins_spectra));
  for (PetscInt i = 0; i < k; i++) {
    sqlite3_bind_int64(s->ins_spectrum, 1, (sqlite3_int64)pt->id);
    sqlite3_bind_int64(s->ins_spectrum, 2, layer);
    sqlite3_bind_text(s->ins_spectrum, 3, NNLSpectraMatrices[mat], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->ins_spectrum, 4, i);
    BindReal(s->ins_spectrum, 5, v[i]);
    PetscCall(Step(s, s->ins_spectrum));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode InsertSDERows(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  const PetscInt m = res->m, np = m * (m + 1) / 2;

  PetscFunctionBegin;
  for (PetscInt p = 0; p < res->npath; p++)
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) {
        sqlite3_bind_int64(s->ins_path, 1, (sqlite3_int64)pt->id);
        sqlite3_bind_int64(s->ins_path, 2, p);
        sqlite3_bind_int64(s->ins_path, 3, a);
        sqlite3_bind_int64(s->ins_path, 4, b);
        BindReal(s->ins_path, 5, res->paths[p * (np + m) + k]);
        BindReal(s->ins_path, 6, a == b ? res->paths[p * (np + m) + np + a] : NAN);
        PetscCall(Step(s, s->ins_path));
      }
  for (PetscInt r = 0; r < res->nrec; r++)
    for (PetscInt c = 0; c < res->ncell; c++) {
      sqlite3_bind_int64(s->ins_fp, 1, (sqlite3_int64)pt->id);
      sqlite3_bind_int64(s->ins_fp, 2, res->layers[r]);
      sqlite3_bind_int64(s->ins_fp, 3, c);
      sqlite3_bind_double(s->ins_fp, 4, NNLFokkerPlanckCentre(c, res->ncell));
      BindReal(s->ins_fp, 5, res->fp[r * res->ncell + c]);
      PetscCall(Step(s, s->ins_fp));
    }
  PetscFunctionReturn(0);
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
/* Room for n doubles in s->blob (big-endian hosts: the converted copy of an array). */
static PetscErrorCode BlobReserve(NNLStore s, size_t n)
{
  PetscFunctionBegin;
  if (n <= s->nblob) PetscFunctionReturn(0);
  PetscCall(PetscFree(s->blob));
  s->nblob = PetscMax(n, 2 * s->nblob);
  PetscCall(PetscMalloc1(s->nblob, &s->blob));
  PetscFunctionReturn(0);
}
#endif

/* Bind n doubles to parameter i of st as a BLOB of little-endian doubles: on a little-endian host
   the array itself (it outlives the statement's step), else a converted copy (SQLite copies it). */
static PetscErrorCode BindDoubles(NNLStore s, sqlite3_stmt *st, int i, PetscInt n, const double v[])
{
  int rc;

  PetscFunctionBegin;
  /* SetUpJob refuses jobs with larger arrays (NNLPointArrays); a bind SQLite refuses would store
   * NULL in its place */
  PetscCheck(8.0 * n <= NNL_STORE_MAX_VALUE, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "store: an array of %.4g MB, more than one value holds", 8.0 * n / 1e6);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  rc = sqlite3_bind_blob(st, i, v, (int)(8 * n), SQLITE_STATIC);
#else
  PetscCall(BlobReserve(s, (size_t)n));
  DoublesLE(n, v, (unsigned char *)s->blob);
  rc = sqlite3_bind_blob(st, i, s->blob, (int)(8 * n), SQLITE_TRANSIENT);
#endif
  PetscCall(NNLStoreCheck(s->db, rc, "store an array"));
  PetscFunctionReturn(0);
}

/* Rows 0 .. n − 1 of table seq (the view layers joins on it), if the store may lack some: normally
   all are there from the store's opening, so this runs only for a point deeper than the grid's.
   Rows added inside a task are not counted in s->nseq: an error in the task rolls its group back.
 */
static PetscErrorCode SeqReserve(NNLStore s, PetscInt n)
{
  PetscFunctionBegin;
  if (n <= s->nseq) PetscFunctionReturn(0);
  sqlite3_bind_int64(s->ins_seq, 1, s->nseq);
  sqlite3_bind_int64(s->ins_seq, 2, n);
  PetscCall(Step(s, s->ins_seq));
  PetscFunctionReturn(0);
}

/* A network's row of netlayers: every recorded layer's arrays, each table column one BLOB over the
 * layers. */
static PetscErrorCode InsertNetworkRow(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  const PetscInt m = res->m, np = m * (m + 1) / 2, nrec = res->nrec;
  double         few[64],
    *layer = few; /* the layer numbers as doubles; allocated only for a network of many */
  PetscErrorCode ierr;

  PetscFunctionBegin;
  if (nrec == 0) PetscFunctionReturn(0); /* nothing recorded: no row, as no layer row before */
  for (PetscInt r = 1; r < nrec;
       r++) /* the view's (point, layer) rows must be unique, as the key of schema 4 made them */
    PetscCheck(res->layers[r] > res->layers[r - 1], PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "store: point %" PetscInt_FMT "'s recorded layers are not increasing (%" PetscInt_FMT
               " after %" PetscInt_FMT ")",
               pt->ord, res->layers[r], res->layers[r - 1]);
  PetscCall(SeqReserve(s, nrec));
  if (nrec > 64) PetscCall(PetscMalloc1(nrec, &layer));
  for (PetscInt r = 0; r < nrec; r++) layer[r] = (double)res->layers[r];
  sqlite3_bind_int64(s->ins_net, 1, (sqlite3_int64)pt->id);
  sqlite3_bind_int64(s->ins_net, 2, nrec);
  sqlite3_bind_int64(s->ins_net, 3, np);
  sqlite3_bind_int64(s->ins_net, 4, m);
  ierr = BindDoubles(s, s->ins_net, 5, nrec, layer);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 6, nrec * np, res->gram);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 7, nrec * m, res->lognorm);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 8, nrec * m, res->lognorm_post);
  if (!ierr) ierr = BindDoubles(s, s->ins_net, 9, nrec * m, res->kurtosis);
  /* KS only at the last recorded layer of a finished point (the view gives NULL elsewhere) */
  if (!ierr && res->status == NNL_STATUS_DONE)
    ierr = BindDoubles(s, s->ins_net, 10, m, res->ks);
  else if (!ierr)
    sqlite3_bind_null(s->ins_net, 10);
  if (!ierr) ierr = Step(s, s->ins_net);
  sqlite3_clear_bindings(
    s->ins_net); /* no pointer into res or layer outlives them, whatever happened */
  if (layer != few) PetscCall(PetscFree(layer));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* All rows of one task; *dup (and nothing written) if its id is stored already. */
PetscErrorCode NNLStoreInsertRows(NNLStore s, const NNLPoint *pt, const NNLResult *res,
                                  PetscBool *dup)
{
  const PetscInt  m   = res->m;
  const PetscBool net = pt->kind == NNL_TASK_NETWORK || pt->kind == NNL_TASK_NOOP
                          ? PETSC_TRUE
                          : PETSC_FALSE; /* noop: an empty network */

  PetscFunctionBegin;
  *dup = PETSC_FALSE;
  sqlite3_bind_int64(s->ins_point, 1, (sqlite3_int64)pt->id);
  sqlite3_bind_int64(s->ins_point, 2, pt->ord);
  sqlite3_bind_text(s->ins_point, 3, NNLFamilies[pt->family], -1, SQLITE_STATIC);
  sqlite3_bind_text(s->ins_point, 4, NNLJobEntryName(s->job, pt->family, pt->act), -1,
                    SQLITE_STATIC);
  if (net)
    sqlite3_bind_int64(s->ins_point, 5, pt->width);
  else
    sqlite3_bind_null(s->ins_point, 5);
  sqlite3_bind_int64(s->ins_point, 6, pt->depth);
  if (net)
    sqlite3_bind_int64(s->ins_point, 7, pt->seed);
  else
    sqlite3_bind_null(s->ins_point, 7);
  sqlite3_bind_text(s->ins_point, 8, res->status == NNL_STATUS_DONE ? "done" : "failed", -1,
                    SQLITE_STATIC);
  if (net)
    sqlite3_bind_text(s->ins_point, 9, NNLSamplerTypes[NNLPointSampler(s->job, pt)], -1,
                      SQLITE_STATIC);
  else
    sqlite3_bind_null(s->ins_point, 9);
  if (res->dead_layer >= 0)
    sqlite3_bind_int64(s->ins_point, 10, res->dead_layer);
  else
    sqlite3_bind_null(s->ins_point, 10);
  sqlite3_bind_text(s->ins_point, 11, res->message, -1, SQLITE_STATIC);
  sqlite3_bind_double(s->ins_point, 12, res->seconds);
  sqlite3_bind_double(s->ins_point, 13, NNLStoreEpoch());
  sqlite3_bind_int64(s->ins_point, 14, s->run);
  sqlite3_bind_text(s->ins_point, 15,
                    net                        ? "network"
                    : pt->kind == NNL_TASK_SDE ? "sde"
                                               : "limit",
                    -1, SQLITE_STATIC);
  if (pt->kind == NNL_TASK_SDE) sqlite3_bind_int64(s->ins_point, 5, pt->width);
  {
    int rc = sqlite3_step(s->ins_point), ext = sqlite3_extended_errcode(s->db);
    sqlite3_reset(s->ins_point);
    if (rc == SQLITE_CONSTRAINT &&
        ext == SQLITE_CONSTRAINT_UNIQUE) { /* stored already: the caller compares */
      *dup = PETSC_TRUE;
      PetscFunctionReturn(0);
    }
    PetscCall(NNLStoreCheck(s->db, rc, "commit"));
  }
  if (pt->kind == NNL_TASK_SDE) {
    PetscCall(InsertSDERows(s, pt, res));
    PetscFunctionReturn(0);
  }
  if (!net) {
    PetscCall(InsertLimitRows(s, pt, res));
    PetscFunctionReturn(0);
  }
  PetscCheck(m == s->job->inputs, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "store: a network result of %" PetscInt_FMT " inputs", m);
  PetscCall(InsertNetworkRow(s, pt, res));
  for (PetscInt r = 0; r < res->nspec; r++) {
    PetscCall(InsertSpectrum(s, pt, res->spec_layers[r], NNL_SPECTRA_GRAM, m, res->eig + r * m));
    PetscCall(InsertSpectrum(s, pt, res->spec_layers[r], NNL_SPECTRA_FEATURES, res->nsv,
                             res->sv + r * res->nsv));
  }
  PetscFunctionReturn(0);
}

/* Commits are grouped: one SQLite transaction takes the tasks that finish within
   NNL_STORE_GROUP_SECONDS. A transaction costs ~100 µs (file locks, WAL writes) and a small task's
   rows a few µs, so 10^5 tiny tasks would otherwise spend most of their time committing. A killed
   writer loses at most that window of finished tasks, which a rerun recomputes with the same
   numbers. A task is not a savepoint of its own: SQLite then copies every page the task first
   touches (4 KB each, 3-5 a task) to keep its old content, 3.5-4 µs of a no-op task's 7-9 µs. A
   task whose rows fail half-written (a full disk) takes its group with it instead, as a kill would;
   the run stops there. Not shorter: each group writes every page it dirtied to the WAL, and the
   random ids spread a group's index entries over most of the id index's leaves. At 0.1 s, 10^5
   no-op tasks cost 3.0 µs a commit instead of 2.5 (the checkpointer aside); the default sweep was
   no faster. */
#define NNL_STORE_GROUP_SECONDS 0.25
/* End the open group of commits, if any: every task in it becomes durable at once. */
/* The open group is still SQLite's transaction: a failed write may end it (SQLite rolls back on a
   full disk or an I/O error), and the statements after it would each commit on their own, a task's
   rows apart. */
static PetscErrorCode GroupIntact(NNLStore s)
{
  PetscFunctionBegin;
  PetscCheck(!s->group || !sqlite3_get_autocommit(s->db), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
             "store: a write failed and SQLite rolled back the open group of commits, whose points "
             "are pending again (disk full? "
             "free space and rerun the same command)");
  PetscFunctionReturn(0);
}

static PetscErrorCode StoreFlush(NNLStore s)
{
  PetscFunctionBegin;
  PetscCall(GroupIntact(s));
  if (!s->group) PetscFunctionReturn(0);
  s->group = PETSC_FALSE;
  PetscCall(Step(s, s->tx_commit));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreTick(NNLStore s)
{
  PetscFunctionBegin;
  if (s->group && MPI_Wtime() - s->group_t0 >= NNL_STORE_GROUP_SECONDS) PetscCall(StoreFlush(s));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreCommit(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  PetscErrorCode ierr;
  PetscBool      dup = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(NNLLogRegister());
  PetscCall(PetscLogEventBegin(NNL_EVENT_COMMIT, 0, 0, 0, 0));
  PetscCall(GroupIntact(s)); /* NNLStoreSetETA's write, in the group, may have failed */
  if (!s->group) {
    PetscCall(Step(s, s->tx_begin));
    s->group    = PETSC_TRUE;
    s->group_t0 = MPI_Wtime();
  }
  ierr = NNLStoreInsertRows(s, pt, res, &dup);
  /* a second commit of one id (its points row exists, nothing was written): a no-op if its rows are
     equal, else an error that leaves the group whole */
  if (!ierr && dup) ierr = NNLStoreSameAsHeld(s, pt, res);
  if (!ierr && dup)
    ierr = PetscInfo(NULL, "store: point %" PetscInt_FMT " already committed with equal rows\n",
                     pt->ord);
  if (ierr && !dup) { /* the task's rows may be half written: the group goes, and the run stops */
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->group = PETSC_FALSE;
  }
  if (!ierr) ierr = NNLStoreTick(s);
  PetscCall(PetscLogEventEnd(NNL_EVENT_COMMIT, 0, 0, 0, 0));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

void NNLStoreSetETA(NNLStore s, double left)
{
  char sql[128];

  /* in the open group of commits if there is one, else a transaction of its own; numbers only, so
   * no binding */
  snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta VALUES('eta', '%.3f %.1f')",
           NNLStoreEpoch(), left);
  (void)sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

PetscErrorCode NNLStoreFinishRun(NNLStore s, const char status[])
{
  sqlite3_stmt *st = NULL;
  char          now[32];
  int           rc;

  PetscFunctionBegin;
  PetscCall(StoreFlush(s));
  /* an estimate of a run that has ended; an interrupted one keeps its rerun's (NNLSchedRun) */
  if (strcmp(status, "interrupted"))
    PetscCall(NNLStoreExec(s->db, "DELETE FROM meta WHERE key='eta'"));
  NNLStoreNow(now, sizeof(now));
  PetscCall(NNLStoreCheck(
    s->db,
    sqlite3_prepare_v2(s->db, "UPDATE runs SET finished=?, status=? WHERE run=?", -1, &st, NULL),
    "finish run"));
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, s->run);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc, "finish run"));
  PetscFunctionReturn(0);
}

const char *NNLVersion(void)
{
  return "nnlimits " NNL_VERSION " (git " NNL_GIT_COMMIT ")";
}

void NNLLibraryVersions(char *buf, size_t len)
{
  char petsc[128] = "PETSc", mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "MPI";
  int  n;

  (void)PetscGetVersion(petsc, sizeof(petsc));
  (void)MPI_Get_library_version(mpi, &n);
  mpi[strcspn(mpi, "\n,")] = 0;
  snprintf(buf, len, "nnlimits %s; %s; %s; SQLite %s; OpenBLAS %s", NNL_VERSION, petsc, mpi,
           sqlite3_libversion(), openblas_get_config());
}

/* After an error (a full disk, a file size limit, or a task's own error on rank 0): keep the
   finished tasks of the open group, roll back what else was in progress, and mark this run 'failed'
   in runs, so that status says so rather than taking the run for killed. Best effort and silent:
   the disk may still refuse. */
void NNLStoreMarkFailed(NNLStore s)
{
  sqlite3_stmt *st = NULL;

  if (!s || !s->db) return;
  /* an open group holds whole tasks only (a task that failed to store rolled its group back): keep
     them, as Close does; what else is open (a commit the disk refused) goes */
  if (s->group && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->group = PETSC_FALSE;
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  if (sqlite3_prepare_v2(s->db, "UPDATE runs SET status='failed' WHERE run=?", -1, &st, NULL) ==
      SQLITE_OK) {
    sqlite3_bind_int64(st, 1, s->run);
    (void)sqlite3_step(st);
  }
  sqlite3_finalize(st);
}

PetscErrorCode NNLStoreClose(NNLStore *store)
{
  NNLStore s = *store;

  PetscFunctionBegin;
  if (!s) PetscFunctionReturn(0);
  /* the finished tasks of an open group are whole (a failed task rolled its group back): keep them,
     also on an error path, where the run stops */
  if (s->group && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->group = PETSC_FALSE;
  sqlite3_finalize(s->ins_point);
  sqlite3_finalize(s->ins_net);
  sqlite3_finalize(s->ins_seq);
  PetscCall(PetscFree(s->blob));
  sqlite3_finalize(s->ins_limit);
  sqlite3_finalize(s->ins_spectra);
  sqlite3_finalize(s->ins_spectrum);
  sqlite3_finalize(s->ins_path);
  sqlite3_finalize(s->ins_fp);
  sqlite3_finalize(s->tx_begin);
  sqlite3_finalize(s->tx_commit);
  PetscCall(NNLStoreCkptStop(s, NULL));
  if (s->wal)
    sqlite3_exec(s->db, "PRAGMA journal_mode=DELETE", NULL, NULL,
                 NULL); /* busy with a reader: stays WAL */
  if (s->db) sqlite3_close(s->db);
  NNLStoreUnlock(&s->lock);
  PetscCall(PetscFree(*store));
  PetscFunctionReturn(0);
}
