/* Private layout of the scheduler, shared by its run (sched.c) and its set-up (schedsetup.c). */
#ifndef NNLIMITS_SCHEDIMPL_H
#define NNLIMITS_SCHEDIMPL_H

#include "nnlimits/sched.h"

#define PREFETCH 2 /* chunks a worker holds, so it never idles while its results travel */
/* Tasks go out in chunks so that tiny ones do not cost a message pair each: on this 2-core VM a
   task's messages cost rank 0 about 2.7 µs and its worker 1.8 µs, half a tiny network. A chunk
   grows while its predicted time (cost × the seconds per unit of cost measured so far) stays under
   CHUNK_SECONDS and its cost is small beside the work still queued (so the end of a run stays
   balanced); until a first result has come back, chunks are single tasks. A killed worker loses at
   most PREFETCH chunks: a few milliseconds of work. CHUNK_MAX only bounds the buffers: at 32 it cut
   the 1 ms chunks of 10^5 tiny networks (1.3 µs each) to 42 µs, and 2 ranks ran them at 1.38-1.40
   µs a task against the 1.30 of two independent 1-rank runs; at 512 (chunks of up to ~330
   here) 1.33. */
#define CHUNK_MAX     512
#define CHUNK_SECONDS 1e-3
/* Seconds a task in progress when a stop signal comes may take to finish (-stop_grace): then it is
   abandoned, so that the run exits well within the 120 s that jobs/slurm/sweep.sbatch's USR1 comes
   before the time limit, and requeues. */
#define STOP_GRACE 60.0

/* Rank 0's view of a worker. Every message is sent without blocking (a blocking MPI_Send of a few
   hundred bytes costs about 3 µs with Open MPI's shared-memory transport here), so each send needs
   a buffer that lives until it completes: a ring of PREFETCH, reused oldest first. */
typedef struct {
  PetscInt held; /* chunks sent whose results have not come back; -1: told to stop, or never fed */
  int      next; /* the ring slot to send from next */
  PetscInt task[PREFETCH][CHUNK_MAX];
  MPI_Request req[PREFETCH];
  double      cost[PREFETCH]; /* each slot's chunk's predicted cost */
  double   start;   /* NNLCoarseSeconds when the worker began its oldest held chunk (for the ETA) */
  PetscInt notices; /* TAG_STOP messages sent to it (at most 2), and their requests */
  MPI_Request stop_req[2];
} Worker;

struct _p_NNLSched {
  MPI_Comm       comm;
  int            rank, size;
  const NNLJob  *job;
  const NNLGrid *grid;
  double         progress_interval;
  double         stop_grace; /* -stop_grace */
  PetscBool stop_grace_set;  /* given (job file, command line, PETSC_OPTIONS), not the default */
  double    stop_seen; /* NNLCoarseSeconds when this rank first saw a stop signal; -1: none yet */
  PetscBool abandon_said; /* rank 0 has said that it abandons the tasks in progress */
  int stop_told; /* rank 0: the stop level told to the workers (TellWorkers); a worker: TAG_STOPs
                    heard */
  PetscBool rank0_computes;
  int rank0_opt; /* -sched_rank0_computes as given: 1 true, 0 false, -1 not given (NNLSchedPlanRanks
                    decides) */
  /* spectra teams (-spectra_team_size T > 1): ranks in consecutive groups of T; a group's first
     rank (its leader) is a worker as usual, the others only serve the leader's large spectra
     (NNLSpectraTeamServe) */
  PetscInt       team_size, team_min;
  NNLSpectraTeam team;
  /* coordinator state */
  NNLStore        store;
  const PetscInt *todo;
  PetscInt        head, tail, outstanding, total;
  double cost_total, cost_done; /* predicted cost of this run's tasks, and of those committed */
  double seconds_done; /* the committed tasks' compute seconds: with cost_done, seconds per cost */
  /* a stop's abandoned tasks that had outrun their predicted cost: what they add to the cost left
     (Credit's prior: as long again as they ran, from the start in the rerun), and the longest of
     them in seconds (one task is no faster for more ranks) */
  double   abandoned_over, abandoned_longest;
  PetscInt chunks, chunked, chunk_max; /* chunks sent to workers, their tasks, the largest */
  double   cost_queued;                /* predicted cost of the tasks not yet handed out */
  double own_cost, own_start; /* rank 0's own task in progress (cost 0: none), and when it began */
  double now; /* NNLCoarseSeconds at the last Progress: rank 0's last commit (a task of its
                 own begins then: no clock read of its own, 7 ns on a 2 µs task) */
  Worker            *workers; /* by rank; entry 0 unused */
  double            *rbuf;    /* a received chunk's results */
  int                rbuf_len;
  NNLSchedStats      stats;
  double             t0, last_print; /* MPI_Wtime; NNLCoarseSeconds */
  double             last_save;      /* NNLCoarseSeconds when the ETA last went to the store */
  double             last_tick; /* NNLCoarseSeconds of rank 0's last NNLStoreTick while it waited */
  unsigned long long last_serve; /* NNLTicks at rank 0's last probe for results */
  unsigned long long last_read;  /* NNLTicks at Serve's last read of it */
  unsigned           serve_every,
    serve_left; /* Serve reads NNLTicks once in serve_every calls; calls to the next */
};

#endif
