/* The grid: the job's axes as cells in canonical order (a point decoded from its cell when needed),
 * stable point ids, costs, sharding. */
#ifndef NNLIMITS_GRID_H
#define NNLIMITS_GRID_H

#include <stdint.h>
#include "nnlimits/job.h"

/* What a task computes: one sampled network, or the infinite-width limits (NNGP recursion,
   depth-limit ODE) of one (family, activation, depth), which every width and seed of that triple is
   compared with. */
/* An SDE task samples the fixed-width or proportional limit (SDE paths, and the Fokker–Planck
   density where it applies) of one (family, activation, width, depth) — see sde.h. */
typedef enum {
  NNL_TASK_NETWORK = 0,
  NNL_TASK_LIMIT   = 1,
  NNL_TASK_SDE     = 2,
  NNL_TASK_NOOP = 3 /* benchmarks only (tests/bench/bench_sched.c): computes nothing, stored like an
                       empty network, so that a run of them measures the coordinator, messages and
                       commits alone; never in a job */
} NNLTaskKind;

/* One task of the grid. `id` is a hash of the canonical parameters only (never of rank, shard or
 * order). */
typedef struct {
  uint64_t id;
  PetscInt ord; /* index in canonical order: networks (family, activation, width, depth, seed; seed
                   fastest), then limits (family, activation, depth), then SDE tasks (family,
                   activation, width, depth) */
  NNLTaskKind kind;
  NNLFamily   family;
  PetscInt    act;                /* index into job->act */
  PetscInt    width, depth, seed; /* width = seed = 0 for a limit */
  double cost; /* predicted time: ns of one core of the cost model's reference machine (cost.c) */
  double mem;  /* predicted peak bytes on the rank that computes it */
} NNLPoint;

typedef struct NNLGridMemo NNLGridMemo;

/* The grid is a function of the job: point k of the canonical order is its cell's point (what its
   kind, cost and memory depend on: every seed of a network alike) with the seed's ord, seed and id
   (NNLGridPoint). No rank of a run holds the points: rank 0 sorts, shards and prices them by their
   cells, and decodes the ones it commits; a worker decodes the ones it is sent. Tests and
   benchmarks may expand it into an array. */
typedef struct {
  const NNLJob *job;
  PetscInt      npoints; /* tasks: nnets networks, then nlimits limits, then nsde SDE tasks */
  PetscInt      nnets, nlimits, nsde;
  PetscInt
    ncells; /* networks' (family, activation, width, depth), then one per limit and per SDE task */
  NNLPoint *cells;  /* each cell's first point (a network's first seed) */
  uint64_t *prefix; /* a network cell's NNLHash64Update state of its canonical text up to the seed's
                       digits */
  NNLGridMemo *memo; /* NNLGridPoint's memory of its last network point (grid.c) */
  NNLPoint
    *points; /* canonical order: in a grid created with expand (tests, benchmarks), else NULL */
} NNLGrid;

/* Memory rank 0 holds per grid point: the ids it checks, in buckets (NNLGridCheckIds: 16 bytes, and
   2-4 of bucket bounds), freed before its shard's indices (4) and a resumed run's committed ids (8
   each) are made. Measured as plan's peak RSS above a tiny plan's: 19 MB at 10^6 points (the
   check's 18, rounded up to 2 MB huge pages), so 18 (tests/mem_budget.sh checks plan's estimate
   against plan's RSS). Other ranks hold the cells alone. */
#define NNL_GRID_BYTES_PER_POINT 18
#define NNL_STORE_CACHE_BYTES_PER_POINT                                                            \
  64 /* rank 0's SQLite page cache for a store of many points (store.c), beyond 16 MB */

/** @brief Rank 0's SQLite page cache for a shard of this many points:
   NNL_STORE_CACHE_BYTES_PER_POINT a point, at least NNL_STORE_CACHE_MIN (what any store gets) and
   at most 1 GB. store.c sets it; plan counts what it adds. */
#define NNL_STORE_CACHE_MIN 16777216.0
static inline double NNLStoreCacheBytes(double points)
{
  return PetscMin(1073741824.0,
                  PetscMax(NNL_STORE_CACHE_MIN, NNL_STORE_CACHE_BYTES_PER_POINT * points));
}

/**
  @brief Expand the job's axes into cells, and with expand into every point (grid->points, with
  NNLGridCheckIds). Not collective (every rank can do it, identically); the checks of the grid's
  size are the same with or without expand.
*/
PetscErrorCode NNLGridCreate(const NNLJob *job, PetscBool expand, NNLGrid **grid);
/** @brief Check that no two points share an id (ids key the random streams and the store). */
PetscErrorCode NNLGridCheckIds(const NNLGrid *grid);
/** @brief qsort order of point ids, unsigned (SQLite's ORDER BY is signed): of the uint64_t at a
   and b, which may lead a struct. */
int NNLGridCmpId(const void *a, const void *b);
/** @brief Point k (canonical order) of the grid, expanded or not: the same bits either way.
   Remembers the last network point it decoded (the next of the same cell and tens of seeds costs
   less): not thread-safe on one grid. */
void NNLGridPoint(const NNLGrid *grid, PetscInt k, NNLPoint *pt);
/** @brief The cell of point k: what its kind, cost, memory and store bytes are computed from. A
   network's cell holds its seeds, fastest in the canonical order; a limit or SDE task is its own
   cell. */
static inline PetscInt NNLGridCellOf(const NNLGrid *grid, PetscInt k)
{
  return k < grid->nnets ? k / grid->job->nseed : grid->ncells - (grid->npoints - k);
}
/** @brief Predicted cost of point k (its cell's). */
static inline double NNLGridCost(const NNLGrid *grid, PetscInt k)
{
  return grid->cells[NNLGridCellOf(grid, k)].cost;
}
PetscErrorCode NNLGridDestroy(NNLGrid **grid);

/**
  @brief Points of shard i of k: cost-balanced (longest-processing-time greedy over costs, ties by
  ord; the costs without spectra teams, which depend on the ranks of the run), returned as point
  indices (ords) sorted by decreasing cost (ties by ord). Deterministic; the
  grid need not be expanded. Caller frees *idx with NNLGridFreeIndices; idx NULL: only counts them.
*/
PetscErrorCode NNLGridShard(const NNLGrid *grid, PetscInt i, PetscInt k, PetscInt *n,
                            PetscInt **idx);
/** @brief Every point's shard of k (NNLGridShard's assignment) in one pass: fn(ctx, point, shard)
   for each point, the points by decreasing cost. */
PetscErrorCode NNLGridShardEach(const NNLGrid *grid, PetscInt k,
                                PetscErrorCode (*fn)(void *ctx, PetscInt point, PetscInt shard),
                                void *ctx);
/** @brief A hash of what shard i of k holds as this build cuts the job (NNLGridShardEach's rule and
   the cells' costs): two builds of one signature give shard i the same points. A run stamps its
   store with it, so that status need not cut the job again (statuscut.c). Not collective. */
PetscErrorCode NNLGridShardSignature(const NNLGrid *grid, PetscInt i, PetscInt k, uint64_t *sig);
/** @brief Reorder idx (n point indices by decreasing cost, NNLGridShard's order) so that each run
   of equal cost is in the order of the points' ids (as SQLite orders them, signed; by their top
   bits), in place: the order in which a run hands its tasks out, for a store of at least
   NNL_GRID_ORDER_MIN_POINTS points (see grid.c). */
PetscErrorCode NNLGridOrderTiesById(const NNLGrid *grid, PetscInt n, PetscInt idx[]);
#ifndef NNL_GRID_ORDER_MIN_POINTS
  #define NNL_GRID_ORDER_MIN_POINTS 131072
#endif
/** @brief Free the indices NNLGridShard returned (in huge pages when large: see grid.c), and set
 * *idx to NULL. */
PetscErrorCode NNLGridFreeIndices(PetscInt **idx);

/**
  @brief Predicted cost and peak memory of one point (also filled into grid points): the task's and
  rank 0's commit of its result, in nanoseconds of one core of the machine the model was fitted on
  (src/cost.c).
*/
void NNLPointCostModel(const NNLJob *job, const NNLPoint *pt, double *cost, double *mem);
/** @brief A point's predicted cost priced with no spectra team (pt->cost where the job has none): a
    team's price depends on the ranks of the run, which a point's shard must not (NNLGridShardEach),
    and plan's calibration runs the tasks alone. */
double NNLPointCostAlone(const NNLJob *job, const NNLPoint *pt);

/** @brief The part of a point's predicted cost that is rank 0's commit of its result (its rows and
 * BLOB bytes). */
double NNLPointCommitCost(const NNLJob *job, const NNLPoint *pt);
/** @brief The bytes a task holds for its recorded layers (part of its memory estimate; 0 for an SDE
 * task). */
double NNLPointRecordBytes(const NNLJob *job, const NNLPoint *pt);

/** @brief Whether an SDE task also solves the Fokker–Planck PDE (shaped ReLU, two inputs or more).
 */
PetscBool NNLPointHasFokkerPlanck(const NNLJob *job, const NNLPoint *pt);

/**
  @brief The sizes a task must keep within fixed limits: *value, the bytes of the largest array the
  store keeps as one SQLite value (a network's Gram over its recorded layers; 0 for tasks that store
  rows); *count, the doubles of the largest array it allocates, indexes or sends as one message (its
  result, a dense sampler's weight panels), which PetscInt and an MPI count (int) must hold.
*/
void NNLPointArrays(const NNLJob *job, const NNLPoint *pt, double *value, double *count);

/** @brief Predicted bytes a point's result adds to the store file (its rows, arrays and indexes).
 */
double NNLPointStoreBytes(const NNLJob *job, const NNLPoint *pt);

/** @brief The sampler a point uses once -sampler auto is resolved. */
NNLSamplerType NNLPointSampler(const NNLJob *job, const NNLPoint *pt);

/**
  @brief Canonical text of a task, the preimage of its id:
  "family=..;activation=..;width=..;depth=..;seed=.." for a network,
  "limit;family=..;activation=..;depth=.." for a limit,
  "sde;family=..;activation=..;width=..;depth=.." for an SDE task.
*/
void NNLPointCanonical(const NNLJob *job, const NNLPoint *pt, char *buf, size_t len);

#endif
