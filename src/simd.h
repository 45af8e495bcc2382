/* One function in three builds — AVX-512, AVX2, plain — picked at run time for the widest unit this CPU has. The
   three compile one body (an always-inline function), so they do the same operations in the same order: with FMA
   contraction off (CMakeLists.txt) they give the same bits, and only the vector width differs. */
#ifndef NNLIMITS_SIMD_H
#define NNLIMITS_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
  #if defined(__clang__) /* clang knows no prefer-vector-width in target() and would drop the whole attribute */
    #define NNL_SIMD_AVX512 __attribute__((target("avx512f,avx512dq")))
  #else
    #define NNL_SIMD_AVX512 __attribute__((target("avx512f,avx512dq,prefer-vector-width=512")))
  #endif
  #define NNL_SIMD_AVX2 __attribute__((target("avx2")))
  /* static void NAME(PARAMS) calling BODY(ARGS) in each build, dispatched through a pointer set on first call (one
     thread per process). PARAMS and ARGS come parenthesised. */
  #define NNL_SIMD_FUNCTION(NAME, PARAMS, ARGS, BODY)                                                            \
    NNL_SIMD_AVX512 static void NAME##AVX512 PARAMS { BODY ARGS; }                                             \
    NNL_SIMD_AVX2 static void   NAME##AVX2 PARAMS { BODY ARGS; }                                               \
    static void                 NAME##Plain PARAMS { BODY ARGS; }                                              \
    static void                 NAME PARAMS                                                                    \
    {                                                                                                          \
      static void(*f) PARAMS = NULL;                                                                           \
      if (!f) {                                                                                                \
        __builtin_cpu_init();                                                                                  \
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) f = NAME##AVX512;        \
        else if (__builtin_cpu_supports("avx2")) f = NAME##AVX2;                                               \
        else f = NAME##Plain;                                                                                  \
      }                                                                                                        \
      f ARGS;                                                                                                  \
    }
#else
  #define NNL_SIMD_FUNCTION(NAME, PARAMS, ARGS, BODY) \
    static void NAME PARAMS { BODY ARGS; }
#endif

#endif
