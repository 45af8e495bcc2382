/* Law comparison: finite networks over seeds against SDE paths and the Fokker–Planck density (the
 * laws table). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "nnlimits/activation.h"
#include "nnlimits/laws.h"
#include "nnlimits/fokker_planck.h"
#include "storeimpl.h"

static int CmpDouble(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void NNLLawsSort(PetscInt n, double *x)
{
  if (n > 1) qsort(x, (size_t)n, sizeof(double), CmpDouble); /* x may be NULL when n = 0 */
}

double NNLLawsQuantile(PetscInt n, const double *x, double p)
{
  double   h;
  PetscInt i;

  if (n <= 0) return NAN;
  h = p * (double)(n - 1);
  i = (PetscInt)floor(h);
  if (i >= n - 1) return x[n - 1];
  return x[i] + (h - (double)i) * (x[i + 1] - x[i]);
}

/* Walk both sorted samples in order; between consecutive distinct values both cdfs are constant. */
static void TwoSample(PetscInt nx, const double *x, PetscInt ny, const double *y, double *ks,
                      double *w1)
{
  PetscInt i = 0, j = 0;
  double   d = 0, w = 0, prev = 0;

  while (i < nx || j < ny) {
    double v = (j >= ny || (i < nx && x[i] <= y[j])) ? x[i] : y[j], diff;
    if (i + j > 0) w += fabs((double)i / nx - (double)j / ny) * (v - prev);
    while (i < nx && x[i] == v) i++;
    while (j < ny && y[j] == v) j++;
    diff = fabs((double)i / nx - (double)j / ny);
    if (diff > d) d = diff;
    prev = v;
  }
  *ks = d;
  *w1 = w;
}

double NNLLawsKS(PetscInt nx, const double *x, PetscInt ny, const double *y)
{
  double ks, w1;

  if (nx <= 0 || ny <= 0) return NAN;
  TwoSample(nx, x, ny, y, &ks, &w1);
  return ks;
}

double NNLLawsW1(PetscInt nx, const double *x, PetscInt ny, const double *y)
{
  double ks, w1;

  if (nx <= 0 || ny <= 0) return NAN;
  TwoSample(nx, x, ny, y, &ks, &w1);
  return w1;
}

/* ∫_a^b |F(s) − c| ds for F linear from fa to fb: exact, splitting at the crossing. */
static double AbsLinear(double a, double b, double fa, double fb, double c)
{
  double d1 = fa - c, d2 = fb - c;

  if (b <= a) return 0;
  if (d1 * d2 >= 0) return (b - a) * fabs(0.5 * (d1 + d2));
  return (b - a) * (d1 * d1 + d2 * d2) / (2 * (fabs(d1) + fabs(d2)));
}

void NNLLawsDensityDistance(PetscInt n, const double *x, PetscInt ncell, const double *edge,
                            const double *p, double *ks, double *w1)
{
  double   mass = 0, Fedge = 0, d = 0, w = 0;
  PetscInt j = 0;

  if (n <= 0 || ncell <= 0) {
    *ks = *w1 = NAN;
    return;
  }
  for (PetscInt c = 0; c < ncell; c++) mass += p[c] * (edge[c + 1] - edge[c]);
  /* cell by cell: F rises linearly from Fedge; the samples in the cell cut it into pieces where
     F_emp = j/n is constant, and at each sample F_emp jumps from j/n to (j+1)/n (the sup of |F −
     F_emp| is at one side of a jump) */
  for (PetscInt c = 0; c < ncell; c++) {
    const double lo = edge[c], hi = edge[c + 1], slope = p[c] / mass;
    double       a = lo;
    while (j < n && (PetscMin(PetscMax(x[j], -1.0), 1.0) <= hi || c == ncell - 1)) {
      const double b  = PetscMin(PetscMax(PetscMin(PetscMax(x[j], -1.0), 1.0), a), hi),
                   fb = Fedge + slope * (b - lo);
      w += AbsLinear(a, b, Fedge + slope * (a - lo), fb, (double)j / n);
      d = PetscMax(d, PetscMax(fabs(fb - (double)j / n), fabs(fb - (double)(j + 1) / n)));
      j++;
      a = b;
    }
    w += AbsLinear(a, hi, Fedge + slope * (a - lo), Fedge + slope * (hi - lo), (double)j / n);
    Fedge += slope * (hi - lo);
  }
  *ks = d;
  *w1 = w;
}

/* One group's values of one statistic: finite networks and SDE paths (sorted), and the PDE density
 * (rho only). */
typedef struct {
  PetscInt n, cap;
  double  *v;
} Sample;

static PetscErrorCode Push(Sample *s, double v)
{
  PetscFunctionBegin;
  if (!isfinite(v))
    PetscFunctionReturn(
      0); /* a dead network's -inf post-activation norm has no place on a real line */
  if (s->n == s->cap) {
    double *t;
    s->cap = 2 * s->cap + 256;
    PetscCall(PetscMalloc1(s->cap, &t));
    if (s->n) PetscCall(PetscArraycpy(t, s->v, s->n));
    PetscCall(PetscFree(s->v));
    s->v = t;
  }
  s->v[s->n++] = v;
  PetscFunctionReturn(0);
}

#define NSTAT 3
static const char *const StatName[NSTAT] = {"rho", "logv", "lognorm_post"};

/* q00, q11, q01, lognorm_post of rows of a query into the three statistics */
static PetscErrorCode Collect(sqlite3_stmt *st, Sample s[NSTAT])
{
  int rc;

  PetscFunctionBegin;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    double q00 = sqlite3_column_double(st, 0);
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
      PetscCall(Push(&s[0], sqlite3_column_double(st, 2) /
                              (sqrt(q00) * sqrt(sqlite3_column_double(st, 1))))); /* no overflow */
    PetscCall(Push(&s[1], log(q00)));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
      PetscCall(Push(&s[2], sqlite3_column_double(st, 3)));
  }
  PetscCall(NNLStoreCheck(sqlite3_db_handle(st), rc, "laws"));
  for (int k = 0; k < NSTAT; k++) NNLLawsSort(s[k].n, s[k].v);
  PetscFunctionReturn(0);
}

static void Opt(FILE *out, double v)
{
  if (v == v)
    fprintf(out, ",%.17g", v);
  else
    fputc(',', out);
}

static void MeanSd(const Sample *s, double *mean, double *sd)
{
  double sum = 0, ss = 0;

  *mean = *sd = NAN;
  if (!s->n) return;
  for (PetscInt i = 0; i < s->n; i++) sum += s->v[i];
  *mean = sum / (double)s->n;
  for (PetscInt i = 0; i < s->n; i++) ss += (s->v[i] - *mean) * (s->v[i] - *mean);
  if (s->n > 1) *sd = sqrt(ss / (double)(s->n - 1));
}

static void WriteRow(FILE *out, const char *key, double t, int k, const Sample *net,
                     const Sample *sde, PetscInt ncell, const double *edge, const double *pde)
{
  const double qs[5] = {0.05, 0.25, 0.5, 0.75, 0.95};
  double       m[2], sd[2], ks = NAN, w1 = NAN;

  MeanSd(net, &m[0], &sd[0]);
  MeanSd(sde, &m[1], &sd[1]);
  fprintf(out, "%s,%.17g,%s,%" PetscInt_FMT ",%" PetscInt_FMT, key, t, StatName[k], net->n, sde->n);
  for (int j = 0; j < 2; j++) {
    Opt(out, m[j]);
    Opt(out, sd[j]);
  }
  for (int j = 0; j < 5; j++) Opt(out, NNLLawsQuantile(net->n, net->v, qs[j]));
  for (int j = 0; j < 5; j++) Opt(out, NNLLawsQuantile(sde->n, sde->v, qs[j]));
  Opt(out, NNLLawsKS(net->n, net->v, sde->n, sde->v));
  Opt(out, NNLLawsW1(net->n, net->v, sde->n, sde->v));
  if (pde && k == 0) NNLLawsDensityDistance(net->n, net->v, ncell, edge, pde, &ks, &w1);
  Opt(out, ks);
  Opt(out, w1);
  ks = w1 = NAN;
  if (pde && k == 0) NNLLawsDensityDistance(sde->n, sde->v, ncell, edge, pde, &ks, &w1);
  Opt(out, ks);
  Opt(out, w1);
  fputc('\n', out);
}

/* The last recorded layer's q00, q11, q01 and input 0's log-norm from its arrays (NULL where there
   is no second input), if that layer is the network's depth: from netlayers (schema 5 on), else
   from the table layers (schema 4). A join on schema 5's view layers took 7 times as long. */
static const char *NetSQL =
  "SELECT nnl_at(L.q, (L.nrec - 1) * L.np), nnl_at(L.q, (L.nrec - 1) * L.np + (SELECT k FROM pairs "
  "WHERE a=1 AND b=1)),"
  " nnl_at(L.q, (L.nrec - 1) * L.np + (SELECT k FROM pairs WHERE a=0 AND b=1)), "
  "nnl_at(L.lognorm_post, (L.nrec - 1) * L.m)"
  " FROM points p JOIN netlayers L ON L.point=p.id AND nnl_at(L.layer, L.nrec - 1)=p.depth"
  " WHERE p.kind='network' AND p.status='done' AND p.family=?1 AND p.activation=?2 AND p.width=?3 "
  "AND p.depth=?4 ORDER BY p.ord";
static const char *NetSQL4 =
  "SELECT nnl_at(L.q, 0), nnl_at(L.q, (SELECT k FROM pairs WHERE a=1 AND b=1)), nnl_at(L.q, "
  "(SELECT k FROM pairs WHERE a=0 AND b=1)),"
  " nnl_at(L.lognorm_post, 0) FROM points p JOIN layers L ON L.point=p.id AND L.layer=p.depth"
  " WHERE p.kind='network' AND p.status='done' AND p.family=?1 AND p.activation=?2 AND p.width=?3 "
  "AND p.depth=?4 ORDER BY p.ord";
static const char *SDESQL =
  "SELECT q00.q, q11.q, q01.q, q00.lognorm_post FROM points p JOIN sde_paths q00 ON q00.point=p.id "
  "AND q00.a=0 AND q00.b=0"
  " LEFT JOIN sde_paths q11 ON q11.point=p.id AND q11.path=q00.path AND q11.a=1 AND q11.b=1"
  " LEFT JOIN sde_paths q01 ON q01.point=p.id AND q01.path=q00.path AND q01.a=0 AND q01.b=1"
  " WHERE p.kind='sde' AND p.family=?1 AND p.activation=?2 AND p.width=?3 AND p.depth=?4 ORDER BY "
  "q00.path";
static const char *PDESQL =
  "SELECT f.density FROM points p JOIN fokker_planck f ON f.point=p.id AND f.layer=p.depth"
  " WHERE p.kind='sde' AND p.family=?1 AND p.activation=?2 AND p.width=?3 AND p.depth=?4 ORDER BY "
  "f.cell";

static PetscErrorCode Query(sqlite3 *db, const char *sql, sqlite3_stmt *grp, sqlite3_stmt **st)
{
  PetscFunctionBegin;
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, st, NULL), "laws"));
  for (int c = 0; c < 2; c++)
    sqlite3_bind_text(*st, c + 1, (const char *)sqlite3_column_text(grp, c), -1, SQLITE_TRANSIENT);
  for (int c = 2; c < 4; c++) sqlite3_bind_int64(*st, c + 1, sqlite3_column_int64(grp, c));
  PetscFunctionReturn(0);
}

/* The density of the group's SDE task at its last layer, if it has one and its solve did not fail.
 */
static PetscErrorCode Density(sqlite3_stmt *st, Sample *pde)
{
  int rc;

  PetscFunctionBegin;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) { /* a failed solve: no density */
      pde->n = 0;
      PetscFunctionReturn(0);
    }
    PetscCall(Push(pde, sqlite3_column_double(st, 0)));
  }
  PetscCall(NNLStoreCheck(sqlite3_db_handle(st), rc, "laws"));
  PetscFunctionReturn(0);
}

/* The store's conventions, read once per laws table: the shaped SDE's time offset
   (NNLStoreSDETimeOffset) and the Fokker–Planck grid (meta "fp_grid"; NULL: cells uniform in ρ). */
typedef struct {
  int   off;
  char *grid;
} Conventions;

/* One (family, activation, width, depth): its statements are finalized and its samples freed on
   every path, error or not (a damaged store must not leak the connection, which SQLite cannot close
   while a statement is open). */
static PetscErrorCode Group(sqlite3 *db, const char *netsql, const Conventions *conv,
                            sqlite3_stmt *grp, FILE *out)
{
  Sample        net[NSTAT] = {{0}}, sde[NSTAT] = {{0}}, pde = {0};
  double       *edge   = NULL;
  sqlite3_stmt *st     = NULL;
  const char   *fam    = (const char *)sqlite3_column_text(grp, 0),
             *act      = (const char *)sqlite3_column_text(grp, 1);
  PetscInt       width = sqlite3_column_int64(grp, 2), depth = sqlite3_column_int64(grp, 3);
  double         t;
  char           key[256];
  PetscErrorCode ierr = 0;

  PetscFunctionBegin;
  PetscCheck(
    fam && act && width > 0 && depth > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
    "laws: a network point without family, activation, width or depth: the store is damaged");
  t = strcmp(fam, "resnet") ? (double)(depth - conv->off) / (double)width : 1.0;
  {
    char name[128];
    NNLActivationDisplayName(
      act, name, sizeof(name)); /* as the other tables show it; the queries take act itself */
    snprintf(key, sizeof(key), "%s,%s,%" PetscInt_FMT ",%" PetscInt_FMT, fam, name, width, depth);
  }
  ierr = Query(db, netsql, grp, &st);
  if (!ierr) ierr = Collect(st, net);
  sqlite3_finalize(st);
  st = NULL;
  if (!ierr) ierr = Query(db, SDESQL, grp, &st);
  if (!ierr) ierr = Collect(st, sde);
  sqlite3_finalize(st);
  st = NULL;
  if (!ierr) ierr = Query(db, PDESQL, grp, &st);
  if (!ierr) ierr = Density(st, &pde);
  sqlite3_finalize(st);
  if (!ierr && pde.n) ierr = PetscMalloc1(pde.n + 1, &edge);
  if (!ierr && pde.n)
    for (PetscInt i = 0; i <= pde.n; i++) edge[i] = NNLFokkerPlanckEdge(conv->grid, i, pde.n);
  for (int k = 0; k < NSTAT && !ierr; k++)
    if (net[k].n) WriteRow(out, key, t, k, &net[k], &sde[k], pde.n, edge, pde.n ? pde.v : NULL);
  for (int k = 0; k < NSTAT; k++) {
    PetscCall(PetscFree(net[k].v));
    PetscCall(PetscFree(sde[k].v));
  }
  PetscCall(PetscFree(pde.v));
  PetscCall(PetscFree(edge));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode NNLLawsWrite(void *handle, FILE *out)
{
  sqlite3       *db   = (sqlite3 *)handle;
  sqlite3_stmt  *grp  = NULL;
  int            rc   = SQLITE_DONE, schema;
  Conventions    conv = {0, NULL};
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(NNLStoreSchema(db, "main", &schema));
  PetscCall(NNLStoreSDETimeOffset(db, &conv.off));
  PetscCall(NNLStoreMetaGet(db, "fp_grid", &conv.grid));
  ierr = NNLStoreCheck(
    db,
    sqlite3_prepare_v2(db,
                       "SELECT family,activation,width,depth FROM points WHERE kind='network' AND"
                       " status='done' GROUP BY family,activation,width,depth ORDER BY min(ord)",
                       -1, &grp, NULL),
    "laws");
  while (!ierr && (rc = sqlite3_step(grp)) == SQLITE_ROW)
    ierr = Group(db, schema >= 5 ? NetSQL : NetSQL4, &conv, grp, out);
  sqlite3_finalize(grp);
  PetscCall(PetscFree(conv.grid));
  PetscCall(ierr);
  PetscCall(NNLStoreCheck(db, rc, "laws"));
  PetscFunctionReturn(0);
}
