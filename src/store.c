/* The run store: one SQLite file per run directory, opened for a run (checked against its job,
 * upgraded, extended) or for reading, with the provenance of every run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include "storeimpl.h"
#include "nnl_git.h" /* NNL_GIT_COMMIT, written at every build (src/gitcommit.cmake) */

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

/* A job line (up to its newline; NULL: "(absent)") as the user would write it, into buf: each
   number of its value in the fewest digits that give it back (the job's text keeps 17 so that equal
   jobs compare equal: input_correlation=0.29999999999999999 is the 0.3 the user gave). A number is
   a token after '=', ',', ';' or ':' that strtod takes whole up to the next of them. */
static const char *LineShown(const char *l, char *buf, size_t size)
{
  size_t n = 0, len;

  if (!l) return "(absent)";
  len = strcspn(l, "\n");
  for (size_t i = 0; i < len && n + 1 < size;) {
    const int start = i > 0 && strchr("=,;:", l[i - 1]) != NULL;
    char      tok[64], *end;
    size_t    t = strcspn(l + i, ",;:\n");
    double    v;
    if (t > len - i) t = len - i;
    if (start && t > 0 && t < sizeof(tok)) {
      memcpy(tok, l + i, t), tok[t] = 0;
      v = strtod(tok, &end);
      if (end == tok + t && isfinite(v)) {
        char num[32];
        for (int p = 1; p <= 17; p++) { /* the shortest that gives v back */
          snprintf(num, sizeof(num), "%.*g", p, v);
          if (strtod(num, NULL) == v) break;
        }
        n += (size_t)snprintf(buf + n, size - n, "%s", num);
        i += t;
        continue;
      }
    }
    buf[n++] = l[i++];
  }
  buf[n < size ? n : size - 1] = 0;
  return buf;
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
    const char *a = diff[axis][0], *b = diff[axis][1],
               *layers[] = {"record_layers", "spectra_layers"};
    char hint[256]       = "";
    if (!found[axis]) continue;
    /* K layers of a job no deeper than K are all of them, stored as 'all': a deeper depth added to
       it is another job (K log-spaced layers), refused by a difference the user never typed */
    for (int k = 0; k < 2 && a && b; k++) {
      const size_t n = strlen(layers[k]);
      if (!strncmp(a, layers[k], n) && a[n] == '=' && !strncmp(b, layers[k], n) &&
          !strncmp(a + n + 1, "all\n", 4) && strncmp(b + n + 1, "all\n", 4)) /* 'all' there */
        snprintf(hint, sizeof(hint),
                 "; -%s K records every layer of a job no deeper than K, stored as 'all', and K "
                 "log-spaced layers past that depth: to extend this run deeper, give -%s all",
                 layers[k], layers[k]);
    }
    {
      char sa[1024], sb[1024];
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
              "'%s' holds a run made with different options: %s there, %s here (%s%s)", dir,
              LineShown(a, sa, sizeof(sa)), LineShown(b, sb, sizeof(sb)), advice, hint);
    }
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
     could say so, one marked stopping in its stop (NNLStoreMarkStopping). */
  PetscCall(NNLStoreExec(s->db, "UPDATE runs SET status=CASE status WHEN 'stopping' THEN "
                                "'interrupted' ELSE 'died' END WHERE status IN ('running', "
                                "'stopping') AND source IS NULL"));
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
    {NNL_STORE_SEQ_SQL, &s->ins_seq},
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
  /* An earlier build cut a job's text at 1023 bytes when one line straddled its buffer's growth
     (jobcanon.c, Appendf): the options after the cut were never stored, so they cannot be checked
   */
  const PetscBool cut = have && strlen(have) == 1023 && strlen(job->canonical) > 1023 &&
                            !strncmp(have, job->canonical, 1023)
                          ? PETSC_TRUE
                          : PETSC_FALSE;
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
    if (!ierr && !ext && cut)
      ierr = PetscError(
        PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
        PETSC_ERROR_INITIAL,
        "'%s' was written by an earlier nnlimits, which cut its job's text at 1023 bytes (a bug "
        "since mended): the options after the cut (the sampler, the run seed, recorded layers, "
        "solver options) were not stored and cannot be checked, so it cannot be resumed or "
        "extended; its points export as they are; rerun the job into another -output",
        dir);
    if (!ierr && !ext && !cut)
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
  PetscCall(NNLStoreCheckDir(job->output)); /* as a run would refuse it: plan said it would run */
  PetscCall(NNLStorePreCheck(job->output, CheckJobCount, &jc));
  PetscFunctionReturn(0);
}

/* Meta 'shard_cut': the signature of the cut whose shard the store's points are
   (NNLGridShardSignature), which status trusts rather than cutting the job again (statuscut.c:
   0.2 s more and twice the memory for a job of 4·10^6 points, seconds and GBs at 10^8). A store
   begun by an earlier build (no stamp) or by a build of another cut is 'mixed' for good: status
   then cuts the job itself. */
static PetscErrorCode StampCut(NNLStore s, const NNLJob *job, const NNLGrid *grid, PetscBool fresh)
{
  uint64_t sig;
  char     want[32], *have = NULL;

  PetscFunctionBegin;
  PetscCall(NNLGridShardSignature(grid, job->shard_index, job->shard_count, &sig));
  snprintf(want, sizeof(want), "%016llx", (unsigned long long)sig);
  if (!fresh) PetscCall(NNLStoreMetaGet(s->db, "shard_cut", &have));
  if (fresh || !have || (strcmp(have, want) && strcmp(have, "mixed")))
    PetscCall(NNLStoreMetaSet(s->db, "shard_cut", fresh ? want : "mixed"));
  PetscCall(PetscFree(have));
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
  PetscCall(StampCut(s, job, grid, fresh));
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
  PetscCall(NNLStoreWarnKernels(s->db, job->output, s->run));
  PetscCall(Prepare(s));
  { /* seq: one row per recorded layer of the network that records most (at most its depth + 1),
       before any commit (one row per layer of the deepest network wrote 3e7 rows, 268 MB, for a
       depth-3e7 job recording 16 layers) */
    PetscInt nseq = 1;
    for (PetscInt f = 0; f < job->nfamily; f++)
      for (PetscInt d = 0; d < job->ndepth; d++)
        nseq = PetscMax(nseq, NNLJobRecordCount(job, job->family[f], job->depth[d]) + 1);
    PetscCall(NNLStoreSeqReserve(s, nseq)); /* rows nseq_old .. nseq - 1 */
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
  if (s->wal) NNLStoreLeaveWAL(s->db, s->dir);
  if (s->db) sqlite3_close(s->db);
  NNLStoreUnlock(&s->lock);
  PetscCall(PetscFree(*store));
  PetscFunctionReturn(0);
}
