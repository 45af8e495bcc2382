/* A cheap monotonic clock for decisions taken after every task (is a progress line or a commit due?): the coarse
   clock is read without a system call in ~5 ns at ~4 ms resolution, where MPI_Wtime takes ~40 ns; 10^5 tiny tasks
   call it once each. Measured times (a task's seconds, a run's wall time) keep MPI_Wtime. */
#ifndef NNLIMITS_CLOCK_H
#define NNLIMITS_CLOCK_H

#include <time.h>

static inline double NNLCoarseSeconds(void)
{
  struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
  clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
