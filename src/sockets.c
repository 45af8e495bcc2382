/* TCP_NODELAY on the TCP connections MPI_Init opened. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include "sockets.h"

/* Open MPI 4.1 with PMIx 4.2 (Debian 12) reaches its node's PMIx server (mpiexec's, the singleton's
   orted, or slurmd's under srun) over a loopback TCP connection without TCP_NODELAY. MPI_Finalize
   sends the server a few small messages in a row: Nagle's algorithm holds each back until the
   previous one is acknowledged, and the server delays its acknowledgement by Linux's minimum of 40
   ms (strace showed the server waking 40 ms after the client's write). MPI_Finalize took 48 ms at 1
   rank and 52 ms as a singleton; with TCP_NODELAY set on that connection after MPI_Init, 6 and 9
   ms. Every nnlimits command ends with it. TCP_NODELAY only changes when a socket's bytes leave,
   never what arrives; connections made later (the tcp BTL on a cluster) set it themselves. */

/* MPI_Init's connections are among the lowest descriptors; the scan of this many costs ~0.3 ms. */
#define FD_SCAN 1024

int NNLSocketsNoDelay(void)
{
  int n = 0;

  for (int fd = 0; fd < FD_SCAN; fd++) {
    struct sockaddr_storage addr;
    socklen_t               len = sizeof(int), alen = sizeof(addr);
    int                     type = 0, one = 1;

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_STREAM) continue;
    if (getsockname(fd, (struct sockaddr *)&addr, &alen) ||
        (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
      continue;
    if (!setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) n++;
  }
  return n;
}
