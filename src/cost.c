/* The cost model: a task's predicted time and memory, its store bytes and its commit (the grid
 * orders, shards and plans by them). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "nnlimits/grid.h"
#include "nnlimits/limits.h"
#include "nnlimits/rng.h"
#include "nnlimits/shaped.h"
#include "nnlimits/attention.h"
#include "nnlimits/sde.h"
#include "nnlimits/spectra.h"
#include "netkernel.h"
#include "sdelanes.h"
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
   0.82-1.20. A commit (16 KB pages, storeschema.c) costs 3.7 µs, 2.0 ns per byte of BLOB and 0.81
   µs per row besides the point's: with 4 KB pages 10^5 tiny networks took 4.4 µs a task outside the
   tasks, and jobs/makwana_2025_effective_dimension.opts (a row per spectrum value) 0.84 µs a row,
   which the former 5.5 ns per byte of store priced at 0.2 µs. Refitted again (2026-12-05) with the
   last layer's KS distance as a term of its own (C_KS_NM: before, wide shallow networks ran 3-37×
   over their prediction, n = 2^10…2^20, L = 1…4) and wide shallow calibration stores: network tasks
   median 1.06, 80 % within 0.76-1.19, a shipped job's network tasks 0.67-1.05 of their time
   (0.57-1.78 with the former constants in the same run). Its 11.6 ns an element became 8.2
   (refitted alone) when the KS distance stopped sorting (observe.c, KSByBins: 3-5 ns an element by
   itself; the term also carries what the model does not follow of a wide network beyond L2).
   Refitted again (2026-12-06) with C_DRAW, a request of the generator, which a narrow network's
   layers now share (NNLRngNormalsLayers): C_LAYER 120 -> 54, C_DRAW 107; network tasks median 1.12
   -> 1.06, 80 % within 0.85-1.16; hayou_2022_fixed_width's networks 1.59 -> 0.93. Its commits: 3.3
   µs, 2.0 ns a BLOB byte, 0.89 µs a row (was 3.5, 1.9 and 1.34: a store's time outside its tasks,
   median 1.10 -> 1.01 of the model; jobs/makwana_2025_effective_dimension.opts, a row per spectrum
   value, read 1.47 of a 1-rank run in a fast spell of this VM and 0.99 in a slow one). */
#define C_COMMIT                                                                                   \
  3300.0 /* rank 0's commit of a task's result: fixed, per byte of its BLOBs, per row it adds */
#define C_COMMIT_BLOB 2.0
#define C_COMMIT_ROW  890.0
#define C_TASK                                                                                     \
  714.0 /* a projection-sampled network: fixed, per layer, per element of its n×m pre-activations \
         */
#define C_LAYER                                                                                    \
  54.0 /* (a normal and the update; φ apart), per n·m², per m³ (the m×m square root) */
#define C_NM  1.85
#define C_NMM 0.121
#define C_M3  0.40
#define C_PHI 0.97 /* × φ's cost: φ in place, and its share of the moments */
#define C_DRAW                                                                                     \
  107.0 /* a request of the generator: a layer's, or a narrow network's layers ahead together      \
         (NNLRngLayersPerBatch) */
/* shaped_mlp's φ per element beside the row's: 0.36 ns while smooth shaping called φ a value at a
   time; 0 since it takes φ's array form (fit_cost_model.py fitted 0 twice on 2026-12-06, and the
   model read jobs/li_nica_roy_2022_shaped.opts at 1.27–1.32 of a 1-rank run with 0.36, the other
   jobs at 0.91–1.09) */
#define C_SHAPED_NM 0.0
#define C_REC                                                                                      \
  28.0 /* a recorded layer: fixed, per n·m (norms, moments), per n·m² (its Gram)                */
#define C_REC_NM  0.48
#define C_REC_NMM 0.094
#define C_KS_NM                                                                                    \
  7.1 /* the last layer's KS distance (observe.c: each input's n values counted into bins)    */
/* A spectra layer (net.c, LayerSpectra): its Gram YᵀY/n (dsyrk past NNL_SMALL_M), the Gram's
   eigenvalues (dsyevd, values only) and Φ's singular values (dgesdd, values only: a QR first when
   its rows are 11/6 of its columns or more, as LAPACK does, then the bidiagonal reduction), each
   on the task's rank or on its spectra team (NNLSpectraEig/SVD: -spectra_team_size T > 1 ranks,
   from -spectra_team_min rows). Measured 2026-12-07 (CPU time, one OpenBLAS thread, best of 2-300
   repetitions; load 2-7 on the 2 cores): dsyevd 0.098, 0.37, 1.69, 9.0, 75, 588 ms, 1.72, 4.33 s
   at m = 64 … 4096 (a fixed part, m², m³ within 0.89–1.17); dgesdd 0.06-0.76 ms (64×32 … 1024×64),
   21 ms (16384×64), 13 ms (10^5×16), 24, 263 ms, 2.16, 6.40, 19.5 s (512² … 4096²), 378 ms
   (16384×512), fitted per element, QR and bidiagonal flop within 0.61–1.33; dsyrk 0.96, 27.6, 330
   ms at n = m = 256, 1024, 3000. The former single price, 0.086 ns a flop of n·m² + 2.5 m³ + 4
   n·m² and 2.5× that with the dense sampler, read one 3000×3000 spectrum (mlp, relu, 3000 inputs,
   width 3000: dense) at 2.8× its time. */
#define C_SPEC      18300.0 /* fixed: the layer's scans, copies and LAPACK's queries */
#define C_SPEC_GRAM 0.015   /* per n·m² */
#define C_EIG       44900.0 /* dsyevd: fixed, per m², per m³ */
#define C_EIG_M2    9.8
#define C_EIG_M3    0.059
#define C_SVD       39400.0 /* dgesdd: fixed, per element, per QR flop, per bidiagonal flop */
#define C_SVD_RC    7.5
#define C_SVD_QR    0.036
#define C_SVD_BID   0.083
/* A spectra team's ScaLAPACK (pdsyevd, which computes the eigenvectors too; pdgesvd, its
   bidiagonal reduction 4 r·c² − 4/3 c³ with no QR first), the matrix's distribution from the leader
   included, in core time: the team's k ranks are held through it. Measured at k = 2 only
   (tests/bench/bench_spectra at 2 ranks, the machine shared, load 5-7; the busiest rank's CPU time
   with mpi_yield_when_idle): pdsyevd 0.23, 1.04, 3.61, 11.4 s at m = 1024, 2048, 3000, 4096 (LAPACK
   alone 0.075, 0.59, 1.72, 4.33), fitted per m² and m³ within 0.78–1.22; pdgesvd 0.19, 2.6, 5.5,
   15.8 s at 1024² … 4096² (LAPACK 0.26, 2.16, 6.4, 19.5), 60 ms at 10^5×16, 2.1 s at 16384×512,
   per element and flop within 0.71–1.34. In a run the team's ranks spin in MPI (Open MPI's default)
   and wait for each other: the spectra of a 2048² and a 3000² layer took 2.45 and 1.35 times those
   figures in 2-rank runs (7.6 and 12.7 s, load 2.5-3; the team's factor, C_TEAM_RUN, their
   geometric mean), about 2.7 and 1.5 times LAPACK's alone: a team of 2 did not shorten a spectrum
   on this 2-core machine. Other k are taken to share the core time evenly (not measured). */
#define C_TEAM_RUN    1.8
#define C_TEAM_CALL   250000.0 /* a team's call (its grids, descriptors and workspace queries) */
#define C_TEAM_EIG_M2 (146.0 * C_TEAM_RUN) /* per m², per m³ */
#define C_TEAM_EIG    (0.223 * C_TEAM_RUN)
#define C_TEAM_SVD_RC (64.6 * C_TEAM_RUN) /* per element, per flop */
#define C_TEAM_SVD    (0.151 * C_TEAM_RUN)
#define C_DTASK                                                                                    \
  7200.0 /* the dense sampler: fixed, per layer, per entry of W (its normal), per n²·m (DGEMM: 2 \
          */
#define C_DLAYER                                                                                   \
  68.0 /* flops at ~40 GFLOP/s; the fit cannot separate it from the normals at m <= 16), and   */
#define C_DNORMAL                                                                                    \
  2.3 /* 1.6 × φ's cost per element; its recorded layers cost 2.5 × the projection's (its spectra \
         as any: the same routines)                                                                  \
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
/* A solver without dense output reaches each recorded layer by a solve of its own from the step
   before it (limits.c, ODEReach): per recorded layer (not fitted; measured 2026-12-07, m = 2, depth
   4096, every layer against 16): explicit euler 3.8 µs, rk 3bs 14 µs (relu) and 35 µs (tanh);
   implicit (a fresh start: order 1, small steps, a nonlinear solve each) cn 70 µs, rosw 140 µs at
   depth 512, bdf 210 µs (relu) and 850 µs (tanh). Stepping onto each layer instead (until 2026-12)
   cost 1.6-47 µs a layer, but made a layer's value depend on the others recorded. With this term
   plan reads 0.83 s for that limit and a width-2 network, bdf at relu, depth 4096, every layer
   (the limit ran 0.91 s), 2.5 s at tanh (3.8 s), 0.055 and 0.18 s for rk 3bs (0.060, 0.18). Their
   solve itself is priced at the default solver's: bdf took 0.04 s at relu and depth 16, rk
   2a 2.1-2.9 s at tanh and depth 512 (rtol 1e-12), against the model's 0.2 and 8 ms. */
#define C_LIM_REACH_EXPLICIT 1.0e4
#define C_LIM_REACH_IMPLICIT 2.0e5
#define C_LIM_REACH_QUAD     3.0 /* by quadrature (the measured 2.5 and 4.0) */
/* controlled_resnet with its A held in panels (not fitted; measured 2026-12-03, relu, depth 64,
   2^28 elements of A per run): per element of A a layer 0.26, 0.33, 0.40, 0.89 ns at m = 1, 2, 4, 8
   (n = 512) while A stays in cache (n <= 1024, 8 MB), and 0.33 ns more past it (n = 2048: a pass
   over A from memory) */
#define C_HELD_ELEM  0.19
#define C_HELD_NM    0.07
#define C_HELD_MEM   0.33
#define C_HELD_CACHE (16.0 * 1024 * 1024)
/* the dense sampler's W drawn whole (m > NNL_SMALL_M) past C_HELD_CACHE: its normals go to memory
   and DGEMM reads them back (not fitted; measured 2026-12-07, relu MLP, m = 16, widths 4096-12000,
   depths 3 and 10: 4.0-4.9 ns an element of W in all against C_DNORMAL + 16 C_DGEMM = 3.1; the
   plan read 2.4-5× short, the scale review) */
#define C_DWHOLE 1.5
#define C_GOURSAT_DUAL_CELL                                                                        \
  25.0 /* a Goursat cell with a closed-form dual (ReLU 20-30 ns, erf 12, gelu 24; not fitted) */
/* a Goursat cell by quadrature (the trapezoid rule): 6.5, 9.7, 17.4 µs for tanh, swish, softplus (φ
   costs 0.77, 7.4, 15), fitted as a + b·cost (2026-12-03, depths 8 and 256, 256 cells; the panel
   rule took 231, 927, 1390 µs) */
#define C_GOURSAT_QUAD_CELL 5.2e3
#define C_GOURSAT_QUAD_PHI  7.7e2
/* SDE tasks: per path and step (ResNet: n·m normals and φ; the covariance SDEs: an m×m state), and
   the Fokker–Planck solve per step of its own (5e-4; C_FP_STEP, C_FP_CELL). ResNet a path at a
   time, refitted 2026-12-06 when the paths came to advance a step at a time together (NNLSDEPaths):
   76, 76, 89, 150, 251 ns a path-step at n = 2, 4, 8, 16, 32 (relu, m = 2), fitted within 14 %. */
#define C_SDE_RES_NM   2.66 /* per element of n·m, φ apart */
#define C_SDE_RES_STEP 56.0
/* ResNet with its paths 8 a step in lanes (NNLHayouUsesLanes: m <= 8, n·m <= 256), 2026-12-07:
   a path-step of relu, 1000 paths, 1 rank (two runs) at m = 2, n = 2 … 128: 38, 41, 58, 105, 190,
   372, 767 ns (70, 85, 230, 792 at n = 2, 8, 32, 128 a path at a time); at m = 8, n = 16, 32: 560,
   1011; fitted per element of n·m besides φ, per m³ and a fixed part within 0.86–1.11. (n < m
   leaves K singular, and every step takes the pivoted factor: 479–688 ns at m = 8, n = 2, 4, 8.) */
#define C_SDE_RES_LANES_NM   2.54
#define C_SDE_RES_LANES_M3   0.44
#define C_SDE_RES_LANES_STEP 18.1
/* The covariance SDEs, 8 paths side by side in lanes (src/sdelanes.c), 2026-12-06: a path-step at
   n = 64, T = 2, 1000 paths, m = 2, 3, 4, 6, 8 (the mean of two 1-rank runs), fitted per pair a <=
   b (m(m+1)/2), per m³, per m⁴ and a fixed part: shaped ReLU MLP: 45, 97, 177, 393, 698 ns (its
   drift in the lanes, relufactor.h), its Fokker–Planck solve apart (-fp_cells 8, less its price:
   earlier fits had the solve at 400 cells in, ~40 ns a path-step), within 0.96–1.03; smooth shaping
   (tanh): 30, 56, 110, 431, 1352 ns (past m = 6 its paths near the cone's boundary take the scalar
   fallbacks: the m⁴), within 0.95–1.03; shaped attention: 68, 112, 202, 445, 893 ns (196, 354, 569,
   1280–1543, 2057–2799 a path at a time, the same hour), within 0.96–1.04; shaped transformer: 75,
   166, 282, 657, 1228 ns (93, 212, 372, 882, 1713 with libm's drift; 278–351, 530–550, 885–893,
   2056–2344, 3343–3925 a path at a time), within 0.97–1.02. */
static const struct {
  double pair, m3, m4, step;
} nnl_cone_sde_cost[2][4] = {
  {{14.6, 0.38, 0.0, 0.0},  /* shaped ReLU */
   {0.0, 0.22, 0.29, 24.7}, /* smooth shaping */
   {10.3, 0.96, 0.0, 28.3}, /* shaped attention */
   {23.5, 0.76, 0.0, 0.0}}, /* shaped transformer */
  /* m > NNL_SMALL_M, a path at a time (LAPACK's factors, BLAS's products), the same runs at m = 9,
     12, 16: shaped ReLU 2810, 4666, 8225 ns within 0.97–1.02; smooth shaping 10059, 24009, 54627
     (its paths near the cone's boundary, where the factor is the eigen square root) within
     0.98–1.01; attention 3238, 5684, 11608 within 0.98–1.04; transformer 4895, 8851, 17545 within
     0.99–1.02 (the lanes' fit read attention at m = 9 and 12 at 0.24 and 0.27 of a run) */
  {{60.9, 0.0, 0.0, 0.0}, {15.1, 13.0, 0.0, 0.0}, {54.8, 0.96, 0.0, 0.0}, {83.9, 1.45, 0.0, 0.0}}};
/* The Fokker–Planck solve (shaped ReLU, m >= 2), per step of NNL_FP_DT: 4.6 µs (PETSc's TS) and 59
   ns a cell, fitted on 8, 100, 400, 1600 cells at T = 2 (5.1, 10.7, 28.0, 98.1 µs a step) within
   0.98–1.01; it was priced at 4 ns a cell, 14 times too low, the ReLU path-step's fit taking the
   rest */
#define C_FP_STEP 4.6e3
#define C_FP_CELL 58.7
/* shaped_attention (set by hand 2026-12-05 on 1-rank runs at n = 64…1024, depths 16, 128, m = 2, 4,
   8: the plan within 1.23, 1.03, 0.96× of the run at m = 2, 4, 8 (projection; 0.6× at m = 8 before
   C_ATT_KMM took the factor's product), 0.97–1.02× (dense)): a projection layer's queries and keys,
   per element of their 2·n_k·m (normals) and of n_k·m² (their factor's product, the logits), and a
   fixed part; a dense layer's W^Q and W^K as the value's W, and Y Aᵀ per n·m² */
#define C_ATT_KM  3.0
#define C_ATT_KMM 0.75
/* The projection sampler's attention layer at nk >= m, its logits from m×m factors
   (NNLAttentionLogitFactors; 2026-12-06, softmax_attention at n = 32, 128, 512, m = 2, 4, 8, depth
   64, 100 seeds: 0.60–22.8 µs a layer, against 0.83–75.8 when it drew the queries and keys): a
   fixed part, m³ (the factors, the logits, the square roots) and n·m beyond the layer model's (its
   values' pass, A V Aᵀ's factor), fitted within 0.79–1.14 */
#define C_ATT_FACT  127.0
#define C_ATT_M3    7.7
#define C_ATT_NM    0.68
#define C_ATT_LAYER 300.0
#define C_ATT_DNMM  0.3
/* shaped_transformer: its MLP sub-block's projection costs C_TR_PROJ times the layer model's terms
   (the model read the shipped job's networks at 1.30 × the run without it, the attention's alone at
   1.22 ×) */
#define C_TR_PROJ 1.5

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

/* Whether a team takes a spectrum of an r×c matrix (spectra_team.c, UseTeam). */
static PetscBool SpectraOnTeam(const NNLJob *job, double r, double c)
{
  const double rows = PetscMax(r, c);
  return job->spectra_team > 1 && rows >= (double)job->spectra_team_min &&
             rows < NNL_SPECTRA_TEAM_ROWS_MAX(NNL_SPECTRA_TEAM_NB)
           ? PETSC_TRUE
           : PETSC_FALSE;
}

/* A spectra layer's time on an n×m state (C_SPEC …): the task's wall, which a team's share is. */
static double SpectraLayerCost(const NNLJob *job, double n, double m)
{
  const double r = PetscMax(n, m), c = PetscMin(n, m), k = (double)job->spectra_team;
  const double qr  = r >= 11 * c / 6 ? 2 * r * c * c - 2 * c * c * c / 3 : 0,
               bid = qr > 0 ? 8 * c * c * c / 3 : 4 * r * c * c - 4 * c * c * c / 3;
  double t         = C_SPEC + C_SPEC_GRAM * n * m * m;

  t += SpectraOnTeam(job, m, m) ? C_TEAM_CALL + (C_TEAM_EIG_M2 * m * m + C_TEAM_EIG * m * m * m) / k
                                : C_EIG + C_EIG_M2 * m * m + C_EIG_M3 * m * m * m;
  t +=
    SpectraOnTeam(job, n, m)
      ? C_TEAM_CALL + (C_TEAM_SVD_RC * r * c + C_TEAM_SVD * (4 * r * c * c - 4 * c * c * c / 3)) / k
      : C_SVD + C_SVD_RC * r * c + C_SVD_QR * qr + C_SVD_BID * bid;
  return t;
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
  if (res && NNLLimitHasODE(job, pt->family, pt->act)) {
    const NNLODEReach reach = NNLLimitODEReach();
    if (reach != NNL_ODE_DENSE)
      *cost += Recorded(job, pt) *
               (reach == NNL_ODE_REACH_EXPLICIT ? C_LIM_REACH_EXPLICIT : C_LIM_REACH_IMPLICIT) *
               (act->def->dual ? 1 : C_LIM_REACH_QUAD);
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
    per = NNLHayouUsesLanes(pt->width, job->inputs)
            ? n * m * (C_SDE_RES_LANES_NM + job->act[pt->act].def->cost) +
                C_SDE_RES_LANES_M3 * m * m * m + C_SDE_RES_LANES_STEP
            : n * m * (C_SDE_RES_NM + job->act[pt->act].def->cost) + C_SDE_RES_STEP;
  else {
    const int    k     = pt->family == NNL_FAMILY_ATTENTION     ? 2
                         : pt->family == NNL_FAMILY_TRANSFORMER ? 3
                         : NNLShapedIsRelu(&job->act[pt->act])  ? 0
                                                                : 1;
    const int    lanes = job->inputs <= NNL_SMALL_M ? 0 : 1;
    const double pair = nnl_cone_sde_cost[lanes][k].pair, m3 = nnl_cone_sde_cost[lanes][k].m3,
                 m4 = nnl_cone_sde_cost[lanes][k].m4, step = nnl_cone_sde_cost[lanes][k].step;
    per = pair * m * (m + 1) / 2 + m3 * m * m * m + m4 * m * m * m * m + step;
  }
  /* the Fokker-Planck solve stops at every layer (sde_task.c): at least a step of its own each */
  *cost = paths * steps * per + (NNLPointHasFokkerPlanck(job, pt)
                                   ? (pt->depth * ceil(T / pt->depth / NNL_FP_DT - 1e-9) + 1) *
                                       (C_FP_STEP + C_FP_CELL * job->fp_cells)
                                   : 0);
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
  /* an attention block's queries and keys (or its logit factors), A, V, R, U, the factors' work,
     and a transformer's hidden layer (net.c, NetSetUp) */
  const double attmem = 8.0 * (2 * PetscMax(nk, m) * m + 5 * m * m + 2 * m +
                               (NNLFamilyIsTransformer(pt->family) ? n * m : 0));
  double       rec, ks, spec = 0, c;

  rec = nrec * (C_REC + C_REC_NM * n * m + C_REC_NMM * n * m * m);
  ks  = C_KS_NM * n * m; /* once a task, whatever its sampler (sorting, it was 40 % of a one-layer
                            network at n = 2^20) */
  if (ns > 0) spec = ns * SpectraLayerCost(job, n, m);
  if (NNLPointSampler(job, pt) == NNL_SAMPLER_PROJECTION) {
    /* a layer's requests of the generator: a narrow network's layers share one (LayerNormals) */
    const double draw = C_DRAW / PetscMax(1.0, (double)NNLRngLayersPerBatch((size_t)(n * m)));
    c                 = C_TASK +
        layers *
          (C_LAYER + draw + n * m * (C_NM + C_PHI * phi) + C_NMM * n * m * m + C_M3 * m * m * m) +
        rec + spec + ks;
    if (pt->family == NNL_FAMILY_SHAPED) c += layers * C_SHAPED_NM * n * m;
    if (att) /* the logits from m×m factors (NNLAttentionLogitFactors), or at nk < m the queries
                and keys themselves */
      c += (layers - 1) * (nki >= job->inputs
                             ? C_ATT_FACT + C_ATT_M3 * m * m * m + C_ATT_NM * n * m
                             : C_ATT_LAYER + 2 * nk * m * C_ATT_KM + nk * m * m * C_ATT_KMM);
    if (NNLFamilyIsTransformer(pt->family)) /* the MLP sub-block: a second projection layer, its
                                               hidden layer's normals, φ_s and Gram */
      c += (layers - 1) * C_TR_PROJ *
           (C_LAYER + 2 * draw + n * m * (2 * C_NM + C_PHI * phi + C_SHAPED_NM) +
            2 * C_NMM * n * m * m + C_M3 * m * m * m);
    /* Y, Φ and Z (n×m each); the KS distance's copy and scratch of an input (2n), or a fourth n×m,
       whichever is more; the inputs' and the layer's m×m factors (4m²) */
    *mem = 8.0 * (3 * n * m + PetscMax(n * m, 2 * n) + 4 * m * m +
                  NNL_NET_AHEAD * NNL_RNG_LAYERS_NORMALS); /* and the normals drawn ahead */
    if (att) /* and the normals of the queries and keys (or of the logit factors) */
      *mem += attmem + 8.0 * PetscMax(nk, 2 * m) * m;
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
           : (n * d + (layers - 1) * n * n) *
               (C_DNORMAL + C_DGEMM * m +
                (NNLDenseColumns(pt->width, job->inputs, pt->width) >= pt->width &&
                     8 * n * n > C_HELD_CACHE
                   ? C_DWHOLE
                   : 0));
    /* summed in the order of the one expression this was: the other families' costs keep their bits
     */
    c = C_DTASK + layers * (C_DLAYER + C_DPHI * phi * n * m) + weights + C_DREC * rec + spec + ks;
    if (att) /* W^Q and W^K (nk×n each) at every layer after the embedding, and Y Aᵀ */
      c += (layers - 1) *
           (C_ATT_LAYER + 2 * nk * n * (C_DNORMAL + C_DGEMM * m) + C_ATT_DNMM * n * m * m);
    if (NNLFamilyIsTransformer(pt->family)) /* the MLP sub-block's W₁ and W₂, and φ_s */
      c += (layers - 1) * (C_DLAYER + 2 * n * n * (C_DNORMAL + C_DGEMM * m) + C_DPHI * phi * n * m);
    *mem = 8.0 * (n * (double)NNLDenseColumns(pt->width, job->inputs,
                                              PetscMax(pt->width, job->input_dim)) +
                  4 * n * m + d * m + 4 * m * m + NNL_NET_AHEAD * NNL_RNG_LAYERS_NORMALS);
    if (held && m <= NNL_SMALL_M) *mem += 8.0 * n * n;
    if (att) /* and the chunk of W^Q (all of it past NNL_SMALL_M) */
      *mem += attmem + 8.0 * nk * (double)NNLDenseColumns(nki, job->inputs, pt->width);
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

double NNLPointCostAlone(const NNLJob *job, const NNLPoint *pt)
{
  NNLJob solo = *job; /* a shallow copy: the cost model reads its counts */
  double cost, mem;

  if (job->spectra_team <= 1) return pt->cost;
  solo.spectra_team = 1;
  NNLPointCostModel(&solo, pt, &cost, &mem);
  return cost;
}
