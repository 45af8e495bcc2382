/* The grid: the job's axes as cells in canonical order, points decoded from them, stable ids and
 * sharding (the cost model that orders and shards it: cost.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "nnlimits/grid.h"
#include "nnlimits/limits.h"
#include "nnlimits/rng.h"
#include "nnlimits/shaped.h"
#include "nnlimits/attention.h"
#include "nnlimits/sde.h"
#include "netkernel.h"
#include "bigalloc.h"
#include "nnlimits/fokker_planck.h"

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
  /* The job's seeds as seed0 + j·step when they are such a progression (a range: the usual case),
     else step 0. A run of more than 2^17 points hands tasks out in the order of their ids, which is
     no order of the seeds: reading seed j from the job's array (4 MB at 10^6 seeds) was a cache
     miss a task, 8 % of rank 0's time on 10^6 no-op tasks with commits. */
  int64_t seed0, step;
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
    pt->seed = m->step ? (PetscInt)(m->seed0 + j * m->step) : g->job->seed[j];
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
  g->memo->seed0 = job->seed[0];
  g->memo->step  = job->nseed > 1 ? (int64_t)job->seed[1] - job->seed[0] : 0;
  for (PetscInt j = 2; j < job->nseed && g->memo->step; j++)
    if ((int64_t)job->seed[j] - job->seed[j - 1] != g->memo->step) g->memo->step = 0;
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

PetscErrorCode NNLGridFreeIndices(PetscInt **idx)
{
  PetscFunctionBegin;
  PetscCall(NNLBigFree(*idx));
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
  PetscCall(NNLBigAlloc(sizeof(uint64_t) * (2 * (size_t)n + (size_t)nb + 1), NNL_BIG_ONCE, &mem));
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
  PetscCall(NNLBigFree(mem));
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

static const double *sort_cost; /* NNLGridShardEach's costs, one a cell */

/* cells, by their first points, by decreasing sort_cost, ties by ord */
static int CmpShardCostDesc(const void *a, const void *b)
{
  PetscInt i = *(const PetscInt *)a, j = *(const PetscInt *)b;
  double   x = sort_cost[NNLGridCellOf(sort_grid, i)], y = sort_cost[NNLGridCellOf(sort_grid, j)];
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

/* The costs the shards are cut by, one a cell (*cost: the caller frees it): without spectra teams,
   whose price depends on the ranks of the run (NNLRunSetUp), where a point's shard must not. With
   the cells' own costs, shard 0 of 2 of a job with -spectra_team_size 2 held 54 points at 1 rank
   and 56 at 2: shards run at different rank counts (a resubmit with more ranks, status, merge)
   overlapped and left points out. */
static PetscErrorCode ShardCosts(const NNLGrid *grid, double **cost)
{
  PetscFunctionBegin;
  PetscCall(PetscMalloc1(grid->ncells, cost));
  for (PetscInt c = 0; c < grid->ncells; c++)
    (*cost)[c] = NNLPointCostAlone(grid->job, &grid->cells[c]);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLGridShardEach(const NNLGrid *grid, PetscInt k,
                                PetscErrorCode (*fn)(void *ctx, PetscInt point, PetscInt shard),
                                void *ctx)
{
  PetscInt *cell, nb;
  Bin      *heap;
  double   *cost;

  PetscFunctionBegin;
  PetscCheck(k >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%" PetscInt_FMT " shards", k);
  PetscCall(ShardCosts(grid, &cost));
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
  sort_cost = cost;
  qsort(cell, (size_t)grid->ncells, sizeof(PetscInt), CmpShardCostDesc);
  for (PetscInt s = 0; s < nb; s++) heap[s] = (Bin){0.0, s};
  for (PetscInt c = 0; c < grid->ncells; c++) {
    const PetscInt  ci = NNLGridCellOf(grid, cell[c]);
    const NNLPoint *cp = &grid->cells[ci];
    for (PetscInt p = cp->ord, end = p + (cp->ord < grid->nnets ? grid->job->nseed : 1); p < end;
         p++) {
      PetscErrorCode ierr = fn(ctx, p, heap[0].shard);
      if (ierr) PetscCall(PetscFree(heap));
      if (ierr) PetscCall(PetscFree(cell));
      if (ierr) PetscCall(PetscFree(cost));
      PetscCall(ierr);
      heap[0].load += cost[ci];
      if (nb > 1) SiftDown(heap, nb, 0);
    }
  }
  PetscCall(PetscFree(heap));
  PetscCall(PetscFree(cell));
  PetscCall(PetscFree(cost));
  PetscFunctionReturn(0);
}

/* The version of NNLGridShardEach's rule (the cells by decreasing cost, ties by ord, each point to
   the least loaded shard): change it with the rule, so that a store of the old rule's cut is cut
   again by status. */
#define NNL_SHARD_RULE "shard-rule-1"

PetscErrorCode NNLGridShardSignature(const NNLGrid *grid, PetscInt i, PetscInt k, uint64_t *sig)
{
  const int64_t head[3] = {(int64_t)i, (int64_t)k, (int64_t)grid->ncells};
  uint64_t      h       = NNLHash64Update(NNL_HASH64_INIT, NNL_SHARD_RULE, strlen(NNL_SHARD_RULE));
  double       *cost;

  PetscFunctionBegin;
  PetscCall(ShardCosts(grid, &cost));
  h    = NNLHash64Update(h, head, sizeof(head));
  *sig = NNLHash64Final(NNLHash64Update(h, cost, sizeof(double) * (size_t)grid->ncells));
  PetscCall(PetscFree(cost));
  PetscFunctionReturn(0);
}

/* The store keys its rows by the points' random ids (a UNIQUE index on points.id, and on
   netlayers.point): committed in cost order, ties by ord, each commit inserted its index entry at a
   random place, a descent through cold pages, and every commit group dirtied index leaves all over
   the index, which the group's end wrote to the WAL whole; a no-op task's commit grew with the
   store. A run hands the tasks of equal cost (a cell's seeds, above all) out in the order of their
   ids instead: only a tie within the cost order moves, so the schedule's balance, the shards and
   every result are the same, and only the order of the rows in the store file changes, which no
   reader uses (every export orders by ord; rank 0 already committed in whatever order results
   arrived). Consecutive commits then go to neighbouring index entries, and a group of commits
   dirties only the leaves of its stretch of ids. No-op tasks at 1 rank, a task with the store's
   close (medians, runs alternated): 10^6 7.2 -> 3.7 us (rank 0's processor time 3.8 -> 2.5 us),
   3·10^5 5.5 -> 4.1 us (3.0 -> 2.5); 10^5 4.5 -> 4.3 us (2.5 -> 2.4, 12 runs each: within the
   noise), whose index fits the processor's caches either way, while the reordering costs 35-45 ns
   a task of rank 0's set-up (the ids decoded by NNLGridPoint, as the scheduler decodes them): hence
   only for a store of NNL_GRID_ORDER_MIN_POINTS points or more. A stable counting sort by the ids'
   top bits (2^bits buckets of ~4096 ids or more: a few leaves of the index each; finer buckets
   scattered the writes and cost 40 ns a task). */
PetscErrorCode NNLGridOrderTiesById(const NNLGrid *grid, PetscInt n, PetscInt idx[])
{
  uint16_t *key = NULL;
  PetscInt *tmp = NULL, *count = NULL;

  PetscFunctionBegin;
  for (PetscInt lo = 0, hi; lo < n; lo = hi) {
    const double c    = NNLGridCost(grid, idx[lo]);
    int          bits = 1;
    /* a cell's points are consecutive ords of one cost: the cost is looked up once a cell */
    PetscInt end = idx[lo] < grid->nnets ? (idx[lo] / grid->job->nseed + 1) * grid->job->nseed : 0;
    for (hi = lo + 1; hi < n; hi++) {
      if (idx[hi] == idx[hi - 1] + 1 && idx[hi] < end) continue;
      if (NNLGridCost(grid, idx[hi]) != c) break;
      end = idx[hi] < grid->nnets ? (idx[hi] / grid->job->nseed + 1) * grid->job->nseed : 0;
    }
    if (hi - lo < 3) continue;
    if (!tmp) {
      PetscCall(PetscMalloc1(n, &key));
      PetscCall(PetscMalloc1(n, &tmp));
      PetscCall(PetscMalloc1((1 << 12) + 1, &count));
    }
    while (bits < 12 && ((PetscInt)1 << bits) * 4096 < hi - lo) bits++;
    PetscCall(PetscArrayzero(count, ((PetscInt)1 << bits) + 1));
    for (PetscInt i = lo; i < hi; i++) {
      NNLPoint pt; /* decoded as the scheduler will (its memo follows a cell's seeds in order) */
      NNLGridPoint(grid, idx[i], &pt);
      /* the top bits of the id as a signed 64-bit integer (SQLite's INTEGER), offset to 0 ..
       * 2^bits - 1 */
      key[i] = (uint16_t)((pt.id >> (64 - bits)) ^ ((uint64_t)1 << (bits - 1)));
      count[key[i] + 1]++;
    }
    for (PetscInt b = 0; b < ((PetscInt)1 << bits); b++) count[b + 1] += count[b];
    for (PetscInt i = lo; i < hi; i++) tmp[lo + count[key[i]]++] = idx[i];
    PetscCall(PetscArraycpy(idx + lo, tmp + lo, hi - lo));
  }
  PetscCall(PetscFree(count));
  PetscCall(PetscFree(tmp));
  PetscCall(PetscFree(key));
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
  if (idx)
    PetscCall(
      NNLBigAlloc(sizeof(PetscInt) * (size_t)grid->npoints, NNL_BIG_ONCE, (void **)&pick.mine));
  PetscCall(NNLGridShardEach(grid, k, PickShard, &pick));
  *n = pick.cnt;
  if (idx) *idx = pick.mine;
  PetscFunctionReturn(0);
}
