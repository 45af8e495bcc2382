/* A rank whose launcher has died ends itself: the guard against orphan ranks. */
#ifndef NNLIMITS_ORPHAN_H
#define NNLIMITS_ORPHAN_H

/**
  @brief Start a thread that ends this process (_exit with code) within about a second of its
  parent's death, seen as a change of getppid() from its value now. Call only in a process whose
  parent is its launcher (mpiexec's or Slurm's daemon): a rank stuck in an MPI call whose peers and
  launcher are gone (spinning in shared-memory polls, deaf to the SIGTERM it handles as a graceful
  stop) would otherwise outlive its job holding the store's lock. Its commits are transactions, so
  ending it is as safe as a SIGKILL. Not for a singleton, whose parent is a shell that a nohup'd run
  outlives. Returns 0, or an errno if the thread could not start (the run goes on unguarded).
*/
int NNLOrphanGuardStart(int code);

#endif
