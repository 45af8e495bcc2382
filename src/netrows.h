/* The row kernels of src/netkernel.c in one build of simd.h: netkernel.c includes this file once
   per build, with NNL_ROWS_BUILD, the suffix of its functions (AVX512, AVX2 or Plain);
   NNL_ROWS_TARGET, their target attribute (empty for the plain build); NNL_ROWS_LANES, the doubles
   in one of the build's vector registers (8, 4 or 2). Every kernel works on blocks of 8 rows, the 8
   lanes of NNLDot's partial sums (row i into sum i mod 8), held in 8 / NNL_ROWS_LANES registers:
   lane l of register h is row i + h·NNL_ROWS_LANES + l. GCC keeps a vector wider than the build's
   registers in memory (a vector of 8 doubles in the AVX2 build went through the stack and the
   general registers at every step: a third of a dense network's time), so each build takes vectors
   of its own width. Each lane does the same operations in the same order in every build, so every
   build gives the same bits. */

#define NNL_ROWS_CAT2(a, b) a##b
#define NNL_ROWS_CAT(a, b)  NNL_ROWS_CAT2(a, b)
#define NNL_ROWS(f)         NNL_ROWS_CAT(f, NNL_ROWS_BUILD)
#define RV                  NNL_ROWS(Vec)
#define RL                  NNL_ROWS_LANES
#define RH                  (8 / NNL_ROWS_LANES)

/* Unaligned loads and stores (aligned(8)); may_alias: they read and write arrays of double. */
typedef double RV __attribute__((vector_size(8 * NNL_ROWS_LANES), aligned(8), may_alias));

/* The Gram's partial sums of 8 rows: rows 0 .. n − 1 (n a multiple of 8) of A (leading dimension
   lda, M = m <= NNL_SMALL_M columns) added into s (8 doubles per pair a <= b in row order, sum i
   mod 8 of the pair at s[8k + i mod 8]), in order of the rows. Called on consecutive row blocks
   starting at multiples of 8, it leaves the sums one call over all the rows would. */
static inline __attribute__((always_inline)) void
NNL_ROWS(GramAccM)(PetscInt n, const int M, const double *A, PetscInt lda, double *s)
{
  RV acc[NNL_SMALL_M * (NNL_SMALL_M + 1) / 2][RH];

  for (int k = 0; k < M * (M + 1) / 2; k++)
    for (int h = 0; h < RH; h++) acc[k][h] = *(const RV *)(s + 8 * k + h * RL);
  for (PetscInt i = 0; i < n; i += 8)
    for (int h = 0; h < RH; h++) {
      RV x[NNL_SMALL_M];
      for (int a = 0; a < M; a++) x[a] = *(const RV *)(A + i + h * RL + a * lda);
      for (int a = 0, k = 0; a < M; a++)
        for (int b = a; b < M; b++, k++) acc[k][h] += x[a] * x[b];
    }
  for (int k = 0; k < M * (M + 1) / 2; k++)
    for (int h = 0; h < RH; h++) *(RV *)(s + 8 * k + h * RL) = acc[k][h];
}

/* K = scale · AᵀA + shift · 11ᵀ for M = m <= NNL_SMALL_M (a constant where it is inlined): each
   entry summed in 8 interleaved partial sums over the rows, then those in a fixed tree, then the
   rows past the last multiple of 8. */
static inline __attribute__((always_inline)) void
NNL_ROWS(GramM)(PetscInt n, const int M, const double *A, double scale, double shift, double *K)
{
  double s[NNL_SMALL_M * (NNL_SMALL_M + 1) / 2 * 8];

  /* the sums of m columns' pairs only: zeroing all 36 pairs' was a 2.3 KB memset a call, half of
   * GramSmall at n = 4 */
  for (int k = 0; k < M * (M + 1) / 2 * 8; k++) s[k] = 0.0;
  NNL_ROWS(GramAccM)(n - n % 8, M, A, n, s);
  GramFinish(n, M, A, s, scale, shift, K);
}

/* Y ← beta·Y + alpha · Z R for M = m <= NNL_SMALL_M over n rows, Z and Y with leading dimensions
   ldz and ldy (Y is not read when beta = 0): Σ_a z_a R_ab in order of a, a register of rows at a
   time with every column of them at once, so Z is read once. Each entry depends on its row alone,
   so any split of the rows gives the same bits. */
static inline __attribute__((always_inline)) void
NNL_ROWS(ProjectVec)(PetscInt nv, const int M, const double *Z, PetscInt ldz, const double *R,
                     double alpha, double beta, const int keep, double *Y, PetscInt ldy)
{
  for (PetscInt i = 0; i < nv; i += RL) {
    RV z[NNL_SMALL_M];
    for (int a = 0; a < M; a++) z[a] = *(const RV *)(Z + i + a * ldz);
    for (int b = 0; b < M; b++) {
      RV acc = z[0] * R[b * M], *y = (RV *)(Y + i + b * ldy);
      for (int a = 1; a < M; a++) acc += z[a] * R[a + b * M];
      *y = keep ? beta * *y + alpha * acc : alpha * acc;
    }
  }
}

static inline __attribute__((always_inline)) void
NNL_ROWS(ProjectM)(PetscInt n, const int M, const double *Z, PetscInt ldz, const double *R,
                   double alpha, double beta, double *Y, PetscInt ldy)
{
  const PetscInt nv = n - n % RL;

  /* the test of beta outside the rows' loop (keep a constant in each copy): it was made for every
     register of rows and column */
  if (beta == 0.0)
    NNL_ROWS(ProjectVec)(nv, M, Z, ldz, R, alpha, beta, 0, Y, ldy);
  else
    NNL_ROWS(ProjectVec)(nv, M, Z, ldz, R, alpha, beta, 1, Y, ldy);
  for (PetscInt i = nv; i < n; i++)
    for (int b = 0; b < M; b++) {
      double acc = Z[i] * R[b * M];
      for (int a = 1; a < M; a++) acc += Z[i + a * ldz] * R[a + b * M];
      Y[i + b * ldy] = beta == 0.0 ? alpha * acc : beta * Y[i + b * ldy] + alpha * acc;
    }
}

/* T (n×M, ldt) += W (n×J, ldw) · A (J×M, lda), each product added to its entry in order of j: a
   chunk of J columns of the dense layer's W (DenseLayer). 8 rows at a time, so that 8·M sums are in
   flight. */
static inline __attribute__((always_inline)) void
NNL_ROWS(DenseAccM)(PetscInt n, const int M, const double *W, PetscInt ldw, PetscInt J,
                    const double *A, PetscInt lda, double *T, PetscInt ldt)
{
  const PetscInt n8 = n - n % 8;

  for (PetscInt i = 0; i < n8; i += 8) {
    RV t[NNL_SMALL_M][RH];
    for (int b = 0; b < M; b++)
      for (int h = 0; h < RH; h++) t[b][h] = *(const RV *)(T + i + h * RL + b * ldt);
    for (PetscInt j = 0; j < J; j++) {
      RV w[RH];
      for (int h = 0; h < RH; h++) w[h] = *(const RV *)(W + i + h * RL + j * ldw);
      for (int b = 0; b < M; b++) {
        double ajb = A[j + b * lda];
        for (int h = 0; h < RH; h++) t[b][h] += w[h] * ajb;
      }
    }
    for (int b = 0; b < M; b++)
      for (int h = 0; h < RH; h++) *(RV *)(T + i + h * RL + b * ldt) = t[b][h];
  }
  for (PetscInt i = n8; i < n; i++)
    for (int b = 0; b < M; b++) {
      double t = T[i + b * ldt];
      for (PetscInt j = 0; j < J; j++) t += W[i + j * ldw] * A[j + b * lda];
      T[i + b * ldt] = t;
    }
}

/* Σ x_i y_i in NNLDot's order: 8 interleaved partial sums, a fixed tree, then the tail (DotFinish).
 */
static inline __attribute__((always_inline)) void NNL_ROWS(DotInto)(PetscInt n, const double *x,
                                                                    const double *y, double *out)
{
  RV       acc[RH] = {{0}};
  double   s[8];
  PetscInt n8 = n - n % 8;

  for (PetscInt i = 0; i < n8; i += 8)
    for (int h = 0; h < RH; h++)
      acc[h] += *(const RV *)(x + i + h * RL) * *(const RV *)(y + i + h * RL);
  for (int h = 0; h < RH; h++) *(RV *)(s + h * RL) = acc[h];
  *out = DotFinish(s, n8, n, x, y);
}

/* Σ (y_i²/q)² in NNLDot's order. */
static inline __attribute__((always_inline)) void NNL_ROWS(FourthInto)(PetscInt n, const double *y,
                                                                       double q, double *out)
{
  RV       acc[RH] = {{0}};
  double   s[8], t = 0.0;
  PetscInt n8 = n - n % 8;

  for (PetscInt i = 0; i < n8; i += 8)
    for (int h = 0; h < RH; h++) {
      RV v = *(const RV *)(y + i + h * RL), z = v * v / q;
      acc[h] += z * z;
    }
  for (int h = 0; h < RH; h++) *(RV *)(s + h * RL) = acc[h];
  for (PetscInt i = n8; i < n; i++) {
    double z = y[i] * y[i] / q;
    t += z * z;
  }
  *out = SumsTree(s, t);
}

/* The kernels of this build, each m <= NNL_SMALL_M with m a constant (NNL_SMALL_CASES). */
NNL_ROWS_TARGET static void NNL_ROWS(GramSmall)(PetscInt n, PetscInt m, const double *A,
                                                double scale, double shift, double *K){
  NNL_SMALL_CASES(NNL_ROWS(GramM), A, scale, shift, K)} NNL_ROWS_TARGET
  static void NNL_ROWS(ProjectSmall)(PetscInt n, PetscInt m, const double *Z, PetscInt ldz,
                                     const double *R, double alpha, double beta, double *Y,
                                     PetscInt ldy){
    NNL_SMALL_CASES(NNL_ROWS(ProjectM), Z, ldz, R, alpha, beta, Y, ldy)} NNL_ROWS_TARGET
  static void NNL_ROWS(GramAccSmall)(PetscInt n, PetscInt m, const double *A, PetscInt lda,
                                     double *s){
    NNL_SMALL_CASES(NNL_ROWS(GramAccM), A, lda, s)} NNL_ROWS_TARGET
  static void NNL_ROWS(DenseAccSmall)(PetscInt n, PetscInt m, const double *W, PetscInt ldw,
                                      PetscInt J, const double *A, PetscInt lda, double *T,
                                      PetscInt ldt){
    NNL_SMALL_CASES(NNL_ROWS(DenseAccM), W, ldw, J, A, lda, T, ldt)} NNL_ROWS_TARGET
  static void NNL_ROWS(DotSimd)(PetscInt n, const double *x, const double *y, double *out)
{
  NNL_ROWS(DotInto)(n, x, y, out);
}
/* s[0..8) += x_i y_i for i < n8 (a multiple of 8) into the partial sum i mod 8, as DotInto adds
   them: rows taken in blocks, one after another, give the one pass's sums. */
NNL_ROWS_TARGET static void NNL_ROWS(DotAccSimd)(PetscInt n8, const double *x, const double *y,
                                                 double *s)
{
  RV acc[RH];

  for (int h = 0; h < RH; h++) acc[h] = *(const RV *)(s + h * RL);
  for (PetscInt i = 0; i < n8; i += 8)
    for (int h = 0; h < RH; h++)
      acc[h] += *(const RV *)(x + i + h * RL) * *(const RV *)(y + i + h * RL);
  for (int h = 0; h < RH; h++) *(RV *)(s + h * RL) = acc[h];
}
NNL_ROWS_TARGET static void NNL_ROWS(FourthSimd)(PetscInt n, const double *y, double q, double *out)
{
  NNL_ROWS(FourthInto)(n, y, q, out);
}

#undef RV
#undef RL
#undef RH
#undef NNL_ROWS
#undef NNL_ROWS_CAT
#undef NNL_ROWS_CAT2
#undef NNL_ROWS_BUILD
#undef NNL_ROWS_TARGET
#undef NNL_ROWS_LANES
