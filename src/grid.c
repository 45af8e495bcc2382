/* The grid: the job's axes expanded in canonical order, stable point ids, the cost model and
 * sharding. */
#define _DEFAULT_SOURCE    /* mmap's MAP_ANONYMOUS and madvise's MADV_HUGEPAGE, which strict C11   \
                              hides */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "nnlimits/grid.h"
#include "nnlimits/limits.h"
#include "nnlimits/rng.h"
#include "nnlimits/shaped.h"
#include "nnlimits/attention.h"
#include "nnlimits/sde.h"
#include "netkernel.h"
#include "nnlimits/fokker_planck.h"

/* The cost model: a task's predicted time in ns of one core of the machine it was fitted on (AMD
   EPYC with AVX-512, 2 cores, Debian 12, OpenBLAS 0.3.21; 2026-12). It orders tasks (largest
   first), balances shards, sizes the scheduler's chunks and extrapolates the ETA, so what matters
   most is that it is right in proportion across task kinds; `plan` also turns it into seconds. The
   constants are least-squares fits (relative error, each job weighted alike) of the per-task times
   the store records (points.seconds). A φ's own cost per element is the activation table's `cost`;
   rank 0's commit of each result is part of its task's cost.
   The projection sampler's and the commit's constants were refitted in 2026-12 by
   tests/bench/fit_cost_model.py: ~100 000 network tasks (without spectra) of six shipped jobs and a
   calibration grid of mlp and resnet, m = 1…16, n = 2…512, L = 2…10^4, relu, tanh, linear, record
   last and all. The kernels had grown faster since the first fit
   (~120 000 tasks, which also covered spectra, dense and ten activations: the other constants are
   its): a shipped job's 1-rank run read 1.10-1.68 of its time, and its 4.6 µs fixed per network was
   1 µs for a tiny one. Refitted: network tasks median 1.07, 80 % within 0.78-1.19, a job's
   0.82-1.20. A commit (16 KB pages, store.c) costs 3.7 µs, 2.0 ns per byte of BLOB and 0.81 µs per
   row besides the point's: with 4 KB pages 10^5 tiny networks took 4.4 µs a task outside the tasks,
   and jobs/makwana_2025_effective_dimension.opts (a row per spectrum value) 0.84 µs a row, which
   the former 5.5 ns per byte of store priced at 0.2 µs. Refitted again (2026-12-05) with the last
   layer's KS distance as a term of its own (C_KS_NM: before, wide shallow networks ran 3-37× over
   their prediction, n = 2^10…2^20, L = 1…4) and wide shallow calibration stores: network tasks
   median 1.06, 80 % within 0.76-1.19, a shipped job's network tasks 0.67-1.05 of their time
   (0.57-1.78 with the former constants in the same run). Its 11.6 ns an element became 8.2
   (refitted alone) when the KS distance stopped sorting (observe.c, KSByBins: 3-5 ns an element by
   itself; the term also carries what the model does not follow of a wide network beyond L2). */
#define C_COMMIT                                                                                   \
  3500.0 /* rank 0's commit of a task's result: fixed, per byte of its BLOBs, per row it adds */
#define C_COMMIT_BLOB 1.9
#define C_COMMIT_ROW  1340.0
#define C_TASK                                                                                     \
  470.0 /* a projection-sampled network: fixed, per layer, per element of its n×m pre-activations \
         */
#define C_LAYER                                                                                    \
  120.0 /* (a normal and the update; φ apart), per n·m², per m³ (the m×m square root) */
#define C_NM  2.0
#define C_NMM 0.086
#define C_M3  0.40
#define C_PHI 1.02 /* × φ's cost: φ in place, and its share of the moments */
#define C_SHAPED_NM                                                                                \
  0.16 /* shaped_mlp's φ (slopes from c±, scaled with the width) per element, beside the row's */
#define C_REC                                                                                      \
  1.0 /* a recorded layer: fixed, per n·m (norms, moments), per n·m² (its Gram)                */
#define C_REC_NM  0.40
#define C_REC_NMM 0.105
#define C_KS_NM                                                                                    \
  8.2 /* the last layer's KS distance (observe.c: each input's n values counted into bins)    */
#define C_SPEC                                                                                     \
  18300.0 /* a spectra layer: fixed, and per flop of its Gram eigenvalues and feature SVD */
#define C_SPEC_FLOP 0.086
#define C_DTASK                                                                                    \
  7200.0 /* the dense sampler: fixed, per layer, per entry of W (its normal), per n²·m (DGEMM: 2 \
          */
#define C_DLAYER                                                                                   \
  68.0 /* flops at ~40 GFLOP/s; the fit cannot separate it from the normals at m <= 16), and   */
#define C_DNORMAL                                                                                   \
  2.3 /* 1.6 × φ's cost per element; its recorded and spectra layers cost 2.5 × the projection's \
       */
#define C_DGEMM 0.05
#define C_DPHI  1.6
#define C_DREC  2.5
/* Limits. With a closed-form dual: a few ns per kernel entry and layer, and the depth-limit ODE's
   set-up (ResNet). By quadrature (the trapezoid rule, NNLGaussDualTrapezoid): time in proportion to
   φ's cost plus the rule's own 7.6 ns; inputs share one correlation, so the work does not grow with
   m past one off-diagonal entry. Fitted (2026-12-03, in log, m = 2) on tanh, swish, softplus,
   depths 8, 256, 1024: ResNet 1.6 / 2.5 / 5.1 ms at depth 8 and 11.5 / 16.7 / 31.6 ms at 1024,
   MLP 1.6 / 0.8 / 4.3 ms at 1024; all within 2.8× (swish's MLP variances decay, and its rule with
   them). The panel rule's fit before was 12 / 86 / 184 ms at depth 8 and 120 / 590 / 1020 ms at
   1024. */
#define C_LIM_DUAL_ODE 2e5
#define C_LIM_DUAL_LAYER                                                                           \
  30.0 /* an MLP layer (ResNet: 10×, the ODE's steps and output), and per kernel entry */
#define C_LIM_DUAL_ENTRY 5.0
#define C_LIM_QUAD_ODE   2.0e5
#define C_LIM_QUAD_RES   1.4e3
#define C_LIM_QUAD_MLP   1.44e2
#define C_LIM_QUAD_DIAG                                                                            \
  0.25 /* m = 1: only the diagonal's one-dimensional integrals (not refitted) */
#define C_LIM_QUAD_PHI 7.6
/* controlled_resnet with its A held in panels (not fitted; measured 2026-12-03, relu, depth 64,
   2^28 elements of A per run): per element of A a layer 0.26, 0.33, 0.40, 0.89 ns at m = 1, 2, 4, 8
   (n = 512) while A stays in cache (n <= 1024, 8 MB), and 0.33 ns more past it (n = 2048: a pass
   over A from memory) */
#define C_HELD_ELEM  0.19
#define C_HELD_NM    0.07
#define C_HELD_MEM   0.33
#define C_HELD_CACHE (16.0 * 1024 * 1024)
#define C_GOURSAT_DUAL_CELL                                                                        \
  25.0 /* a Goursat cell with a closed-form dual (ReLU 20-30 ns, erf 12, gelu 24; not fitted) */
/* a Goursat cell by quadrature (the trapezoid rule): 6.5, 9.7, 17.4 µs for tanh, swish, softplus (φ
   costs 0.77, 7.4, 15), fitted as a + b·cost (2026-12-03, depths 8 and 256, 256 cells; the panel
   rule took 231, 927, 1390 µs) */
#define C_GOURSAT_QUAD_CELL 5.2e3
#define C_GOURSAT_QUAD_PHI  7.7e2
/* SDE tasks: per path and step (ResNet: n·m normals and φ; shaped: an m×m state), and the
   Fokker–Planck solve per cell and step of its own (5e-4). Fitted on the Stage 3 jobs and m = 3
   runs: ResNet n = 2…8, 500 paths × 1000 steps in 0.07-0.11 s; the PDE (400 cells, 8000 steps) ~10
   ms. Shaped, refitted 2026-12-04 (the model read jobs/li_nica_roy_2022_shaped.opts at 1.66 × a
   1-rank run, its SDE tasks 2.2 of its 3.0 s): 223, 446, 665, 1467, 2264 ns a path-step at m = 2,
   3, 4, 6, 8 (1000 paths, width 64, T = 1-2), fitted as a + b per pair (np = m(m+1)/2) within 5 %
   (it had been 0.37 µs at m = 2 and 0.72 at m = 3, fitted as a + b·m³). */
#define C_SDE_RES_NM   2.63 /* per element of n·m, φ apart */
#define C_SDE_RES_STEP 130.0
#define C_SDE_SHP_STEP 33.0
#define C_SDE_SHP_PAIR 65.0
#define C_FP_CELL      4.0
/* shaped_attention (set by hand 2026-12-05 on 1-rank runs at n = 64…1024, depths 16, 128, m = 2, 4,
   8: the plan within 1.23, 1.03, 0.96× of the run at m = 2, 4, 8 (projection; 0.6× at m = 8 before
   C_ATT_KMM took the factor's product), 0.97–1.02× (dense)): a projection layer's queries and keys,
   per element of their 2·n_k·m (normals) and of n_k·m² (their factor's product, the logits), and a
   fixed part; a dense layer's W^Q and W^K as the value's W, and Y Aᵀ per n·m²; an SDE path-step per
   pair (200, 630 ns a path-step at m = 2, 4; 536 at m = 3) */
#define C_ATT_KM       3.0
#define C_ATT_KMM      0.75
#define C_ATT_LAYER    300.0
#define C_ATT_DNMM     0.3
#define C_SDE_ATT_STEP 20.0
#define C_SDE_ATT_PAIR 61.0
/* shaped_transformer (1-rank runs 2026-12-05, n = 64, T = 2, 1000 paths): an SDE path-step took
   315, 990, 1880, 3685 ns at m = 2, 3, 4, 6 (the shaped drift's acos and sincos at every pair
   beside the attention's), fitted per pair, then times 0.83 when the drift was taken once per pair
   (the shipped job's SDE tasks 16.1 → 13.3 s); its MLP sub-block's projection costs C_TR_PROJ times
   the layer model's terms (the model read the shipped job's networks at 1.30 × the run without it,
   the attention's alone at 1.22 ×) */
#define C_SDE_TR_PAIR 154.0
#define C_SDE_TR_STEP -108.0
#define C_TR_PROJ     1.5

/* Layers a task records. */
static double Recorded(const NNLJob *job, const NNLPoint *pt)
{
  return (double)NNLJobRecordCount(job, pt->family, pt->depth);
}

PetscBool NNLPointHasFokkerPlanck(const NNLJob *job, const NNLPoint *pt)
{
  return pt->family == NNL_FAMILY_SHAPED && NNLShapedIsRelu(&job->act[pt->act]) && job->inputs >= 2
           ? PETSC_TRUE
           : PETSC_FALSE;
}

/* Layers a network computes spectra at. */
static double SpectraLayers(const NNLJob *job, const NNLPoint *pt)
{
  return (double)NNLJobSpectraCount(job, pt->family, pt->depth);
}

/* Bytes of store file per row, as measured on the shipped jobs' stores (rows with their keys,
   indexes and the pages' slack): a task's row in points and netlayers with their indexes; a limits
   row (one layer and pair); a spectrum value; a spectra summary row; an SDE path's pair; a
   Fokker–Planck cell of a recorded layer. Arrays stored as BLOBs take 6 % more than their doubles.
 */
#define B_POINT    160.0
#define B_LIMIT    45.0
#define B_SPECTRUM 38.0
#define B_SPECTRA  60.0
#define B_PATH     80.0
#define B_CELL     40.0
#define B_BLOB     1.06

/* What a task adds to the store besides its point's row: its rows of each kind, and the bytes of
   its BLOBs. Both the store's size (NNLPointStoreBytes) and the commit's cost (NNLPointCostModel)
   are priced from it. */
typedef struct {
  double limit, path, cell, spectra,
    spectrum;       /* rows of limits, sde_paths, fokker_planck, spectra, spectrum */
  double netlayers; /* a network's one row of arrays (none if nothing is recorded) */
  double blob;      /* bytes of that row's BLOBs (doubles) */
} StoreShape;

static StoreShape PointStoreShape(const NNLJob *job, const NNLPoint *pt)
{
  const double m = (double)job->inputs, np = m * (m + 1) / 2, nrec = Recorded(job, pt),
               ns = SpectraLayers(job, pt);
  StoreShape sh   = {0};

  switch (pt->kind) {
  case NNL_TASK_LIMIT: sh.limit = nrec * np; break;
  case NNL_TASK_SDE:
    sh.path = (double)job->sde_paths * np;
    sh.cell = NNLPointHasFokkerPlanck(job, pt) ? (double)job->fp_cells * nrec : 0;
    break;
  default: /* per recorded layer its index, q (np), log-norms before and after φ, kurtosis (m each);
              KS at the last; per spectra layer two summaries and the values of both matrices */
    sh.netlayers = nrec > 0 ? 1 : 0;
    sh.blob      = 8.0 * (nrec * (1 + np + 3 * m) + m);
    sh.spectra   = 2 * ns;
    sh.spectrum  = ns * (m + PetscMin((double)pt->width, m));
  }
  return sh;
}

void NNLPointArrays(const NNLJob *job, const NNLPoint *pt, double *value, double *count)
{
  const double m = (double)job->inputs, np = m * (m + 1) / 2, nrec = Recorded(job, pt),
               n = (double)pt->width;

  *value = 0;
  switch (pt->kind) {
  case NNL_TASK_LIMIT: /* the NNGP kernel and the ODE at every recorded layer */
    *count = nrec * (1 + 2 * np);
    break;
  case NNL_TASK_SDE: /* per path V and the log-norms; per recorded time the density */
    *count = (double)job->sde_paths * (np + m) +
             nrec * (1 + (NNLPointHasFokkerPlanck(job, pt) ? (double)job->fp_cells : 0));
    break;
  default: /* the result as NNLResultPack writes it; the sampler's state n×m, and a dense sampler's
              weight panel */
    *value = 8.0 * nrec * np;
    *count = nrec * (1 + np + 3 * m) + m + SpectraLayers(job, pt) * (1 + m + PetscMin(n, m));
    *count =
      PetscMax(PetscMax(*count, n * m), m * (double)job->input_dim); /* the state, the inputs */
    if (NNLPointSampler(job, pt) == NNL_SAMPLER_DENSE) /* its first layer's n×d weights: the
                                                          projection's takes the inputs' Gram */
      *count = PetscMax(*count, n * (double)NNLDenseColumns(pt->width, job->inputs,
                                                            PetscMax(pt->width, job->input_dim)));
    if (NNLFamilyIsAttention(
          pt->family)) { /* the queries' and keys' n_k×m, and W^Q's panel (NNLNetCreate) */
      const PetscInt nk = NNLAttentionKeyWidth(job, pt->width);
      *count =
        PetscMax(*count, (double)nk * (NNLPointSampler(job, pt) == NNL_SAMPLER_DENSE
                                         ? (double)NNLDenseColumns(nk, job->inputs, pt->width)
                                         : m));
    }
  }
}

double NNLPointStoreBytes(const NNLJob *job, const NNLPoint *pt)
{
  const StoreShape sh = PointStoreShape(job, pt);

  return B_POINT + B_LIMIT * sh.limit + B_PATH * sh.path + B_CELL * sh.cell +
         B_SPECTRA * sh.spectra + B_SPECTRUM * sh.spectrum + B_BLOB * sh.blob;
}

NNLSamplerType NNLPointSampler(const NNLJob *job, const NNLPoint *pt)
{
  if (job->sampler != NNL_SAMPLER_AUTO) return job->sampler;
  if (pt->family == NNL_FAMILY_CONTROLLED)
    return NNL_SAMPLER_DENSE; /* its weights are shared across layers */
  return job->inputs < pt->width ? NNL_SAMPLER_PROJECTION : NNL_SAMPLER_DENSE;
}

/* A limit task: the NNGP recursion per layer and (ResNet) the depth-limit ODE; it stores both at
 * every layer. */
double NNLPointRecordBytes(const NNLJob *job, const NNLPoint *pt)
{
  const double m = (double)job->inputs, np = m * (m + 1) / 2;

  if (pt->kind == NNL_TASK_LIMIT)
    return 2 * 8.0 * Recorded(job, pt) * np * 2; /* q of the NNGP and of the ODE */
  if (pt->kind == NNL_TASK_SDE) return 0;
  return 2 * 8.0 * Recorded(job, pt) *
         (np + 3 * m); /* the Gram, log-norms and kurtosis, and their copy for the store */
}

static void LimitCostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  const NNLActivation *act = &job->act[pt->act];
  const double         m = (double)job->inputs, np = m * (m + 1) / 2, L = (double)pt->depth;
  const PetscBool      res = pt->family == NNL_FAMILY_RESNET ? PETSC_TRUE : PETSC_FALSE;

  if (act->def->dual)
    *cost =
      (res ? C_LIM_DUAL_ODE : 0) + L * (C_LIM_DUAL_LAYER * (res ? 10 : 1) + C_LIM_DUAL_ENTRY * np);
  else {
    /* a quadrature per distinct (q_aa, q_bb, q_ab) a layer (NNLLimitDual): the diagonal's, and one
       per distinct input correlation (one in most jobs: the factor 1) */
    const double k = (double)job->input_corr_distinct;
    const double w =
      (act->def->cost + C_LIM_QUAD_PHI) *
      (m > 1 ? (k > 1 ? C_LIM_QUAD_DIAG + k * (1 - C_LIM_QUAD_DIAG) : 1.0) : C_LIM_QUAD_DIAG);
    *cost = w * ((res ? C_LIM_QUAD_ODE : 0) + L * (res ? C_LIM_QUAD_RES : C_LIM_QUAD_MLP));
  }
  *mem = NNLPointRecordBytes(job, pt) + (1 << 20);
  if (pt->family == NNL_FAMILY_CONTROLLED) { /* two Goursat marches, L² and N² cells, one F each
                                                (pairs alike once: the diagonal's half square, and a
                                                square per distinct input correlation) */
    const double N     = (double)NNLLimitGoursatCells(pt->depth),
                 cells = (L * L + N * N) * (m > 1 ? 0.5 + (double)job->input_corr_distinct : 0.5);
    *cost              = cells * (act->def->dual ? C_GOURSAT_DUAL_CELL
                                                 : C_GOURSAT_QUAD_CELL + C_GOURSAT_QUAD_PHI * act->def->cost);
    *mem += 8.0 * (m + 2) * (N + 1);
  }
}

static void SDECostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  const double n = (double)pt->width, m = (double)job->inputs, paths = (double)job->sde_paths;
  double T = NNLSDETime(pt->family, pt->width, pt->depth, pt->depth), steps = ceil(T / job->sde_dt),
         per;

  if (pt->family == NNL_FAMILY_RESNET)
    per = n * m * (C_SDE_RES_NM + job->act[pt->act].def->cost) + C_SDE_RES_STEP;
  else if (pt->family == NNL_FAMILY_ATTENTION)
    per = C_SDE_ATT_PAIR * m * (m + 1) / 2 + C_SDE_ATT_STEP;
  else if (pt->family == NNL_FAMILY_TRANSFORMER)
    per = C_SDE_TR_PAIR * m * (m + 1) / 2 + C_SDE_TR_STEP;
  else
    per = C_SDE_SHP_PAIR * m * (m + 1) / 2 + C_SDE_SHP_STEP;
  *cost =
    paths * steps * per +
    (NNLPointHasFokkerPlanck(job, pt) ? (ceil(T / NNL_FP_DT) + 1) * C_FP_CELL * job->fp_cells : 0);
  if (NNLFamilyIsAttention(pt->family))
    *cost += paths * n * m * C_NM; /* each path's initial Gram: n·m normals */
  /* paths' results, one path's state, and (shaped) the density at every recorded layer plus the
   * PDE's matrix and vectors */
  *mem = 8.0 * (paths * (m * m + 2 * m) + 8 * n * m) + (1 << 20);
  if (NNLPointHasFokkerPlanck(job, pt)) *mem += 8.0 * job->fp_cells * (2.0 * (pt->depth + 1) + 20);
}

static void NetworkCostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  const double n = (double)pt->width, m = (double)job->inputs, d = (double)job->input_dim;
  const double layers  = (double)(pt->depth - NNLFamilyFirstLayer(pt->family) + 1),
               phi     = job->act[pt->act].def->cost;
  const double    nrec = Recorded(job, pt), ns = SpectraLayers(job, pt);
  const PetscBool att = NNLFamilyIsAttention(pt->family);
  const PetscInt  nki =
    att ? NNLAttentionKeyWidth(job, pt->width) : 0; /* the attention blocks' key width */
  const double nk = (double)nki;
  double       rec, ks, spec = 0, c;

  rec = nrec * (C_REC + C_REC_NM * n * m + C_REC_NMM * n * m * m);
  ks  = C_KS_NM * n * m; /* once a task, whatever its sampler (sorting, it was 40 % of a one-layer
                            network at n = 2^20) */
  /* spectra: Gram n·m², its eigenvalues ~(4/3 + 1)·m³, the feature SVD ~4·n·m² (n ≥ m; roles swap
   * otherwise) */
  if (ns > 0) {
    double lo = PetscMin(n, m), hi = PetscMax(n, m);
    spec = ns * (C_SPEC + C_SPEC_FLOP * (n * m * m + 2.5 * m * m * m + 4 * hi * lo * lo));
  }
  if (NNLPointSampler(job, pt) == NNL_SAMPLER_PROJECTION) {
    c = C_TASK +
        layers * (C_LAYER + n * m * (C_NM + C_PHI * phi) + C_NMM * n * m * m + C_M3 * m * m * m) +
        rec + spec + ks;
    if (pt->family == NNL_FAMILY_SHAPED) c += layers * C_SHAPED_NM * n * m;
    if (att) c += (layers - 1) * (C_ATT_LAYER + 2 * nk * m * C_ATT_KM + nk * m * m * C_ATT_KMM);
    if (NNLFamilyIsTransformer(pt->family)) /* the MLP sub-block: a second projection layer, its
                                               hidden layer's normals, φ_s and Gram */
      c += (layers - 1) * C_TR_PROJ *
           (C_LAYER + n * m * (2 * C_NM + C_PHI * phi + C_SHAPED_NM) + 2 * C_NMM * n * m * m +
            C_M3 * m * m * m);
    /* Y, Φ and Z (n×m each); the KS distance's copy and scratch of an input (2n), or a fourth n×m,
       whichever is more; the inputs' and the layer's m×m factors (4m²) */
    *mem = 8.0 * (3 * n * m + PetscMax(n * m, 2 * n) + 4 * m * m);
    if (att)
      *mem += 8.0 * (3 * nk * m + 4 * m * m + (NNLFamilyIsTransformer(pt->family) ? n * m : 0));
  } else {
    /* the first layer's W is n×d, the others n×n (the controlled ResNet's one A, drawn once when it
     * holds it) */
    const PetscBool held = pt->family == NNL_FAMILY_CONTROLLED && NNLNetHoldsShared(pt->width)
                             ? PETSC_TRUE
                             : PETSC_FALSE;
    /* the weights: drawn at every layer and multiplied (the held A: drawn once, then a pass over it
     * a layer) */
    const double weights =
      held ? (n * d + n * n) * C_DNORMAL + n * d * C_DGEMM * m +
               (layers - 1) * n * n *
                 (C_HELD_ELEM + C_HELD_NM * m + (8 * n * n > C_HELD_CACHE ? C_HELD_MEM : 0))
           : (n * d + (layers - 1) * n * n) * (C_DNORMAL + C_DGEMM * m);
    /* summed in the order of the one expression this was: the other families' costs keep their bits
     */
    c = C_DTASK + layers * (C_DLAYER + C_DPHI * phi * n * m) + weights + C_DREC * (rec + spec) + ks;
    if (att) /* W^Q and W^K (nk×n each) at every layer after the embedding, and Y Aᵀ */
      c += (layers - 1) *
           (C_ATT_LAYER + 2 * nk * n * (C_DNORMAL + C_DGEMM * m) + C_ATT_DNMM * n * m * m);
    if (NNLFamilyIsTransformer(pt->family)) /* the MLP sub-block's W₁ and W₂, and φ_s */
      c += (layers - 1) * (C_DLAYER + 2 * n * n * (C_DNORMAL + C_DGEMM * m) + C_DPHI * phi * n * m);
    *mem = 8.0 * (n * (double)NNLDenseColumns(pt->width, job->inputs,
                                              PetscMax(pt->width, job->input_dim)) +
                  4 * n * m + d * m + 4 * m * m);
    if (held && m <= NNL_SMALL_M) *mem += 8.0 * n * n;
    if (att) /* queries, keys, and the chunk of W^Q (all of it past NNL_SMALL_M) */
      *mem +=
        8.0 * (2 * nk * m + 4 * m * m + nk * (double)NNLDenseColumns(nki, job->inputs, pt->width) +
               (NNLFamilyIsTransformer(pt->family) ? n * m : 0));
  }
  *cost = c;
  *mem += NNLPointRecordBytes(job, pt) + (1 << 20);
  if (job->spectra_mode != NNL_RECORD_NONE)
    *mem +=
      8.0 * (n * m + 6 * m * m + 8 * PetscMin(n, m) * PetscMax(n, m)); /* LAPACK copies, work */
}

double NNLPointCommitCost(const NNLJob *job, const NNLPoint *pt)
{
  StoreShape sh = PointStoreShape(job, pt);

  return C_COMMIT + C_COMMIT_BLOB * sh.blob +
         C_COMMIT_ROW * (sh.limit + sh.path + sh.cell + sh.spectra + sh.spectrum + sh.netlayers);
}

void NNLPointCostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  if (pt->kind == NNL_TASK_LIMIT)
    LimitCostModel(job, pt, cost, mem);
  else if (pt->kind == NNL_TASK_SDE)
    SDECostModel(job, pt, cost, mem);
  else
    NetworkCostModel(job, pt, cost,
                     mem); /* and the benchmarks' no-op tasks, stored like an empty network */
  *cost += NNLPointCommitCost(job, pt);
}

void NNLPointCanonical(const NNLJob *job, const NNLPoint *pt, char *buf, size_t len)
{
  if (pt->kind == NNL_TASK_SDE) {
    snprintf(buf, len, "sde;family=%s;activation=%s;width=%" PetscInt_FMT ";depth=%" PetscInt_FMT,
             NNLFamilies[pt->family], NNLJobEntryName(job, pt->family, pt->act), pt->width,
             pt->depth);
    return;
  }
  if (pt->kind == NNL_TASK_LIMIT) {
    snprintf(buf, len, "limit;family=%s;activation=%s;depth=%" PetscInt_FMT,
             NNLFamilies[pt->family], NNLJobEntryName(job, pt->family, pt->act), pt->depth);
    return;
  }
  snprintf(buf, len,
           "family=%s;activation=%s;width=%" PetscInt_FMT ";depth=%" PetscInt_FMT
           ";seed=%" PetscInt_FMT,
           NNLFamilies[pt->family], NNLJobEntryName(job, pt->family, pt->act), pt->width, pt->depth,
           pt->seed);
}

/* One task of the grid: its parameters, then its id (hash of its canonical text) and its predicted
 * cost. */
static void PointSet(const NNLJob *job, NNLPoint *pt, PetscInt ord, NNLTaskKind kind,
                     NNLFamily family, PetscInt act, PetscInt width, PetscInt depth, PetscInt seed)
{
  char canon[512];

  *pt        = (NNLPoint){0};
  pt->ord    = ord;
  pt->kind   = kind;
  pt->family = family;
  pt->act    = act;
  pt->width  = width;
  pt->depth  = depth;
  pt->seed   = seed;
  NNLPointCanonical(job, pt, canon, sizeof(canon));
  pt->id = NNLHash64(canon, strlen(canon));
  NNLPointCostModel(job, pt, &pt->cost, &pt->mem);
}

/* v in decimal, as printf's %d writes it, into the end of buf[24]; returns its first character. Two
   digits a step (a point's decoding is on every task's path). */
static const char *Decimal(PetscInt v, char buf[24], size_t *len)
{
  static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "6869707172737475767778798081828384858687888990919293949596979899";
  unsigned long long u      = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  char              *p      = buf + 24;

  for (; u >= 100; u /= 100) {
    p -= 2;
    memcpy(p, pairs + 2 * (u % 100), 2);
  }
  if (u >= 10) {
    p -= 2;
    memcpy(p, pairs + 2 * u, 2);
  } else
    *--p = (char)('0' + u);
  if (v < 0) *--p = '-';
  *len = (size_t)(buf + 24 - p);
  return p;
}

/* The id of network cell c's point of the seed whose digits are d[0..len): its canonical text is
   the cell's prefix and those digits. One definition for the decoding and for the id check. */
static inline uint64_t NetId(const NNLGrid *g, PetscInt c, const char *d, size_t len)
{
  return NNLHash64Final(NNLHash64Update(g->prefix[c], d, len));
}

/* The hash state of network cell c's text continued by the digits of tens (a seed's but its last,
   seed >= 10), and the id of that seed from it: its last digit hashed. NNLGridPoint and
   NNLGridCheckIds go through these. */
static uint64_t TensState(const NNLGrid *g, PetscInt c, PetscInt tens)
{
  char        buf[24];
  size_t      len;
  const char *d = Decimal(tens, buf, &len);
  return NNLHash64Update(g->prefix[c], d, len);
}

static inline uint64_t LastDigitId(uint64_t state, PetscInt seed)
{
  char last = (char)('0' + seed % 10);
  return NNLHash64Final(NNLHash64Update(state, &last, 1));
}

/* NNLGridPoint's memory: the cell of its last network point (no division while the points it
   decodes are of one cell), and the hash state of the cell's prefix continued by that point's seed
   / 10 (a seed's id then needs its last digit hashed alone). The scheduler decodes a cell's points
   one after another: 10^5 tiny tasks, a no-op's cost less its empty result 0.028 -> ~0.02 us
   (decoding alone 29 -> 15 ns at 10^6 seeds). */
struct NNLGridMemo {
  PetscInt cell, first; /* first: the cell's first ord (PETSC_MAX_INT: no cell yet) */
  PetscInt tens;        /* -1: no state */
  uint64_t state;
};

void NNLGridPoint(const NNLGrid *g, PetscInt k, NNLPoint *pt)
{
  PetscInt     c, j, ns;
  char         buf[24];
  size_t       len;
  const char  *d;
  NNLGridMemo *m = g->memo;

  if (g->points)
    *pt = g->points[k];
  else if (k >= g->nnets)
    *pt = g->cells[NNLGridCellOf(g, k)];
  else {
    ns = g->job->nseed;
    j  = k - m->first;
    if (j < 0 || j >= ns) { /* another cell */
      c        = k / ns;
      j        = k - c * ns;
      m->cell  = c;
      m->first = c * ns;
      m->tens  = -1;
    } else
      c = m->cell;
    *pt      = g->cells[c];
    pt->ord  = k;
    pt->seed = g->job->seed[j];
    if (pt->seed < 10) { /* a negative seed too: its '-' is not a prefix of its tens' digits */
      d      = Decimal(pt->seed, buf, &len);
      pt->id = NetId(g, c, d, len);
    } else {
      if (m->tens != pt->seed / 10) {
        m->tens  = pt->seed / 10;
        m->state = TensState(g, c, m->tens);
      }
      pt->id = LastDigitId(m->state, pt->seed);
    }
  }
}

PetscErrorCode NNLGridCreate(const NNLJob *job, PetscBool expand, NNLGrid **grid)
{
  NNLGrid  *g;
  double    ncnet = 0, nlim = 0, sdes = 0, nets, total;
  PetscInt  c = 0;
  NNLPoint *pts;
  char      canon[512];

  PetscFunctionBegin;
  /* per (family, activation entry): the entries of settings a family does not use have no cells of
     it, and the ResNet's SDE task needs α = 1/2, which a swept -branch_alpha varies */
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact; a++) {
      if (!NNLJobEntryApplies(job, job->family[f], a)) continue;
      ncnet += (double)job->nwidth * job->ndepth;
      nlim += (double)job->ndepth;
      if (NNLJobHasSDE(job, job->family[f], a)) sdes += (double)job->nwidth * job->ndepth;
    }
  nets  = ncnet * job->nseed;
  total = nets + nlim + sdes;
  PetscCheck(
    nets <= 1e8, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
    "the grid has %.3g points, more than 1e8 (split it into several jobs or use fewer seeds)",
    nets);
  /* Rank 0 holds the whole grid: it must fit in one rank's budget before it is allocated (checked
     on every rank alike, so that all refuse together). */
  PetscCheck(total * NNL_GRID_BYTES_PER_POINT <= job->mem_budget, PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT,
             "the grid has %.3g points, %.3g MB on rank 0, more than the budget of %.3g MB "
             "(-mem_budget_mb; split the job)",
             total, total * NNL_GRID_BYTES_PER_POINT / 1048576.0, job->mem_budget / 1048576.0);
  PetscCall(PetscNew(&g));
  g->job     = job;
  g->npoints = (PetscInt)total;
  g->nnets   = (PetscInt)nets;
  g->nsde    = (PetscInt)sdes;
  g->nlimits = (PetscInt)nlim;
  g->ncells  = (PetscInt)ncnet + g->nlimits + g->nsde;
  PetscCall(PetscMalloc1(g->ncells, &g->cells));
  PetscCall(PetscCalloc1(g->ncells, &g->prefix));
  PetscCall(PetscNew(&g->memo));
  g->memo->first = PETSC_MAX_INT;
  g->memo->tens  = -1;
  /* a network cell's canonical text ends with "seed=" and the seed's digits: its prefix is the text
   * to the '=' */
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact; a++)
      for (PetscInt w = 0; w < job->nwidth && NNLJobEntryApplies(job, job->family[f], a); w++)
        for (PetscInt d = 0; d < job->ndepth; d++, c++) {
          PointSet(job, &g->cells[c], c * job->nseed, NNL_TASK_NETWORK, job->family[f], a,
                   job->width[w], job->depth[d], job->seed[0]);
          NNLPointCanonical(job, &g->cells[c], canon, sizeof(canon));
          g->prefix[c] =
            NNLHash64Update(NNL_HASH64_INIT, canon, (size_t)(strrchr(canon, '=') - canon) + 1);
        }
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact; a++)
      for (PetscInt d = 0; d < job->ndepth && NNLJobEntryApplies(job, job->family[f], a); d++, c++)
        PointSet(job, &g->cells[c], g->nnets + c - (PetscInt)ncnet, NNL_TASK_LIMIT, job->family[f],
                 a, 0, job->depth[d], 0);
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact; a++)
      for (PetscInt w = 0; w < job->nwidth && NNLJobEntryApplies(job, job->family[f], a) &&
                           NNLJobHasSDE(job, job->family[f], a);
           w++)
        for (PetscInt d = 0; d < job->ndepth; d++, c++)
          PointSet(job, &g->cells[c], g->nnets + c - (PetscInt)ncnet, NNL_TASK_SDE, job->family[f],
                   a, job->width[w], job->depth[d], 0);
  *grid = g;
  if (!expand) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(g->npoints, &pts));
  for (PetscInt k = 0; k < g->npoints; k++)
    NNLGridPoint(g, k, &pts[k]); /* decoded: g->points is not set yet */
  g->points = pts;
  PetscCall(NNLGridCheckIds(g));
  PetscFunctionReturn(0);
}

/* Arrays of 256 KB or more that rank 0 writes once (the id check's, a shard's indices): in 2 MB
   transparent huge pages where the kernel allows them (MADV_HUGEPAGE; Linux's default "madvise"
   mode). Touching a fresh 4 KB page costs ~11 µs on this VM (a PVM guest: every fault goes through
   the hypervisor), a fresh 2 MB huge page ~0.14 ms, 0.27 µs per 4 KB: the id check of 10^5 points
   spent ~4 ms of its ~8 in page faults. On bare metal (~0.2 µs a fault) a huge page costs at most
   ~0.1 ms more than the small pages it replaces, once a run. A header before the array says how to
   free it. */
#define HUGE_PAGE  ((size_t)2 << 20)
#define BIG_HEADER ((size_t)64) /* keeps the array 64-byte aligned */
static PetscErrorCode BigAlloc(size_t bytes, void **p)
{
  char  *m   = NULL;
  size_t len = 0;

  PetscFunctionBegin;
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
  if (bytes >= HUGE_PAGE / 8) {
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

static PetscErrorCode BigFree(void *p)
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

PetscErrorCode NNLGridFreeIndices(PetscInt **idx)
{
  PetscFunctionBegin;
  PetscCall(BigFree(*idx));
  *idx = NULL;
  PetscFunctionReturn(0);
}

int NNLGridCmpId(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

#define ID_WINDOW                                                                                  \
  8 /* ids of one bucket are compared with the next ID_WINDOW - 1 (see NNLGridCheckIds) */

PetscErrorCode NNLGridCheckIds(const NNLGrid *g)
{
  uint64_t *ids, *by, *start, same = 0;
  PetscInt  nb, n = g->npoints;
  int       bits = 4;
  void     *mem;

  PetscFunctionBegin;
  /* Ids key the random streams and the store: two points sharing one would silently share data.
     Equal ids share their top bits: the ids go into buckets by those (a counting sort; ~4 ids a
     bucket). Two equal ids of a bucket of at most ID_WINDOW are fewer than ID_WINDOW apart: every
     id is compared with the next ID_WINDOW - 1, without a branch, and the rare larger buckets are
     sorted first (equal ids then neighbours). 11-14 ns a point at 10^5 points; sorting each bucket
     instead took 19 (its branches mispredicted), a qsort of all ids 80 (220 at 3·10^6), an
     open-addressing hash table 26-36 (a mispredicted probe waits for its cache miss). */
  while (bits < 30 && ((PetscInt)1 << (bits + 2)) < n) bits++;
  nb = (PetscInt)1 << bits;
  PetscCall(BigAlloc(sizeof(uint64_t) * (2 * (size_t)n + (size_t)nb + 1), &mem));
  ids   = mem;
  by    = ids + n;
  start = by + n;
  memset(start, 0, sizeof(uint64_t) * ((size_t)nb + 1));
  if (g->points)
    for (PetscInt k = 0; k < n; k++) ids[k] = g->points[k].id;
  else { /* in any order: seed by seed for all network cells, from each cell's state of the seed's
            tens (kept while the seeds share it, as in a range); then the other tasks' */
    PetscInt  nc = g->ncells - g->nlimits - g->nsde, k = 0, tens = -1;
    uint64_t *st;
    PetscCall(PetscMalloc1(nc, &st));
    for (PetscInt s = 0; s < g->job->nseed; s++) {
      PetscInt seed = g->job->seed[s];
      if (seed < 10) {
        char        buf[24];
        size_t      dl;
        const char *d = Decimal(seed, buf, &dl);
        for (PetscInt c = 0; c < nc; c++) ids[k++] = NetId(g, c, d, dl);
        continue;
      }
      if (seed / 10 != tens)
        for (PetscInt c = 0; c < nc; c++) st[c] = TensState(g, c, seed / 10);
      tens = seed / 10;
      for (PetscInt c = 0; c < nc; c++) ids[k++] = LastDigitId(st[c], seed);
    }
    PetscCall(PetscFree(st));
    for (PetscInt c = nc; c < g->ncells; c++) ids[k++] = g->cells[c].id;
  }
  for (PetscInt k = 0; k < n; k++) start[(ids[k] >> (64 - bits)) + 1]++;
  for (PetscInt b = 0; b < nb; b++) start[b + 1] += start[b];
  for (PetscInt k = 0; k < n; k++)
    by[start[ids[k] >> (64 - bits)]++] = ids[k]; /* start[b]: now bucket b's end */
  for (PetscInt b = 0, lo = 0; b < nb; lo = (PetscInt)start[b++])
    if ((PetscInt)start[b] - lo > ID_WINDOW)
      qsort(by + lo, (size_t)((PetscInt)start[b] - lo), sizeof(uint64_t), NNLGridCmpId);
  for (PetscInt k = 0; k + ID_WINDOW <= n; k++)
    for (int d = 1; d < ID_WINDOW; d++) same |= by[k] == by[k + d];
  for (PetscInt k = PetscMax(n - ID_WINDOW, 0) + 1; k < n;
       k++) /* the last few, whose window the array cuts short */
    for (PetscInt j = PetscMax(n - ID_WINDOW, 0); j < k; j++) same |= by[j] == by[k];
  PetscCall(BigFree(mem));
  PetscCheck(!same, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "point id collision"); /* after the free: a caller may go on */
  PetscFunctionReturn(0);
}

PetscErrorCode NNLGridDestroy(NNLGrid **grid)
{
  PetscFunctionBegin;
  if (!*grid) PetscFunctionReturn(0);
  PetscCall(PetscFree((*grid)->points));
  PetscCall(PetscFree((*grid)->cells));
  PetscCall(PetscFree((*grid)->prefix));
  PetscCall(PetscFree((*grid)->memo));
  PetscCall(PetscFree(*grid));
  PetscFunctionReturn(0);
}

static const NNLGrid *sort_grid; /* qsort has no context argument in C11 */

/* points (or cells, by their first points) by decreasing cost, ties by ord */
static int CmpCostDesc(const void *a, const void *b)
{
  PetscInt i = *(const PetscInt *)a, j = *(const PetscInt *)b;
  double   x = NNLGridCost(sort_grid, i), y = NNLGridCost(sort_grid, j);
  if (x != y) return x > y ? -1 : 1;
  return (i > j) - (i < j);
}

/* Min-heap of shards by (load, index): the least-loaded shard takes the next largest point. */
typedef struct {
  double   load;
  PetscInt shard;
} Bin;

static int BinLess(const Bin *a, const Bin *b)
{
  return a->load < b->load || (a->load == b->load && a->shard < b->shard);
}

static void SiftDown(Bin *h, PetscInt n, PetscInt i)
{
  for (;;) {
    PetscInt l = 2 * i + 1, r = l + 1, s = i;
    Bin      t;
    if (l < n && BinLess(&h[l], &h[s])) s = l;
    if (r < n && BinLess(&h[r], &h[s])) s = r;
    if (s == i) return;
    t    = h[i];
    h[i] = h[s];
    h[s] = t;
    i    = s;
  }
}

PetscErrorCode NNLGridShardEach(const NNLGrid *grid, PetscInt k,
                                PetscErrorCode (*fn)(void *ctx, PetscInt point, PetscInt shard),
                                void *ctx)
{
  PetscInt *cell, nb;
  Bin      *heap;

  PetscFunctionBegin;
  PetscCheck(k >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%" PetscInt_FMT " shards", k);
  /* The points by decreasing cost, ties by ord, are the cells in that order (a cell's cost is its
     points', and its points' ords are consecutive from its own), each with its points in ord order:
     a sort of the cells alone. */
  PetscCall(PetscMalloc1(grid->ncells, &cell));
  /* Only the first N of k shards can take any of N points (an empty shard is the least loaded,
     lowest index first): a heap of min(k, N) bins assigns as k would (-shard 0/2147483647 allocated
     34 GB for it). */
  nb = PetscMax(1, PetscMin(k, grid->npoints));
  PetscCall(PetscMalloc1(nb, &heap));
  for (PetscInt c = 0; c < grid->ncells; c++)
    cell[c] = grid->cells[c].ord; /* each cell by its first point */
  sort_grid = grid;
  qsort(cell, (size_t)grid->ncells, sizeof(PetscInt), CmpCostDesc);
  for (PetscInt s = 0; s < nb; s++) heap[s] = (Bin){0.0, s};
  for (PetscInt c = 0; c < grid->ncells; c++) {
    const NNLPoint *cp = &grid->cells[NNLGridCellOf(grid, cell[c])];
    for (PetscInt p = cp->ord, end = p + (cp->ord < grid->nnets ? grid->job->nseed : 1); p < end;
         p++) {
      PetscErrorCode ierr = fn(ctx, p, heap[0].shard);
      if (ierr) PetscCall(PetscFree(heap));
      if (ierr) PetscCall(PetscFree(cell));
      PetscCall(ierr);
      heap[0].load += cp->cost;
      if (nb > 1) SiftDown(heap, nb, 0);
    }
  }
  PetscCall(PetscFree(heap));
  PetscCall(PetscFree(cell));
  PetscFunctionReturn(0);
}

typedef struct {
  PetscInt i, cnt, *mine;
} ShardPick;

static PetscErrorCode PickShard(void *ctx, PetscInt point, PetscInt shard)
{
  ShardPick *p = (ShardPick *)ctx;
  if (shard == p->i) {
    if (p->mine) p->mine[p->cnt] = point;
    p->cnt++;
  }
  return 0;
}

PetscErrorCode NNLGridShard(const NNLGrid *grid, PetscInt i, PetscInt k, PetscInt *n,
                            PetscInt **idx)
{
  ShardPick pick = {i, 0, NULL};

  PetscFunctionBegin;
  PetscCheck(k >= 1 && i >= 0 && i < k, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "shard %" PetscInt_FMT "/%" PetscInt_FMT, i, k);
  if (idx) PetscCall(BigAlloc(sizeof(PetscInt) * (size_t)grid->npoints, (void **)&pick.mine));
  PetscCall(NNLGridShardEach(grid, k, PickShard, &pick));
  *n = pick.cnt;
  if (idx) *idx = pick.mine;
  PetscFunctionReturn(0);
}
