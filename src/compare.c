/* The compare and extrapolate exports: the networks' seed means beside their limits, and their
 * fit in 1/width. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "storeimpl.h"

/* The compare table, one (family, activation, width, depth) group at a time: the union of its
   networks' recorded layers, and per (layer, pair) the seeds' count, sum and sum of squared
   deviations. Its rows were once one query over the views gram and limits sorted by (group, layer,
   a, b, seed): 4.2 s for the default sweep's 1.2 million q, 2.0 s of it expanding the views. The
   networks' arrays in group order take 0.14 s a pass. The squared deviations are summed in a unit,
   a power of two at most the largest |q| (NNLStorePow2Below): q far from 1 (~1e-211 of a ReLU MLP
   700 layers deep at sigma_w2 = 1, ~1e200 of an exploding one) had squares that underflowed to a
   standard error of 0 (or overflowed to inf), and a power of two leaves every other result's bits
   as they were. */
typedef struct {
  char          family[32], activation[128];
  long long     width, depth;
  sqlite3_int64 lim; /* its limit task's point (ids are any 64-bit integer), if haslim */
  PetscBool     haslim;
  PetscInt      nl, cap;
  long long    *layer;    /* nl, ascending */
  PetscInt     *n;        /* nl × np */
  double       *sum, *ss; /* nl × np */
  double       *unit;     /* nl × np: max |q| in pass 0, then ss's unit (a power of two) */
  double       *dmax;     /* nl × np: the largest squared deviation, in units of unit */
} CompareGroup;

typedef struct {
  CompareGroup *g;
  PetscInt      ng, cap, np;
  PetscInt     *order; /* the pairs k in (a, b) order */
  long long    *a, *b;
} Compare;

/* The finished networks' arrays, group by group in canonical order, each beside its group's limit
   task: a row per network (netlayers: nrec layers, a BLOB of them, and q) or, in a store of schema
   4, a row per network and layer (table layers: one layer, an integer). */
#define COMPARE_SQL(nrec, layer, q, from, order)                                                   \
  "WITH grp AS (SELECT family,activation,width,depth,min(ord) AS o FROM points WHERE "             \
  "kind='network'"                                                                                 \
  "             GROUP BY family,activation,width,depth),"                                          \
  " lim AS (SELECT id,family,activation,depth FROM points WHERE kind='limit')"                     \
  " SELECT p.family,nnl_act(p.activation),p.width,p.depth,lim.id," nrec                            \
  ",(SELECT count(*) FROM pairs)," layer "," q                                                     \
  " FROM points p JOIN grp USING(family,activation,width,depth) JOIN " from                        \
  " LEFT JOIN lim ON lim.family=p.family AND lim.activation=p.activation AND lim.depth=p.depth"    \
  " WHERE p.status='done' ORDER BY grp.o,p.ord" order
static const char *CompareSQL[2] = {
  COMPARE_SQL("n.nrec", "n.layer", "n.q", "netlayers n ON n.point=p.id", ""),
  COMPARE_SQL("1", "l.layer", "l.q", "layers l ON l.point=p.id", ",l.layer")};

/* Index of layer L in group g's union, inserted in order (all entries zero) if it is new. */
static PetscErrorCode CompareLayer(CompareGroup *g, PetscInt np, long long L, PetscInt *idx)
{
  PetscInt lo = 0, hi = g->nl;

  PetscFunctionBegin;
  while (lo < hi) {
    PetscInt mid = (lo + hi) / 2;
    if (g->layer[mid] < L)
      lo = mid + 1;
    else
      hi = mid;
  }
  *idx = lo;
  if (lo < g->nl && g->layer[lo] == L) PetscFunctionReturn(0);
  if (g->nl == g->cap) {
    PetscInt cap = 2 * g->cap + 16;
    PetscCall(PetscRealloc(sizeof(long long) * cap, &g->layer));
    PetscCall(PetscRealloc(sizeof(PetscInt) * cap * np, &g->n));
    PetscCall(PetscRealloc(sizeof(double) * cap * np, &g->sum));
    PetscCall(PetscRealloc(sizeof(double) * cap * np, &g->ss));
    PetscCall(PetscRealloc(sizeof(double) * cap * np, &g->unit));
    PetscCall(PetscRealloc(sizeof(double) * cap * np, &g->dmax));
    g->cap = cap;
  }
  memmove(g->layer + lo + 1, g->layer + lo, sizeof(long long) * (g->nl - lo));
  memmove(g->n + (lo + 1) * np, g->n + lo * np, sizeof(PetscInt) * (g->nl - lo) * np);
  memmove(g->sum + (lo + 1) * np, g->sum + lo * np, sizeof(double) * (g->nl - lo) * np);
  memmove(g->ss + (lo + 1) * np, g->ss + lo * np, sizeof(double) * (g->nl - lo) * np);
  memmove(g->unit + (lo + 1) * np, g->unit + lo * np, sizeof(double) * (g->nl - lo) * np);
  memmove(g->dmax + (lo + 1) * np, g->dmax + lo * np, sizeof(double) * (g->nl - lo) * np);
  g->layer[lo] = L;
  for (PetscInt k = 0; k < np; k++)
    g->n[lo * np + k] = 0, g->sum[lo * np + k] = g->ss[lo * np + k] = g->unit[lo * np + k] =
                             g->dmax[lo * np + k] = 0;
  g->nl++;
  PetscFunctionReturn(0);
}

/* One pass over the statement's rows: pass 0 opens the groups, counts, sums and finds the largest
   |q|; pass 1 adds the squared deviations from each mean, in units of unit. Both go through the
   seeds in canonical order, so equal stores give equal bytes. A NaN q (none) is not counted. */
static PetscErrorCode ComparePass(sqlite3_stmt *st, Compare *c, int pass)
{
  PetscInt gi = -1;
  int      rc;

  PetscFunctionBegin;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *fam           = (const char *)sqlite3_column_text(st, 0),
               *act           = (const char *)sqlite3_column_text(st, 1);
    long long           width = sqlite3_column_int64(st, 2), depth = sqlite3_column_int64(st, 3);
    const sqlite3_int64 nrec = sqlite3_column_int64(st, 5),
                        np   = sqlite3_column_int64(st, 6); /* checked below */
    const PetscBool one =
      sqlite3_column_type(st, 7) == SQLITE_INTEGER ? PETSC_TRUE : PETSC_FALSE; /* schema 4 */
    const unsigned char *lay = one ? NULL : sqlite3_column_blob(st, 7), *q;
    CompareGroup        *g   = gi >= 0 ? &c->g[gi] : NULL;

    PetscCheck(
      np == c->np && (one ? nrec == 1 : nrec >= 0 && sqlite3_column_bytes(st, 7) / 8 >= nrec),
      PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
      "export: a network's arrays do not match the store's %" PetscInt_FMT " pairs", c->np);
    if (!g || strcmp(fam, g->family) || strcmp(act, g->activation) || width != g->width ||
        depth != g->depth) {
      gi++;
      if (pass == 0) {
        if (c->ng == c->cap) {
          c->cap = 2 * c->cap + 16;
          PetscCall(PetscRealloc(sizeof(CompareGroup) * c->cap, &c->g));
        }
        g = &c->g[c->ng++];
        memset(g, 0, sizeof(*g));
        snprintf(g->family, sizeof(g->family), "%s", fam);
        snprintf(g->activation, sizeof(g->activation), "%s", act);
        g->width = width, g->depth = depth;
        g->haslim = sqlite3_column_type(st, 4) == SQLITE_NULL ? PETSC_FALSE : PETSC_TRUE;
        g->lim    = sqlite3_column_int64(st, 4);
      }
      PetscCheck(gi < c->ng, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "export: the store changed between the passes of compare");
      g = &c->g[gi];
    }
    q = sqlite3_column_blob(st, 8);
    PetscCheck(sqlite3_column_bytes(st, 8) / 8 >= nrec * np, PETSC_COMM_SELF,
               PETSC_ERR_FILE_UNEXPECTED, "export: a short q array");
    for (PetscInt r = 0; r < nrec; r++) {
      PetscInt  li;
      long long L = sqlite3_column_int64(st, 7);
      PetscCheck(one || NNLStoreLayerAt(lay, r, &L), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "export: a network's layers array holds no layer number");
      PetscCall(CompareLayer(g, (PetscInt)np, L, &li));
      for (PetscInt k = 0; k < np; k++) {
        double v = NNLStoreBlobAt(q, r * np + k);
        if (v != v) continue;
        if (pass == 0) {
          g->n[li * np + k]++, g->sum[li * np + k] += v;
          g->unit[li * np + k] = PetscMax(g->unit[li * np + k], fabs(v));
        } else {
          double d = (v - g->sum[li * np + k] / (double)g->n[li * np + k]) / g->unit[li * np + k];
          g->ss[li * np + k] += d * d;
          g->dmax[li * np + k] = PetscMax(g->dmax[li * np + k], d * d);
        }
      }
    }
  }
  PetscCheck(rc == SQLITE_DONE, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "export: %s",
             sqlite3_errstr(rc));
  PetscFunctionReturn(0);
}

/* The mean of n seeds' values from their sum and sum of squared deviations ss (in units of unit),
 * and its standard error (NaN for one). */
static double SeedsMean(PetscInt n, double sum, double ss, double unit, double *se)
{
  *se = n > 1 ? unit * sqrt(ss / (double)(n - 1) / (double)n) : NAN;
  return sum / (double)n;
}

/* One row: mean and standard error, then err = mean − limit and z = err / se for each limit (empty
   where the limit or se is missing or se = 0, or not finite; the mean empty where it is not a
   number: seeds of q +inf and -inf, overflowed, printed "-nan"). */
static void WriteCompareRow(FILE *out, const CompareGroup *g, long long layer, long long a,
                            long long b, PetscInt n, double sum, double ss, double unit,
                            double nngp, double ode)
{
  double se, mean = SeedsMean(n, sum, ss, unit, &se);

  fprintf(out, "%s,%s,%lld,%lld,%lld,%.17g,%lld,%lld,%" PetscInt_FMT, g->family, g->activation,
          g->width, g->depth, layer, (double)layer / (double)g->depth, a, b, n);
  NNLStoreWriteOptional(out, mean);
  NNLStoreWriteOptional(out, se);
  NNLStoreWriteOptional(out, nngp);
  NNLStoreWriteOptional(out, ode);
  for (int k = 0; k < 2; k++) {
    double lim = k ? ode : nngp;
    NNLStoreWriteOptional(out, mean - lim);
    /* none against an infinite limit or standard error (an overflowing kernel): it was -0 */
    NNLStoreWriteOptional(out,
                          se > 0 && isfinite(se) && isfinite(mean - lim) ? (mean - lim) / se : NAN);
  }
  fputc('\n', out);
}

static double ColumnOrNaN(sqlite3_stmt *st, int c)
{
  return sqlite3_column_type(st, c) == SQLITE_NULL ? NAN : sqlite3_column_double(st, c);
}

/* The limit task's row of key (layer, a, b), read from lim, whose rows (in that order) are walked
   forward from *rc: the keys asked for must ascend. NaN where the task has no such row. */
static void LimitAt(sqlite3_stmt *lim, int *rc, const long long key[3], double *nngp, double *ode)
{
  *nngp = *ode = NAN;
  for (; *rc == SQLITE_ROW;
       *rc = sqlite3_step(lim)) { /* limit rows before this key are of layers no network has */
    long long lk[3] = {sqlite3_column_int64(lim, 0), sqlite3_column_int64(lim, 1),
                       sqlite3_column_int64(lim, 2)};
    int       cmp   = lk[0] != key[0]   ? (lk[0] < key[0] ? -1 : 1)
                      : lk[1] != key[1] ? (lk[1] < key[1] ? -1 : 1)
                      : lk[2] != key[2] ? (lk[2] < key[2] ? -1 : 1)
                                        : 0;
    if (cmp > 0) break;
    if (cmp == 0) {
      *nngp = ColumnOrNaN(lim, 3);
      *ode  = ColumnOrNaN(lim, 4);
      break;
    }
  }
}

/* Start reading limit task id's rows (none if !has); returns the first step's code. */
static int LimitRows(sqlite3_stmt *lim, PetscBool has, sqlite3_int64 id)
{
  sqlite3_reset(lim);
  sqlite3_bind_int64(lim, 1, id);
  return has ? sqlite3_step(lim) : SQLITE_DONE;
}

/* The group's rows in (layer, a, b) order, beside its limit task's rows, read in that order too. */
static PetscErrorCode CompareWriteGroup(const Compare *c, const CompareGroup *g, sqlite3_stmt *lim,
                                        FILE *out)
{
  int rc = LimitRows(lim, g->haslim, g->lim);

  PetscFunctionBegin;
  for (PetscInt li = 0; li < g->nl; li++) {
    for (PetscInt o = 0; o < c->np; o++) {
      PetscInt  k = c->order[o], e = li * c->np + k;
      long long key[3] = {g->layer[li], c->a[k], c->b[k]};
      double    nngp, ode;
      if (!g->n[e]) continue;
      LimitAt(lim, &rc, key, &nngp, &ode);
      WriteCompareRow(out, g, key[0], key[1], key[2], g->n[e], g->sum[e], g->ss[e], g->unit[e],
                      nngp, ode);
    }
  }
  PetscCheck(rc == SQLITE_ROW || rc == SQLITE_DONE, PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
             "export: %s", sqlite3_errstr(rc));
  PetscFunctionReturn(0);
}

static PetscErrorCode CompareWriteAll(const Compare *c, sqlite3_stmt *lim, FILE *out)
{
  PetscFunctionBegin;
  for (PetscInt gi = 0; gi < c->ng; gi++) PetscCall(CompareWriteGroup(c, &c->g[gi], lim, out));
  PetscFunctionReturn(0);
}

/* A line on stderr when some (group, layer, pair) has heavy-tailed seeds (NNLStoreHeavyTailed):
   their mean ± se, z and the fit's weights are not to be read as a Gaussian's. The first such group
   is named. */
static void HeavyNote(const Compare *c)
{
  long long           rows = 0, heavy = 0;
  const CompareGroup *first = NULL;

  for (PetscInt gi = 0; gi < c->ng; gi++) {
    const CompareGroup *g = &c->g[gi];
    for (PetscInt e = 0; e < g->nl * c->np; e++) {
      if (!g->n[e]) continue;
      rows++;
      if (NNLStoreHeavyTailed(g->n[e], g->ss[e], g->dmax[e])) {
        heavy++;
        if (!first) first = g;
      }
    }
  }
  if (heavy)
    fprintf(stderr,
            "export: %lld of %lld rows are of heavy-tailed seeds (first: %s %s width %lld depth "
            "%lld): one seed's q is more than half of their squared deviations, so their mean, se "
            "and z are not a Gaussian's (a ReLU MLP deep beside its width is log-normal, "
            "Hanin-Nica: its log-norms are in -table stats and laws)\n",
            heavy, rows, first->family, first->activation, first->width, first->depth);
}

/* The seeds' means per (group, layer, pair), then write(c, lim, out) with lim a statement on the
   limits' rows of one task (LimitRows). */
static PetscErrorCode CompareRun(sqlite3_stmt *handle, FILE *out,
                                 PetscErrorCode (*write)(const Compare *, sqlite3_stmt *, FILE *))
{
  sqlite3       *db  = sqlite3_db_handle(handle);
  sqlite3_stmt  *lim = NULL, *st = NULL;
  Compare        c;
  PetscErrorCode ierr = 0;
  int            own =
    sqlite3_get_autocommit(db); /* both passes in one read transaction: one snapshot of the store */

  PetscFunctionBegin;
  memset(&c, 0, sizeof(c));
  if (own) PetscCall(NNLStoreCheck(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "export"));
  ierr = NNLStoreLoadPairs(db, &c.np, &c.order, &c.a, &c.b);
  if (!ierr) {
    ierr = NNLStoreCheck(
      db, sqlite3_prepare_v2(db, CompareSQL[NNLStoreHasNetlayers(db) ? 0 : 1], -1, &st, NULL),
      "export");
  }
  if (!ierr) ierr = ComparePass(st, &c, 0);
  for (PetscInt gi = 0; !ierr && gi < c.ng; gi++)
    for (PetscInt e = 0; e < c.g[gi].nl * c.np; e++)
      c.g[gi].unit[e] = NNLStorePow2Below(c.g[gi].unit[e]);
  if (!ierr) sqlite3_reset(st);
  if (!ierr) ierr = ComparePass(st, &c, 1);
  if (!ierr)
    ierr = NNLStoreCheck(
      db,
      sqlite3_prepare_v2(
        db, "SELECT layer, a, b, q_nngp, q_ode FROM limits WHERE point=?1 ORDER BY layer, a, b", -1,
        &lim, NULL),
      "export");
  if (!ierr) ierr = write(&c, lim, out);
  if (!ierr) HeavyNote(&c);
  sqlite3_finalize(lim);
  sqlite3_finalize(st);
  if (own) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  for (PetscInt gi = 0; gi < c.ng; gi++) {
    PetscCall(PetscFree(c.g[gi].layer));
    PetscCall(PetscFree(c.g[gi].n));
    PetscCall(PetscFree(c.g[gi].sum));
    PetscCall(PetscFree(c.g[gi].ss));
    PetscCall(PetscFree(c.g[gi].unit));
    PetscCall(PetscFree(c.g[gi].dmax));
  }
  PetscCall(PetscFree(c.g));
  PetscCall(PetscFree(c.order));
  PetscCall(PetscFree(c.a));
  PetscCall(PetscFree(c.b));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreWriteCompare(sqlite3_stmt *handle, FILE *out)
{
  PetscFunctionBegin;
  PetscCall(CompareRun(handle, out, CompareWriteAll));
  PetscFunctionReturn(0);
}

/* The extrapolate table: per (family, activation, depth), the groups of its widths; per layer that
   any of them recorded and pair, the weighted least-squares line mean = q_inf + slope/n through the
   widths whose mean has a standard error (2 or more seeds, se > 0), weights 1/se². q_inf estimates
   the n → ∞ value at that depth and slope the 1/n coefficient; se_inf and se_slope are their
   standard errors (the se taken as known); chi2 is the weighted sum of squared residuals, on widths
   − 2 degrees of freedom: how well 1/n describes these widths. A row needs two widths. */
typedef struct {
  double x, y, w;
} FitPoint;

static void FitLine(const FitPoint *p, PetscInt k, double *a, double *sa, double *b, double *sb,
                    double *chi2)
{
  double S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0, xm, ym;

  for (PetscInt i = 0; i < k; i++) S += p[i].w, Sx += p[i].w * p[i].x, Sy += p[i].w * p[i].y;
  xm = Sx / S, ym = Sy / S; /* centred: the x = 1/n are close together beside their size */
  for (PetscInt i = 0; i < k; i++) {
    double dx = p[i].x - xm;
    Sxx += p[i].w * dx * dx, Sxy += p[i].w * dx * (p[i].y - ym);
  }
  *b    = Sxy / Sxx;
  *sb   = sqrt(1 / Sxx);
  *a    = ym - *b * xm;
  *sa   = sqrt(1 / S + xm * xm / Sxx);
  *chi2 = 0;
  for (PetscInt i = 0; i < k; i++) {
    double r = p[i].y - *a - *b * p[i].x;
    *chi2 += p[i].w * r * r;
  }
}

static int CompareLongLong(const void *x, const void *y)
{
  long long a = *(const long long *)x, b = *(const long long *)y;
  return a < b ? -1 : a > b;
}

/* The rows of one (family, activation, depth): its width groups are g[mem[0..nm)], in canonical
 * (width) order. */
static PetscErrorCode ExtrapolateCluster(const Compare *c, const PetscInt mem[], PetscInt nm,
                                         sqlite3_stmt *lim, FILE *out)
{
  const CompareGroup *g0 = &c->g[mem[0]];
  PetscInt            nl = 0, nu = 0;
  long long          *layer;
  FitPoint           *pts;
  int                 rc = LimitRows(lim, g0->haslim, g0->lim);

  PetscFunctionBegin;
  for (PetscInt i = 0; i < nm; i++) nl += c->g[mem[i]].nl;
  PetscCall(PetscMalloc1(nl, &layer));
  PetscCall(PetscMalloc1(nm, &pts));
  for (PetscInt i = 0, j = 0; i < nm; i++)
    for (PetscInt li = 0; li < c->g[mem[i]].nl; li++) layer[j++] = c->g[mem[i]].layer[li];
  qsort(layer, (size_t)nl, sizeof(long long), CompareLongLong);
  for (PetscInt j = 0; j < nl; j++)
    if (!nu || layer[j] != layer[nu - 1]) layer[nu++] = layer[j];
  for (PetscInt u = 0; u < nu; u++) {
    for (PetscInt o = 0; o < c->np; o++) {
      PetscInt  k = c->order[o], npt = 0;
      long long key[3] = {layer[u], c->a[k], c->b[k]};
      double    qi, si, sl, ss, chi2, nngp, ode, unit = 0;
      for (PetscInt i = 0; i < nm; i++) {
        const CompareGroup *g = &c->g[mem[i]];
        const long long    *at =
          bsearch(&layer[u], g->layer, (size_t)g->nl, sizeof(long long), CompareLongLong);
        PetscInt e, n;
        double   mean, se;
        if (!at) continue;
        e = (PetscInt)(at - g->layer) * c->np + k, n = g->n[e];
        if (n < 2) continue;
        mean = SeedsMean(n, g->sum[e], g->ss[e], g->unit[e], &se);
        if (!(se > 0 && se < INFINITY)) continue;
        pts[npt].x = 1.0 / (double)g->width, pts[npt].y = mean, pts[npt].w = se, npt++;
        unit = PetscMax(unit, fabs(mean));
      }
      if (npt < 2) continue;
      /* fitted in units of a power of two (as the seeds' deviations): weights 1/se² of q ~ 1e-200
         overflowed */
      unit = NNLStorePow2Below(unit);
      for (PetscInt i = 0; i < npt; i++) {
        const double se = pts[i].w / unit;
        pts[i].y /= unit, pts[i].w = 1 / (se * se);
      }
      FitLine(pts, npt, &qi, &si, &sl, &ss, &chi2);
      qi *= unit, si *= unit, sl *= unit, ss *= unit;
      LimitAt(lim, &rc, key, &nngp, &ode);
      fprintf(out,
              "%s,%s,%lld,%lld,%.17g,%lld,%lld,%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g,%.17g",
              g0->family, g0->activation, g0->depth, key[0], (double)key[0] / (double)g0->depth,
              key[1], key[2], npt, qi, si, sl, ss, chi2);
      NNLStoreWriteOptional(out, nngp);
      NNLStoreWriteOptional(out, ode);
      for (int l = 0; l < 2; l++) {
        double lv = l ? ode : nngp;
        NNLStoreWriteOptional(out, qi - lv);
        NNLStoreWriteOptional(out, (qi - lv) / si);
      }
      fputc('\n', out);
    }
  }
  PetscCall(PetscFree(layer));
  PetscCall(PetscFree(pts));
  PetscCheck(rc == SQLITE_ROW || rc == SQLITE_DONE, PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
             "export: %s", sqlite3_errstr(rc));
  PetscFunctionReturn(0);
}

/* The groups come in canonical order: (family, activation) blocks, widths, then depths. Each
   block's depths in the order of their first width: the (family, activation, depth) in the limits
   table's order. */
static PetscErrorCode ExtrapolateWriteAll(const Compare *c, sqlite3_stmt *lim, FILE *out)
{
  PetscBool *done;
  PetscInt  *mem;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(c->ng, &done));
  PetscCall(PetscMalloc1(c->ng, &mem));
  for (PetscInt gi = 0; gi < c->ng; gi++) {
    const CompareGroup *g  = &c->g[gi];
    PetscInt            nm = 0;
    PetscErrorCode      ierr;
    if (done[gi]) continue;
    for (PetscInt gj = gi; gj < c->ng && !strcmp(c->g[gj].family, g->family) &&
                           !strcmp(c->g[gj].activation, g->activation);
         gj++)
      if (!done[gj] && c->g[gj].depth == g->depth) done[gj] = PETSC_TRUE, mem[nm++] = gj;
    ierr = ExtrapolateCluster(c, mem, nm, lim, out);
    if (ierr) {
      PetscCall(PetscFree(done));
      PetscCall(PetscFree(mem));
    }
    PetscCall(ierr);
  }
  PetscCall(PetscFree(done));
  PetscCall(PetscFree(mem));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreWriteExtrapolate(sqlite3_stmt *handle, FILE *out)
{
  PetscFunctionBegin;
  PetscCall(CompareRun(handle, out, ExtrapolateWriteAll));
  PetscFunctionReturn(0);
}
