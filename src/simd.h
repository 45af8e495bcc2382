/* One function in three builds — AVX-512, AVX2 (with FMA), plain — picked at run time for the
   widest unit this CPU has. The three compile one body (an always-inline function), so they do the
   same operations in the same order: with FMA contraction off (CMakeLists.txt) they give the same
   bits, and only the vector width differs. A body may call fma() itself: it is correctly rounded
   everywhere (an instruction in the vector builds, libm's in the plain one), so it keeps the bits
   the same too. */
#ifndef NNLIMITS_SIMD_H
#define NNLIMITS_SIMD_H

/* The build every NNL_SIMD_FUNCTION runs: 0 not chosen yet, else one of these. */
enum { NNL_ISA_PLAIN = 1, NNL_ISA_AVX2 = 2, NNL_ISA_AVX512 = 3 };
extern int nnl_simd_isa;

/**
  @brief Choose the build by name: "avx512", "avx2" or "plain" (NULL: the widest this CPU supports,
  the default). Every build gives the same bits; this exists for tests and benchmarks. Returns 0, or
  -1 when the name is unknown or the CPU lacks the ISA (the choice is then unchanged). Not
  thread-safe; not collective.
*/
int NNLSimdUse(const char *name);
/**
  @brief Whether this CPU runs code of isa (NNL_ISA_*): AVX-512 F, DQ, VL, BW with FMA; AVX2 with
  FMA; plain always. The one CPU check of the simd.h builds and of the random-number kernels
  (rngkernel.c).
*/
int NNLSimdSupported(int isa);

#if defined(__x86_64__) && defined(__GNUC__)
  #if defined(__clang__) /* clang knows no prefer-vector-width in target() and would drop the      \
                            whole attribute */
    #define NNL_SIMD_AVX512 __attribute__((target("avx512f,avx512dq,fma")))
  #else
    #define NNL_SIMD_AVX512 __attribute__((target("avx512f,avx512dq,fma,prefer-vector-width=512")))
  #endif
  #define NNL_SIMD_AVX2 __attribute__((target("avx2,fma")))
  /* static void NAME(PARAMS) calling NAME##AVX512, NAME##AVX2 or NAME##Plain (ARGS), the build
     nnl_simd_isa names: the three builds of one function, defined by NNL_SIMD_FUNCTION or otherwise
     (src/netrows.h). PARAMS and ARGS come parenthesised. */
  #define NNL_SIMD_DISPATCH(NAME, PARAMS, ARGS)                                                    \
    static void NAME PARAMS                                                                        \
    {                                                                                              \
      if (!nnl_simd_isa) (void)NNLSimdUse(NULL);                                                   \
      if (nnl_simd_isa == NNL_ISA_AVX512)                                                          \
        NAME##AVX512 ARGS;                                                                         \
      else if (nnl_simd_isa == NNL_ISA_AVX2)                                                       \
        NAME##AVX2 ARGS;                                                                           \
      else                                                                                         \
        NAME##Plain ARGS;                                                                          \
    }
  /* static void NAME(PARAMS) calling BODY(ARGS) in the build nnl_simd_isa names. */
  #define NNL_SIMD_FUNCTION(NAME, PARAMS, ARGS, BODY)                                              \
    NNL_SIMD_AVX512 static void NAME##AVX512 PARAMS                                                \
    {                                                                                              \
      BODY ARGS;                                                                                   \
    }                                                                                              \
    NNL_SIMD_AVX2 static void NAME##AVX2 PARAMS                                                    \
    {                                                                                              \
      BODY ARGS;                                                                                   \
    }                                                                                              \
    static void NAME##Plain PARAMS                                                                 \
    {                                                                                              \
      BODY ARGS;                                                                                   \
    }                                                                                              \
    NNL_SIMD_DISPATCH(NAME, PARAMS, ARGS)
#else
  #define NNL_SIMD_DISPATCH(NAME, PARAMS, ARGS)                                                    \
    static void NAME PARAMS                                                                        \
    {                                                                                              \
      NAME##Plain ARGS;                                                                            \
    }
  #define NNL_SIMD_FUNCTION(NAME, PARAMS, ARGS, BODY)                                              \
    static void NAME PARAMS                                                                        \
    {                                                                                              \
      BODY ARGS;                                                                                   \
    }
#endif

#endif
