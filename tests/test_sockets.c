/* TCP_NODELAY on the MPI library's connections (sockets.c). Catches: a TCP connection left with
   Nagle's algorithm on (MPI_Finalize then waits 40 ms for the PMIx server's delayed
   acknowledgement), a connected or accepted socket skipped, a socket of another kind touched or
   counted. Run under mpiexec at 1 and 2 ranks, so that the process also holds the PMIx client's
   real connection. */
// ctest-label: mpi
// ctest-ranks: 1 2
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "testutil.h"
#include "sockets.h"

/* -1: fd is not a TCP socket; else its TCP_NODELAY. */
static int NoDelay(int fd)
{
  struct sockaddr_storage addr;
  socklen_t               len = sizeof(int), alen = sizeof(addr);
  int                     type = 0, on = 0;

  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_STREAM) return -1;
  if (getsockname(fd, (struct sockaddr *)&addr, &alen) ||
      (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
    return -1;
  len = sizeof(on);
  assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
  return on != 0;
}

/* A loopback connection made here (listening, connected and accepted sockets, all with Nagle on)
   and a Unix socket pair: afterwards every TCP socket of the process has TCP_NODELAY; the Unix pair
   is neither changed nor counted. */
static void test_nodelay(void **state)
{
  struct sockaddr_in addr;
  socklen_t          alen = sizeof(addr);
  int                lis, con, acc, pair[2], tcp = 0, n;

  (void)state;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family      = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lis                  = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(lis >= 0);
  assert_int_equal(bind(lis, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(lis, 1), 0);
  assert_int_equal(getsockname(lis, (struct sockaddr *)&addr, &alen), 0);
  con = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(con, (struct sockaddr *)&addr, sizeof(addr)), 0);
  acc = accept(lis, NULL, NULL);
  assert_true(acc >= 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  assert_int_equal(NoDelay(con), 0); /* the default this works around */
  assert_int_equal(NoDelay(acc), 0);

  n = NNLSocketsNoDelay();
  for (int fd = 0; fd < 1024; fd++) {
    int on = NoDelay(fd);
    if (on < 0) continue;
    tcp++;
    assert_int_equal(on, 1);
  }
  assert_true(tcp >= 3);
  assert_int_equal(n, tcp);
  assert_int_equal(NoDelay(pair[0]), -1);
  close(lis);
  close(con);
  close(acc);
  close(pair[0]);
  close(pair[1]);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_nodelay)};
  int                     rc;

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
