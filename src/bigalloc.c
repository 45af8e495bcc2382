/* Large arrays in transparent huge pages (bigalloc.h). */
#define _DEFAULT_SOURCE    /* mmap's MAP_ANONYMOUS and madvise's MADV_HUGEPAGE, which strict C11   \
                              hides */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "bigalloc.h"

/* In 2 MB transparent huge pages where the kernel allows them (MADV_HUGEPAGE; Linux's default
   "madvise" mode). Touching a fresh 4 KB page costs ~11 µs on this VM (a PVM guest: every fault
   goes through the hypervisor), a fresh 2 MB huge page ~0.14 ms, 0.27 µs per 4 KB: the id check of
   10^5 points spent ~4 ms of its ~8 in page faults. On bare metal (~0.2 µs a fault) a huge page
   costs at most ~0.1 ms more than the small pages it replaces. A dense network of width 8192 and 16
   inputs draws its 512 MB W whole: 131072 small pages. A header before the array says how to free
   it. */
#define HUGE_PAGE  ((size_t)2 << 20)
#define BIG_HEADER ((size_t)64) /* keeps the array 64-byte aligned */
PetscErrorCode NNLBigAlloc(size_t bytes, size_t huge_from, void **p)
{
  char  *m   = NULL;
  size_t len = 0;

  PetscFunctionBegin;
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
  if (bytes >= huge_from) {
    size_t n = (bytes + BIG_HEADER + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE, lead;
    m = mmap(NULL, n + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
      m = NULL;
    else { /* aligned to a huge page: trim the mapping's ends */
      lead = (HUGE_PAGE - (uintptr_t)m % HUGE_PAGE) % HUGE_PAGE;
      if (lead) munmap(m, lead);
      munmap(m + lead + n, HUGE_PAGE - lead);
      m += lead;
      (void)madvise(m, n, MADV_HUGEPAGE); /* advice: without it (THP "never"), small pages */
      len = n;
    }
  }
#endif
  if (!m) PetscCall(PetscMalloc(bytes + BIG_HEADER, &m));
  memcpy(m, &len, sizeof(len)); /* 0: from PetscMalloc */
  *p = m + BIG_HEADER;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLBigFree(void *p)
{
  char  *m;
  size_t len;

  PetscFunctionBegin;
  if (!p) PetscFunctionReturn(0); /* before the arithmetic: NULL less the header is undefined */
  m = (char *)p - BIG_HEADER;
  memcpy(&len, m, sizeof(len));
  if (len)
    munmap(m, len);
  else
    PetscCall(PetscFree(m));
  PetscFunctionReturn(0);
}
