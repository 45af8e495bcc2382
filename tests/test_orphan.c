/* The orphan guard (orphan.c). Catches: a guarded process that outlives its parent (the guard never
   started, watches the wrong pid, or never checks again), and a guard that ends a process whose
   parent is alive. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "orphan.h"

/* Whether pid is alive and not a zombie. */
static int Alive(pid_t pid)
{
  char  path[64], buf[512], *p;
  FILE *f;
  int   n;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (!(f = fopen(path, "r"))) return 0;
  n = (int)fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n > 0 ? n : 0] = 0;
  p                  = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void Sleep(double s)
{
  struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&t, &t) && errno == EINTR) {}
}

/* A middle process forks a guarded grandchild, tells us its pid, and exits when told: the
   grandchild must be alive while its parent lives, and gone within ~2 s of its parent's exit. Every
   pipe end a process does not use is closed, so that no process of a failed test waits on a pipe
   forever (ctest would wait for it to its timeout). */
static void test_orphan_ends(void **state)
{
  int   up[2], down[2], before;
  pid_t mid, grand = 0;
  char  go = 'x';

  (void)state;
  assert_int_equal(pipe(up), 0);
  assert_int_equal(pipe(down), 0);
  mid = fork();
  assert_true(mid >= 0);
  if (mid == 0) {
    pid_t g;
    close(up[0]);
    close(down[1]);
    g = fork();
    if (g == 0) {
      close(up[1]);
      close(down[0]);
      if (NNLOrphanGuardStart(7)) _exit(99);
      Sleep(30); /* the guard ends it long before */
      _exit(0);
    }
    (void)!write(up[1], &g, sizeof(g));
    (void)!read(down[0], &go, 1); /* until the test says so, or is gone */
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  assert_int_equal(read(up[0], &grand, sizeof(grand)), (ssize_t)sizeof(grand));
  Sleep(2.5); /* two checks of the guard with its parent alive */
  before = Alive(grand);
  assert_int_equal(write(down[1], &go, 1), 1);
  assert_int_equal(waitpid(mid, NULL, 0), mid);
  if (!before)
    fail_msg("the guarded process %d ended while its parent lived (or its guard did not start)",
             (int)grand);
  for (int i = 0; i < 40 && Alive(grand); i++)
    Sleep(0.1); /* within a second of its check, and one to spare */
  if (Alive(grand)) {
    kill(grand, SIGKILL);
    fail_msg("the guarded process %d outlived its parent by 4 s", (int)grand);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_orphan_ends)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
