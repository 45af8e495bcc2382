/* A cheap monotonic clock for decisions taken after every task (is a progress line or a commit
   due?): the coarse clock is read without a system call in ~5 ns at ~4 ms resolution, where
   MPI_Wtime takes ~40 ns; 10^5 tiny tasks call it once each. Measured times (a task's seconds, a
   run's wall time) keep MPI_Wtime. */
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

/* A finer cheap clock, in ticks of no fixed length, for rate-limiting a call made between the
   layers of a network: the time-stamp counter on x86-64 (~20 ns to read in this VM; 1-4 GHz on the
   x86 of the last 15 years), else CLOCK_MONOTONIC in ns. Only differences matter; one that comes
   out negative (a counter not in step across cores) reads as a huge unsigned difference, so the
   gated call is made at once. */
static inline unsigned long long NNLTicks(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_ia32_rdtsc();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1000000000ull * (unsigned long long)ts.tv_sec + (unsigned long long)ts.tv_nsec;
#endif
}

#endif
