/* The orphan guard (orphan.h): one detached thread per rank polls getppid() once a second. */
#include "orphan.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

static pid_t nnl_parent;
static int   nnl_code;

static void *Watch(void *arg)
{
  const struct timespec second = {1, 0};

  (void)arg;
  for (;;) {
    if (getppid() != nnl_parent)
      _exit(nnl_code); /* reparented: the launcher is gone, and with it the job */
    nanosleep(&second, NULL);
  }
  return NULL;
}

int NNLOrphanGuardStart(int code)
{
  pthread_t      t;
  pthread_attr_t attr;
  int            err;

  nnl_parent = getppid();
  nnl_code   = code;
  if ((err = pthread_attr_init(&attr))) return err;
  /* the default stack (its pages are touched only as used): a 64 KB one killed the thread under
   * AddressSanitizer */
  (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  err = pthread_create(&t, &attr, Watch, NULL);
  pthread_attr_destroy(&attr);
  return err;
}
