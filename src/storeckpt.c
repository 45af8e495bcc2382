/* The run store's checkpointer: a thread of rank 0 that copies the WAL into the store file while
 * the run goes on. */
#include <pthread.h>
#include <signal.h>
#include "storeimpl.h"

/* Each commit group (storecommit.c) appends its pages to the WAL; a checkpoint copies them into the
   store file and syncs both files. Left to SQLite's autocheckpoint, that is rank 0's own time: the
   default sweep writes 9.6 MB in a 0.3 s run, and its checkpoint at close (WAL sync, copy, store
   sync, WAL unlink) took 75 ms more; a larger sweep stopped rank 0, and every worker waiting on it,
   for each 64 MB. Here a second connection, on its own thread, checkpoints once a commit leaves
   CKPT_BYTES of new pages in the WAL: the syncs are waits that overlap the run, and at close only
   the last group is left to copy. PASSIVE checkpoints never block the writer or a reader, and a
   kill at any moment is safe (SQLite's WAL protocol). After one that caught up, the next
   transaction starts the WAL again from its beginning, so the file stays small. A failed checkpoint
   loses nothing (the pages stay in the WAL): the final one at close tries again. */
#define CKPT_BYTES (1 << 20)

struct _n_NNLStoreCkpt {
  pthread_t       thread;
  pthread_mutex_t mu;
  pthread_cond_t  cv;
  sqlite3        *db;     /* the thread's own connection */
  int             frames; /* the WAL's length (pages) when a checkpoint was last asked for */
  int every; /* pages of CKPT_BYTES (page size: 4 KB before 16 KB pages, storeschema.c) */
  int wake;  /* a checkpoint is asked for */
  int stop;  /* the thread is to end */
  int done;  /* checkpoints run */
};

/* SQLite calls this on the writer's thread after each commit, with the WAL's length in pages. */
static int WalHook(void *ctx, sqlite3 *db, const char *name, int frames)
{
  NNLStoreCkpt c = (NNLStoreCkpt)ctx;

  (void)db;
  (void)name;
  if (frames < c->frames) c->frames = 0; /* the WAL started again */
  if (frames - c->frames < c->every) return SQLITE_OK;
  c->frames = frames;
  pthread_mutex_lock(&c->mu);
  c->wake = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  return SQLITE_OK;
}

static void *Run(void *arg)
{
  NNLStoreCkpt c = (NNLStoreCkpt)arg;

  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->wake && !c->stop) pthread_cond_wait(&c->cv, &c->mu);
    if (!c->wake) break; /* stopped, with no checkpoint asked for */
    c->wake = 0;
    pthread_mutex_unlock(&c->mu);
    (void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                    NULL); /* a failure: see above */
    pthread_mutex_lock(&c->mu);
    c->done++;
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

PetscErrorCode NNLStoreCkptStart(NNLStore s)
{
  NNLStoreCkpt   c = NULL;
  sigset_t       all, old;
  int            rc;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(1, &c));
  ierr = NNLStoreOpenDB(s->dir, PETSC_TRUE, &c->db);
  if (!ierr)
    ierr = NNLStoreExec(
      c->db, "PRAGMA synchronous=NORMAL"); /* the writer's syncs: the WAL, then the file */
  if (!ierr) {
    sqlite3_stmt *st = NULL;
    ierr     = NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL),
                             "page size");
    c->every = !ierr && sqlite3_step(st) == SQLITE_ROW
                 ? CKPT_BYTES / PetscMax(sqlite3_column_int(st, 0), 512)
                 : CKPT_BYTES / 4096;
    sqlite3_finalize(st);
  }
  if (ierr) {
    sqlite3_close(c->db);
    PetscCall(PetscFree(c));
    PetscCall(ierr);
  }
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  /* signals (SIGTERM, SIGUSR1: a graceful stop) stay with the main thread, which acts on them */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&c->thread, NULL, Run, c);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc) { /* no thread: SQLite's autocheckpoint and the checkpoint at close do the work, as before
             */
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    PetscCall(PetscFree(c));
    PetscCall(PetscInfo(NULL, "store: no checkpointer thread (%d)\n", rc));
    PetscFunctionReturn(0);
  }
  sqlite3_wal_hook(s->db, WalHook, c); /* in place of SQLite's autocheckpoint */
  s->ckpt = c;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreCkptStop(NNLStore s, int *done)
{
  NNLStoreCkpt c = s->ckpt;

  PetscFunctionBegin;
  if (done) *done = 0;
  if (!c) PetscFunctionReturn(0);
  sqlite3_wal_hook(s->db, NULL, NULL);
  pthread_mutex_lock(&c->mu);
  c->stop = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  pthread_join(c->thread, NULL);
  if (done) *done = c->done;
  sqlite3_close(c->db); /* before the writer leaves WAL mode, which needs the file to itself */
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  PetscCall(PetscFree(s->ckpt));
  PetscFunctionReturn(0);
}
