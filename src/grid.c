/* The grid: the job's axes expanded in canonical order, stable point ids, the cost model and sharding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nnlimits/grid.h"
#include "nnlimits/rng.h"
#include "netkernel.h"

/* Work of one normal draw and one activation call, in flop-equivalents (the cost unit). */
#define NNL_COST_NORMAL 8.0
#define NNL_COST_PHI    6.0

NNLSamplerType NNLPointSampler(const NNLJob *job, const NNLPoint *pt)
{
  if (job->sampler != NNL_SAMPLER_AUTO) return job->sampler;
  return job->inputs < pt->width ? NNL_SAMPLER_PROJECTION : NNL_SAMPLER_DENSE;
}

/* A limit: the NNGP recursion takes one F_φ per layer and pair, the ODE about 200 (adaptive RK5 at 1e-12).
   F_φ costs a few flops in closed form and ~NNL_COST_QUAD scalar φ calls (NNL_COST_QUAD_PHI each) by quadrature off
   the diagonal, a few hundred on it (a 1-D integral). Calibrated on tanh: depth 1024 takes 1.3 s, depth 8 0.16 s. */
#define NNL_COST_QUAD     4.6e4
#define NNL_COST_QUAD_PHI 30.0
#define NNL_ODE_RHS       200.0

static void LimitCostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  const NNLActivation *act = &job->act[pt->act];
  const double         m = (double)job->inputs, off = m * (m - 1) / 2;
  const double         perF = act->def->dual ? 50.0 * (off + m) : NNL_COST_QUAD_PHI * (NNL_COST_QUAD * off + 300.0 * m);
  const double         evals = (double)pt->depth + (pt->family == NNL_FAMILY_RESNET ? NNL_ODE_RHS : 0.0);

  *cost = evals * perF;
  *mem  = 2 * 8.0 * (double)(pt->depth + 1) * (m * (m + 1) / 2) * 2 + (1 << 20);
}

/* An SDE task: paths × steps × (one step's work), plus the Fokker–Planck solve (a tridiagonal solve per step). A step
   of a small state is dominated by call overhead (stream set-up, a LAPACK square root): NNL_SDE_STEP, calibrated on the
   m = 2 tasks of the Stage 3 jobs (n = 4 ResNet: 500 paths × 1000 steps in 0.6 s; shaped: ~1.5 µs a step). */
#define NNL_SDE_STEP 2000.0
static void SDECostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  const double n = (double)pt->width, m = (double)job->inputs, paths = (double)job->sde_paths;
  double       T = pt->family == NNL_FAMILY_SHAPED ? (double)(pt->depth - 1) / n : 1.0, steps = ceil(T / job->sde_dt), per;

  if (pt->family == NNL_FAMILY_RESNET) per = n * m * (NNL_COST_NORMAL + NNL_COST_PHI) + 3 * n * m * m + 10 * m * m * m;
  else per = m * m * (NNL_COST_NORMAL + 40) + 20 * m * m * m;
  per += NNL_SDE_STEP;
  *cost = paths * steps * per + (steps + 1) * 100.0 * job->fp_cells;
  /* paths' results, one path's state, and (shaped) the density at every recorded layer plus the PDE's matrix and vectors */
  *mem  = 8.0 * (paths * (m * m + 2 * m) + 8 * n * m) + (1 << 20);
  if (pt->family == NNL_FAMILY_SHAPED) *mem += 8.0 * job->fp_cells * (2.0 * (pt->depth + 1) + 20);
}

void NNLPointCostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem)
{
  const double n = (double)pt->width, m = (double)job->inputs, d = (double)job->input_dim;
  const double layers = (double)(pt->depth - NNLFamilyFirstLayer(pt->family) + 1);
  PetscInt     nrec = pt->depth + 1;
  double       per, first, rec;

  if (pt->kind == NNL_TASK_LIMIT) {
    LimitCostModel(job, pt, cost, mem);
    return;
  }
  if (pt->kind == NNL_TASK_SDE) {
    SDECostModel(job, pt, cost, mem);
    return;
  }
  if (job->record_mode == NNL_RECORD_LAST) nrec = 1;
  else if (job->record_mode == NNL_RECORD_LOG && job->record_k + 1 < nrec) nrec = job->record_k + 1;
  rec = (double)nrec * (n * m * m + 4 * n * m); /* Gram and moments at recorded layers */
  if (NNLPointSampler(job, pt) == NNL_SAMPLER_PROJECTION) {
    per   = n * m * (NNL_COST_NORMAL + NNL_COST_PHI) + 3 * n * m * m + 10 * m * m * m;
    first = n * m * NNL_COST_NORMAL + n * m * m;
    *mem  = 8.0 * (4 * n * m + 4 * m * m);
  } else {
    per   = n * n * NNL_COST_NORMAL + 2 * n * n * m + n * m * NNL_COST_PHI;
    first = n * d * NNL_COST_NORMAL + 2 * n * d * m;
    *mem  = 8.0 * (n * (double)NNLDenseColumns(pt->width, job->inputs, PetscMax(pt->width, job->input_dim)) + 4 * n * m + d * m);
  }
  /* spectra: Gram n·m², its eigenvalues ~(4/3 + 1)·m³, the feature SVD ~4·n·m² (n ≥ m; roles swap otherwise) */
  if (job->spectra_mode != NNL_RECORD_NONE) {
    double ns = job->spectra_mode == NNL_RECORD_ALL ? layers : job->spectra_mode == NNL_RECORD_LAST ? 1.0 : PetscMin(layers, (double)job->spectra_k + 1);
    double lo = PetscMin(n, m), hi = PetscMax(n, m);
    rec += ns * (n * m * m + 2.5 * m * m * m + 4 * hi * lo * lo);
  }
  *cost = first + (layers - 1) * per + rec + 10 * n * m; /* + KS at the last layer */
  *mem += 2 * 8.0 * (double)nrec * (m * (m + 1) / 2 + 3 * m) + (1 << 20);
  if (job->spectra_mode != NNL_RECORD_NONE) *mem += 8.0 * (n * m + 6 * m * m + 8 * PetscMin(n, m) * PetscMax(n, m)); /* LAPACK copies, work */
}

void NNLPointCanonical(const NNLJob *job, const NNLPoint *pt, char *buf, size_t len)
{
  if (pt->kind == NNL_TASK_SDE) {
    snprintf(buf, len, "sde;family=%s;activation=%s;width=%" PetscInt_FMT ";depth=%" PetscInt_FMT, NNLFamilies[pt->family],
             job->act[pt->act].canon, pt->width, pt->depth);
    return;
  }
  if (pt->kind == NNL_TASK_LIMIT) {
    snprintf(buf, len, "limit;family=%s;activation=%s;depth=%" PetscInt_FMT, NNLFamilies[pt->family], job->act[pt->act].canon,
             pt->depth);
    return;
  }
  snprintf(buf, len, "family=%s;activation=%s;width=%" PetscInt_FMT ";depth=%" PetscInt_FMT ";seed=%" PetscInt_FMT,
           NNLFamilies[pt->family], job->act[pt->act].canon, pt->width, pt->depth, pt->seed);
}

static int CmpId(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* One task of the grid: its parameters, then its id (hash of its canonical text) and its predicted cost. */
static void PointSet(const NNLJob *job, NNLPoint *pt, PetscInt ord, NNLTaskKind kind, NNLFamily family, PetscInt act,
                     PetscInt width, PetscInt depth, PetscInt seed)
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

PetscErrorCode NNLGridCreate(const NNLJob *job, NNLGrid **grid)
{
  NNLGrid  *g;
  double    nets = (double)job->nfamily * job->nact * job->nwidth * job->ndepth * job->nseed;
  double    sdes = 0, total;
  PetscInt  k = 0;
  uint64_t *ids;

  PetscFunctionBegin;
  for (PetscInt f = 0; f < job->nfamily; f++)
    if (NNLJobHasSDE(job, job->family[f])) sdes += (double)job->nact * job->nwidth * job->ndepth;
  total = nets + (double)job->nfamily * job->nact * job->ndepth + sdes;
  PetscCheck(nets <= 1e8, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "the grid has %.3g points, more than 1e8 (split it into several jobs or use fewer seeds)", nets);
  /* Every rank holds the whole grid: it must fit in one rank's budget before it is allocated. */
  PetscCheck(total * NNL_GRID_BYTES_PER_POINT <= job->mem_budget, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "the grid has %.3g points, %.3g MB on every rank, more than the budget of %.3g MB (-mem_budget_mb; split the job)",
             total, total * NNL_GRID_BYTES_PER_POINT / 1048576.0, job->mem_budget / 1048576.0);
  PetscCall(PetscNew(&g));
  g->job     = job;
  g->npoints = (PetscInt)total;
  g->nnets   = (PetscInt)nets;
  g->nsde    = (PetscInt)sdes;
  g->nlimits = g->npoints - g->nnets - g->nsde;
  PetscCall(PetscMalloc1(g->npoints, &g->points));
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact; a++)
      for (PetscInt w = 0; w < job->nwidth; w++)
        for (PetscInt d = 0; d < job->ndepth; d++)
          for (PetscInt s = 0; s < job->nseed; s++, k++)
            PointSet(job, &g->points[k], k, NNL_TASK_NETWORK, job->family[f], a, job->width[w], job->depth[d], job->seed[s]);
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact; a++)
      for (PetscInt d = 0; d < job->ndepth; d++, k++)
        PointSet(job, &g->points[k], k, NNL_TASK_LIMIT, job->family[f], a, 0, job->depth[d], 0);
  for (PetscInt f = 0; f < job->nfamily; f++)
    for (PetscInt a = 0; a < job->nact && NNLJobHasSDE(job, job->family[f]); a++)
      for (PetscInt w = 0; w < job->nwidth; w++)
        for (PetscInt d = 0; d < job->ndepth; d++, k++)
          PointSet(job, &g->points[k], k, NNL_TASK_SDE, job->family[f], a, job->width[w], job->depth[d], 0);
  /* Ids key the random streams and the store: two points sharing one would silently share data. */
  PetscCall(PetscMalloc1(g->npoints, &ids));
  for (PetscInt i = 0; i < g->npoints; i++) ids[i] = g->points[i].id;
  qsort(ids, (size_t)g->npoints, sizeof(uint64_t), CmpId);
  for (PetscInt i = 1; i < g->npoints; i++) PetscCheck(ids[i] != ids[i - 1], PETSC_COMM_SELF, PETSC_ERR_PLIB, "point id collision");
  PetscCall(PetscFree(ids));
  *grid = g;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLGridDestroy(NNLGrid **grid)
{
  PetscFunctionBegin;
  if (!*grid) PetscFunctionReturn(0);
  PetscCall(PetscFree((*grid)->points));
  PetscCall(PetscFree(*grid));
  PetscFunctionReturn(0);
}

static const NNLPoint *sort_points; /* qsort has no context argument in C11 */

static int CmpCostDesc(const void *a, const void *b)
{
  const NNLPoint *x = &sort_points[*(const PetscInt *)a], *y = &sort_points[*(const PetscInt *)b];
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  return (x->ord > y->ord) - (x->ord < y->ord);
}

/* Min-heap of shards by (load, index): the least-loaded shard takes the next largest point. */
typedef struct { double load; PetscInt shard; } Bin;

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

PetscErrorCode NNLGridSortByCost(const NNLGrid *grid, PetscInt n, PetscInt *idx)
{
  PetscFunctionBegin;
  sort_points = grid->points;
  qsort(idx, (size_t)n, sizeof(PetscInt), CmpCostDesc);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLGridShard(const NNLGrid *grid, PetscInt i, PetscInt k, PetscInt *n, PetscInt **idx)
{
  PetscInt *all, *mine, cnt = 0;
  Bin      *heap;

  PetscFunctionBegin;
  PetscCheck(k >= 1 && i >= 0 && i < k, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "shard %" PetscInt_FMT "/%" PetscInt_FMT, i, k);
  PetscCall(PetscMalloc1(grid->npoints, &all));
  PetscCall(PetscMalloc1(grid->npoints, &mine));
  PetscCall(PetscMalloc1(k, &heap));
  for (PetscInt p = 0; p < grid->npoints; p++) all[p] = p;
  PetscCall(NNLGridSortByCost(grid, grid->npoints, all));
  for (PetscInt s = 0; s < k; s++) heap[s] = (Bin){0.0, s};
  for (PetscInt p = 0; p < grid->npoints; p++) {
    if (heap[0].shard == i) mine[cnt++] = all[p];
    heap[0].load += grid->points[all[p]].cost;
    SiftDown(heap, k, 0);
  }
  PetscCall(PetscFree(heap));
  PetscCall(PetscFree(all));
  *n   = cnt;
  *idx = mine;
  PetscFunctionReturn(0);
}
