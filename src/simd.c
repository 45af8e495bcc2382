/* Which build of the NNL_ISA_FUNCTIONs runs (simd.h). */
#include "simd.h"

#include <stddef.h>
#include <string.h>

int nnl_simd_isa = 0;

int NNLSimdSupported(int isa)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (isa == NNL_ISA_AVX512) /* VL and BW for the random-number kernel; every AVX-512 CPU with DQ
                                has them */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("fma");
  if (isa == NNL_ISA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return 1;
#else
  return isa == NNL_ISA_PLAIN;
#endif
}

static const char *const nnl_simd_names[] = {"", "plain", "avx2", "avx512"};

int NNLSimdUse(const char *name)
{
  if (!name) {
    for (int isa = NNL_ISA_AVX512; isa >= NNL_ISA_PLAIN; isa--)
      if (NNLSimdSupported(isa)) {
        nnl_simd_isa = isa;
        break;
      }
    return 0;
  }
  for (int isa = NNL_ISA_PLAIN; isa <= NNL_ISA_AVX512; isa++)
    if (!strcmp(name, nnl_simd_names[isa])) {
      if (!NNLSimdSupported(isa)) return -1;
      nnl_simd_isa = isa;
      return 0;
    }
  return -1;
}
