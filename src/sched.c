/* The coordinator/worker protocol: cost-ordered self-scheduling, progress, graceful stop on
 * signals (its set-up: schedsetup.c). */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "schedimpl.h"
#include "clock.h"
#include "error.h"

#define TAG_TASK                                                                                   \
  11 /* coordinator → worker: a chunk of 1..CHUNK_MAX point indices, or the one index -1 = stop */
#define TAG_RESULT                                                                                   \
  12 /* worker → coordinator: the chunk's results, each as its packed length then NNLResultPack; a \
        last length of -1: this worker got a stop signal (the run stops as if rank 0 had) */
#define TAG_STOP                                                                                   \
  13 /* coordinator → worker: a stop rank 0 got (1: stop, 2: abandon the tasks in progress), so  \
        that a signal to rank 0 alone reaches the workers' tasks; the stop chunk (-1) then says    \
        how many came */
/* Rank 0 probes for results between the layers of its own points, and after each. A probe costs
   ~0.1 µs here (MPI's progress engine), as much as a layer of width 32. It probes once this many
   clock ticks have passed since the last probe (NNLTicks: 10-40 µs at 1-4 GHz), well within the 1
   ms chunks that a worker holds PREFETCH of. On 10^5 tiny networks at 2 ranks, rank 0's time in MPI
   went from 8.9 % to 5.2 % of its samples. */
#define SERVE_TICKS 40000ull
/* Reading the time-stamp counter costs ~12 ns in this VM, as much as a tiny layer's bookkeeping: 2
   % of rank 0's time on 10^5 tiny networks at 2 ranks went to Serve, called 5 times a network. It
   reads the counter once in serve_every calls, a stride that doubles (to at most SERVE_EVERY_MAX)
   while reads come less than SERVE_TICKS / 8 apart and falls back to 1 when one comes more than
   SERVE_TICKS / 2 after the last: when layers grow long, the probe comes late by at most one stride
   of them, once. */
#define SERVE_EVERY_MAX 32u
/* Predicted cost (ns of the cost model's core) above which a task of rank 0's own on a 1-rank run
   polls for progress lines (and for a stop that abandons it): 0.1 s. */
#define LONG_TASK 1e8
/* Stop signals received by this process (counted to 2): the first stops the hand-out, a second
   abandons the tasks in progress. */
static volatile sig_atomic_t stop_requested = 0;

static PetscBool IsLeader(NNLSched s, int rank)
{
  return s->team_size <= 1 || rank % (int)s->team_size == 0 ? PETSC_TRUE : PETSC_FALSE;
}

/* Set when the sweep begins (NNLSchedRun). Before it (MPI_Init, the job, the grid's checks, the
   store's opening and upgrade, its pending points: seconds on a large job) nothing is computed yet:
   a stop signal is noted, and the set-up leaves at its next look (NNLSchedStoppedBeforeSweep),
   every rank together, through MPI_Finalize, with the stop's exit code, which the Slurm scripts
   requeue on (the default action killed it: exit 138 for SIGUSR1, no requeue). Ranks that instead
   ended in the handler, without MPI_Finalize, hung mpiexec for good 2 times in ~100 such stops of a
   2-rank run in its MPI_Init (a rank never reaped, Open MPI 4.1.4), and left an isolated
   singleton's session directory behind. A second stop a second or more after the first leaves at
   once. The store stays as it was: SQLite rolls back a transaction a killed process left open. */
static volatile sig_atomic_t sweep_begun = 0;
/* Said by rank 0 (its launcher's rank variables, read before MPI_Init) at a stop in the set-up. */
static int        quiet_rank = 0;
static const char wait_msg[] =
  "nnlimits: stopping: nothing will be computed; the set-up ends first "
  "(signal again to leave now)\n";
static const char early_msg[] = "nnlimits: stopped by a signal before the sweep began: "
                                "nothing was computed (rerun the same command)\n";

/* A second signal abandons the tasks in progress only if it is the first one again, or comes a
   second or more after it: a batch system signals the job's every process and its script passes the
   stop on too (Slurm's SIGTERM on a requeue or scancel, and sweep.sbatch's SIGUSR1, milliseconds
   apart: the grace was skipped as if a user had asked twice). */
static volatile sig_atomic_t first_signal = 0;
static struct timespec       first_signal_at;

/* Set when the process leaves with a refusal (main): mpiexec then ends the ranks still finishing
   (MPI_Finalize) with SIGTERM, and their 'stopped by a signal before the sweep began ... (rerun the
   same command)' followed the refusal's message (3 in 10 refusals at 3 ranks here). */
static volatile sig_atomic_t leaving_code = 0;

void NNLSchedLeaving(int code)
{
  leaving_code = code;
}

static void OnStopSignal(int sig)
{
  if (leaving_code) _exit(leaving_code);
  if (!first_signal) { /* the time before the flag: a handler cannot be interrupted by another
                          (sa_mask), but the order keeps first_signal_at set wherever first_signal
                          is */
    clock_gettime(CLOCK_MONOTONIC, &first_signal_at);
    first_signal = sig;
  } else if (sig != first_signal || !sweep_begun) {
    /* in the set-up even the same signal again: `pkill -TERM -f` or a batch system reaches mpiexec
       and its ranks, and mpiexec passes its SIGTERM on, a millisecond after the first (each rank
       then left in the handler, as before this release) */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((double)(now.tv_sec - first_signal_at.tv_sec) +
          1e-9 * (double)(now.tv_nsec - first_signal_at.tv_nsec) <
        1.0)
      return;
  }
  if (!sweep_begun && stop_requested) {
    ssize_t r = write(2, early_msg, sizeof(early_msg) - 1);
    (void)r;
    _exit(NNL_EXIT_INTERRUPTED);
  }
  if (!sweep_begun && !quiet_rank) { /* the set-up may take seconds: the signal was heard */
    ssize_t r = write(2, wait_msg, sizeof(wait_msg) - 1);
    (void)r;
  }
  if (stop_requested < 2) stop_requested++;
}

PetscErrorCode NNLSchedStoppedBeforeSweep(MPI_Comm comm, PetscBool *stopped)
{
  int mine = stop_requested > 0, any = 0, rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (any && rank == 0) {
    fputs(early_msg, stderr);
    fflush(stderr);
  }
  *stopped = any ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

void NNLSchedCatchSignals(void)
{
  struct sigaction sa;
  const int        sigs[3] = {SIGTERM, SIGINT, SIGUSR1};

  const char *rank = getenv("OMPI_COMM_WORLD_RANK");

  if (!rank) rank = getenv("PMIX_RANK");
  if (!rank) rank = getenv("PMI_RANK");
  quiet_rank = rank && strcmp(rank, "0");
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnStopSignal;
  /* The three block one another while the handler runs (a SIGTERM milliseconds after the batch
     script's SIGUSR1 must not find the first one's time half set), and a signal does not cut short
     the read or write it interrupts (SA_RESTART: the final summary's fwrite, say, would stop with
     EINTR). */
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; i++) sigaddset(&sa.sa_mask, sigs[i]);
  sa.sa_flags = SA_RESTART;
  /* Installed for good, not restored when the sweep ends: a worker that has run out of tasks waits
     for rank 0 (the final broadcast, MPI_Finalize) while rank 0 still computes or closes the store,
     and a stop signal then, with the default action back, killed it (mpiexec then ended the job). A
     late signal now only sets the flag. */
  for (int i = 0; i < 3; i++)
    if (sigaction(sigs[i], &sa, NULL))
      perror("nnlimits: warning: sigaction (a stop signal will kill this run, not stop it)");
}

/* Whether a stop has been asked for. The first time a rank sees it, it notes when; rank 0 also
   stops handing out tasks and says on stderr what becomes of those in progress. */
static PetscBool Stopping(NNLSched s)
{
  if (!stop_requested) return PETSC_FALSE;
  if (s->stop_seen < 0) {
    s->stop_seen = NNLCoarseSeconds();
    if (s->rank == 0) {
      PetscInt busy = s->outstanding + (s->own_cost > 0 ? 1 : 0);
      s->tail       = s->head;
      if (busy)
        fprintf(stderr,
                "%sstopping: no new tasks; the %" PetscInt_FMT
                " in progress may finish within %gs (-stop_grace), then are abandoned (signal "
                "again to abandon them now)\n",
                isatty(2) ? "\n" : "", busy, s->stop_grace);
      else
        fprintf(stderr, "%sstopping: no new tasks, none in progress\n", isatty(2) ? "\n" : "");
      fflush(stderr);
    }
  }
  return PETSC_TRUE;
}

/* Whether the task in progress on this rank is to be abandoned: a second signal, or the grace has
   run out since the first. Its result is sent back as NNL_STATUS_ABANDONED and not stored; the
   rerun computes it from the start. */
static PetscBool Abandon(NNLSched s)
{
  if (!Stopping(s)) return PETSC_FALSE;
  if (stop_requested < 2 && NNLCoarseSeconds() - s->stop_seen < s->stop_grace) return PETSC_FALSE;
  if (s->rank == 0 && !s->abandon_said) {
    s->abandon_said = PETSC_TRUE;
    fprintf(stderr, "stopping: abandoning the tasks in progress (%s)\n",
            stop_requested > 1 ? "a second signal" : "-stop_grace has passed");
    fflush(stderr);
  }
  return PETSC_TRUE;
}

/* Whether SERVE_TICKS have passed since the last time this said so: the clock is read once in
   serve_every calls (see SERVE_EVERY_MAX). */
static PetscBool Due(NNLSched s)
{
  unsigned long long now;

  if (--s->serve_left > 0) return PETSC_FALSE;
  now = NNLTicks();
  if (now - s->last_read < SERVE_TICKS / 8)
    s->serve_every = PetscMin(2 * s->serve_every, SERVE_EVERY_MAX);
  else if (now - s->last_read > SERVE_TICKS / 2)
    s->serve_every = 1;
  s->serve_left = s->serve_every;
  s->last_read  = now;
  if (now - s->last_serve < SERVE_TICKS) return PETSC_FALSE;
  s->last_serve = now;
  return PETSC_TRUE;
}

/* Rank 0 passes its stop on to the workers it feeds: level 1 when it first sees one, 2 when it
   abandons the tasks in progress (a second signal, or -stop_grace passed). A signal to rank 0 alone
   (kill of its pid) otherwise reached no worker: their tasks ran to the end, past the grace and a
   second signal. */
static PetscErrorCode TellWorkers(NNLSched s)
{
  static const int level[3] = {0, 1, 2};
  int              want;

  PetscFunctionBegin;
  if (!Stopping(s)) PetscFunctionReturn(0);
  want = Abandon(s) ? 2 : 1;
  if (want <= s->stop_told) PetscFunctionReturn(0);
  if (!s->stop_told && s->store) PetscCall(NNLStoreMarkStopping(s->store));
  s->stop_told = want;
  for (int w = 1; w < s->size; w++) {
    Worker *wk = &s->workers[w];
    if (wk->held < 0) continue; /* told to stop already, or a team member (never fed) */
    PetscCallMPI(
      MPI_Isend(&level[want], 1, MPI_INT, w, TAG_STOP, s->comm, &wk->stop_req[wk->notices++]));
  }
  PetscFunctionReturn(0);
}

/* A worker takes in the stops rank 0 passed on (TellWorkers); with block, until it has heard
 * `until` of them. */
static PetscErrorCode HearStops(NNLSched s, PetscBool block, int until)
{
  PetscFunctionBegin;
  for (;;) {
    int level, flag = 1;
    if (!block) PetscCallMPI(MPI_Iprobe(0, TAG_STOP, s->comm, &flag, MPI_STATUS_IGNORE));
    if (!flag || (block && s->stop_told >= until)) break;
    PetscCallMPI(MPI_Recv(&level, 1, MPI_INT, 0, TAG_STOP, s->comm, MPI_STATUS_IGNORE));
    s->stop_told++;
    if (stop_requested < level) stop_requested = level;
  }
  PetscFunctionReturn(0);
}

/* A worker's poll between the layers of its task: a load and a branch while no signal has come, and
   now and then (Due) a look for a stop rank 0 passed on. */
static PetscErrorCode WorkPoll(void *ctx, PetscBool *abandon)
{
  NNLSched s = (NNLSched)ctx;

  PetscFunctionBegin;
  if (stop_requested < 2 && Due(s)) PetscCall(HearStops(s, PETSC_FALSE, 0));
  *abandon = Abandon(s);
  PetscFunctionReturn(0);
}

/* Predicted cost of the work in progress already done: each task or chunk being computed is
   credited with its time so far, up to its predicted cost, at the speed measured on the committed
   tasks. That speed starts from the cost model's own (a ns of its reference core per unit) as if
   0.1 s of tasks had run at it, so that a few small tasks, whose fixed costs the model knows least,
   do not decide it. Without the credit the ETA would count only committed work: a run whose first
   tasks are its largest (cost order) would print "unknown", then far too long an ETA, until they
   came back. A task that outlives its predicted cost is credited with all its time and taken to
   need as long again (the median of a scale-free prior on what is left); *over gets what that adds
   to the run's total. Capped at its prediction alone, a run whose last task overran printed
   eta=0.0s for as long as it ran on. */
#define PRIOR_SECONDS 0.1
static double Speed(NNLSched s) /* cost units a second */
{
  return (s->cost_done + 1e9 * PRIOR_SECONDS) / (s->seconds_done + PRIOR_SECONDS);
}

static double Credit(double cost, double ran, double *over)
{
  if (ran > cost) *over += 2 * ran - cost;
  return ran;
}

static double InFlight(NNLSched s, double now, double *over)
{
  double per = Speed(s), c = 0;

  *over = 0;
  if (s->own_cost > 0) c += Credit(s->own_cost, (now - s->own_start) * per, over);
  for (int w = 1; w < s->size; w++) {
    const Worker *wk = &s->workers[w];
    if (wk->held > 0)
      c += Credit(wk->cost[(wk->next + PREFETCH - wk->held) % PREFETCH], (now - wk->start) * per,
                  over);
  }
  return c;
}

/* Rank 0: a file NNL_STOP_FILE in the run directory asks for a stop, as a signal does: at the
   sweep's start, and when the ETA is saved (every 5 s or less while tasks commit). It is removed,
   so that the rerun runs. sweep.sbatch writes it when a stop signal comes, beside passing the
   signal on: one that reaches srun before it has started the ranks is lost, and the ranks then ran
   on to the time limit; they find the file when their sweep begins. */
static void StopFile(NNLSched s)
{
  char path[PETSC_MAX_PATH_LEN + 32];

  if (!s->store || stop_requested) return;
  snprintf(path, sizeof(path), "%s/%s", s->job->output, NNL_STOP_FILE);
  if (access(path, F_OK)) return;
  (void)unlink(path);
  fprintf(stderr, "%s%s asks for a stop (removed)\n", isatty(2) ? "\n" : "", path);
  stop_requested = 1;
}

/* A progress line every progress_interval seconds (the final line always), and the ETA into the
   store as often, or every ETA_SAVE_SECONDS if that is longer or there are no lines: for `nnlimits
   status` from another shell or a login node (a job's stderr is a log file there). */
#define ETA_SAVE_SECONDS 5.0
static void Progress(NNLSched s, PetscBool final)
{
  double    now = s->now = NNLCoarseSeconds(), el, rate, done, left = -1, over = 0;
  PetscInt  fin = s->stats.done + s->stats.failed;
  PetscBool tty, print, save;
  char      eta[32] = "unknown";

  print = final || (s->progress_interval > 0 && now - s->last_print >= s->progress_interval &&
                    fin != s->total)
            ? PETSC_TRUE
            : PETSC_FALSE;
  save  = !final && s->store &&
             now - s->last_save >= (s->progress_interval > 0
                                       ? PetscMin(s->progress_interval, ETA_SAVE_SECONDS)
                                       : ETA_SAVE_SECONDS)
            ? PETSC_TRUE
            : PETSC_FALSE;
  if (!print && !save) return;
  el   = MPI_Wtime() - s->t0;
  rate = el > 0 ? fin / el : 0;
  /* Tasks differ in cost by orders of magnitude: the ETA extrapolates predicted cost, not task
   * counts. */
  done = s->cost_done + (final ? 0 : InFlight(s, now, &over));
  if (done > 0) left = el * PetscMax(s->cost_total + over - done, 0) / done;
  if (save && left >= 0) NNLStoreSetETA(s->store, left);
  if (save) s->last_save = now;
  if (save) StopFile(s);
  if (!print) return;
  tty           = isatty(2) ? PETSC_TRUE : PETSC_FALSE; /* a system call: not on every commit */
  s->last_print = now;
  if (final && s->stop_seen >= 0 && fin < s->total)
    snprintf(eta, sizeof(eta), "-"); /* stopped: the rest waits for a rerun */
  else if (left >= 0)
    snprintf(eta, sizeof(eta), left < 10 ? "%.1fs" : "%.0fs", left);
  fprintf(stderr,
          "%sprogress done=%" PetscInt_FMT "/%" PetscInt_FMT " failed=%" PetscInt_FMT
          " rate=%.3g/s elapsed=%.1fs eta=%s store=%.0f%%%s",
          tty ? "\r" : "", fin, s->total, s->stats.failed, rate, el, eta,
          el > 0 ? 100 * PetscMin(s->stats.store_seconds / el, 1.0) : 0.0,
          tty && !final ? "   " : "\n");
  fflush(stderr);
}

/* pt: the result's point if the caller has it decoded (rank 0's own task), else NULL; cost: its
 * predicted cost */
static PetscErrorCode Commit(NNLSched s, NNLResult *res, const NNLPoint *pt, double cost)
{
  PetscFunctionBegin;
  if (res->status == NNL_STATUS_ABANDONED) { /* stays pending; a worker's signal stops the run (it
                                                ends interrupted) */
    const double ran = res->seconds * Speed(s); /* in cost units */
    s->stats.abandoned++;
    if (ran > cost) {
      (void)Credit(cost, ran, &s->abandoned_over);
      s->abandoned_longest = PetscMax(s->abandoned_longest, 2 * res->seconds);
    }
    if (!stop_requested) stop_requested = 1;
    (void)Stopping(s);
    PetscFunctionReturn(0);
  }
  /* Rank 0's time in the store, by the coarse clock that Progress reads anyway (~5 ns a read): a
     commit of a few µs mostly reads a difference of 0 and now and then one tick, which sums to the
     true time over many commits (their starts fall at random in the ~4 ms ticks), and a group
     commit's milliseconds are measured as they are. It shows a run whose rank 0, the store's one
     writer, is what bounds it (the progress line's store=, the finished line's). Without a store
     (benchmarks of the scheduler alone) there is no such time to take, and no clock read: with the
     cost passed in (not looked up again), the scheduler's own cost a task went from 24.1 to 20.4 ns
     (10^6 no-op tasks at 1 rank, 10 runs each alternated, every pair lower). */
  const double t0 = s->store ? NNLCoarseSeconds() : 0;
  if (s->store) { /* none: benchmarks of the scheduler alone */
    NNLPoint dec;
    if (!pt) NNLGridPoint(s->grid, res->point, &dec);
    PetscCall(NNLStoreCommit(s->store, pt ? pt : &dec, res));
  }
  s->cost_done += cost;
  s->seconds_done += res->seconds;
  if (res->status == NNL_STATUS_DONE)
    s->stats.done++;
  else
    s->stats.failed++;
  Progress(s, PETSC_FALSE);
  if (s->store) s->stats.store_seconds += s->now - t0;
  PetscFunctionReturn(0);
}

/* A task beyond the one a worker is computing only if it is small beside the work still queued: a
   large one would wait behind the worker's current task while the other ranks run out of work (the
   big limits of the default sweep). */
static PetscBool PrefetchOK(NNLSched s)
{
  return NNLGridCost(s->grid, s->todo[s->head]) * s->size <= 0.1 * s->cost_queued ? PETSC_TRUE
                                                                                  : PETSC_FALSE;
}

/* Whether the chunk of predicted cost c may take one more task of cost t (see CHUNK_SECONDS). */
static PetscBool ChunkGrows(NNLSched s, double c, double t)
{
  if (s->cost_done <= 0 || s->seconds_done <= 0) return PETSC_FALSE;
  return (c + t) * s->seconds_done / s->cost_done <= CHUNK_SECONDS &&
             (c + t) * s->size <= 0.01 * s->cost_queued
           ? PETSC_TRUE
           : PETSC_FALSE;
}

/* Give worker w its next chunk (up to PREFETCH held), or tell it to stop when there is none and it
 * holds nothing. */
static PetscErrorCode Feed(NNLSched s, int w)
{
  Worker   *wk = &s->workers[w];
  int       k = wk->next, n = 0;
  PetscInt *chunk = wk->task[k];

  PetscFunctionBegin;
  if (wk->held < 0 || wk->held >= PREFETCH) PetscFunctionReturn(0); /* stopped, or holds enough */
  (void)Stopping(s);
  if (s->head < s->tail && (wk->held == 0 || PrefetchOK(s))) {
    double c = 0;
    /* The slot's last send is the oldest of the last PREFETCH; fewer than PREFETCH chunks are held,
       and a worker takes its chunks in order, so that one has been received and this wait does not
       block. */
    PetscCallMPI(MPI_Wait(&wk->req[k], MPI_STATUS_IGNORE));
    do {
      PetscInt task = s->todo[s->head++];
      double   t    = NNLGridCost(s->grid, task);
      c += t;
      s->cost_queued -= t;
      chunk[n++] = task;
    } while (n < CHUNK_MAX && s->head < s->tail &&
             ChunkGrows(s, c, NNLGridCost(s->grid, s->todo[s->head])));
    if (wk->held++ == 0) wk->start = NNLCoarseSeconds();
    wk->cost[k] = c;
    s->outstanding += n;
    s->chunks++;
    s->chunked += n;
    s->chunk_max = PetscMax(s->chunk_max, n);
  } else if (wk->held > 0)
    PetscFunctionReturn(0);
  else {
    PetscCallMPI(MPI_Wait(&wk->req[k], MPI_STATUS_IGNORE));
    wk->held   = -1;
    chunk[n++] = -1;
    chunk[n++] = wk->notices; /* the stops passed on to it, which it takes in before it ends */
  }
  PetscCallMPI(MPI_Isend(chunk, n, MPIU_INT, w, TAG_TASK, s->comm, &wk->req[k]));
  wk->next = (k + 1) % PREFETCH;
  PetscFunctionReturn(0);
}

static PetscErrorCode Receive(NNLSched s, MPI_Status *st)
{
  int len;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Get_count(st, MPI_DOUBLE, &len));
  if (len > s->rbuf_len) {
    PetscCall(PetscFree(s->rbuf));
    PetscCall(PetscMalloc1(len, &s->rbuf));
    s->rbuf_len = len;
  }
  PetscCallMPI(
    MPI_Recv(s->rbuf, len, MPI_DOUBLE, st->MPI_SOURCE, TAG_RESULT, s->comm, MPI_STATUS_IGNORE));
  if (--s->workers[st->MPI_SOURCE].held > 0)
    s->workers[st->MPI_SOURCE].start = NNLCoarseSeconds(); /* its next chunk */
  for (PetscInt k = 0; k < len;) {                         /* the chunk's results, in order */
    PetscInt   n = (PetscInt)s->rbuf[k];
    NNLResult *res;
    if (n == -1 &&
        k + 1 ==
          len) { /* a signal to that worker alone (kill -TERM of one rank) stops the run too */
      if (!stop_requested) stop_requested = 1;
      (void)Stopping(s);
      break;
    }
    PetscCheck(n > 0 && k + 1 + n <= len, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "malformed results message from rank %d", st->MPI_SOURCE);
    PetscCall(NNLResultUnpack(s->rbuf + k + 1, n, &res));
    k += 1 + n;
    s->outstanding--;
    {
      PetscErrorCode ierr = Commit(s, res, NULL, NNLGridCost(s->grid, res->point));
      PetscCall(NNLResultDestroy(&res)); /* freed on a failed commit too, as rank 0's own */
      PetscCall(ierr);
    }
  }
  for (int k = 0; k < PREFETCH; k++) PetscCall(Feed(s, st->MPI_SOURCE));
  PetscFunctionReturn(0);
}

/* Called between the layers of rank 0's own point and after it, if SERVE_TICKS have passed since
   the last look: serve every result that has arrived, and print a progress line if one is due (a
   long task of rank 0's own would otherwise silence the run). Within its point, it also says
   whether a stop abandons it (abandon may be NULL). */
static PetscErrorCode Serve(void *ctx, PetscBool *abandon)
{
  NNLSched   s    = (NNLSched)ctx;
  int        flag = s->size > 1;
  MPI_Status st;

  PetscFunctionBegin;
  if (abandon) *abandon = Abandon(s);
  if (!Due(s)) PetscFunctionReturn(0);
  PetscCall(TellWorkers(s)); /* and the store (alone: no workers) */
  while (flag) {
    PetscCallMPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, s->comm, &flag, &st));
    if (flag) PetscCall(Receive(s, &st));
  }
  Progress(s, PETSC_FALSE);
  if (s->store) PetscCall(NNLStoreTick(s->store));
  PetscFunctionReturn(0);
}

static PetscErrorCode Coordinate(NNLSched s)
{
  PetscFunctionBegin;
  for (int w = 1; w < s->size; w++)
    for (int k = 0; k < PREFETCH; k++) PetscCall(Feed(s, w));
  while (s->head < s->tail || s->outstanding > 0) {
    PetscCall(TellWorkers(s));
    if (s->rank0_computes && s->head < s->tail) {
      NNLResult *res;
      NNLPoint   pt;
      PetscInt   p = s->todo[--s->tail]; /* the smallest: workers get the large ones */
      /* Alone, rank 0 polls within a network only if it is long enough to need a progress line of
         its own (its tiny ones would pay a clock read per layer for nothing); within a limit or SDE
         task always (a read per solver step or path batch), as its cost depends on solver options
         the model does not know: an Euler ODE at dt 1e-5, priced at 3 ms, ran 1.3 s without a line
         or a stop. */
      double    cost = NNLGridCost(s->grid, p);
      PetscBool poll;
      NNLGridPoint(s->grid, p, &pt);
      poll =
        s->size > 1 || cost > LONG_TASK || pt.kind != NNL_TASK_NETWORK ? PETSC_TRUE : PETSC_FALSE;
      s->cost_queued -= cost;
      s->own_cost  = cost;
      s->own_start = s->now;
      PetscCall(NNLTaskComputeTeam(s->job, &pt, s->team, poll ? Serve : NULL, s, &res));
      s->own_cost = 0;
      {
        PetscErrorCode ierr = Commit(s, res, &pt, cost); /* its result freed on an error too */
        PetscCall(NNLResultDestroy(&res));
        PetscCall(ierr);
      }
      if (s->size > 1) PetscCall(Serve(s, NULL)); /* one rank: no messages to probe for */
    } else if (s->outstanding > 0) {
      /* MPI_Probe would spin just the same (Open MPI polls), but print nothing while the workers'
       * tasks are long */
      MPI_Status st;
      int        flag = 0;
      while (!flag) {
        PetscCallMPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, s->comm, &flag, &st));
        if (flag) break;
        PetscCall(
          TellWorkers(s)); /* a stop of rank 0's own while it waits: now, not at the next result */
        Progress(s, PETSC_FALSE);
        /* what rank 0 committed before the workers' long tasks becomes durable now, not when they
         * end */
        if (s->store) {
          double now = NNLCoarseSeconds();
          if (now - s->last_tick >= 0.05) {
            s->last_tick = now;
            PetscCall(NNLStoreTick(s->store));
          }
        }
      }
      PetscCall(Receive(s, &st));
    }
  }
  PetscCall(PetscInfo(NULL,
                      "sched: %" PetscInt_FMT " tasks to workers in %" PetscInt_FMT
                      " chunks (largest %" PetscInt_FMT ")\n",
                      s->chunked, s->chunks, s->chunk_max));
  for (int w = 1; w < s->size; w++) {
    PetscAssert(s->workers[w].held < 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "worker %d not stopped",
                w);
    PetscCallMPI(MPI_Waitall(PREFETCH, s->workers[w].req, MPI_STATUSES_IGNORE));
    PetscCallMPI(
      MPI_Waitall((int)s->workers[w].notices, s->workers[w].stop_req, MPI_STATUSES_IGNORE));
  }
  PetscFunctionReturn(0);
}

/* A worker computes a chunk, sends its results as one message without blocking, and waits for that
   send only when the next chunk's results are ready. Each result is packed as soon as it is made
   and freed at once, into one of two buffers kept for the run (the other may be in flight). Held
   until the chunk's end, a chunk of tiny tasks' results were freed after the next networks' own
   blocks, and the allocator took 2 % of the worker's time beyond rank 0's: 3·10^5 tiny networks at
   2 ranks run 2.5 % faster this way (alternated with the old way: faster in 17 pairs of 18). */
static PetscErrorCode Work(NNLSched s)
{
  double     *buf[2] = {NULL, NULL};
  PetscInt    cap[2] = {0, 0};
  MPI_Request req    = MPI_REQUEST_NULL;

  PetscFunctionBegin;
  for (int b = 0;; b = 1 - b) {
    PetscInt   chunk[CHUNK_MAX], len = 0;
    MPI_Status st;
    int        n;
    PetscCallMPI(MPI_Recv(chunk, CHUNK_MAX, MPIU_INT, 0, TAG_TASK, s->comm, &st));
    PetscCallMPI(MPI_Get_count(&st, MPIU_INT, &n));
    if (n < 1 || chunk[0] < 0) { /* the stop chunk: -1, and how many stops rank 0 passed on (none
                                    are left unreceived) */
      PetscCall(HearStops(s, PETSC_TRUE, n > 1 ? (int)chunk[1] : 0));
      break;
    }
    for (int i = 0; i < n; i++) {
      NNLPoint   pt;
      NNLResult *res;
      PetscInt   plen;
      NNLGridPoint(s->grid, chunk[i], &pt);
      PetscCall(NNLTaskComputeTeam(s->job, &pt, s->team, WorkPoll, s, &res));
      plen = NNLResultPackedLength(res);
      if (len + 2 + plen > cap[b]) { /* room for it, its length and a stop mark */
        cap[b] = PetscMax(2 * cap[b], len + 2 + plen);
        PetscCall(PetscRealloc(sizeof(double) * cap[b], &buf[b]));
      }
      buf[b][len] = (double)plen;
      PetscCall(NNLResultPack(res, buf[b] + len + 1));
      PetscCall(NNLResultDestroy(&res));
      len += 1 + plen;
    }
    if (Stopping(s)) buf[b][len++] = -1;
    PetscCallMPI(MPI_Wait(&req, MPI_STATUS_IGNORE)); /* the other buffer's send */
    PetscCallMPI(MPI_Isend(buf[b], (int)len, MPI_DOUBLE, 0, TAG_RESULT, s->comm, &req));
  }
  PetscCallMPI(MPI_Wait(&req, MPI_STATUS_IGNORE));
  PetscCall(PetscFree(buf[0]));
  PetscCall(PetscFree(buf[1]));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSchedRun(NNLSched s, const NNLGrid *grid, NNLStore store, PetscInt n,
                           const PetscInt *todo, NNLSchedStats *stats)
{
  PetscFunctionBegin;
  sweep_begun = 1;
  NNLSchedCatchSignals(); /* also when the caller has not (tests, benchmarks) */
  s->grid      = grid;
  s->stop_told = 0;
  memset(&s->stats, 0, sizeof(s->stats));
  s->t0         = MPI_Wtime();
  s->last_print = s->last_save = s->now = NNLCoarseSeconds();
  s->serve_every = s->serve_left = 1;
  if (s->rank == 0) {
    PetscCall(PetscFree(s->workers));
    PetscCall(PetscCalloc1(s->size, &s->workers));
    for (int w = 1; w < s->size; w++) {
      for (int k = 0; k < PREFETCH; k++) s->workers[w].req[k] = MPI_REQUEST_NULL;
      if (!IsLeader(s, w))
        s->workers[w].held = -1; /* team members are never fed: they serve their leader */
    }
    s->store = store;
    s->todo  = todo;
    s->head  = 0;
    s->tail = s->total = n;
    s->cost_total = s->cost_done = s->seconds_done = s->own_cost = 0;
    s->abandoned_over = s->abandoned_longest = 0;
    s->chunks = s->chunked = s->chunk_max = 0;
    for (PetscInt i = 0; i < n; i++) s->cost_total += NNLGridCost(grid, todo[i]);
    s->cost_queued = s->cost_total;
    StopFile(s);
    PetscCall(Coordinate(s));
    /* a stop whose tasks in flight all finished within the grace left nothing for a rerun: the
       run is complete (exit 0), not interrupted (exit 3, "rerun the same command to finish") */
    s->stats.interrupted =
      stop_requested && s->stats.done + s->stats.failed < n ? PETSC_TRUE : PETSC_FALSE;
    if (n > 0) Progress(s, PETSC_TRUE);
    /* stopped: what its rerun will take, the predicted cost left at this run's measured speed, for
       `nnlimits status` (from the point count instead, it read 1 s for a rerun of 6.7 s: rank 0's
       own tasks are the smallest) */
    if (s->stats.interrupted && s->store && s->cost_done > 0) {
      /* the cost left at the committed tasks' speed (InFlight's, with its prior), over the ranks
         that compute: the elapsed time over the cost done counted the abandoned tasks' time and
         not their cost (a rerun of 8.5 s read 15498 s after a stop during long SDE tasks). An
         abandoned task that had run past its predicted cost counts as twice what it ran, and the
         rerun as no shorter than it: by its prediction alone, a stop 1 s into an ODE priced at 3
         ms left eta=0s for its rerun. */
      PetscInt  workers;
      PetscBool r0;
      PetscCall(NNLSchedPlanRanks(s, s->size, &workers, &r0));
      const double left = (PetscMax(s->cost_total - s->cost_done, 0) + s->abandoned_over) /
                          Speed(s) / (double)PetscMax(workers, 1);
      NNLStoreSetETA(s->store, PetscMax(left, s->abandoned_longest));
    }
  } else if (IsLeader(s, s->rank))
    PetscCall(Work(s));
  else
    PetscCall(NNLSpectraTeamServe(s->team));
  if (s->team && IsLeader(s, s->rank)) PetscCall(NNLSpectraTeamRelease(s->team));
  PetscCall(NNLNetFreeKept());
  s->stats.seconds = MPI_Wtime() - s->t0;
  PetscCallMPI(MPI_Bcast(&s->stats.interrupted, 1, MPIU_BOOL, 0, s->comm));
  if (stats) *stats = s->stats;
  PetscFunctionReturn(0);
}
