/* Network families and their samplers: the dense reference and the projection sampler (exact in
 * law). */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "nnlimits/net.h"
#include "nnlimits/rng.h"
#include "nnlimits/shaped.h"
#include "nnlimits/attention.h"
#include "observe.h"
#include "netkernel.h"
#include "bigalloc.h"
#include "simd.h"
#include "log.h"

/* A narrow network's normals 0 .. size−1 of the streams of one purpose at layers first ..
   first+count−1, drawn together (LayerNormals) into its slot of Net's ahead_z. */
typedef struct {
  PetscInt first, count, size;
} NetAhead;

/* Working state of one network. Y, Phi, Z: n × m column-major (column a = input a). */
typedef struct {
  const NNLJob   *job;
  const NNLPoint *pt;
  NNLSamplerType  sampler;
  PetscInt        n, m, d;
  double          sw2, sb2, branch;
  double         *Y, *Phi, *Z, *W, *X, *K, *R;
  size_t          wbytes; /* W's */
  /* Log-domain state: the network's true Y and Phi are 2^scale2 times the stored ones. When φ is
     positively homogeneous, the stored state is divided by a power of two whenever it nears the
     ends of double's range, and the bias (the one term not made from the state) is added times
     2^-scale2: every later operation (products, sums, square roots of Grams, φ) then gives exactly
     2^-scale2 times what it would give with an unbounded exponent, so the statistics are those of
     the true network (NNLObserveLayer puts the scale back). Deep narrow MLPs (ln‖y‖² ~ N(−540,
     1300) at n = 4, L = 2000) underflowed, and exploding ones (a ReLU MLP at σ_w² = 8, with or
     without bias) overflowed, and failed without it. A network that stays in range never rescales:
     its bits are unchanged. */
  PetscBool rescale;
  int       scale2;
  /* controlled ResNet: its shared A (n×n, NNLNetHoldsShared) in panels of 8 rows (SharedPanels),
     and whether it has been drawn; for m > NNL_SMALL_M, W itself holds A once drawn (the first
     layer's W_in is drawn before it) */
  double   *Ashared;
  PetscBool shared_drawn;
  /* A fused projection layer (Fused) leaves Phi done and here the Gram's 8 partial sums of each
     pair (a, b) of its columns over the rows below the last multiple of 8 (8 doubles per pair, as
     GramM has them when its loop ends). */
  double gsum[NNL_SMALL_M * (NNL_SMALL_M + 1) / 2 * 8];
  /* Whether this layer's fused projection goes to memory (Streams): its Y where a later layer or
     the observation reads it (a ResNet's stream, a recorded or spectra layer), its Phi where the
     observation does. Else each block's rows stay in L1, only Phi's last n mod 8 rows (the Gram's
     tail, GramFinish) are stored, and dead says whether a column of Phi was all zero. */
  PetscBool keep_y, keep_phi, dead;
  /* shaped_attention: key width nk, the residual's λ and γ, the logits' 1/τ; queries and keys
     (nk×m; the projection's logit factors, m×m, at nk >= m), the dense sampler's chunk of W^Q or
     W^K (or all of it past NNL_SMALL_M) or the projection's normals, and in Att four m×m (the
     attention matrix A, the Gram V, the tokens' correlations and their factor) and the logit
     factors' work (m² + 2m) */
  PetscInt nk;
  PetscBool
    shaped; /* shaped_attention's A = I + softmax − 11ᵀ/m, else softmax_attention's A = softmax */
  double  lambda, gamma, logit;
  double *Qa, *Ka, *Wq, *Att;
  double
    *Hid; /* the transformers: their MLP sub-block's hidden layer, W₁Y/√n then φ_s of it (n×m) */
  NetAhead    ahead[NNL_NET_AHEAD];
  signed char ahead_slot[NNL_PURPOSE_MLP_OUT + 1]; /* a purpose's slot + 1; 0: none yet */
  int         nahead;                              /* slots given */
  double     *ahead_z;                             /* NNL_NET_AHEAD × NNL_RNG_LAYERS_NORMALS */
} Net;

/* *z = normals 0 .. size−1 of the layer's stream of this purpose. A narrow network's (size <= 128)
   come from one batch of the generator over the layers ahead up to last that draw as many
   (NNLRngNormalsLayers: a layer's few blocks alone left the vector kernel idle or went to the
   scalar one, 39 % of a width-8 ResNet's time); else they are drawn into own. */
static PetscErrorCode LayerNormals(Net *net, PetscInt layer, NNLRngPurpose purpose, PetscInt size,
                                   PetscInt last, double *own, const double **z)
{
  const PetscInt per   = (PetscInt)NNLRngLayersPerBatch((size_t)size),
                 count = PetscMin(per, last - layer + 1);
  NNLRngStream s;

  PetscFunctionBegin;
  NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer, purpose);
  if (purpose < (int)PETSC_STATIC_ARRAY_LENGTH(net->ahead_slot)) {
    int slot = net->ahead_slot[purpose] - 1;
    if (slot < 0 && count >= 2 && net->nahead < NNL_NET_AHEAD) {
      slot                     = net->nahead++;
      net->ahead_slot[purpose] = (signed char)(slot + 1);
    }
    if (slot >= 0) {
      NetAhead *a  = &net->ahead[slot];
      double   *az = net->ahead_z + slot * NNL_RNG_LAYERS_NORMALS;
      if (a->size == size && layer >= a->first && layer < a->first + a->count) {
        *z = az + (layer - a->first) * size;
        PetscFunctionReturn(0);
      }
      if (count >= 2) {
        NNLRngNormalsLayers(&s, (size_t)count, (size_t)size, az);
        a->first = layer;
        a->count = count;
        a->size  = size;
        *z       = az;
        PetscFunctionReturn(0);
      }
    }
  }
  NNLRngNormals(&s, 0, (size_t)size, own);
  *z = own;
  PetscFunctionReturn(0);
}

/* Whether every layer of this network is fused (ProjectLayer): the projection sampler at m <=
 * NNL_SMALL_M. */
static PetscBool Fused(const Net *net)
{
  return net->sampler != NNL_SAMPLER_DENSE && net->m <= NNL_SMALL_M ? PETSC_TRUE : PETSC_FALSE;
}

/* Whether a fused layer of this network may keep its rows in L1 (ProjectLayer's keep_y, keep_phi):
   the MLPs and the ResNet, whose next layer reads the state through the Gram's sums alone (and the
   ResNet's Y), where the attention blocks read Y and Phi whole. */
static PetscBool Streams(const Net *net)
{
  const NNLFamily f = net->pt->family;
  return Fused(net) && (f == NNL_FAMILY_MLP || f == NNL_FAMILY_SHAPED || f == NNL_FAMILY_RESNET)
           ? PETSC_TRUE
           : PETSC_FALSE;
}

/* Phi = φ(Y) on nb rows of every column, Y's leading dimension ldy and Phi's ldp (the shaped
   family: its shaped φ; the transformer: Y, its stream's own post-activation, φ_s being inside its
   MLP sub-block). */
static void ActivateRows(Net *net, const double *Y, PetscInt ldy, double *Phi, PetscInt ldp,
                         PetscInt nb)
{
  const NNLActivation *act = &net->job->act[net->pt->act];

  for (PetscInt a = 0; a < net->m; a++) {
    const double *y   = Y + a * ldy;
    double       *phi = Phi + a * ldp;
    if (net->pt->family == NNL_FAMILY_SHAPED)
      NNLShapedApply(net->job, act, net->n, (size_t)nb, y, phi);
    else if (NNLFamilyIsTransformer(net->pt->family))
      memcpy(phi, y, sizeof(double) * (size_t)nb); /* its φ is inside the MLP sub-block */
    else
      NNLActivationApply(act, (size_t)nb, y, phi);
  }
}

/* Phi = φ(Y) on rows i0 .. i0 + nb − 1 of the stored Y and Phi. */
static void Activate(Net *net, PetscInt i0, PetscInt nb)
{
  ActivateRows(net, net->Y + i0, net->n, net->Phi + i0, net->n, nb);
}

/* Doubles of Z in one block of the fused layer: the block's normals, Y and Phi rows stay in L1 from
   one step to the next (8 KB each). Its rows are a multiple of 128: whole batches of the AVX-512
   generator (32 blocks of 4 normals). */
#define NNL_FUSE_BLOCK 1024

/* Y ← beta·Y + alpha · Z R with Z fresh normals: rows of ZR are iid N(0, RᵀR) — the projection
   sampler. For m <= NNL_SMALL_M the layer is fused: block by block of rows (NNL_FUSE_BLOCK), the
   block's normals (normal i of the stream by its index, as one call for all would draw it), its
   rows of Y, of Phi = φ(Y), and the next layer's Gram partial sums over them. Z never goes to
   memory and Y and Phi are each passed over once, where the steps one after the other passed over
   n·m doubles seven times; the bits are those of the unfused steps. */
static PetscErrorCode ProjectLayer(Net *net, PetscInt layer, double alpha, double beta,
                                   NNLRngPurpose purpose)
{
  const PetscInt n = net->n, m = net->m;
  NNLRngStream   s;

  PetscFunctionBegin;
  PetscCall(NNLSqrtPSD(m, net->K, net->R));
  NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer, purpose);
  if (!Fused(net)) {
    const double *Z;
    PetscCall(LayerNormals(net, layer, purpose, n * m, net->pt->depth, net->Z, &Z));
    NNLProject(n, m, Z, net->R, alpha, beta, net->Y);
    PetscFunctionReturn(0);
  }
  {
    const PetscInt B = NNL_FUSE_BLOCK / m / 128 * 128, n8 = n - n % 8;
    double         Zb[NNL_FUSE_BLOCK], Yb[NNL_FUSE_BLOCK], Pb[NNL_FUSE_BLOCK];
    PetscBool      alive[NNL_SMALL_M] = {PETSC_FALSE};
    PetscCall(PetscArrayzero(net->gsum, m * (m + 1) / 2 * 8)); /* the pairs of m columns */
    for (PetscInt i0 = 0; i0 < n; i0 += B) {
      const PetscInt nb = PetscMin(B, n - i0);
      const double  *Z  = Zb;
      /* the block's rows of Y and Phi: in memory, or in L1 (leading dimension nb) */
      double        *y = net->keep_y ? net->Y + i0 : Yb, *phi = net->keep_phi ? net->Phi + i0 : Pb;
      const PetscInt ly = net->keep_y ? n : nb, lp = net->keep_phi ? n : nb;
      if (nb == n) /* the whole layer: its first n·m normals */
        PetscCall(LayerNormals(net, layer, purpose, n * m, net->pt->depth, Zb, &Z));
      else
        NNLRngNormalsRanges(&s, (uint64_t)i0, (uint64_t)n, (size_t)m, (size_t)nb,
                            Zb); /* column a: normals a·n + i0 … */
      NNLProjectSmall(nb, m, Z, nb, net->R, alpha, beta, y, ly);
      ActivateRows(net, y, ly, phi, lp, nb);
      if (i0 < n8) NNLGramAccSmall(PetscMin(nb, n8 - i0), m, phi, lp, net->gsum);
      if (!net->keep_phi) {
        for (PetscInt a = 0; a < m; a++) {
          if (!alive[a]) alive[a] = NNLObserveAlive(nb, phi + a * nb);
          for (PetscInt i = PetscMax(i0, n8); i < i0 + nb; i++) /* the Gram's tail */
            net->Phi[i + a * n] = phi[i - i0 + a * nb];
        }
      }
    }
    net->dead = PETSC_FALSE;
    for (PetscInt a = 0; a < m; a++) net->dead = net->dead || !alive[a] ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscFunctionReturn(0);
}

/* When the state nears the ends of double's range (a Gram entry of the stored state beyond
   2^±RescaleAt, judged by the largest diagonal q of the layer: a dense network's Y, a projection
   network's K), divide the stored Y, Phi and K by a power of two that brings it near 1 (exact) and
   count it in scale2. 512 leaves 2^(1023 − 2·256) of room before a layer could overflow, and
   2^(1022 − 512) before it could underflow: no layer changes q by such factors. Returns whether the
   state has left double's range (q inf or NaN): such a state is never used (see NextLayer). */
static int RescaleAt = 512;

void NNLNetRescaleThreshold(int e)
{
  RescaleAt = e > 0 ? e : 512;
}

/* The power of two k by which a state of largest q qmax (finite) is divided, q / 4^k within [1, 4);
 * 0: none. */
static int RescaleStep(const Net *net, double qmax)
{
  int e;

  if (!net->rescale || !(qmax > 0)) return 0;
  e = ilogb(qmax);
  return e < RescaleAt && e > -RescaleAt ? 0 : e / 2;
}

static PetscBool Rescale(Net *net, double qmax, PetscBool with_k)
{
  int k;

  if (!isfinite(qmax)) return PETSC_TRUE;
  if (!(k = RescaleStep(net, qmax))) return PETSC_FALSE;
  for (PetscInt i = 0; i < net->n * net->m; i++) {
    net->Y[i]   = ldexp(net->Y[i], -k);
    net->Phi[i] = ldexp(net->Phi[i], -k);
  }
  if (with_k)
    for (PetscInt i = 0; i < net->m * net->m; i++) net->K[i] = ldexp(net->K[i], -2 * k);
  net->scale2 += k;
  return PETSC_FALSE;
}

/* K = scale · ΦᵀΦ + shift · 11ᵀ of the layer before: from its fused layer's partial sums, else a
   pass over Phi. The same bits either way. */
static void PhiGram(Net *net, double scale, double shift)
{
  if (Fused(net))
    NNLGramFinish(net->n, net->m, net->Phi, net->gsum, scale, shift, net->K);
  else
    NNLGram(net->n, net->m, net->Phi, scale, shift, net->K);
}

static double SharedHold = NNL_SHARED_HOLD_BYTES;
void          NNLNetSharedHoldBytes(double bytes)
{
  SharedHold = bytes < 0 ? NNL_SHARED_HOLD_BYTES : bytes;
}
PetscBool NNLNetHoldsShared(PetscInt n)
{
  return 8.0 * (double)n * (double)n <= SharedHold ? PETSC_TRUE : PETSC_FALSE;
}

/* Columns j0 .. j0 + jb − 1 of the n×n W (column-major chunk) into the held A's panels: rows 8p ..
   8p + 7 (p < n/8) as the n×8 block at A + 8p·n, row-major by column (the 8 rows of column j at A +
   8p·n + 8j), then the last n mod 8 rows the same way. A layer then reads each panel from start to
   end, where column-major A took one cache line a column, n·8 bytes apart (relu, m = 2, depth 64:
   0.46 ns an element in cache, 1.1 ns past it). */
static void SharedPanelsStore(PetscInt n, PetscInt j0, PetscInt jb, const double *W, double *A)
{
  const PetscInt n8 = n - n % 8, r = n - n8;
  for (PetscInt j = 0; j < jb; j++) {
    const double *w = W + j * n;
    for (PetscInt i0 = 0; i0 < n8; i0 += 8)
      for (PetscInt i = 0; i < 8; i++) A[i0 * n + (j0 + j) * 8 + i] = w[i0 + i];
    for (PetscInt i = 0; i < r; i++) A[n8 * n + (j0 + j) * r + i] = w[n8 + i];
  }
}

/* Y ← beta·Y + √var · W A with W (n×k) iid N(0, 1), column-major, normal i + j·n of the stream at
   W_ij — the dense reference sampler. For m <= NNL_SMALL_M, W is drawn a chunk of whole columns at
   a time and never held whole (n·k doubles: 2 GB at n = 16384), and entry (i, b) of W A is its
   products W_ij A_jb added in order of j (DenseAccSmall), the same bits on every machine. Larger m:
   W in full and DGEMM. The controlled ResNet's shared layer (`shared`) draws its W once where it
   holds it (Net: Ashared, or W itself past NNL_SMALL_M). */
/* T = W A (rows × m, m <= NNL_SMALL_M) with W (rows × k) iid N(0, 1), entry (i, j) normal i +
   j·rows of the layer's stream of this purpose, drawn into W a chunk of whole columns at a time
   (NNLDenseColumns; a W of one chunk by LayerNormals, the layers ahead up to last with it); A is
   k × m with leading dimension lda. Each entry's products W_ij A_jb are added in order of j
   (NNLDenseAccSmall): the same bits on every machine and for every chunk size. */
static PetscErrorCode DenseDrawProduct(Net *net, PetscInt layer, NNLRngPurpose purpose,
                                       PetscInt last, PetscInt rows, PetscInt m, PetscInt k,
                                       const double *A, PetscInt lda, double *W, double *T)
{
  const PetscInt J = NNLDenseColumns(rows, m, k);
  NNLRngStream   s;

  PetscFunctionBegin;
  memset(T, 0, sizeof(double) * (size_t)(rows * m));
  if (J >= k) { /* W whole (a narrow layer's from the layers ahead, LayerNormals) */
    const double *Wl;
    PetscCall(LayerNormals(net, layer, purpose, rows * k, last, W, &Wl));
    NNLDenseAccSmall(rows, m, Wl, rows, k, A, lda, T, rows);
    PetscFunctionReturn(0);
  }
  NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer, purpose);
  for (PetscInt j0 = 0; j0 < k; j0 += J) {
    const PetscInt jb = PetscMin(J, k - j0);
    NNLRngNormals(&s, (uint64_t)j0 * (uint64_t)rows, (size_t)jb * (size_t)rows,
                  W); /* j0·rows: beyond int at rows > 46340 */
    NNLDenseAccSmall(rows, m, W, rows, jb, A + j0, lda, T, rows);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DenseLayer(Net *net, PetscInt layer, const double *A, PetscInt k, double var,
                                 double beta, PetscBool shared, NNLRngPurpose purpose)
{
  const PetscInt  n = net->n, m = net->m;
  const PetscBool held = shared && (m > NNL_SMALL_M ? NNLNetHoldsShared(n) : net->Ashared != NULL)
                           ? PETSC_TRUE
                           : PETSC_FALSE;
  const PetscBool draw = !held || !net->shared_drawn;
  NNLRngStream    s;

  PetscFunctionBegin;
  NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer, purpose);
  if (held) net->shared_drawn = PETSC_TRUE;
  if (m > NNL_SMALL_M) {
    if (draw) NNLRngNormals(&s, 0, (size_t)n * (size_t)k, net->W);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, sqrt(var),
                net->W, (int)n, A, (int)k, beta, net->Y, (int)n);
    PetscFunctionReturn(0);
  }
  {
    const PetscInt J     = NNLDenseColumns(n, m, k);
    const double   alpha = sqrt(var);
    double        *T     = net->Z; /* W A, n×m */
    /* the layers after draw n×n W's of this purpose, which a narrow network draws ahead; not after
       the controlled ResNet's W_in (its one shared A is drawn once) nor its shared A itself */
    const PetscInt last =
      k == n && !shared && net->pt->family != NNL_FAMILY_CONTROLLED ? net->pt->depth : layer;
    if (!held)
      PetscCall(DenseDrawProduct(net, layer, purpose, last, n, m, k, A, k, net->W, T));
    else { /* W drawn once into the held panels; then each panel of rows against all of A's columns:
              the same products, each entry's in order of j */
      const PetscInt n8 = n - n % 8;
      for (PetscInt j0 = 0; j0 < k && draw; j0 += J) {
        const PetscInt jb = PetscMin(J, k - j0);
        NNLRngNormals(&s, (uint64_t)j0 * (uint64_t)n, (size_t)jb * (size_t)n, net->W);
        SharedPanelsStore(n, j0, jb, net->W, net->Ashared);
      }
      PetscCall(PetscArrayzero(T, n * m));
      for (PetscInt i0 = 0; i0 < n8; i0 += 8)
        NNLDenseAccSmall(8, m, net->Ashared + i0 * n, 8, k, A, k, T + i0, n);
      if (n8 < n) NNLDenseAccSmall(n - n8, m, net->Ashared + n8 * n, n - n8, k, A, k, T + n8, n);
    }
    for (PetscInt i = 0; i < n * m; i++)
      net->Y[i] = beta == 0.0 ? alpha * T[i] : beta * net->Y[i] + alpha * T[i];
  }
  PetscFunctionReturn(0);
}

/* Bias: y_i += scale · b_i for every input, b ~ N(0, σ_b²) the stream of `layer` (times 2^-scale2
   in the stored state): MLP fresh per layer at scale 1 (a narrow one's drawn ahead up to last, its
   depth); controlled ResNet the same b at every layer (layer 1's, last = 1), at scale 1/L. */
static PetscErrorCode AddBias(Net *net, PetscInt layer, double scale, PetscInt last)
{
  const double  sb = ldexp(scale * sqrt(net->sb2), -net->scale2);
  const double *b;

  PetscFunctionBegin;
  if (net->sb2 <= 0) PetscFunctionReturn(0);
  PetscCall(LayerNormals(net, layer, NNL_PURPOSE_BIAS, net->n, last, net->Z, &b));
  for (PetscInt a = 0; a < net->m; a++)
    for (PetscInt i = 0; i < net->n; i++) net->Y[i + a * net->n] += sb * b[i];
  PetscFunctionReturn(0);
}

/* The largest of x[a·stride] over a < m; NaN if one is NaN (PetscMax would pass over it). */
static double MaxOrNaN(PetscInt m, const double *x, PetscInt stride)
{
  double q = 0;

  for (PetscInt a = 0; a < m; a++) {
    if (x[a * stride] != x[a * stride]) return x[a * stride];
    q = PetscMax(q, x[a * stride]);
  }
  return q;
}

/* The largest diagonal entry of K: the next layer's variance scale (projection sampler). */
static double KDiagMax(const Net *net)
{
  return MaxOrNaN(net->m, net->K, net->m + 1);
}

/* The first layer: MLP y¹ = W¹x (var σ_w²/d); ResNet Y₀ = W_in x (var 1/d). Its Gram given x is σ²C
 * exactly. */
static PetscErrorCode FirstLayer(Net *net, PetscInt layer)
{
  double s2 = net->pt->family == NNL_FAMILY_MLP ? net->sw2 : 1.0;

  PetscFunctionBegin;
  if (net->sampler == NNL_SAMPLER_DENSE) {
    PetscCall(DenseLayer(net, layer, net->X, net->d, s2 / (double)net->d, 0.0, PETSC_FALSE,
                         NNL_PURPOSE_WEIGHT));
  } else {
    int k;
    for (PetscInt a = 0; a < net->m; a++)
      for (PetscInt b = 0; b < net->m; b++)
        net->K[a + b * net->m] = s2 * NNLJobInputCorrelation(net->job, a, b);
    /* rescaled already (as NextLayer's K): a σ_w² past 2^512 would otherwise overflow the next
     * layer's K, σ_w² q */
    if ((k = RescaleStep(net, KDiagMax(net)))) {
      for (PetscInt i = 0; i < net->m * net->m; i++) net->K[i] = ldexp(net->K[i], -2 * k);
      net->scale2 += k;
    }
    PetscCall(ProjectLayer(net, layer, 1.0, 0.0, NNL_PURPOSE_PROJECT));
  }
  PetscFunctionReturn(0);
}

/* The largest ‖y_a‖²/n of the stored Y (the dense sampler, which has no K): a pass over n·m beside
 * its n²·m work. */
static double YNormMax(const Net *net)
{
  double q = 0;

  for (PetscInt a = 0; a < net->m; a++) {
    const double v = NNLDot(net->n, net->Y + a * net->n, net->Y + a * net->n) / (double)net->n;
    if (v != v) return v;
    q = PetscMax(q, v);
  }
  return q;
}

/* The projection sampler's logits at nk >= m (NNLAttentionLogitFactors): m² + m(m−1)/2 normals of
   the layer's KEY stream and m χ² of its QUERY stream, where the queries and keys took 2·nk·m
   normals and their logits nk·m² products. */
static PetscErrorCode LogitFactors(Net *net, PetscInt layer, const double *U)
{
  const PetscInt m = net->m;
  const double  *Z;
  NNLRngStream   s;

  PetscFunctionBegin;
  PetscCall(LayerNormals(net, layer, NNL_PURPOSE_KEY, m * m + m * (m - 1) / 2, net->pt->depth,
                         net->Wq, &Z));
  NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer,
                   NNL_PURPOSE_QUERY);
  NNLAttentionLogitFactors(m, net->nk, Z, &s, U, net->Att + 4 * m * m, net->Qa, net->Ka);
  PetscFunctionReturn(0);
}

/* Whether the layers' logits come from m×m factors (LogitFactors: Qa and Ka m×m), not from
   queries and keys of nk rows. */
static PetscBool LogitFactored(const Net *net)
{
  return net->sampler != NNL_SAMPLER_DENSE && net->nk >= net->m ? PETSC_TRUE : PETSC_FALSE;
}

/* A shaped-attention layer's queries and keys (Net's Qa, Ka: nk×m, or m×m when
   LogitFactored; their products are the
   logits) from the Gram V (m×m) of the stored Y: the dense sampler multiplies W^Q and W^K (nk×n,
   entry (i, j) normal i + j·nk of the layer's QUERY and KEY streams) by Y and scales token a by
   1/√(n V_aa) (the RMS-normalised tokens: the scale 2^scale2 of the stored state cancels); the
   projection sampler draws their products' law given Y (LogitFactors), or at nk < m the queries and
   keys themselves: rows iid N(0, R), R the tokens' correlations. */
static PetscErrorCode AttentionQK(Net *net, PetscInt layer, const double *V)
{
  const PetscInt n = net->n, m = net->m, nk = net->nk;
  double        *R = net->Att + 2 * m * m, *U = net->Att + 3 * m * m;

  PetscFunctionBegin;
  if (net->sampler != NNL_SAMPLER_DENSE) {
    NNLAttentionCorrelation(m, V, R);
    PetscCall(NNLSqrtPSD(m, R, U));
    if (LogitFactored(net)) {
      PetscCall(LogitFactors(net, layer, U));
      PetscFunctionReturn(0);
    }
  }
  for (int w = 0; w < 2; w++) {
    double      *T = w ? net->Ka : net->Qa;
    NNLRngStream s;
    NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer,
                     w ? NNL_PURPOSE_KEY : NNL_PURPOSE_QUERY);
    if (net->sampler != NNL_SAMPLER_DENSE) {
      const double *Z;
      PetscCall(LayerNormals(net, layer, w ? NNL_PURPOSE_KEY : NNL_PURPOSE_QUERY, nk * m,
                             net->pt->depth, net->Wq, &Z));
      NNLProject(nk, m, Z, U, 1.0, 0.0, T);
      continue;
    }
    if (m > NNL_SMALL_M) {
      NNLRngNormals(&s, 0, (size_t)nk * (size_t)n, net->Wq);
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)nk, (int)m, (int)n, 1.0, net->Wq,
                  (int)nk, net->Y, (int)n, 0.0, T, (int)nk);
    } else
      PetscCall(DenseDrawProduct(net, layer, w ? NNL_PURPOSE_KEY : NNL_PURPOSE_QUERY,
                                 net->pt->depth, nk, m, n, net->Y, n, net->Wq, T));
    for (PetscInt a = 0; a < m; a++) {
      const double v = V[a + a * m], sc = v > 0 ? 1.0 / sqrt((double)n * v) : 0.0;
      for (PetscInt k = 0; k < nk; k++) T[k + a * nk] *= sc;
    }
  }
  PetscFunctionReturn(0);
}

/* A shaped-attention layer, Y ← λY + (γ/√n) W^V Y Aᵀ (src/attention.c). Phi is Y (the block has no
   activation), so the layer before's Gram of Phi is V. The dense sampler multiplies W^V by Y Aᵀ
   (held in Phi until Activate); the projection sampler draws the values' law given Y and A: rows
   iid N(0, A V Aᵀ), added to λY. */
static PetscErrorCode AttentionLayer(Net *net, PetscInt layer, PetscBool *overflow)
{
  const PetscInt n = net->n, m = net->m;
  double        *A = net->Att, *V = net->Att + m * m;

  PetscFunctionBegin;
  PhiGram(net, 1.0 / (double)n, 0.0);
  if (net->sampler != NNL_SAMPLER_DENSE && (*overflow = Rescale(net, KDiagMax(net), PETSC_TRUE)))
    PetscFunctionReturn(0);
  PetscCall(PetscArraycpy(V, net->K, m * m));
  PetscCall(AttentionQK(net, layer, V));
  NNLAttentionMatrix(m, LogitFactored(net) ? m : net->nk, net->Qa, net->Ka, net->logit, net->shaped,
                     A);
  if (net->sampler == NNL_SAMPLER_DENSE) {
    for (PetscInt a = 0; a < m; a++)
      for (PetscInt i = 0; i < n; i++) {
        double z = 0.0;
        for (PetscInt b = 0; b < m; b++) z += A[a + b * m] * net->Y[i + b * n];
        net->Phi[i + a * n] = z;
      }
    PetscCall(DenseLayer(net, layer, net->Phi, n, net->gamma * net->gamma / (double)n, net->lambda,
                         PETSC_FALSE, NNL_PURPOSE_WEIGHT));
    PetscFunctionReturn(0);
  }
  NNLAttentionCongruence(m, A, V, net->K); /* K = A V Aᵀ */
  for (PetscInt a = 0; a < m; a++)         /* exactly symmetric, as a Gram */
    for (PetscInt b = a + 1; b < m; b++)
      net->K[a + b * m] = net->K[b + a * m] = 0.5 * (net->K[a + b * m] + net->K[b + a * m]);
  PetscCall(ProjectLayer(net, layer, net->gamma, net->lambda, NNL_PURPOSE_PROJECT));
  PetscFunctionReturn(0);
}

/* A transformer's MLP sub-block after its attention: Y ← λY + γ√(c/n) W₂ φ_s(W₁Y/√n), W₁ and W₂ n×n
   iid N(0, 1) (the layer's MLP_IN and MLP_OUT streams), φ_s and its gain c the shaped MLP's (c
   keeps E‖φ_s(z)‖² = ‖z‖² for the shaped ReLU; softmax_transformer: φ itself and its auto σ_w²). W₁
   makes the hidden layer a fresh Gaussian given Y (rows iid N(0, V), V = YᵀY/n), as a shaped MLP's
   pre-activations are: with φ_s applied to Y itself, the odd part of the shaped ReLU, (c₊ −
   c₋)(x|y| + |x|y)/(2√n), would sum over the layers to an O(1) term of the rows' own fluctuations,
   which no covariance SDE holds. The dense sampler draws W₁ and W₂; the projection sampler the law
   given Y: Z rows iid N(0, V), then W₂φ_s(Z)/√n rows iid N(0, φ_s(Z)ᵀφ_s(Z)/n). */
static PetscErrorCode MlpSubBlock(Net *net, PetscInt layer, PetscBool *overflow)
{
  const PetscInt       n = net->n, m = net->m;
  const NNLActivation *act = &net->job->act[net->pt->act];
  const double        *Z;
  NNLRngStream         s;

  PetscFunctionBegin;
  NNLRngStreamInit(&s, (uint64_t)net->job->run_seed, net->pt->id, (uint64_t)layer,
                   NNL_PURPOSE_MLP_IN);
  if (net->sampler == NNL_SAMPLER_DENSE) {
    if (m > NNL_SMALL_M) {
      NNLRngNormals(&s, 0, (size_t)n * (size_t)n, net->W);
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)n, 1.0, net->W,
                  (int)n, net->Y, (int)n, 0.0, net->Hid, (int)n);
    } else
      PetscCall(DenseDrawProduct(net, layer, NNL_PURPOSE_MLP_IN, net->pt->depth, n, m, n, net->Y, n,
                                 net->W, net->Hid));
    for (PetscInt i = 0; i < n * m; i++) net->Hid[i] /= sqrt((double)n);
  } else {
    /* V = YᵀY/n: a fused attention layer left Phi = Y and its Gram's partial sums (the same bits as
     * a pass over Y) */
    if (Fused(net))
      PhiGram(net, 1.0 / (double)n, 0.0);
    else
      NNLGram(n, m, net->Y, 1.0 / (double)n, 0.0, net->K);
    if ((*overflow = Rescale(net, KDiagMax(net), PETSC_TRUE))) PetscFunctionReturn(0);
    PetscCall(NNLSqrtPSD(m, net->K, net->R));
    PetscCall(LayerNormals(net, layer, NNL_PURPOSE_MLP_IN, n * m, net->pt->depth, net->Z, &Z));
    NNLProject(n, m, Z, net->R, 1.0, 0.0, net->Hid);
  }
  if (net->shaped)
    NNLShapedApply(net->job, act, n, (size_t)(n * m), net->Hid, net->Hid);
  else
    NNLActivationApply(act, (size_t)(n * m), net->Hid,
                       net->Hid); /* softmax_transformer: φ itself */
  if (net->sampler == NNL_SAMPLER_DENSE) {
    PetscCall(DenseLayer(net, layer, net->Hid, n, net->gamma * net->gamma * net->sw2 / (double)n,
                         net->lambda, PETSC_FALSE, NNL_PURPOSE_MLP_OUT));
    PetscFunctionReturn(0);
  }
  NNLGram(n, m, net->Hid, net->sw2 / (double)n, 0.0, net->K);
  PetscCall(ProjectLayer(net, layer, net->gamma, net->lambda, NNL_PURPOSE_MLP_OUT));
  PetscFunctionReturn(0);
}

/* Layer ℓ from the post-activations Phi of layer ℓ-1. *overflow: the layer before left double's
   range (a Gram entry inf or NaN), so this one is not computed: a projection from an infinite K
   would give a zero state (the pivoted Cholesky finds rank 0) that a bias then restarts, finite and
   wrong (seen: swish, σ_w² = 50, a "dead" layer 207). */
static PetscErrorCode NextLayer(Net *net, PetscInt layer, PetscBool *overflow)
{
  const double n      = (double)net->n;
  const int    resnet = net->pt->family == NNL_FAMILY_RESNET;

  PetscFunctionBegin;
  *overflow = PETSC_FALSE;
  if (NNLFamilyIsAttention(net->pt->family)) {
    PetscCall(AttentionLayer(net, layer, overflow));
    if (NNLFamilyIsTransformer(net->pt->family) && !*overflow)
      PetscCall(MlpSubBlock(net, layer, overflow));
    PetscFunctionReturn(0);
  }
  if (net->pt->family ==
      NNL_FAMILY_CONTROLLED) { /* Y + (A φ(Y) + b)/L, A and b those of layer 1 at every layer */
    PetscCall(DenseLayer(net, 1, net->Phi, net->n, net->sw2 * net->branch * net->branch / n, 1.0,
                         PETSC_TRUE, NNL_PURPOSE_WEIGHT));
    PetscCall(AddBias(net, 1, net->branch, 1)); /* layer 1's at every layer */
    PetscFunctionReturn(0);
  }
  if (net->sampler ==
      NNL_SAMPLER_DENSE) { /* MLP (shaped MLP: sw2 = its gain c, no bias); ResNet: Y + its branch */
    if (resnet)
      PetscCall(DenseLayer(net, layer, net->Phi, net->n, net->branch * net->branch / n, 1.0,
                           PETSC_FALSE, NNL_PURPOSE_WEIGHT));
    else {
      PetscCall(DenseLayer(net, layer, net->Phi, net->n, net->sw2 / n, 0.0, PETSC_FALSE,
                           NNL_PURPOSE_WEIGHT));
      PetscCall(AddBias(net, layer, 1.0, net->pt->depth));
    }
    PetscFunctionReturn(0);
  }
  if (resnet)
    PhiGram(net, 1.0 / n, 0.0);
  else
    PhiGram(net, net->sw2 / n,
            ldexp(net->sb2, -2 * net->scale2)); /* the stored state's K (see Net) */
  *overflow = Rescale(net, KDiagMax(net), PETSC_TRUE);
  if (!*overflow)
    PetscCall(ProjectLayer(net, layer, resnet ? net->branch : 1.0, resnet ? 1.0 : 0.0,
                           NNL_PURPOSE_PROJECT));
  PetscFunctionReturn(0);
}

/* The dense sampler's W past NNL_BIG_TASK (drawn whole, m > NNL_SMALL_M), kept from one network
   for the next that needs as much or up to half less: in this VM a fresh page costs more than the
   normals written to it (a 512 MB W, first touched at ~1-2 ns a byte even in huge pages: 0.3-0.5 s
   of a 1.2 s task of width 8192, depth 3, 16 inputs). A network that does not take it frees it
   first, and so does a limit or SDE task (NNLTaskComputeTeam), so that it never adds to another
   task's memory. */
static struct {
  void  *p;
  size_t bytes;
} kept_w;

PetscErrorCode NNLNetFreeKept(void)
{
  PetscFunctionBegin;
  PetscCall(NNLBigFree(kept_w.p));
  kept_w.p     = NULL;
  kept_w.bytes = 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode WTake(Net *net, size_t bytes)
{
  PetscFunctionBegin;
  net->wbytes = bytes;
  if (kept_w.p && bytes >= NNL_BIG_TASK && bytes <= kept_w.bytes && 2 * bytes >= kept_w.bytes) {
    net->W       = kept_w.p;
    net->wbytes  = kept_w.bytes;
    kept_w.p     = NULL;
    kept_w.bytes = 0;
    PetscFunctionReturn(0);
  }
  PetscCall(NNLNetFreeKept());
  if (bytes) PetscCall(NNLBigAlloc(bytes, NNL_BIG_TASK, (void **)&net->W));
  PetscFunctionReturn(0);
}

static PetscErrorCode WGive(Net *net)
{
  PetscFunctionBegin;
  if (net->W && net->wbytes >= NNL_BIG_TASK && !kept_w.p) {
    kept_w.p     = net->W;
    kept_w.bytes = net->wbytes;
  } else
    PetscCall(NNLBigFree(net->W));
  net->W = NULL;
  PetscFunctionReturn(0);
}

static PetscErrorCode NetSetUp(Net *net, const NNLJob *job, const NNLPoint *pt,
                               NNLSamplerType sampler)
{
  PetscInt n = pt->width, m = job->inputs, d = job->input_dim;

  PetscFunctionBegin;
  memset(net, 0, sizeof(*net));
  net->job      = job;
  net->pt       = pt;
  net->sampler  = sampler == NNL_SAMPLER_AUTO ? NNLPointSampler(job, pt) : sampler;
  net->n        = n;
  net->m        = m;
  net->d        = d;
  net->sw2      = NNLJobSigmaW2(job, pt->act);
  net->sb2      = NNLJobSigmaB2(job, pt->act);
  net->branch   = pow((double)pt->depth, -NNLJobBranchAlpha(job, pt->act));
  net->keep_y   = PETSC_TRUE;
  net->keep_phi = PETSC_TRUE;
  if (pt->family == NNL_FAMILY_SHAPED) {
    net->sw2 = NNLShapedGain(job, &job->act[pt->act], n);
    net->sb2 = 0;
  }
  if (pt->family ==
      NNL_FAMILY_CONTROLLED) { /* σ_A², and its branch 1/L: the step of the path x_t = t */
    PetscCheck(
      net->sampler == NNL_SAMPLER_DENSE, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
      "controlled_resnet shares its weights across layers: only the dense sampler draws it");
    net->sw2    = NNLJobSigmaA2(job, pt->act);
    net->branch = 1.0 / (double)pt->depth;
    if (m <= NNL_SMALL_M && NNLNetHoldsShared(n)) PetscCall(PetscMalloc1(n * n, &net->Ashared));
  }
  if (NNLFamilyIsAttention(
        pt->family)) { /* its A depends on the tokens' correlations only: rescaling is exact */
    net->nk     = NNLAttentionKeyWidth(job, n);
    net->gamma  = NNLJobAttnGamma(job, pt->act);
    net->lambda = sqrt(1.0 - net->gamma * net->gamma);
    net->shaped = NNLFamilyIsSoftmax(pt->family) ? PETSC_FALSE : PETSC_TRUE;
    if (NNLFamilyIsTransformer(pt->family)) { /* its MLP sub-block's gain (the unshaped φ's: its
                                                 auto σ_w²), and hidden layer */
      net->sw2 = net->shaped ? NNLShapedGain(job, &job->act[pt->act], n)
                             : NNLActivationAutoSigmaW2(&job->act[pt->act]);
      PetscCall(PetscMalloc1(n * m, &net->Hid));
    }
    /* shaped: logits QᵀK/(τ₀√(n n_k)), O(n^{-1/2}); softmax: QᵀK/(τ₀√n_k), O(1), the usual
     * temperature √d_k */
    net->logit = 1.0 / (NNLJobAttnTau0(job, pt->act) *
                        sqrt((net->shaped ? (double)n : 1.0) * (double)net->nk));
    /* Att: A, V, R, U, and LogitFactors' T, df and χ² */
    PetscCall(PetscMalloc3(PetscMax(net->nk, m) * m, &net->Qa, PetscMax(net->nk, m) * m, &net->Ka,
                           5 * m * m + 2 * m, &net->Att));
    PetscCall(PetscMalloc1(net->sampler == NNL_SAMPLER_DENSE
                             ? net->nk * NNLDenseColumns(net->nk, m, n)
                             : PetscMax(net->nk, 2 * m) * m,
                           &net->Wq));
  }
  { /* positively homogeneous φ (a·min + b·max; the shaped ReLU): the state may be rescaled (see
       Net) */
    const NNLActivation *a = &job->act[pt->act];
    net->rescale =
      (NNLFamilyIsShapedMLP(pt->family) ? (int)NNLShapedIsRelu(a) : NNLActivationIsHomogeneous(a))
        ? PETSC_TRUE
        : PETSC_FALSE;
  }
  PetscCall(PetscMalloc6(n * m, &net->Y, n * m, &net->Phi, n * m, &net->Z, m * m, &net->K, m * m,
                         &net->R, NNL_NET_AHEAD * NNL_RNG_LAYERS_NORMALS, &net->ahead_z));
  PetscCall(WTake(net, net->sampler == NNL_SAMPLER_DENSE
                         ? sizeof(double) * (size_t)(n * NNLDenseColumns(n, m, n > d ? n : d))
                         : 0));
  if (net->sampler == NNL_SAMPLER_DENSE) {
    PetscCall(PetscMalloc1(d * m, &net->X));
    PetscCall(NNLInputs(job, net->X));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode NetDestroy(Net *net)
{
  PetscFunctionBegin;
  PetscCall(PetscFree6(net->Y, net->Phi, net->Z, net->K, net->R, net->ahead_z));
  PetscCall(WGive(net));
  PetscCall(PetscFree(net->X));
  PetscCall(PetscFree(net->Ashared));
  if (net->Qa) PetscCall(PetscFree3(net->Qa, net->Ka, net->Att));
  PetscCall(PetscFree(net->Wq));
  PetscCall(PetscFree(net->Hid));
  PetscFunctionReturn(0);
}

/* Spectra of layer l into slot i of res: Gram eigenvalues of Y (m×m YᵀY/n) and singular values of
 * Phi (n×m). */
static PetscErrorCode LayerSpectra(Net *net, NNLSpectraTeam team, PetscInt l, NNLResult *res,
                                   PetscInt i, PetscBool *ok)
{
  const PetscInt n = net->n, m = net->m;
  double        *K;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  for (PetscInt k = 0; k < n * m && *ok; k++)
    if (!isfinite(net->Y[k]) || !isfinite(net->Phi[k])) *ok = PETSC_FALSE;
  if (!*ok) {
    snprintf(res->message, sizeof(res->message),
             "overflow or NaN at layer %" PetscInt_FMT " (spectra not computed)", l);
    PetscFunctionReturn(0);
  }
  PetscCall(PetscLogEventBegin(NNL_EVENT_SPECTRA, 0, 0, 0, 0));
  PetscCall(PetscMalloc1(m * m, &K));
  NNLGram(net->n, net->m, net->Y, 1.0 / (double)n, 0.0, K);
  PetscCall(NNLSpectraEig(team, m, K, res->eig + i * m, ok, res->message, sizeof(res->message)));
  PetscCall(PetscFree(K));
  if (*ok)
    PetscCall(NNLSpectraSVD(team, n, m, net->Phi, res->sv + i * res->nsv, ok, res->message,
                            sizeof(res->message)));
  /* the stored state is the true one over 2^scale2 (see Net): the store puts the scale back after
     the ranks and ratios, which a true spectrum past double's range would lose */
  res->spec_scale2[i] = net->scale2;
  PetscCall(PetscLogEventEnd(NNL_EVENT_SPECTRA, 0, 0, 0, 0));
  res->spec_layers[i] = l;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLPointCompute(const NNLJob *job, const NNLPoint *pt, NNLSamplerType sampler,
                               NNLPollFn poll, void *ctx, NNLResult **result)
{
  PetscFunctionBegin;
  PetscCall(NNLPointComputeTeam(job, pt, sampler, NULL, poll, ctx, result));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLPointComputeTeam(const NNLJob *job, const NNLPoint *pt, NNLSamplerType sampler,
                                   NNLSpectraTeam team, NNLPollFn poll, void *ctx,
                                   NNLResult **result)
{
  Net        net;
  NNLResult *res;
  PetscInt   nrec, *layers, first = NNLFamilyFirstLayer(pt->family), r = 0, nspec, *slayers, sp = 0;
  double     t0      = MPI_Wtime();
  PetscBool  abandon = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(NNLLogRegister());
  PetscCall(NNLJobRecordLayers(job, pt->family, pt->depth, &nrec, &layers));
  PetscCall(NNLResultCreate(nrec, job->inputs, &res));
  PetscCall(PetscArraycpy(res->layers, layers, nrec));
  PetscCall(PetscFree(layers));
  PetscCall(NNLJobSpectraLayers(job, pt->family, pt->depth, &nspec, &slayers));
  if (nspec > 0) PetscCall(NNLResultSetSpectra(res, nspec, PetscMin(pt->width, job->inputs)));
  res->point = pt->ord;
  PetscCall(NetSetUp(&net, job, pt, sampler));
  for (PetscInt l = first; l <= pt->depth; l++) {
    PetscBool       ok;
    const PetscBool seen = (r < nrec && res->layers[r] == l) || (sp < nspec && slayers[sp] == l);
    PetscCall(PetscLogEventBegin(NNL_EVENT_SAMPLE, 0, 0, 0, 0));
    PetscBool overflow = PETSC_FALSE;
    /* A layer that is neither observed nor read by the next (an MLP's Y; any Phi but through its
       Gram) stays in L1 (ProjectLayer): past the caches (width 2^23, m = 4) its 3·n·m doubles to
       memory and back took 11-22 % of a layer */
    if (Streams(&net)) {
      net.keep_phi = seen;
      net.keep_y   = seen || pt->family == NNL_FAMILY_RESNET ? PETSC_TRUE : PETSC_FALSE;
    }
    if (l == first)
      PetscCall(FirstLayer(&net, l));
    else
      PetscCall(NextLayer(&net, l, &overflow));
    if (!overflow && !Fused(&net))
      Activate(&net, 0, net.n); /* a fused projection layer has done it */
    if (!overflow && net.sampler == NNL_SAMPLER_DENSE)
      overflow = Rescale(&net, YNormMax(&net), PETSC_FALSE); /* its Gram's scale */
    PetscCall(PetscLogEventEnd(NNL_EVENT_SAMPLE, 0, 0, 0, 0));
    if (overflow) { /* the layers before are kept, like the recorded ones */
      res->status = NNL_STATUS_FAILED;
      res->nrec   = r;
      res->nspec  = PetscMin(res->nspec, sp);
      snprintf(res->message, sizeof(res->message),
               "overflow at layer %" PetscInt_FMT ": the state left double's range%s",
               net.sampler == NNL_SAMPLER_DENSE ? l : l - 1,
               net.rescale ? ""
                           : " (only a positively homogeneous activation is rescaled exactly)");
      break;
    }
    if (res->dead_layer < 0 && (net.keep_phi ? NNLObserveIsDead(net.n, net.m, net.Phi) : net.dead))
      res->dead_layer = l;
    if (sp < nspec && slayers[sp] == l) {
      PetscCall(PetscLogEventBegin(NNL_EVENT_OBSERVE, 0, 0, 0, 0));
      PetscCall(LayerSpectra(&net, team, l, res, sp, &ok));
      PetscCall(PetscLogEventEnd(NNL_EVENT_OBSERVE, 0, 0, 0, 0));
      if (!ok) { /* the layers before are kept, like the recorded ones */
        res->status = NNL_STATUS_FAILED;
        res->nspec  = sp;
        res->nrec   = r;
        break;
      }
      sp++;
    }
    if (r < nrec && res->layers[r] == l) {
      PetscCall(PetscLogEventBegin(NNL_EVENT_OBSERVE, 0, 0, 0, 0));
      PetscCall(NNLObserveLayer(net.n, net.m, net.Y, net.Phi, net.scale2, res, r, &ok));
      PetscCall(PetscLogEventEnd(NNL_EVENT_OBSERVE, 0, 0, 0, 0));
      if (!ok) {
        res->status = NNL_STATUS_FAILED;
        res->nrec   = r;
        res->nspec  = PetscMin(res->nspec, sp);
        snprintf(res->message, sizeof(res->message),
                 "overflow or NaN at layer %" PetscInt_FMT " (statistics not finite)", l);
        break;
      }
      if (++r == nrec) {
        PetscCall(PetscLogEventBegin(NNL_EVENT_OBSERVE, 0, 0, 0, 0));
        PetscCall(NNLObserveNormality(net.n, net.m, net.Y, res));
        PetscCall(PetscLogEventEnd(NNL_EVENT_OBSERVE, 0, 0, 0, 0));
      }
    }
    PetscCall(NNLPoll(poll, ctx, &abandon));
    if (abandon) {
      res->status = NNL_STATUS_ABANDONED;
      break;
    }
  }
  PetscCall(NetDestroy(&net));
  PetscCall(PetscFree(slayers));
  res->seconds = MPI_Wtime() - t0;
  *result      = res;
  PetscFunctionReturn(0);
}
