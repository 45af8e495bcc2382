/* Reading run stores: tidy CSV export, status across shards, and merging shard stores into one. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "storeimpl.h"
#include "nnlimits/laws.h"
#include "nnlimits/rng.h"

/* One exported table: its CSV header and the query giving its rows in canonical order, written
   field by field or, where rows are reduced (compare), by a writer of its own. gram and stats also
   have a writer of the networks' arrays
   (`arrays`), which expands each network's netlayers row itself: the same bytes as their views,
   without SQLite making a row of each entry (the default sweep's gram export 3.3 s through the
   view). A store of schema 4 has no netlayers and is read through the views. Adding a table = one
   row. */
typedef struct {
  const char *name, *header, *sql;
  PetscErrorCode (*write)(sqlite3_stmt *st, FILE *out);
  PetscErrorCode (*arrays)(sqlite3_stmt *st, FILE *out);
} ExportTable;

static PetscErrorCode WriteCompare(sqlite3_stmt *st, FILE *out);
static PetscErrorCode WriteExtrapolate(sqlite3_stmt *st, FILE *out);
static PetscErrorCode WriteGramArrays(sqlite3_stmt *st, FILE *out);
static PetscErrorCode WriteStatsArrays(sqlite3_stmt *st, FILE *out);

/* Every network's arrays in canonical order, for the `arrays` writers: family .. seed (as the
   views' queries give them), then nrec, np, m and the BLOBs layer, q, lognorm, lognorm_post,
   kurtosis, ks. */
static const char *NetArraysSQL =
  "SELECT "
  "p.family,nnl_act(p.activation),p.width,p.depth,p.seed,n.nrec,n.np,n.m,n.layer,n.q,n.lognorm,"
  "n.lognorm_post,n.kurtosis,n.ks FROM points p JOIN netlayers n ON n.point=p.id ORDER BY p.ord";

/* The laws table runs its own queries (laws.c); its statement is only a handle on the store. */
static PetscErrorCode WriteLaws(sqlite3_stmt *st, FILE *out)
{
  PetscFunctionBegin;
  PetscCall(NNLLawsWrite(sqlite3_db_handle(st), out));
  PetscFunctionReturn(0);
}

static const ExportTable Tables[] = {
  {"gram", "family,activation,width,depth,seed,layer,t,a,b,q",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,g.layer,CAST(g.layer AS "
   "REAL)/p.depth,g.a,g.b,g.q"
   " FROM points p JOIN gram g ON g.point=p.id ORDER BY p.ord,g.layer,g.a,g.b",
   NULL, WriteGramArrays},
  {"points", "family,activation,width,depth,seed,id,status,sampler,dead_layer,message",
   "SELECT "
   "family,nnl_act(activation),width,depth,seed,printf('%016x',id),status,sampler,dead_layer,"
   "message FROM points"
   " WHERE kind='network' ORDER BY ord",
   NULL, NULL},
  {"stats", "family,activation,width,depth,seed,layer,t,input,lognorm,lognorm_post,kurtosis,ks",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,s.layer,CAST(s.layer AS "
   "REAL)/p.depth,s.input,s.lognorm,"
   "s.lognorm_post,s.kurtosis,s.ks FROM points p JOIN stats s ON s.point=p.id ORDER BY "
   "p.ord,s.layer,s.input",
   NULL, WriteStatsArrays},
  {"limits", "family,activation,depth,layer,t,a,b,q_nngp,q_ode",
   "SELECT p.family,nnl_act(p.activation),p.depth,l.layer,CAST(l.layer AS "
   "REAL)/p.depth,l.a,l.b,l.q_nngp,l.q_ode"
   " FROM points p JOIN limits l ON l.point=p.id ORDER BY p.ord,l.layer,l.a,l.b",
   NULL, NULL},
  {"spectra",
   "family,activation,width,depth,seed,layer,t,matrix,k,rank,rank_rtol,pr,cond,vmax,vmin",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,s.layer,CAST(s.layer AS "
   "REAL)/p.depth,s.matrix,s.k,s.rank,"
   "s.rank_rtol,s.pr,s.cond,s.vmax,s.vmin FROM points p JOIN spectra s ON s.point=p.id ORDER BY "
   "p.ord,s.layer,s.matrix",
   NULL, NULL},
  {"spectrum", "family,activation,width,depth,seed,layer,t,matrix,i,value",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,s.layer,CAST(s.layer AS "
   "REAL)/p.depth,s.matrix,s.i,s.value"
   " FROM points p JOIN spectrum s ON s.point=p.id ORDER BY p.ord,s.layer,s.matrix,s.i",
   NULL, NULL},
  /* Every finished network's q beside its limits: WriteCompare reduces each (.., layer, a, b) over
     seeds (CompareSQL; the statement here is only a handle on the store) */
  {"compare",
   "family,activation,width,depth,layer,t,a,b,seeds,mean,se,q_nngp,q_ode,err_nngp,z_nngp,err_ode,z_"
   "ode",
   "SELECT 1", WriteCompare, NULL},
  /* compare's means across widths, fitted as q_inf + slope/n per (family, activation, depth, layer,
     a, b) */
  {"extrapolate",
   "family,activation,depth,layer,t,a,b,widths,q_inf,se_inf,slope,se_slope,chi2,q_nngp,q_ode,err_"
   "nngp,z_nngp,"
   "err_ode,z_ode",
   "SELECT 1", WriteExtrapolate, NULL},
  {"sde", "family,activation,width,depth,t,path,a,b,q,lognorm_post",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,CASE WHEN p.family='resnet' THEN 1.0 "
   "ELSE CAST(p.depth-" NNL_SDE_OFFSET_SQL " AS REAL)/p.width END,"
   "s.path,s.a,s.b,s.q,s.lognorm_post FROM points p JOIN sde_paths s ON s.point=p.id ORDER BY "
   "p.ord,s.path,s.a,s.b",
   NULL, NULL},
  {"fokker_planck", "family,activation,width,depth,layer,t,cell,rho,density,rho_lo,rho_hi",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,f.layer,CAST(f.layer-" NNL_SDE_OFFSET_SQL
   " AS REAL)/p.width,f.cell,f.rho,f.density," NNL_FP_EDGE_SQL("f.cell") "," NNL_FP_EDGE_SQL(
     "f.cell+1") " FROM points p JOIN fokker_planck f ON f.point=p.id ORDER BY "
                 "p.ord,f.layer,f.cell",
   NULL, NULL},
  /* finite networks over seeds against the SDE paths and the Fokker–Planck density (laws.c) */
  {"laws", NNL_LAWS_HEADER, "SELECT 1", WriteLaws, NULL},
};

/* %.17g round-trips every double, so equal stores export to equal bytes. NULL (NaN, not applicable)
   is empty. Text with a comma, a quote or a line break (a failure message) is quoted as RFC 4180
   says, its quotes doubled. */
static void WriteField(sqlite3_stmt *st, int c, FILE *out)
{
  const char *text;

  switch (sqlite3_column_type(st, c)) {
  case SQLITE_NULL: break;
  case SQLITE_INTEGER: fprintf(out, "%lld", (long long)sqlite3_column_int64(st, c)); break;
  case SQLITE_FLOAT: fprintf(out, "%.17g", sqlite3_column_double(st, c)); break;
  default:
    text = (const char *)sqlite3_column_text(st, c);
    if (!strpbrk(text, ",\"\r\n"))
      fputs(text, out);
    else {
      fputc('"', out);
      for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
      }
      fputc('"', out);
    }
  }
}

/* Whether the store keeps its networks' arrays in netlayers (schema 5 and later; schema 4 had a
 * table layers). */
static PetscBool HasNetlayers(sqlite3 *db)
{
  return sqlite3_table_column_metadata(db, NULL, "netlayers", "point", NULL, NULL, NULL, NULL,
                                       NULL) == SQLITE_OK
           ? PETSC_TRUE
           : PETSC_FALSE;
}

/* The export table of this name (case-insensitive), or NULL */
static const ExportTable *FindTable(const char name[])
{
  for (size_t i = 0; i < sizeof(Tables) / sizeof(Tables[0]); i++)
    if (!strcasecmp(Tables[i].name, name)) return &Tables[i];
  return NULL;
}

PetscBool NNLStoreIsTable(const char name[])
{
  return FindTable(name) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode NNLStoreExport(NNLStore s, const char table[], FILE *out)
{
  const ExportTable *t          = FindTable(table);
  sqlite3_stmt      *st         = NULL;
  char               names[512] = "";
  int                rc, ncol;

  PetscFunctionBegin;
  for (size_t i = 0; i < sizeof(Tables) / sizeof(Tables[0]); i++)
    strcat(strcat(names, i ? ", " : ""), Tables[i].name);
  PetscCheck(t, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "-table: unknown table '%s' (allowed: %s)",
             table, names);
  if (t->arrays && HasNetlayers(s->db)) {
    PetscErrorCode ierr;
    PetscCall(
      NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, NetArraysSQL, -1, &st, NULL), "export"));
    fprintf(out, "%s\n", t->header);
    ierr = t->arrays(st, out);
    sqlite3_finalize(st);
    PetscCall(ierr);
    PetscCheck(!ferror(out), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
               "export: write error (disk full?)");
    PetscFunctionReturn(0);
  }
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, t->sql, -1, &st, NULL), "export"));
  ncol = sqlite3_column_count(st);
  fprintf(out, "%s\n", t->header);
  if (t->write) {
    PetscErrorCode ierr = t->write(st, out);
    sqlite3_finalize(st);
    PetscCall(ierr);
  } else {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (int c = 0; c < ncol; c++) {
        if (c) fputc(',', out);
        WriteField(st, c, out);
      }
      fputc('\n', out);
    }
    sqlite3_finalize(st);
    PetscCall(NNLStoreCheck(s->db, rc, "export"));
  }
  PetscCheck(!ferror(out), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
             "export: write error (disk full?)");
  PetscFunctionReturn(0);
}

/* The compare table, one (family, activation, width, depth) group at a time: the union of its
   networks' recorded layers, and per (layer, pair) the seeds' count, sum and sum of squared
   deviations. Its rows were once one query over the views gram and limits sorted by (group, layer,
   a, b, seed): 4.2 s for the default sweep's 1.2 million q, 2.0 s of it expanding the views. The
   networks' arrays in group order take 0.14 s a pass. */
typedef struct {
  char          family[32], activation[128];
  long long     width, depth;
  sqlite3_int64 lim; /* its limit task's point (ids are any 64-bit integer), if haslim */
  PetscBool     haslim;
  PetscInt      nl, cap;
  long long    *layer;    /* nl, ascending */
  PetscInt     *n;        /* nl × np */
  double       *sum, *ss; /* nl × np */
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

/* Layer number r of a network's layers array (doubles): PETSC_FALSE if it is no integer a layer
   could be (a damaged store; converting NaN or 1e300 to an integer is undefined). */
static PetscBool LayerAt(const unsigned char *lay, PetscInt r, long long *L)
{
  const double v = NNLStoreBlobAt(lay, r);

  if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(long long)v) return PETSC_FALSE;
  *L = (long long)v;
  return PETSC_TRUE;
}

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
    g->cap = cap;
  }
  memmove(g->layer + lo + 1, g->layer + lo, sizeof(long long) * (g->nl - lo));
  memmove(g->n + (lo + 1) * np, g->n + lo * np, sizeof(PetscInt) * (g->nl - lo) * np);
  memmove(g->sum + (lo + 1) * np, g->sum + lo * np, sizeof(double) * (g->nl - lo) * np);
  memmove(g->ss + (lo + 1) * np, g->ss + lo * np, sizeof(double) * (g->nl - lo) * np);
  g->layer[lo] = L;
  for (PetscInt k = 0; k < np; k++)
    g->n[lo * np + k] = 0, g->sum[lo * np + k] = g->ss[lo * np + k] = 0;
  g->nl++;
  PetscFunctionReturn(0);
}

/* One pass over the statement's rows: pass 0 opens the groups, counts and sums; pass 1 adds the
   squared deviations from each mean. Both go through the seeds in canonical order, so equal stores
   give equal bytes. A NaN q (none) is not counted. */
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
      PetscCheck(one || LayerAt(lay, r, &L), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "export: a network's layers array holds no layer number");
      PetscCall(CompareLayer(g, (PetscInt)np, L, &li));
      for (PetscInt k = 0; k < np; k++) {
        double v = NNLStoreBlobAt(q, r * np + k);
        if (v != v) continue;
        if (pass == 0)
          g->n[li * np + k]++, g->sum[li * np + k] += v;
        else {
          double d = v - g->sum[li * np + k] / (double)g->n[li * np + k];
          g->ss[li * np + k] += d * d;
        }
      }
    }
  }
  PetscCheck(rc == SQLITE_DONE, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "export: %s",
             sqlite3_errstr(rc));
  PetscFunctionReturn(0);
}

static void WriteOptional(FILE *out, double v)
{
  if (v == v)
    fprintf(out, ",%.17g", v);
  else
    fputc(',', out);
}

/* The mean of n seeds' values from their sum and sum of squared deviations ss, and its standard
 * error (NaN for one). */
static double SeedsMean(PetscInt n, double sum, double ss, double *se)
{
  *se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : NAN;
  return sum / (double)n;
}

/* One row: mean and standard error, then err = mean − limit and z = err / se for each limit (empty
   where the limit or se is missing or se = 0). */
static void WriteCompareRow(FILE *out, const CompareGroup *g, long long layer, long long a,
                            long long b, PetscInt n, double sum, double ss, double nngp, double ode)
{
  double se, mean = SeedsMean(n, sum, ss, &se);

  fprintf(out, "%s,%s,%lld,%lld,%lld,%.17g,%lld,%lld,%" PetscInt_FMT ",%.17g", g->family,
          g->activation, g->width, g->depth, layer, (double)layer / (double)g->depth, a, b, n,
          mean);
  WriteOptional(out, se);
  WriteOptional(out, nngp);
  WriteOptional(out, ode);
  for (int k = 0; k < 2; k++) {
    double lim = k ? ode : nngp;
    WriteOptional(out, mean - lim);
    WriteOptional(out, se > 0 ? (mean - lim) / se : NAN);
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
      WriteCompareRow(out, g, key[0], key[1], key[2], g->n[e], g->sum[e], g->ss[e], nngp, ode);
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

/* The store's pairs: np of them, k = 0 .. np − 1; order[o] the o-th in (a, b) order, and each
   pair's a and b by k. A store has at least one pair and its k are 0 .. np − 1, each once: anything
   else (a damaged or hostile file) is an error here, so the readers can index by k without
   checking. The caller owns the arrays only on success. */
static PetscErrorCode LoadPairs(sqlite3 *db, PetscInt *np, PetscInt **order, long long **a,
                                long long **b)
{
  sqlite3_stmt  *st   = NULL;
  PetscErrorCode ierr = 0;
  PetscInt       n = 0, row = 0;
  PetscBool     *seen = NULL;
  int            rc;

  PetscFunctionBegin;
  *np = 0;
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM pairs", -1, &st, NULL),
                          "export"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) n = (PetscInt)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "export"));
  PetscCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "export: the store has no pairs");
  PetscCall(PetscMalloc1(n, order));
  PetscCall(PetscMalloc1(n, a));
  PetscCall(PetscMalloc1(n, b));
  PetscCall(PetscCalloc1(n, &seen));
  ierr = NNLStoreCheck(
    db, sqlite3_prepare_v2(db, "SELECT k, a, b FROM pairs ORDER BY a, b", -1, &st, NULL), "export");
  for (; !ierr && sqlite3_step(st) == SQLITE_ROW; row++) {
    sqlite3_int64 k = sqlite3_column_int64(st, 0);
    if (row >= n || k < 0 || k >= n || seen[k]) break;
    seen[k]       = PETSC_TRUE;
    (*order)[row] = (PetscInt)k;
    (*a)[k]       = sqlite3_column_int64(st, 1);
    (*b)[k]       = sqlite3_column_int64(st, 2);
  }
  sqlite3_finalize(st);
  PetscCall(PetscFree(seen));
  if (!ierr && row != n)
    ierr =
      PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__,
                 PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL,
                 "export: the store's pairs are not k = 0 .. %" PetscInt_FMT ", each once", n - 1);
  if (ierr) {
    PetscCall(PetscFree(*order));
    PetscCall(PetscFree(*a));
    PetscCall(PetscFree(*b));
  }
  PetscCall(ierr);
  *np = n;
  PetscFunctionReturn(0);
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
  ierr = LoadPairs(db, &c.np, &c.order, &c.a, &c.b);
  if (!ierr) {
    ierr = NNLStoreCheck(
      db, sqlite3_prepare_v2(db, CompareSQL[HasNetlayers(db) ? 0 : 1], -1, &st, NULL), "export");
  }
  if (!ierr) ierr = ComparePass(st, &c, 0);
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
  sqlite3_finalize(lim);
  sqlite3_finalize(st);
  if (own) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  for (PetscInt gi = 0; gi < c.ng; gi++) {
    PetscCall(PetscFree(c.g[gi].layer));
    PetscCall(PetscFree(c.g[gi].n));
    PetscCall(PetscFree(c.g[gi].sum));
    PetscCall(PetscFree(c.g[gi].ss));
  }
  PetscCall(PetscFree(c.g));
  PetscCall(PetscFree(c.order));
  PetscCall(PetscFree(c.a));
  PetscCall(PetscFree(c.b));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteCompare(sqlite3_stmt *handle, FILE *out)
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
      double    qi, si, sl, ss, chi2, nngp, ode;
      for (PetscInt i = 0; i < nm; i++) {
        const CompareGroup *g = &c->g[mem[i]];
        const long long    *at =
          bsearch(&layer[u], g->layer, (size_t)g->nl, sizeof(long long), CompareLongLong);
        PetscInt e, n;
        double   mean, se;
        if (!at) continue;
        e = (PetscInt)(at - g->layer) * c->np + k, n = g->n[e];
        if (n < 2) continue;
        mean = SeedsMean(n, g->sum[e], g->ss[e], &se);
        if (!(se > 0 && se < INFINITY)) continue;
        pts[npt].x = 1.0 / (double)g->width, pts[npt].y = mean, pts[npt].w = 1 / (se * se), npt++;
      }
      if (npt < 2) continue;
      FitLine(pts, npt, &qi, &si, &sl, &ss, &chi2);
      LimitAt(lim, &rc, key, &nngp, &ode);
      fprintf(out,
              "%s,%s,%lld,%lld,%.17g,%lld,%lld,%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g,%.17g",
              g0->family, g0->activation, g0->depth, key[0], (double)key[0] / (double)g0->depth,
              key[1], key[2], npt, qi, si, sl, ss, chi2);
      WriteOptional(out, nngp);
      WriteOptional(out, ode);
      for (int l = 0; l < 2; l++) {
        double lv = l ? ode : nngp;
        WriteOptional(out, qi - lv);
        WriteOptional(out, (qi - lv) / si);
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

static PetscErrorCode WriteExtrapolate(sqlite3_stmt *handle, FILE *out)
{
  PetscFunctionBegin;
  PetscCall(CompareRun(handle, out, ExtrapolateWriteAll));
  PetscFunctionReturn(0);
}

/* Entry k of BLOB column c, NaN where the BLOB is missing or too short (where nnl_at gives NULL).
 */
static double ArrayAt(sqlite3_stmt *st, int c, PetscInt k)
{
  const unsigned char *p = sqlite3_column_blob(st, c);

  if (!p || k < 0 || k >= sqlite3_column_bytes(st, c) / 8) return NAN;
  return NNLStoreBlobAt(p, k);
}

/* The fields every row of a network's layer starts with, formatted once for all of that layer's
   rows: family .. seed (as WriteField prints them), the layer, and t = layer/depth. */
static PetscErrorCode LayerLead(sqlite3_stmt *st, long long layer, char **buf, size_t *len)
{
  FILE *f;

  PetscFunctionBegin;
  f = open_memstream(buf, len);
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_MEM, "export: no memory for a row");
  for (int c = 0; c < 5; c++) {
    if (c) fputc(',', f);
    WriteField(st, c, f);
  }
  fprintf(f, ",%lld,%.17g", layer, (double)layer / (double)sqlite3_column_int64(st, 3));
  PetscCheck(!fclose(f), PETSC_COMM_SELF, PETSC_ERR_MEM, "export: no memory for a row");
  PetscFunctionReturn(0);
}

/* A network's recorded layers in ascending order (as the views' ORDER BY gives them): rank[i] is
 * the i-th row r. */
static PetscErrorCode LayerOrder(sqlite3_stmt *st, PetscInt *nrec_, PetscInt **rank, PetscInt *cap,
                                 long long **layer)
{
  const sqlite3_int64 n = sqlite3_column_int64(st, 5);
  PetscInt            nrec;

  PetscFunctionBegin;
  PetscCheck(n >= 0 && n <= sqlite3_column_bytes(st, 8) / 8, PETSC_COMM_SELF,
             PETSC_ERR_FILE_UNEXPECTED,
             "export: a network's layers array is shorter than its %lld layers", (long long)n);
  *nrec_ = nrec = (PetscInt)n;
  if (nrec > *cap) {
    *cap = nrec;
    PetscCall(PetscRealloc(sizeof(PetscInt) * nrec, rank));
    PetscCall(PetscRealloc(sizeof(long long) * nrec, layer));
  }
  for (PetscInt r = 0; r < nrec; r++) {
    PetscInt i = r;
    PetscCheck(LayerAt(sqlite3_column_blob(st, 8), r, &(*layer)[r]), PETSC_COMM_SELF,
               PETSC_ERR_FILE_UNEXPECTED, "export: a network's layers array holds no layer number");
    for (; i > 0 && (*layer)[(*rank)[i - 1]] > (*layer)[r]; i--)
      (*rank)[i] = (*rank)[i - 1]; /* recorded ascending: no moves */
    (*rank)[i] = r;
  }
  PetscFunctionReturn(0);
}

/* The gram (gram true) or stats view's rows, from the arrays: per network and layer, each pair (a,
   b) in order with its q, or each input with its statistics (ks at the last layer). The inputs are
   the store's diagonal pairs: m(m + 1)/2 = np. */
static PetscErrorCode WriteArrays(sqlite3_stmt *st, FILE *out, PetscBool gram)
{
  PetscInt       np = 0, cap = 0, *order = NULL, *rank = NULL;
  long long     *a = NULL, *b = NULL, *layer = NULL;
  char          *lead = NULL;
  size_t         len  = 0;
  int            rc   = SQLITE_DONE;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = LoadPairs(sqlite3_db_handle(st), &np, &order, &a, &b);
  while (!ierr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const sqlite3_int64 npr = sqlite3_column_int64(st, 6), m = sqlite3_column_int64(st, 7);
    const PetscInt      n    = gram ? np : (PetscInt)m; /* rows per layer */
    PetscInt            nrec = 0;
    if (gram ? npr != np : (m < 1 || m > np || m * (m + 1) / 2 != np)) {
      ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__,
                        PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL,
                        "export: a network of %lld %s in a store of %" PetscInt_FMT " pairs",
                        gram ? (long long)npr : (long long)m, gram ? "pairs" : "inputs", np);
      break;
    }
    ierr = LayerOrder(st, &nrec, &rank, &cap, &layer);
    for (PetscInt i = 0; !ierr && i < nrec; i++) {
      const PetscInt r = rank[i];
      ierr             = LayerLead(st, layer[r], &lead, &len);
      for (PetscInt j = 0; !ierr && j < n; j++) {
        fwrite(lead, 1, len, out);
        if (gram) {
          const PetscInt k = order[j];
          fprintf(out, ",%lld,%lld", a[k], b[k]);
          WriteOptional(out, ArrayAt(st, 9, r * np + k));
        } else {
          fprintf(out, ",%" PetscInt_FMT, j);
          for (int c = 10; c < 13; c++) WriteOptional(out, ArrayAt(st, c, r * n + j));
          WriteOptional(out, r == nrec - 1 ? ArrayAt(st, 13, j) : NAN);
        }
        fputc('\n', out);
      }
      free(lead);
      lead = NULL;
    }
  }
  PetscCall(PetscFree(order));
  PetscCall(PetscFree(a));
  PetscCall(PetscFree(b));
  PetscCall(PetscFree(rank));
  PetscCall(PetscFree(layer));
  PetscCall(ierr);
  PetscCheck(rc == SQLITE_DONE, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "export: %s",
             sqlite3_errstr(rc));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteGramArrays(sqlite3_stmt *st, FILE *out)
{
  return WriteArrays(st, out, PETSC_TRUE);
}

static PetscErrorCode WriteStatsArrays(sqlite3_stmt *st, FILE *out)
{
  return WriteArrays(st, out, PETSC_FALSE);
}

/* Counts of one store: done, failed, total; this run's rate (points/s since its start, if it is
   running); and, while it runs, its own estimate of the time it has left (meta 'eta', written by
   rank 0 every few seconds: it counts the predicted cost of what is left and the work in progress,
   where the rate counts points, whose costs differ by orders of magnitude). A run still marked
   running whose directory's write lock no process holds, before the store is read and after, was
   killed without a chance to say so (SIGKILL, the OOM killer, a lost node): it is reported as
   'died', with no ETA, since nothing is computing. A merge's output whose latest run is a merged
   input's is 'merged', with no rate or ETA of its own. */
#define ETA_STALE_SECONDS 60.0 /* an estimate this old is of a run that died or hangs: not used */
typedef struct {
  long long   done, failed, total;
  double      rate;
  double      eta;      /* seconds left by the run's estimate, its age taken off; < 0: none */
  const char *eta_from; /* "run": a live run's; "last_run": an interrupted run's for its rerun */
  char        last[32];
  long long   shard, shards,
    grid; /* this store's shard i of k, and the whole job's task count ("shard", "grid_points") */
  PetscBool merge; /* last is about a merge into this store (running, or died) */
} Counts;

static PetscErrorCode CountStore(NNLStore s, const char dir[], Counts *c)
{
  sqlite3_stmt *st    = NULL;
  char         *total = NULL;
  int           held = NNLStoreLockHeld(dir), here = 0, rc;

  PetscFunctionBegin;
  memset(c, 0, sizeof(*c));
  c->eta = -1;
  PetscCall(NNLStoreCheck(s->db,
                          sqlite3_prepare_v2(s->db,
                                             "SELECT count(*) FILTER (WHERE status='done'),"
                                             " count(*) FILTER (WHERE status='failed') FROM points",
                                             -1, &st, NULL),
                          "status"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    c->done   = sqlite3_column_int64(st, 0);
    c->failed = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "status"));
  PetscCall(NNLStoreMetaGet(s->db, "total", &total));
  c->total = total ? atoll(total) : 0;
  PetscCall(PetscFree(total));
  PetscCall(NNLStoreMetaGet(s->db, "shard", &total));
  if (!total || sscanf(total, "%lld/%lld", &c->shard, &c->shards) != 2) c->shard = 0, c->shards = 1;
  PetscCall(PetscFree(total));
  PetscCall(NNLStoreMetaGet(s->db, "grid_points", &total));
  c->grid = total ? atoll(total) : 0;
  PetscCall(PetscFree(total));
  /* The latest run's state, and a rate: points over the time from a run's start to its latest
     commit, of the latest run if it is running, else of the latest run that computed points (a
     rerun of a finished job computes none: its rate would read 0/s) */
  PetscCall(NNLStoreCheck(
    s->db,
    sqlite3_prepare_v2(s->db,
                       "SELECT r.status, count(p.id), max(p.committed) - q.t0, r.source IS NULL"
                       " FROM runs r JOIN runs q ON q.run=CASE WHEN r.status='running' THEN r.run"
                       " ELSE coalesce((SELECT max(run) FROM points), r.run) END"
                       " LEFT JOIN points p ON p.run=q.run"
                       " WHERE r.run=(SELECT max(run) FROM runs)",
                       -1, &st, NULL),
    "status"));
  snprintf(c->last, sizeof(c->last), "none");
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
    double el = sqlite3_column_double(st, 2);
    snprintf(c->last, sizeof(c->last), "%s", (const char *)sqlite3_column_text(st, 0));
    if (el > 0) c->rate = (double)sqlite3_column_int64(st, 1) / el;
    here = sqlite3_column_int(st, 3); /* run in this directory, not a merged input's */
    if (!here) { /* a merge's output: its points come from other directories' runs, whose rate is
                    not this store's */
      snprintf(c->last, sizeof(c->last), "merged");
      c->rate = 0;
    }
  }
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "status"));
  PetscCall(NNLStoreMetaGet(s->db, "merging", &total));
  if (total) { /* a merge into this store began and has not ended: running if it holds the lock,
                  else killed */
    c->merge = PETSC_TRUE;
    c->rate  = 0;
    snprintf(c->last, sizeof(c->last),
             held == 0 && NNLStoreLockHeld(dir) == 0 ? "died" : "merging");
  }
  PetscCall(PetscFree(total));
  if (!strcmp(c->last, "running") && held == 0 && NNLStoreLockHeld(dir) == 0)
    snprintf(c->last, sizeof(c->last), "died");
  /* a live run's estimate, its age taken off (none if stale); an interrupted run's, of its rerun at
   * its speed, as is */
  if (!strcmp(c->last, "running") || !strcmp(c->last, "interrupted")) {
    const PetscBool live = strcmp(c->last, "running") ? PETSC_FALSE : PETSC_TRUE;
    char           *eta  = NULL;
    double          at, left;
    PetscCall(NNLStoreMetaGet(s->db, "eta", &eta));
    if (eta && sscanf(eta, "%lf %lf", &at, &left) == 2) {
      double age = NNLStoreEpoch() - at;
      if (!live)
        c->eta = left;
      else if (age <= ETA_STALE_SECONDS)
        c->eta = PetscMax(left - PetscMax(age, 0), 0);
    }
    PetscCall(PetscFree(eta));
    c->eta_from = live ? "run" : "last_run";
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreExportNote(NNLStore s, const char dir[], FILE *out)
{
  Counts    c;
  long long pending;

  PetscFunctionBegin;
  PetscCall(CountStore(s, dir, &c));
  pending = c.total - c.done - c.failed;
  if (pending <= 0) PetscFunctionReturn(0);
  fprintf(out,
          "export: '%s' is not finished: %lld of its %lld tasks pending (last_run=%s%s); the table "
          "holds its %lld finished points\n",
          dir, pending, c.total, c.last,
          !strcmp(c.last, "running") || !strcmp(c.last, "merging") ? ": still being written"
          : !strcmp(c.last, "merged") ? ": merge the other shards into it"
                                      : ": rerun the same command to finish it",
          c.done + c.failed);
  PetscFunctionReturn(0);
}

static void PrintCounts(const char label[], const Counts *c, PetscBool hint, FILE *out)
{
  long long pending = c->total - c->done - c->failed;
  char      eta[32] = "-";

  if (pending < 0) pending = 0;
  /* rounded up while work is left: "pending=159 ... eta=0s" read as done */
  if (pending > 0 && c->eta >= 0)
    snprintf(eta, sizeof(eta), "%.0fs eta_from=%s", ceil(c->eta),
             c->eta_from ? c->eta_from : "run");
  else if (pending > 0 && (!strcmp(c->last, "died") || !strcmp(c->last, "failed")))
    snprintf(eta, sizeof(eta), "-"); /* nothing computes */
  else if (pending > 0 && c->rate > 0)
    snprintf(eta, sizeof(eta), "%.0fs eta_from=rate", ceil(pending / c->rate));
  else if (pending == 0)
    snprintf(eta, sizeof(eta), "0s");
  fprintf(
    out,
    "status dir=%s done=%lld failed=%lld pending=%lld total=%lld last_run=%s rate=%.3g/s eta=%s\n",
    label, c->done, c->failed, pending, c->total, c->last, c->rate, eta);
  if (hint && pending > 0 && !strcmp(c->last, "failed"))
    fprintf(stderr,
            "status: %s: the last run stopped on an error (its stderr names it: a full disk, a "
            "file size limit?); "
            "fix that and rerun the same command to compute the %lld pending points\n",
            label, pending);
  if (hint && pending > 0 && !strcmp(c->last, "merged"))
    fprintf(stderr,
            "status: %s: %lld of the job's points are in none of the stores merged into it (shards "
            "not merged, or not "
            "finished?): merge them into it too (merging again is harmless)\n",
            label, pending);
  if (hint && c->merge && !strcmp(c->last, "died"))
    fprintf(stderr,
            "status: %s: a merge into it was killed before it ended; rerun the same merge command "
            "to finish it\n",
            label);
  else if (hint && pending > 0 && !strcmp(c->last, "died"))
    fprintf(stderr,
            "status: %s: the last run died (killed without stopping: SIGKILL, out of memory, a "
            "lost node); rerun the "
            "same command to compute the %lld pending points\n",
            label, pending);
}

/* Why points failed, on stderr (the CSV exports have no message column): each distinct message with
   its count and its first point, up to 5 of them. */
static void PrintFailures(NNLStore s, const char dir[], const Counts *c)
{
  sqlite3_stmt *st = NULL;
  int           k  = 0;

  if (c->failed <= 0 ||
      sqlite3_prepare_v2(s->db,
                         "SELECT count(*), min(ord), family, nnl_act(activation), width, depth, "
                         "seed, message FROM points"
                         " WHERE status='failed' GROUP BY message ORDER BY min(ord) LIMIT 6",
                         -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return;
  }
  while (sqlite3_step(st) == SQLITE_ROW && k++ < 5)
    fprintf(
      stderr,
      "status: %s: %lld failed: %s (first: point %lld, %s %s width %lld depth %lld seed %lld)\n",
      dir, (long long)sqlite3_column_int64(st, 0),
      sqlite3_column_text(st, 7) ? (const char *)sqlite3_column_text(st, 7) : "(no message)",
      (long long)sqlite3_column_int64(st, 1), sqlite3_column_text(st, 2),
      sqlite3_column_text(st, 3), (long long)sqlite3_column_int64(st, 4),
      (long long)sqlite3_column_int64(st, 5), (long long)sqlite3_column_int64(st, 6));
  if (k > 5)
    fprintf(stderr,
            "status: %s: other failures too (sqlite3 %s/%s \"SELECT message, count(*) FROM points "
            "GROUP BY 1\")\n",
            dir, dir, NNL_STORE_FILE);
  sqlite3_finalize(st);
}

PetscErrorCode NNLStoreStatus(NNLStore s, const char dir[], FILE *out)
{
  Counts c;

  PetscFunctionBegin;
  PetscCall(CountStore(s, dir, &c));
  PrintFailures(s, dir, &c);
  PrintCounts(dir, &c, PETSC_TRUE, out);
  PetscFunctionReturn(0);
}

/* Several directories (the shards of a job array, say): a line each, and a line (all) that sums
   them. A directory without a store yet (an array task that has not started) is said so and counted
   as pending, when more than one is given. If the stores are shards of one job (the same shard
   count and grid) and some of its shards are missing from the list, (all) counts the whole job's
   tasks and says how many shards it saw (shards=SEEN/K): the missing ones' points are pending, not
   absent. */
PetscErrorCode NNLStoreStatusMany(PetscInt n, const char *const dirs[], FILE *out)
{
  Counts    sum;
  PetscBool unestimated = PETSC_FALSE, one_job = PETSC_TRUE, parts = PETSC_FALSE;
  long long shards = 0, grid = -1, seen = 0, *ids;
  PetscInt  absent = 0, given = 0; /* directories without a store; distinct directories */
  char(*real)[PETSC_MAX_PATH_LEN];
  uint64_t *part; /* per directory, a hash of its job and shard (0: no store) */

  PetscFunctionBegin;
  memset(&sum, 0, sizeof(sum));
  sum.eta = -1;
  snprintf(sum.last, sizeof(sum.last), "-");
  PetscCall(PetscCalloc3(n, &ids, n, &real, n, &part));
  for (PetscInt i = 0; i < n; i++) {
    NNLStore  s = NULL;
    Counts    c;
    char      path[PETSC_MAX_PATH_LEN + 32];
    PetscBool again = PETSC_FALSE;
    if (!realpath(dirs[i], real[i])) PetscCall(PetscStrncpy(real[i], dirs[i], sizeof(real[i])));
    for (PetscInt k = 0; k < i && !again; k++)
      again = strcmp(real[k], real[i]) ? PETSC_FALSE : PETSC_TRUE;
    if (again) { /* `status A A` summed A twice */
      fprintf(stderr, "status: %s is given twice: counted once\n", dirs[i]);
      continue;
    }
    given++;
    snprintf(path, sizeof(path), "%s/%s", dirs[i], NNL_STORE_FILE);
    if (n > 1 && access(path, F_OK) != 0) {
      fprintf(out, "status dir=%s no_store (not started yet, or not a run directory)\n", dirs[i]);
      absent++;
      unestimated = PETSC_TRUE;
      continue;
    }
    PetscCall(NNLStoreOpenRead(dirs[i], &s));
    PetscCall(CountStore(s, dirs[i], &c));
    { /* two directories of one job's same part (a copy, or the job run twice): (all) counts their
         points twice */
      char *job = NULL;
      PetscCall(NNLStoreMetaGet(s->db, "job", &job));
      part[i] =
        NNLHash64Update(NNLHash64Update(NNL_HASH64_INIT, job ? job : "", job ? strlen(job) : 0),
                        &c.shard, sizeof(c.shard));
      part[i] = NNLHash64Final(NNLHash64Update(part[i], &c.shards, sizeof(c.shards))) | 1;
      PetscCall(PetscFree(job));
      for (PetscInt k = 0; k < i; k++)
        if (part[k] == part[i]) {
          fprintf(stderr,
                  "status: %s and %s hold the same job's shard %lld/%lld: (all) counts its points "
                  "twice\n",
                  dirs[k], dirs[i], c.shard, c.shards);
          break;
        }
    }
    PrintFailures(s, dirs[i], &c);
    PetscCall(NNLStoreClose(&s));
    PrintCounts(dirs[i], &c, PETSC_TRUE, out);
    if (grid < 0) shards = c.shards, grid = c.grid;
    if (c.shards > 1) parts = PETSC_TRUE;
    if (c.shards != shards || c.grid != grid || c.shards < 2)
      one_job = PETSC_FALSE;
    else {
      PetscBool dup = PETSC_FALSE;
      for (long long k = 0; k < seen; k++) dup = dup || ids[k] == c.shard;
      if (!dup) ids[seen++] = c.shard;
    }
    sum.done += c.done;
    sum.failed += c.failed;
    sum.total += c.total;
    sum.rate +=
      c.rate; /* shards run side by side: their rates add, and the last to end ends them all */
    if (c.done + c.failed < c.total) {
      if (!strcmp(c.last, "died"))
        snprintf(sum.last, sizeof(sum.last), "died"); /* the whole waits for its rerun */
      if (c.eta < 0)
        unestimated = PETSC_TRUE;
      else if (c.eta >= sum.eta)
        sum.eta = c.eta, sum.eta_from = c.eta_from; /* the last to end ends them all */
      /* (a shard that ends sooner than another was counted as one without an estimate: (all) fell
         back on the summed rate, and said 6 s beside shards of 13 s and 10 s) */
    }
  }
  PetscCall(PetscFree3(ids, real, part));
  PetscCheck(absent < given, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "status: none of the %" PetscInt_FMT " directories holds a store yet", given);
  if (one_job && seen < shards &&
      grid > sum.total) { /* the job's other shards: pending, not started here */
    sum.total   = grid;
    unestimated = PETSC_TRUE;
  }
  if (unestimated) { /* a shard with work left and no estimate of its own: the summed rate's, but
                        not before a shard's own */
    const long long pending = sum.total - sum.done - sum.failed;
    const double    known   = sum.eta;
    sum.eta                 = -1;
    if (pending > 0 && sum.rate > 0 && known > pending / sum.rate && strcmp(sum.last, "died"))
      sum.eta = known;
  }
  if (n > 1) {
    PrintCounts("(all)", &sum, PETSC_FALSE, out);
    if (one_job && seen < shards)
      fprintf(stderr, "status: (all) counts the whole job: %lld of its %lld shards have a store\n",
              seen, shards);
    /* shard 2/3 beside shards 0/2 and 1/2 (two submits' splits) share points: the sum counts those
     * twice */
    if (!one_job && parts)
      fprintf(stderr,
              "status: (all) adds up parts of different splits or jobs (their shard counts or "
              "grids differ): points "
              "they share are counted twice; nnlimits merge gives one store's true count\n");
  }
  PetscFunctionReturn(0);
}

/* ATTACH the store of dir as schema name; its store schema in *schema (may be NULL). */
static PetscErrorCode Attach(sqlite3 *db, const char dir[], const char name[], int *schema)
{
  sqlite3_stmt *st = NULL;
  char          path[PETSC_MAX_PATH_LEN + 32], sql[64];
  int           rc, sch = 0;

  PetscFunctionBegin;
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_FILE);
  snprintf(sql, sizeof(sql), "ATTACH ? AS %s", name);
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), "merge"));
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc, "attach input"));
  PetscCall(NNLStoreSchema(db, name, &sch));
  if (schema) *schema = sch;
  PetscFunctionReturn(0);
}

/* Copy one attached input into the output: points, arrays and its runs' provenance; existing points
 * are kept. */
static PetscErrorCode MergeOne(sqlite3 *db, const char dir[], const char out[],
                               sqlite3_int64 checked)
{
  sqlite3_stmt  *st = NULL;
  char           source[PATH_MAX];
  PetscErrorCode ierr;
  int            rc, schema = 0;

  PetscFunctionBegin;
  if (!realpath(dir, source)) snprintf(source, sizeof(source), "%s", dir);
  ierr = Attach(db, dir, "src", &schema);
  if (!ierr) ierr = NNLStoreExec(db, "BEGIN IMMEDIATE");
  /* the points it gained since MergePreCheck compared it (a run still writing it, say): the others
     were, and a re-merge compared every point twice (a re-merge of jobs/pdlt_kurtosis.opts' 3
     shards took 4.6 s, a fresh one 0.6) */
  if (!ierr)
    ierr = NNLStoreMergeConflict(db, "src", "main", dir, out, checked,
                                 schema == 4 ? PETSC_FALSE : PETSC_TRUE);
  /* a schema-4 input's layers rows become netlayers rows, as an upgrade of it in place would make
   * them */
  if (!ierr)
    ierr = schema == 4
             ? NNLStoreLayersToNet(db, "src")
             : NNLStoreExec(db, "INSERT OR IGNORE INTO netlayers SELECT * FROM src.netlayers;"
                                "INSERT OR IGNORE INTO seq SELECT * FROM src.seq;");
  /* Provenance of the input's runs: its rows, once each however often the input is merged (a run
     seen before, by its start and host, is updated in place: a shard resumed since has a new
     status; its directory is named canonically, so that shard-0, ./shard-0 and /abs/shard-0 are one
     run, not three), then each point's run renumbered to the row its run has here. The input's own
     run numbers would name this store's other runs (every shard's first run is 1). Points merged
     before (by an earlier build, which kept them) are renumbered too, where the store holds the
     input's own record of the point (the same commit time). */
  if (!ierr)
    ierr = NNLStoreExec(db, "CREATE TEMP TABLE IF NOT EXISTS runmap(old INTEGER PRIMARY KEY, new "
                            "INTEGER); DELETE FROM temp.runmap");
  for (int k = 0; k < 5 && !ierr; k++) {
    static const char *const sql[5] = {
      "UPDATE main.runs AS r SET finished=s.finished, status=s.status, ranks=s.ranks, host=s.host, "
      "git=s.git, versions=s.versions,"
      " slurm=s.slurm, options=s.options, source=?1 FROM src.runs AS s WHERE r.started IS "
      "s.started AND r.t0 IS s.t0 AND r.host IS s.host",
      "INSERT INTO "
      "main.runs(started,finished,status,ranks,host,git,versions,slurm,options,source,t0)"
      " SELECT started,finished,status,ranks,host,git,versions,slurm,options,?1,t0 FROM src.runs "
      "AS s WHERE NOT EXISTS"
      " (SELECT 1 FROM main.runs AS r WHERE r.started IS s.started AND r.t0 IS s.t0 AND r.host IS "
      "s.host) ORDER BY s.run",
      "INSERT INTO temp.runmap SELECT s.run, (SELECT max(r.run) FROM main.runs AS r WHERE "
      "r.started IS s.started"
      " AND r.t0 IS s.t0 AND r.host IS s.host) FROM src.runs AS s",
      "INSERT OR IGNORE INTO "
      "main.points(id,ord,family,activation,width,depth,seed,status,sampler,dead_layer,message,"
      "seconds,"
      "committed,run,kind) SELECT "
      "id,ord,family,activation,width,depth,seed,status,sampler,dead_layer,message,seconds,"
      "committed,"
      "(SELECT new FROM temp.runmap WHERE old=p.run),kind FROM src.points AS p",
      "UPDATE main.points AS p SET run=m.new FROM src.points AS s JOIN temp.runmap AS m ON "
      "m.old=s.run"
      " WHERE p.id=s.id AND p.committed IS s.committed AND p.run IS NOT m.new"};
    ierr = NNLStoreCheck(db, sqlite3_prepare_v2(db, sql[k], -1, &st, NULL), "merge runs");
    if (ierr) break;
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    ierr = NNLStoreCheck(db, rc, "merge runs");
  }
  if (!ierr)
    ierr = NNLStoreExec(db, "INSERT OR IGNORE INTO pairs SELECT * FROM src.pairs;"
                            "INSERT OR IGNORE INTO limits SELECT * FROM src.limits;"
                            "INSERT OR IGNORE INTO spectra SELECT * FROM src.spectra;"
                            "INSERT OR IGNORE INTO spectrum SELECT * FROM src.spectrum;"
                            "INSERT OR IGNORE INTO sde_paths SELECT * FROM src.sde_paths;"
                            "INSERT OR IGNORE INTO fokker_planck SELECT * FROM src.fokker_planck;");
  if (!ierr) ierr = NNLStoreExec(db, "COMMIT");
  if (ierr) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* The conflicts a merge would be refused for, found before anything is written, so that a refused
   merge changes nothing (MergeOne checks each input again inside its transaction: an input still
   being written may gain points): no two of the output (where it holds points) and the inputs may
   hold one point with different rows. Each input against the output; then the inputs that share
   points the output lacks, pair by pair (a temporary table of their ids finds the pairs; shards of
   one split share none, so this is one pass over the inputs' ids). */
static PetscErrorCode MergeCheckInputs(sqlite3 *db, PetscBool out, PetscInt n,
                                       const char *const dirs[], const char output[],
                                       sqlite3_int64 checked[])
{
  sqlite3_stmt  *st   = NULL;
  PetscErrorCode ierr = 0;
  int            rc = SQLITE_DONE, sa = 0, sb = 0, so = 0;

  PetscFunctionBegin;
  if (out)
    PetscCall(NNLStoreSchema(
      db, "main", &so)); /* a schema-4 output, not upgraded yet (this is before the merge) */
  PetscCall(NNLStoreExec(db, "CREATE TEMP TABLE mids(id INTEGER, src INTEGER)"));
  for (PetscInt i = 0; i < n && !ierr; i++) {
    char sql[160];
    ierr = Attach(db, dirs[i], "src", &sa);
    if (!ierr) { /* the input's last point as compared here (in one read transaction with the
                    comparisons below) */
      sqlite3_stmt *mx = NULL;
      ierr             = NNLStoreExec(db, "BEGIN");
      if (!ierr)
        ierr = NNLStoreCheck(
          db,
          sqlite3_prepare_v2(db, "SELECT coalesce(max(rowid), 0) FROM src.points", -1, &mx, NULL),
          "merge check");
      if (!ierr && (rc = sqlite3_step(mx)) == SQLITE_ROW) checked[i] = sqlite3_column_int64(mx, 0);
      sqlite3_finalize(mx);
      if (!ierr) ierr = NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "merge check");
    }
    if (!ierr && out)
      ierr = NNLStoreMergeConflict(db, "src", "main", dirs[i], output, -1,
                                   sa == 4 || so == 4 ? PETSC_FALSE : PETSC_TRUE);
    snprintf(sql, sizeof(sql),
             "INSERT INTO temp.mids SELECT id, %" PetscInt_FMT " FROM src.points%s", i,
             out ? " WHERE id NOT IN (SELECT id FROM main.points)" : "");
    if (!ierr) ierr = NNLStoreExec(db, sql);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
  }
  PetscCall(ierr);
  PetscCall(NNLStoreExec(db, "CREATE INDEX temp.mids_id ON mids(id)"));
  PetscCall(NNLStoreCheck(
    db,
    sqlite3_prepare_v2(
      db,
      "SELECT DISTINCT x.src, y.src FROM temp.mids x JOIN temp.mids y ON y.id=x.id AND y.src>x.src",
      -1, &st, NULL),
    "merge pairs"));
  while (!ierr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const PetscInt i = (PetscInt)sqlite3_column_int64(st, 0),
                   j = (PetscInt)sqlite3_column_int64(st, 1);
    ierr             = Attach(db, dirs[i], "src", &sa);
    if (!ierr) ierr = Attach(db, dirs[j], "src2", &sb);
    if (!ierr)
      ierr = NNLStoreMergeConflict(db, "src", "src2", dirs[i], dirs[j], -1,
                                   sa == 4 || sb == 4 ? PETSC_FALSE : PETSC_TRUE);
    sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH src2", NULL, NULL, NULL);
  }
  sqlite3_finalize(st);
  PetscCall(ierr);
  PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "merge pairs"));
  PetscFunctionReturn(0);
}

/* The job text, shard and grid size every input must agree on. */
typedef struct {
  char *job, *shard, *grid_points;
} StoreMeta;

static PetscErrorCode ReadMeta(const char dir[], StoreMeta *m)
{
  NNLStore       s = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(NNLStoreOpenRead(dir, &s));
  ierr = NNLStoreMetaGet(s->db, "job", &m->job);
  if (!ierr) ierr = NNLStoreMetaGet(s->db, "shard", &m->shard);
  if (!ierr) ierr = NNLStoreMetaGet(s->db, "grid_points", &m->grid_points);
  if (!ierr) ierr = NNLStoreCheckStream(s->db, dir);
  PetscCall(NNLStoreClose(&s));
  PetscCall(ierr);
  PetscCheck(m->job && m->shard && m->grid_points, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s': store lacks its job record", dir);
  PetscFunctionReturn(0);
}

static PetscErrorCode FreeMeta(StoreMeta *m)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(m->job));
  PetscCall(PetscFree(m->shard));
  PetscCall(PetscFree(m->grid_points));
  PetscFunctionReturn(0);
}

/* An existing merge output (not fresh) must hold the whole of this job (ctx: the job text), drawn
   with this build's random streams. */
static PetscErrorCode CheckMergeOutput(sqlite3 *db, const char output[], const void *ctx)
{
  StoreMeta      have = {0};
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = NNLStoreCheckStream(db, output);
  if (!ierr) ierr = NNLStoreMetaGet(db, "job", &have.job);
  if (!ierr && have.job)
    ierr = NNLStoreCompareJob(output, have.job, (const char *)ctx, "merge into another -output");
  if (!ierr) ierr = NNLStoreMetaGet(db, "shard", &have.shard);
  /* A shard's store would end up holding other shards' points under its shard's total and -shard
   * record. */
  if (!ierr && have.shard && strcmp(have.shard, "0/1"))
    ierr = PetscError(
      PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
      PETSC_ERROR_INITIAL,
      "-output: '%s' holds shard %s of this job, not the whole job: merge into a new directory",
      output, have.shard);
  PetscCall(FreeMeta(&have));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* What a merge checks before it writes (NNLStorePreCheck's callback): the job it merges, its
   inputs, and, per input, the last point compared (MergeCheckInputs); *ran whether the output held
   a store. */
typedef struct {
  const char        *job;
  PetscInt           n;
  const char *const *dirs;
  sqlite3_int64     *checked;
  PetscBool         *ran;
} MergeCheck;

/* An existing output, on the read-only connection NNLStorePreCheck opened: CheckMergeOutput, then
   MergeCheckInputs against its points. */
static PetscErrorCode CheckMergeStores(sqlite3 *db, const char output[], const void *ctx)
{
  const MergeCheck *m = (const MergeCheck *)ctx;

  PetscFunctionBegin;
  PetscCall(CheckMergeOutput(db, output, m->job));
  PetscCall(MergeCheckInputs(db, PETSC_TRUE, m->n, m->dirs, output, m->checked));
  *m->ran = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Everything a merge would be refused for, before the output is made or touched: an existing
   output's job and conflicts (CheckMergeStores), or, with no output yet, the inputs' conflicts
   among themselves on an empty connection. */
static PetscErrorCode MergePreCheck(PetscInt n, const char *const dirs[], const char output[],
                                    const char job[], sqlite3_int64 checked[])
{
  sqlite3         *db  = NULL;
  PetscBool        ran = PETSC_FALSE;
  const MergeCheck m   = {job, n, dirs, checked, &ran};
  PetscErrorCode   ierr;

  PetscFunctionBegin;
  PetscCall(NNLStorePreCheck(output, CheckMergeStores, &m));
  if (ran) PetscFunctionReturn(0);
  ierr = NNLStoreCheck(
    NULL, sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL),
    "merge check");
  if (!ierr) ierr = NNLStoreFunctions(db);
  if (!ierr) ierr = MergeCheckInputs(db, PETSC_FALSE, n, dirs, output, checked);
  sqlite3_close(db);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreMerge(PetscInt n, const char *const dirs[], const char output[])
{
  StoreMeta      first = {0}, other = {0};
  sqlite3       *db   = NULL;
  int            lock = -1;
  PetscBool      fresh;
  PetscErrorCode ierr    = 0;
  sqlite3_int64 *checked = NULL; /* per input, its last point that MergePreCheck compared */

  PetscFunctionBegin;
  PetscCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "merge: give the run directories to merge: nnlimits merge DIR... -output DIR");
  /* Check every input before the output is touched: a refused merge changes nothing. */
  ierr = ReadMeta(dirs[0], &first);
  for (PetscInt i = 1; i < n && !ierr; i++) {
    ierr = ReadMeta(dirs[i], &other);
    if (!ierr) /* there: dirs[i]; here: dirs[0] */
      ierr = NNLStoreCompareJob(dirs[i], other.job, first.job,
                                "merge combines the shards of one job; its inputs are of two jobs");
    PetscCall(FreeMeta(&other));
  }
  for (PetscInt i = 0; i < n && !ierr; i++) {
    if (NNLStoreSamePath(dirs[i], output))
      ierr =
        PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT,
                   PETSC_ERROR_INITIAL, "-output: '%s' is also an input of the merge", output);
  }
  if (!ierr) ierr = PetscMalloc1(n, &checked);
  if (!ierr) ierr = MergePreCheck(n, dirs, output, first.job, checked);
  if (!ierr) ierr = NNLStoreMakeDir(output);
  if (!ierr) ierr = NNLStoreLock(output, &lock);
  if (!ierr) ierr = NNLStoreOpenDB(output, PETSC_TRUE, &db);
  if (!ierr) ierr = NNLStoreVerify(db, output, &fresh);
  if (!ierr && fresh) {
    /* The merged store is the whole grid's: rerunning the full job on it computes whatever no shard
     * finished. */
    ierr = NNLStoreCreateSchema(db, first.job, "0/1", atoll(first.grid_points),
                                atoll(first.grid_points), 0); /* pairs: from the inputs */
  } else if (!ierr) {
    ierr = CheckMergeOutput(db, output, first.job); /* again, under the lock */
    if (!ierr) ierr = NNLStoreUpgrade(db, output);
  }
  if (!ierr) ierr = NNLStoreExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  /* while this flag stands, status says the merge is running (the lock held) or was killed (no
   * lock): not "merged" */
  if (!ierr) ierr = NNLStoreExec(db, "INSERT OR REPLACE INTO meta VALUES ('merging', 'yes')");
  for (PetscInt i = 0; i < n && !ierr; i++) ierr = MergeOne(db, dirs[i], output, checked[i]);
  if (!ierr) ierr = NNLStoreExec(db, "DELETE FROM meta WHERE key = 'merging'");
  if (db) sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
  if (db) sqlite3_close(db);
  NNLStoreUnlock(&lock);
  PetscCall(PetscFree(checked));
  PetscCall(FreeMeta(&first));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
