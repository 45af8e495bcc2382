/* The merge job of a Slurm job array as jobs/slurm's scripts record it, for status of the array's
 * shards (OUTPUT/shard-<i>) or of its merge's output (OUTPUT/all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "storeimpl.h"
#include "status.h"

/* The array's merge: submit writes OUTPUT/logs/merge.queued ("job=ID time=EPOCH log=LOG") when it
   queues it, merge.sbatch OUTPUT/logs/merge.state ("state=running|complete|failed job=ID
   time=EPOCH log=LOG", and "error=" its log's first error line when failed) as it runs and ends.
   Two files, one writer each: the merge may start before submit has written its line. Without
   them, whether the merge ran, failed or waits was in its log alone. */
typedef struct {
  PetscBool have;
  char      state[16], job[64];
  double    time; /* epoch seconds (to the nanosecond: compared with a file's mtime) */
  char      log[PETSC_MAX_PATH_LEN], error[2048];
} MergeRecord;

#define MERGE_QUEUED "logs/merge.queued"
#define MERGE_STATE  "logs/merge.state"

/* dir's parent (the array's OUTPUT) in parent, if dir is OUTPUT/all or OUTPUT/shard-<i>; *all
   (may be NULL): it is OUTPUT/all. */
static PetscBool MergeParent(const char dir[], char parent[], size_t len, PetscBool *all)
{
  size_t      n = strlen(dir);
  const char *base;
  PetscBool   is_all;

  while (n > 1 && dir[n - 1] == '/') n--; /* shard-0/ */
  snprintf(parent, len, "%.*s", (int)n, dir);
  base   = strrchr(parent, '/');
  base   = base ? base + 1 : parent;
  is_all = strcmp(base, "all") ? PETSC_FALSE : PETSC_TRUE;
  if (!is_all && (strncmp(base, "shard-", 6) || !base[6] ||
                  strspn(base + 6, "0123456789") != strlen(base + 6)))
    return PETSC_FALSE;
  if (all) *all = is_all;
  if (base == parent)
    snprintf(parent, len, ".");
  else if (base - 1 == parent)
    snprintf(parent, len, "/");
  else
    parent[base - 1 - parent] = 0;
  return PETSC_TRUE;
}

/* The value of key (with its '=') in line: up to the next space, or with rest to the line's end. */
static void MergeValue(const char line[], const char key[], PetscBool rest, char v[], size_t len)
{
  const char *p = line;
  size_t      k = strlen(key), m;

  v[0] = 0;
  while (p && *p && strncmp(p, key, k)) p = (p = strchr(p, ' ')) ? p + 1 : NULL;
  if (!p || !*p) return;
  p += k;
  m = rest ? strcspn(p, "\n") : strcspn(p, " \n");
  snprintf(v, len, "%.*s", (int)m, p);
}

static void MergeRead(const char parent[], const char file[], MergeRecord *r)
{
  char  path[PETSC_MAX_PATH_LEN + 32], line[PETSC_MAX_PATH_LEN + 256], num[32];
  FILE *f;

  memset(r, 0, sizeof(*r));
  snprintf(path, sizeof(path), "%s/%s", parent, file);
  if (!(f = fopen(path, "r"))) return;
  if (fgets(line, sizeof(line), f)) {
    r->have = PETSC_TRUE;
    MergeValue(line, "state=", PETSC_FALSE, r->state, sizeof(r->state));
    if (!r->state[0]) snprintf(r->state, sizeof(r->state), "queued"); /* submit's file */
    MergeValue(line, "job=", PETSC_FALSE, r->job, sizeof(r->job));
    MergeValue(line, "time=", PETSC_FALSE, num, sizeof(num));
    r->time = strtod(num, NULL);
    MergeValue(line, "log=", PETSC_TRUE, r->log, sizeof(r->log));
  }
  if (fgets(line, sizeof(line), f))
    MergeValue(line, "error=", PETSC_TRUE, r->error, sizeof(r->error));
  fclose(f);
}

/* The merge's state in *r: merge.sbatch's record if it is of the merge queued last (or newer: a
   merge run by hand), else the queued one's. */
static void MergeState(const char parent[], MergeRecord *r)
{
  MergeRecord q;

  MergeRead(parent, MERGE_QUEUED, &q);
  MergeRead(parent, MERGE_STATE, r);
  if (r->have && (!q.have || !strcmp(r->job, q.job) || r->time >= q.time)) return;
  *r = q;
}

/* Whether OUTPUT/all's store was written after the record r (a merge run by hand after the job's
   failed, say, which the record does not know of): both to the nanosecond, as a failed merge may
   have written it in the second it recorded its end. */
static PetscBool MergeWrittenSince(const char parent[], const MergeRecord *r)
{
  char        path[PETSC_MAX_PATH_LEN + 32];
  struct stat st;

  snprintf(path, sizeof(path), "%s/all/%s", parent, NNL_STORE_FILE);
  if (r->time <= 0 || stat(path, &st)) return PETSC_FALSE;
  return st.st_mtim.tv_sec + 1e-9 * st.st_mtim.tv_nsec > r->time ? PETSC_TRUE : PETSC_FALSE;
}

/* Whether a merge into OUTPUT/all began and was killed before it ended (NNLStatusMergeFlag), what
   status of OUTPUT/all reads as last_run=died. merge.sbatch records a SIGTERM's end (failed), but a
   SIGKILL (scancel -s KILL, the out-of-memory killer, a lost node) leaves its record at running,
   which status repeated for good. */
static PetscBool MergeKilled(const char parent[])
{
  char     dir[PETSC_MAX_PATH_LEN + 8], path[PETSC_MAX_PATH_LEN + 32];
  sqlite3 *db = NULL;
  int      held, state = 0;

  snprintf(dir, sizeof(dir), "%s/all", parent);
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_FILE);
  if (access(path, R_OK) || (held = NNLStoreLockHeld(dir)) != 0) return PETSC_FALSE;
  PetscCallAbort(PETSC_COMM_SELF, PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  if (NNLStoreOpenDB(dir, PETSC_FALSE, &db) || NNLStatusMergeFlag(db, dir, held, &state)) state = 0;
  PetscCallAbort(PETSC_COMM_SELF, PetscPopErrorHandler());
  if (db) sqlite3_close(db);
  return state == 2 ? PETSC_TRUE : PETSC_FALSE;
}

PetscBool NNLStatusMergeKnown(const char dir[])
{
  char        parent[PETSC_MAX_PATH_LEN];
  MergeRecord r;

  if (!MergeParent(dir, parent, sizeof(parent), NULL)) return PETSC_FALSE;
  MergeState(parent, &r);
  return r.have;
}

PetscInt NNLStatusMergePrint(PetscInt n, const char *const dirs[], FILE *out)
{
  char(*seen)[PETSC_MAX_PATH_LEN] = NULL;
  PetscInt nseen                  = 0;

  if (PetscMalloc1(n, &seen)) return 0;
  for (PetscInt i = 0; i < n; i++) {
    char        parent[PETSC_MAX_PATH_LEN], at[32] = "-";
    MergeRecord r;
    PetscBool   again = PETSC_FALSE, all;
    time_t      t;
    struct tm   tm;

    if (!MergeParent(dirs[i], parent, sizeof(parent), &all)) continue;
    for (PetscInt k = 0; k < nseen && !again; k++) again = NNLStoreSamePath(seen[k], parent);
    if (again) continue;
    MergeState(parent, &r);
    if (!r.have) continue;
    snprintf(seen[nseen++], sizeof(seen[0]), "%s", parent);
    if (!strcmp(r.state, "running") && MergeKilled(parent)) {
      snprintf(r.state, sizeof(r.state), "died");
      if (!all) /* status of OUTPUT/all says so in its own words */
        fprintf(stderr,
                "status: merge died (job %s): killed while merging (SIGKILL, out of memory, a lost "
                "node); what it merged into %s/all is kept, and merging again finishes it "
                "(merge.sbatch %s N, or the same submit)\n",
                r.job, parent, parent);
    }
    t = (time_t)r.time;
    if (r.time > 0 && gmtime_r(&t, &tm)) strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, "status merge=%s job=%s at=%s output=%s/all log=%s\n", r.state,
            r.job[0] ? r.job : "-", at, parent, r.log[0] ? r.log : "-");
    if (!strcmp(r.state, "failed"))
      fprintf(stderr, "status: merge failed (job %s): see %s: %s\n", r.job,
              r.log[0] ? r.log : "its log (sbatch's -o)", r.error[0] ? r.error : "(no error line)");
    if (strcmp(r.state, "complete") && strcmp(r.state, "running") && MergeWrittenSince(parent, &r))
      fprintf(stderr,
              "status: %s/all was written after that (a merge by hand?): its own status says what "
              "it holds\n",
              parent);
    else if (!strcmp(r.state, "queued"))
      fprintf(stderr,
              "status: merge queued (job %s): it runs once every shard's task has ended, and "
              "fails naming any shard left unfinished (squeue -j %s: if it is not there, it "
              "was cancelled: submit again)\n",
              r.job, r.job);
  }
  PetscFree(seen);
  return nseen;
}
