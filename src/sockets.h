/* The MPI library's own TCP connections: the latency setting it leaves out. */
#ifndef NNLIMITS_SOCKETS_H
#define NNLIMITS_SOCKETS_H

/**
  @brief Not collective: set TCP_NODELAY on every TCP connection this process holds (call after
  MPI_Init).
  @return the number of TCP connections that now have TCP_NODELAY set.
*/
int NNLSocketsNoDelay(void);

#endif
