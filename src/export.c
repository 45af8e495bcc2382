/* Tidy CSV export of a run store's tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "storeimpl.h"
#include "nnlimits/laws.h"

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
  const char *none, *why; /* none: 1 when the store's job makes no rows of the table (why says so
                             and what would), else 0; NULL: every job makes some */
} ExportTable;

/* The job's text (meta job) sets no spectra; draws no SDE paths (its sde_paths line is there only
   when it does) */
#define NNL_NO_SPECTRA_SQL                                                                         \
  "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'job' AND instr(char(10) || value || char(10), "  \
  "char(10) || 'spectra_layers=none' || char(10)))"
#define NNL_NO_SDE_SQL                                                                             \
  "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'job' AND NOT instr(char(10) || value, char(10) " \
  "|| 'sde_paths'))"
#define NNL_NO_SPECTRA_WHY "its job computes no spectra: give -spectra_layers (last, all or K)"
#define NNL_NO_SDE_WHY     "its job draws no SDE paths: give -sde_paths N"

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
   NULL, WriteGramArrays, NULL, NULL},
  {"points", "family,activation,width,depth,seed,id,status,sampler,dead_layer,message",
   "SELECT "
   "family,nnl_act(activation),width,depth,seed,printf('%016x',id),status,sampler,dead_layer,"
   "message FROM points"
   " WHERE kind='network' ORDER BY ord",
   NULL, NULL, NULL, NULL},
  {"stats", "family,activation,width,depth,seed,layer,t,input,lognorm,lognorm_post,kurtosis,ks",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,s.layer,CAST(s.layer AS "
   "REAL)/p.depth,s.input,s.lognorm,"
   "s.lognorm_post,s.kurtosis,s.ks FROM points p JOIN stats s ON s.point=p.id ORDER BY "
   "p.ord,s.layer,s.input",
   NULL, WriteStatsArrays, NULL, NULL},
  {"limits", "family,activation,depth,layer,t,a,b,q_nngp,q_ode",
   "SELECT p.family,nnl_act(p.activation),p.depth,l.layer,CAST(l.layer AS "
   "REAL)/p.depth,l.a,l.b,l.q_nngp,l.q_ode"
   " FROM points p JOIN limits l ON l.point=p.id ORDER BY p.ord,l.layer,l.a,l.b",
   NULL, NULL, NULL, NULL},
  {"spectra",
   "family,activation,width,depth,seed,layer,t,matrix,k,rank,rank_rtol,pr,cond,vmax,vmin",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,s.layer,CAST(s.layer AS "
   "REAL)/p.depth,s.matrix,s.k,s.rank,"
   "s.rank_rtol,s.pr,s.cond,s.vmax,s.vmin FROM points p JOIN spectra s ON s.point=p.id ORDER BY "
   "p.ord,s.layer,s.matrix",
   NULL, NULL, NNL_NO_SPECTRA_SQL, NNL_NO_SPECTRA_WHY},
  {"spectrum", "family,activation,width,depth,seed,layer,t,matrix,i,value",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,p.seed,s.layer,CAST(s.layer AS "
   "REAL)/p.depth,s.matrix,s.i,s.value"
   " FROM points p JOIN spectrum s ON s.point=p.id ORDER BY p.ord,s.layer,s.matrix,s.i",
   NULL, NULL, NNL_NO_SPECTRA_SQL, NNL_NO_SPECTRA_WHY},
  /* Every finished network's q beside its limits: NNLStoreWriteCompare reduces each (.., layer, a,
     b) over seeds (CompareSQL; the statement here is only a handle on the store) */
  {"compare",
   "family,activation,width,depth,layer,t,a,b,seeds,mean,se,q_nngp,q_ode,err_nngp,z_nngp,err_ode,z_"
   "ode",
   "SELECT 1", NNLStoreWriteCompare, NULL, NULL, NULL},
  /* compare's means across widths, fitted as q_inf + slope/n per (family, activation, depth, layer,
     a, b) */
  {"extrapolate",
   "family,activation,depth,layer,t,a,b,widths,q_inf,se_inf,slope,se_slope,chi2,q_nngp,q_ode,err_"
   "nngp,z_nngp,"
   "err_ode,z_ode",
   "SELECT 1", NNLStoreWriteExtrapolate, NULL, NULL, NULL},
  {"sde", "family,activation,width,depth,t,path,a,b,q,lognorm_post",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,CASE WHEN p.family='resnet' THEN 1.0 "
   "ELSE CAST(p.depth-" NNL_SDE_OFFSET_SQL " AS REAL)/p.width END,"
   "s.path,s.a,s.b,s.q,s.lognorm_post FROM points p JOIN sde_paths s ON s.point=p.id ORDER BY "
   "p.ord,s.path,s.a,s.b",
   NULL, NULL, NNL_NO_SDE_SQL, NNL_NO_SDE_WHY},
  {"fokker_planck", "family,activation,width,depth,layer,t,cell,rho,density,rho_lo,rho_hi",
   "SELECT p.family,nnl_act(p.activation),p.width,p.depth,f.layer,CAST(f.layer-" NNL_SDE_OFFSET_SQL
   " AS REAL)/p.width,f.cell,f.rho,f.density," NNL_FP_EDGE_SQL("f.cell") "," NNL_FP_EDGE_SQL(
     "f.cell+1") " FROM points p JOIN fokker_planck f ON f.point=p.id ORDER BY "
                 "p.ord,f.layer,f.cell",
   NULL, NULL, NNL_NO_SDE_SQL,
   "its job draws no SDE paths: give -sde_paths N (the density is shaped_mlp relu's)"},
  /* finite networks over seeds against the SDE paths and the Fokker–Planck density (laws.c) */
  {"laws", NNL_LAWS_HEADER, "SELECT 1", WriteLaws, NULL, NULL, NULL},
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
PetscBool NNLStoreHasNetlayers(sqlite3 *db)
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

PetscErrorCode NNLStoreExportNone(NNLStore s, const char dir[], const char table[], FILE *out)
{
  const ExportTable *t = FindTable(table);
  sqlite3_stmt      *st;
  int                rc, none = 0;

  PetscFunctionBegin;
  if (!t || !t->none) PetscFunctionReturn(0);
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, t->none, -1, &st, NULL), "export"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) none = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "export"));
  if (none) fprintf(out, "export: '%s' has no rows of table %s: %s\n", dir, t->name, t->why);
  PetscFunctionReturn(0);
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
  if (t->arrays && NNLStoreHasNetlayers(s->db)) {
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

/* Layer number r of a network's layers array (doubles): PETSC_FALSE if it is no integer a layer
   could be (a damaged store; converting NaN or 1e300 to an integer is undefined). */
PetscBool NNLStoreLayerAt(const unsigned char *lay, PetscInt r, long long *L)
{
  const double v = NNLStoreBlobAt(lay, r);

  if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(long long)v) return PETSC_FALSE;
  *L = (long long)v;
  return PETSC_TRUE;
}

/* The store's pairs: np of them, k = 0 .. np − 1; order[o] the o-th in (a, b) order, and each
   pair's a and b by k. A store has at least one pair and its k are 0 .. np − 1, each once: anything
   else (a damaged or hostile file) is an error here, so the readers can index by k without
   checking. The caller owns the arrays only on success. */
PetscErrorCode NNLStoreLoadPairs(sqlite3 *db, PetscInt *np, PetscInt **order, long long **a,
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

void NNLStoreWriteOptional(FILE *out, double v)
{
  if (v == v)
    fprintf(out, ",%.17g", v);
  else
    fputc(',', out);
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
    PetscCheck(NNLStoreLayerAt(sqlite3_column_blob(st, 8), r, &(*layer)[r]), PETSC_COMM_SELF,
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
  ierr = NNLStoreLoadPairs(sqlite3_db_handle(st), &np, &order, &a, &b);
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
          NNLStoreWriteOptional(out, ArrayAt(st, 9, r * np + k));
        } else {
          fprintf(out, ",%" PetscInt_FMT, j);
          for (int c = 10; c < 13; c++) NNLStoreWriteOptional(out, ArrayAt(st, c, r * n + j));
          NNLStoreWriteOptional(out, r == nrec - 1 ? ArrayAt(st, 13, j) : NAN);
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
