/* The run store's tables: their creation, the conventions and random streams their rows follow,
 * and the upgrade of stores of older schemas. */
#include <string.h>
#include "storeimpl.h"
#include "nnlimits/fokker_planck.h"
#include "nnlimits/rng.h"

static const char *SchemaSQL =
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE runs(run INTEGER PRIMARY KEY, started TEXT, finished TEXT, status TEXT, ranks "
  "INTEGER, host TEXT,"
  " git TEXT, versions TEXT, slurm TEXT, options TEXT, source TEXT, t0 REAL);"
  "CREATE TABLE pairs(k INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL);"
  /* the limit tasks' rows: NNGP kernel and depth-limit ODE (NULL where it does not apply or failed)
   */
  "CREATE TABLE limits(point INTEGER, layer INTEGER, a INTEGER, b INTEGER, q_nngp REAL, q_ode REAL,"
  " PRIMARY KEY(point, layer, a, b)) WITHOUT ROWID;"
  /* -spectra_layers: per (point, layer, matrix) its scalars, and its values (descending, i = 0 the
     largest) */
  "CREATE TABLE spectra(point INTEGER, layer INTEGER, matrix TEXT, k INTEGER, rank INTEGER, "
  "rank_rtol INTEGER, pr REAL,"
  " cond REAL, vmax REAL, vmin REAL, PRIMARY KEY(point, layer, matrix)) WITHOUT ROWID;"
  "CREATE TABLE spectrum(point INTEGER, layer INTEGER, matrix TEXT, i INTEGER, value REAL,"
  " PRIMARY KEY(point, layer, matrix, i)) WITHOUT ROWID;"
  /* SDE tasks: per path V_ab at the final time, and ln(‖φ(Y_a)‖²/n) on the diagonal rows (NULL off
     it) */
  "CREATE TABLE sde_paths(point INTEGER, path INTEGER, a INTEGER, b INTEGER, q REAL, lognorm_post "
  "REAL,"
  " PRIMARY KEY(point, path, a, b)) WITHOUT ROWID;"
  /* the Fokker–Planck density of ρ_01 at the recorded layers' times: per cell its centre in ρ and
     its mass over its width in ρ; the cells' edges are nnl_fp_edge(cell, cells, meta 'fp_grid') */
  "CREATE TABLE fokker_planck(point INTEGER, layer INTEGER, cell INTEGER, rho REAL, density REAL,"
  " PRIMARY KEY(point, layer, cell)) WITHOUT ROWID;";

/* A row per point. Its id (a hash of the point's parameters) is a UNIQUE column, not the rowid:
   keyed by the random ids, every group of commits dirtied pages all over the table, and SQLite
   wrote each of them to the WAL at the group's end (schema 5: jobs/pdlt_kurtosis.opts committed
   in 1.7–2.1 s, 0.67–0.78 s with rows appended in commit order). No index on ord (stores until
   2026-12 had points_ord; a run drops it, OpenWrite): rank 0 commits in cost order, so its entries
   too went all over the index, a fifth of a commit: 10^5 no-op tasks 2.89–2.99 -> 2.28–2.39 µs a
   commit with the store's close. The reads that order by ord sort instead, no slower: the default
   sweep's points, gram, stats and compare exports in the same time with and without it, laws 1.05
   -> 0.78 s. */
static const char *PointsSQL = "CREATE TABLE points(id INTEGER NOT NULL UNIQUE, ord INTEGER NOT "
                               "NULL, family TEXT, activation TEXT, width INTEGER,"
                               " depth INTEGER, seed INTEGER, status TEXT, sampler TEXT, "
                               "dead_layer INTEGER, message TEXT, seconds REAL,"
                               " committed REAL, run INTEGER, kind TEXT NOT NULL);";

/* All of a network's per-layer arrays are one row of `netlayers`: its recorded layers, its Gram
   entries q (per layer the packed upper triangle, (a, b) with a <= b in row order, pair k of table
   `pairs`) and its per-input statistics, each a BLOB of little-endian doubles over the layers (NaN
   for none; ks, one value per input, only for a finished point, at its last recorded layer). A row
   per layer cost SQLite ~2.5 µs each (a row per pair or input ~3 µs each, before that), a quarter
   of the default sweep. The view `layers` gives back one row per (point, layer), joining `seq` (0,
   1, … up to the deepest network's layer count) for the layer's index r, and the views `gram` and
   `stats` one row per observation, so that SQL (summary, export, analysis) joins and filters them
   as before; they read the arrays with nnl_at(blob, k), which every connection of nnlimits and of
   analysis/nnlimits.py registers. Schema 4 had a table `layers` of those rows instead of these
   tables and views, and schema 5 the point as the rowid (NNLStoreUpgrade). */
static const char *NetlayersSQL =
  "CREATE TABLE netlayers(point INTEGER NOT NULL UNIQUE, nrec INTEGER NOT NULL, np INTEGER NOT "
  "NULL, m INTEGER NOT NULL,"
  " layer BLOB, q BLOB, lognorm BLOB, lognorm_post BLOB, kurtosis BLOB, ks BLOB);";
static const char *NetViewsSQL =
  "CREATE VIEW layers AS SELECT n.point AS point, CAST(nnl_at(n.layer, s.r) AS INTEGER) AS layer,"
  " substr(n.q, 8 * n.np * s.r + 1, 8 * n.np) AS q, substr(n.lognorm, 8 * n.m * s.r + 1, 8 * n.m) "
  "AS lognorm,"
  " substr(n.lognorm_post, 8 * n.m * s.r + 1, 8 * n.m) AS lognorm_post,"
  " substr(n.kurtosis, 8 * n.m * s.r + 1, 8 * n.m) AS kurtosis, CASE WHEN s.r = n.nrec - 1 THEN "
  "n.ks END AS ks"
  " FROM netlayers n JOIN seq s ON s.r < n.nrec;"
  "CREATE VIEW gram AS SELECT l.point AS point, l.layer AS layer, p.a AS a, p.b AS b, nnl_at(l.q, "
  "p.k) AS q"
  " FROM layers l JOIN pairs p;"
  "CREATE VIEW stats AS SELECT l.point AS point, l.layer AS layer, p.a AS input, nnl_at(l.lognorm, "
  "p.a) AS lognorm,"
  " nnl_at(l.lognorm_post, p.a) AS lognorm_post, nnl_at(l.kurtosis, p.a) AS kurtosis, nnl_at(l.ks, "
  "p.a) AS ks"
  " FROM layers l JOIN pairs p ON p.a = p.b;";

/* Table seq (its rows ?1 .. ?2 − 1: NNL_STORE_SEQ_SQL, storeimpl.h). */
static const char *SeqTableSQL = "CREATE TABLE seq(r INTEGER PRIMARY KEY)";

static PetscErrorCode ConventionsSet(sqlite3 *db);

PetscErrorCode NNLStoreCreateSchema(sqlite3 *db, const char canonical[], const char shard[],
                                    PetscInt total, PetscInt grid_points, PetscInt inputs)
{
  char          num[32];
  sqlite3_stmt *st = NULL;

  PetscFunctionBegin;
  /* 16 KB pages, not SQLite's 4 KB (a store's page size is set once, here, while it is empty): its
     b-trees are shallower and a group of commits dirties fewer pages. Measured (1 rank, this
     machine, interleaved, the checkpointer every 1 MB either way): 10^5 tiny networks 7.55 -> 6.85
     µs a task with the store, no-op tasks 3.0 -> 2.7 µs; time outside the tasks 0.25 -> 0.205 s for
     jobs/pdlt_kurtosis.opts, 0.83 -> 0.74 s for jobs/makwana_2025_effective_dimension.opts, 0.34 ->
     0.29 s for the default job, whose store shrank from 42.7 to 38.7 MB (less slack around its 1.4
     KB rows; the others within 3 %). Exports and status read as fast; 32 KB pages were no faster.
     An empty store takes 256 KB. Stores made with 4 KB pages keep them. */
  PetscCall(NNLStoreExec(db, "PRAGMA page_size=16384"));
  PetscCall(NNLStoreExec(db, "BEGIN IMMEDIATE"));
  PetscCall(NNLStoreExec(db, SchemaSQL));
  PetscCall(NNLStoreExec(db, PointsSQL));
  PetscCall(NNLStoreExec(db, NetlayersSQL));
  PetscCall(NNLStoreExec(db, SeqTableSQL));
  PetscCall(NNLStoreExec(db, NetViewsSQL));
  PetscCall(NNLStoreCheck(
    db, sqlite3_prepare_v2(db, "INSERT INTO pairs VALUES(?,?,?)", -1, &st, NULL), "pairs"));
  for (PetscInt a = 0, k = 0; a < inputs; a++)
    for (PetscInt b = a; b < inputs; b++, k++) {
      int rc;
      sqlite3_bind_int64(st, 1, k);
      sqlite3_bind_int64(st, 2, a);
      sqlite3_bind_int64(st, 3, b);
      rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) sqlite3_finalize(st);
      PetscCall(NNLStoreCheck(db, rc, "pairs"));
    }
  sqlite3_finalize(st);
  snprintf(num, sizeof(num), "%d", NNL_STORE_SCHEMA);
  PetscCall(NNLStoreMetaSet(db, "schema", num));
  PetscCall(NNLStoreMetaSet(db, "job", canonical));
  PetscCall(NNLStoreMetaSet(db, "rng", NNL_RNG_STREAM_VERSION));
  PetscCall(ConventionsSet(db));
  PetscCall(NNLStoreMetaSet(db, "shard", shard));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, total);
  PetscCall(NNLStoreMetaSet(db, "total", num));
  snprintf(num, sizeof(num), "%" PetscInt_FMT, grid_points);
  PetscCall(NNLStoreMetaSet(db, "grid_points", num));
  PetscCall(NNLStoreExec(db, "COMMIT"));
  PetscFunctionReturn(0);
}

/* One network's arrays as its schema-4 rows (a row per recorded layer) are read: the BLOB columns
   of its netlayers row, appended layer by layer. */
typedef struct {
  sqlite3_int64  point;
  PetscInt       nrec, np, m;
  unsigned char *col[5]; /* layer, q, lognorm, lognorm_post, kurtosis */
  size_t         len[5], cap[5];
  unsigned char *ks; /* the last row's ks (m doubles), or NULL */
} NetRow;

static PetscErrorCode NetRowAppend(NetRow *row, int c, const void *data, size_t n)
{
  PetscFunctionBegin;
  if (row->len[c] + n > row->cap[c]) {
    row->cap[c] = PetscMax(row->len[c] + n, 2 * row->cap[c]);
    PetscCall(PetscRealloc(row->cap[c], &row->col[c]));
  }
  memcpy(row->col[c] + row->len[c], data, n);
  row->len[c] += n;
  PetscFunctionReturn(0);
}

/* Add a schema-4 row (point, layer, q, lognorm, lognorm_post, kurtosis, ks) of row->point, checking
   its arrays' sizes against the network's first row; only the last row may carry ks. */
static PetscErrorCode NetRowAdd(NetRow *row, sqlite3_stmt *sel)
{
  unsigned char layer[8];
  double        l  = (double)sqlite3_column_int64(sel, 1);
  PetscInt      nq = sqlite3_column_bytes(sel, 2), nm = sqlite3_column_bytes(sel, 3);

  PetscFunctionBegin;
  if (row->nrec == 0) {
    row->np = nq / 8;
    row->m  = nm / 8;
  }
  PetscCheck(!row->ks, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "schema-4 store: point %lld has ks before its last layer", (long long)row->point);
  PetscCheck(nq == 8 * row->np && nm == 8 * row->m &&
               (sqlite3_int64)row->np == (sqlite3_int64)row->m * (row->m + 1) / 2 && row->m > 0 &&
               sqlite3_column_bytes(sel, 4) == nm && sqlite3_column_bytes(sel, 5) == nm,
             PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "schema-4 store: point %lld has arrays of unexpected sizes at layer %.0f",
             (long long)row->point, l);
  NNLStoreDoublesLE(1, &l, layer);
  PetscCall(NetRowAppend(row, 0, layer, 8));
  for (int c = 1; c < 5; c++)
    PetscCall(NetRowAppend(row, c, sqlite3_column_blob(sel, c + 1),
                           (size_t)sqlite3_column_bytes(sel, c + 1)));
  if (sqlite3_column_type(sel, 6) != SQLITE_NULL) {
    PetscCheck(sqlite3_column_bytes(sel, 6) == nm, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "schema-4 store: point %lld has a ks of unexpected size", (long long)row->point);
    PetscCall(PetscMalloc1(nm, &row->ks));
    memcpy(row->ks, sqlite3_column_blob(sel, 6), (size_t)nm);
  }
  row->nrec++;
  PetscFunctionReturn(0);
}

/* Insert the network's netlayers row (unless its point has one) and start the next network. */
static PetscErrorCode NetRowFlush(sqlite3 *db, sqlite3_stmt *ins, NetRow *row, PetscInt *maxrec)
{
  int rc;

  PetscFunctionBegin;
  sqlite3_bind_int64(ins, 1, row->point);
  sqlite3_bind_int64(ins, 2, row->nrec);
  sqlite3_bind_int64(ins, 3, row->np);
  sqlite3_bind_int64(ins, 4, row->m);
  for (int c = 0; c < 5; c++)
    sqlite3_bind_blob(ins, 5 + c, row->col[c], (int)row->len[c], SQLITE_STATIC);
  if (row->ks)
    sqlite3_bind_blob(ins, 10, row->ks, (int)(8 * row->m), SQLITE_STATIC);
  else
    sqlite3_bind_null(ins, 10);
  rc = sqlite3_step(ins);
  sqlite3_reset(ins);
  sqlite3_clear_bindings(ins);
  PetscCall(NNLStoreCheck(db, rc, "netlayers"));
  *maxrec = PetscMax(*maxrec, row->nrec);
  PetscCall(PetscFree(row->ks));
  row->nrec = 0;
  for (int c = 0; c < 5; c++) row->len[c] = 0;
  PetscFunctionReturn(0);
}

/* Schema 4's table layers of database `from` ("main", or an attached input) into rows of netlayers
   (points that have one are kept) and the rows of seq they need. The bytes of every array are
   copied as they are, so the view layers gives back exactly the old table's rows. Inside the
   caller's transaction. */
PetscErrorCode NNLStoreLayersToNet(sqlite3 *db, const char from[])
{
  char           sql[160];
  sqlite3_stmt  *sel = NULL, *ins = NULL;
  NetRow         row    = {0};
  PetscInt       maxrec = 0;
  int            rc     = SQLITE_DONE;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  snprintf(sql, sizeof(sql),
           "SELECT point, layer, q, lognorm, lognorm_post, kurtosis, ks FROM %s.layers ORDER BY "
           "point, layer",
           from);
  ierr = NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &sel, NULL), "schema-4 layers");
  if (!ierr)
    ierr = NNLStoreCheck(
      db,
      sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO main.netlayers VALUES(?,?,?,?,?,?,?,?,?,?)", -1,
                         &ins, NULL),
      "netlayers");
  while (!ierr && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
    sqlite3_int64 point = sqlite3_column_int64(sel, 0);
    if (row.nrec > 0 && point != row.point) ierr = NetRowFlush(db, ins, &row, &maxrec);
    row.point = point;
    if (!ierr) ierr = NetRowAdd(&row, sel);
  }
  if (!ierr) ierr = NNLStoreCheck(db, rc, "schema-4 layers");
  if (!ierr && row.nrec > 0) ierr = NetRowFlush(db, ins, &row, &maxrec);
  sqlite3_finalize(sel);
  sqlite3_finalize(ins);
  sel = NULL;
  if (!ierr)
    ierr = NNLStoreCheck(db, sqlite3_prepare_v2(db, NNL_STORE_SEQ_SQL, -1, &sel, NULL), "seq");
  if (!ierr) {
    sqlite3_bind_int64(sel, 1, 0);
    sqlite3_bind_int64(sel, 2, maxrec);
    ierr = NNLStoreCheck(db, sqlite3_step(sel), "seq");
  }
  sqlite3_finalize(sel);
  for (int c = 0; c < 5; c++) PetscCall(PetscFree(row.col[c]));
  PetscCall(PetscFree(row.ks));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* The store's schema number (meta 'schema') of database `name` ("main", or an attached input). */
PetscErrorCode NNLStoreSchema(sqlite3 *db, const char name[], int *schema)
{
  char          sql[96];
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  *schema = 0;
  snprintf(sql, sizeof(sql), "SELECT value FROM %s.meta WHERE key='schema'", name);
  PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), "schema"));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *schema = atoi((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(db, rc, "schema"));
  PetscFunctionReturn(0);
}

/* The conventions a store's rows were computed under, where a release changed one: meta `key` holds
   `value` in stores of this release, and a store without it (or with another value) that holds rows
   `held` selects is refused for writing, since rows added now would follow this release's
   convention. */
static const struct {
  const char *key, *value, *held, *what;
} Convention[] = {
  {"sde_time", "layer/width",
   "SELECT EXISTS (SELECT 1 FROM points WHERE kind='sde' AND family='shaped_mlp')",
   "shaped-MLP SDE paths integrated to t = (L-1)/n by an earlier release; this one integrates to t "
   "= L/n (MATH.md)"},
  {"fp_grid", NNL_FP_GRID, "SELECT EXISTS (SELECT 1 FROM fokker_planck)",
   "Fokker-Planck densities on cells uniform in rho, from an earlier release; this one's cells are "
   "uniform in atanh(rho)"},
  {"attention_logits", "bartlett",
   "SELECT EXISTS (SELECT 1 FROM points WHERE kind = 'network' AND sampler = 'projection' AND "
   "family IN ('shaped_attention', 'softmax_attention', 'shaped_transformer', "
   "'softmax_transformer'))",
   "attention networks of the projection sampler whose queries and keys an earlier release drew; "
   "this one draws their logits from m x m factors (the same law, other numbers)"},
  {"relu_drift", "series",
   "SELECT EXISTS (SELECT 1 FROM points WHERE kind = 'sde' AND family IN ('shaped_mlp', "
   "'shaped_transformer') AND activation = 'relu')",
   "shaped-ReLU SDE paths whose drift an earlier release computed with libm's acos and sincos; "
   "this one computes it in its own arithmetic, a series near rho = 1 (the same law to a few "
   "ulps, other last digits)"},
  /* the solve stops at every layer (sde_task.c): recorded layers 0 or 1 to L without a gap were
     stopped at alike, so only densities recorded at log-spaced layers are of another convention */
  {"fp_layers", "every",
   "SELECT EXISTS (SELECT 1 FROM fokker_planck GROUP BY point HAVING min(layer) > 1 OR "
   "count(DISTINCT layer) < max(layer) - min(layer) + 1)",
   "Fokker-Planck densities at log-spaced layers, whose solve an earlier release stepped onto "
   "the recorded layers alone; this one steps onto every layer, so that a layer's density does "
   "not depend on the others recorded (other last digits)"},
  /* the depth-limit ODE of a solver without dense output (limits.c, ODESolveFree; the job's text
     names it: a -limit_ts_type or -limit_ts_rk_type other than the default rk 5dp, which is
     dense, as rk 1fe is: ODEIsDense) takes its own steps to t = 1 and reaches each recorded layer
     from the step before it;
     an earlier release stepped onto the recorded layers. A layer 0 (the initial state) or L (t =
     1, where the solve ends either way) is the same in both: only a value between them is of
     another convention (record_layers last keeps its bits) */
  {"ode_steps", "solver",
   "SELECT EXISTS (SELECT 1 FROM (SELECT lower(char(10) || value || char(10)) AS j FROM meta "
   "WHERE key = 'job') WHERE (instr(j, char(10) || 'limit_ts_type=') AND NOT instr(j, char(10) "
   "|| 'limit_ts_type=rk' || char(10))) OR (instr(j, char(10) || 'limit_ts_rk_type=') AND NOT "
   "instr(j, char(10) || 'limit_ts_rk_type=5dp' || char(10)) AND NOT instr(j, char(10) || "
   "'limit_ts_rk_type=1fe' || char(10)))) AND EXISTS (SELECT 1 FROM limits "
   "l JOIN points p ON p.id = l.point WHERE l.q_ode IS NOT NULL AND l.layer > 0 AND l.layer < "
   "p.depth)",
   "depth-limit ODE values (q_ode) of a solver without dense output at layers before the last, "
   "which an earlier release stepped onto the recorded layers alone; this one takes the solver's "
   "own steps and reaches each layer from the step before it, so that a layer's value does not "
   "depend on the others recorded (other last digits)"},
  /* inputs of correlation 1 or -1 (the job's text: a value of its input_correlation line, of a job
     of 2 inputs or more) are exact copies, or negatives, of one another; NNLSqrtPSD (sqrtpsd.c)
     gives such columns of a Gram their copy's factor, where an earlier release factored them with
     the others (a pivot of a rounding's worth: a part of 1e-8 of their own), and attention's
     tokens' correlations of ±1 exactly (NNLAttentionCorrelation). Only networks and SDE paths of
     such inputs differ: their factors, attention's correlations, and the inputs' own coordinates */
  {"psd_copies", "copied",
   "SELECT EXISTS (SELECT 1 FROM points WHERE kind IN ('network', 'sde')) AND EXISTS (SELECT 1 "
   "FROM (SELECT j, ',' || substr(c, 1, instr(c, char(10)) - 1) || ',' AS v FROM (SELECT j, "
   "substr(j, instr(j, char(10) || 'input_correlation=') + 19) AS c FROM (SELECT char(10) || value "
   "|| char(10) AS j FROM meta WHERE key = 'job') WHERE instr(j, char(10) || "
   "'input_correlation='))) "
   "WHERE NOT instr(j, char(10) || 'inputs=1' || char(10)) AND (instr(v, ',1,') OR instr(v, "
   "',-1,')))",
   "networks or SDE paths of inputs of correlation 1 or -1, which an earlier release factored with "
   "the other inputs (their columns then 1e-8 apart after a layer); this one keeps them copies of "
   "one another to the last bit (other numbers)"},
};

/* A new store follows every convention of this release. */
static PetscErrorCode ConventionsSet(sqlite3 *db)
{
  PetscFunctionBegin;
  for (size_t c = 0; c < sizeof(Convention) / sizeof(Convention[0]); c++)
    PetscCall(NNLStoreMetaSet(db, Convention[c].key, Convention[c].value));
  PetscFunctionReturn(0);
}

/* A store of schema 4 to NNL_STORE_SCHEMA − 1 becomes one of this build's, in one transaction (a
   crash or a full disk leaves it as it was; 6 and later differ only in their number): schema 4's
   layers rows into netlayers (then the views in place of its table), schema 5's netlayers and both
   schemas' points copied into tables of this schema's keys. Older builds cannot write to it
   afterwards; this build's readers and writers can. Called by writers (run, merge) once the store
   is theirs. */
PetscErrorCode NNLStoreUpgrade(sqlite3 *db, const char dir[])
{
  int            schema;
  PetscErrorCode ierr;
  char           num[16];

  PetscFunctionBegin;
  /* a store without rows of an earlier convention (NNLStoreCheckStream refused the others) takes
   * this release's */
  for (size_t c = 0; c < sizeof(Convention) / sizeof(Convention[0]); c++) {
    char sql[1024];
    PetscCheck(
      snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO meta SELECT '%s', '%s' WHERE NOT (%s)",
               Convention[c].key, Convention[c].value, Convention[c].held) < (int)sizeof(sql),
      PETSC_COMM_SELF, PETSC_ERR_PLIB, "convention %s: its query is too long", Convention[c].key);
    PetscCall(NNLStoreExec(db, sql));
  }
  PetscCall(NNLStoreSchema(db, "main", &schema));
  if (schema == NNL_STORE_SCHEMA) PetscFunctionReturn(0);
  PetscCheck(schema >= 4 && schema < NNL_STORE_SCHEMA, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "'%s': no upgrade from store schema %d", dir, schema);
  snprintf(num, sizeof(num), "%d", NNL_STORE_SCHEMA);
  if (schema >= 6) { /* the same tables: the number alone, so that builds that do not know the
                        conventions refuse it */
    PetscCall(NNLStoreMetaSet(db, "schema", num));
    PetscCall(
      PetscInfo(NULL, "upgraded store '%s' from schema %d to %d\n", dir, schema, NNL_STORE_SCHEMA));
    PetscFunctionReturn(0);
  }
  PetscCall(NNLStoreExec(db, "BEGIN IMMEDIATE"));
  if (schema == 4) {
    ierr = NNLStoreExec(db, NetlayersSQL);
    if (!ierr) ierr = NNLStoreExec(db, SeqTableSQL);
    if (!ierr) ierr = NNLStoreLayersToNet(db, "main");
    if (!ierr) ierr = NNLStoreExec(db, "DROP VIEW gram; DROP VIEW stats; DROP TABLE layers");
  } else {
    ierr = NNLStoreExec(db, "DROP VIEW gram; DROP VIEW stats; DROP VIEW layers; ALTER TABLE "
                            "netlayers RENAME TO netlayers5");
    if (!ierr) ierr = NNLStoreExec(db, NetlayersSQL);
    if (!ierr)
      ierr = NNLStoreExec(
        db, "INSERT INTO netlayers SELECT * FROM netlayers5 ORDER BY point; DROP TABLE netlayers5");
  }
  if (!ierr)
    ierr =
      NNLStoreExec(db, "DROP INDEX IF EXISTS points_ord; ALTER TABLE points RENAME TO points_old");
  if (!ierr) ierr = NNLStoreExec(db, PointsSQL);
  if (!ierr)
    ierr = NNLStoreExec(
      db, "INSERT INTO points SELECT * FROM points_old ORDER BY ord; DROP TABLE points_old");
  if (!ierr) ierr = NNLStoreExec(db, NetViewsSQL);
  if (!ierr) ierr = NNLStoreMetaSet(db, "schema", num);
  if (!ierr) ierr = NNLStoreExec(db, "COMMIT");
  if (ierr) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  PetscCall(ierr);
  PetscCall(
    PetscInfo(NULL, "upgraded store '%s' from schema %d to %d\n", dir, schema, NNL_STORE_SCHEMA));
  PetscFunctionReturn(0);
}

/* The store's networks were drawn with this build's random streams (meta "rng"; absent: version 1,
   before the record existed). A run or merge that adds to a store of another version is refused. */
PetscErrorCode NNLStoreCheckStream(sqlite3 *db, const char dir[])
{
  char *have = NULL, h[32];

  PetscFunctionBegin;
  PetscCall(NNLStoreMetaGet(db, "rng", &have));
  PetscCall(PetscStrncpy(h, have ? have : "1", sizeof(h)));
  PetscCall(PetscFree(have));
  PetscCheck(!strcmp(h, NNL_RNG_STREAM_VERSION), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "'%s' holds networks drawn with random stream version %s, and this nnlimits draws "
             "with version %s: networks "
             "added now would not match the stored ones (rerun into a new -output)",
             dir, h, NNL_RNG_STREAM_VERSION);
  for (size_t c = 0; c < sizeof(Convention) / sizeof(Convention[0]); c++) {
    sqlite3_stmt *st = NULL;
    int           rc, held = 0;
    PetscBool     same;
    PetscCall(NNLStoreMetaGet(db, Convention[c].key, &have));
    same = have && !strcmp(have, Convention[c].value) ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(PetscFree(have));
    if (same) continue;
    PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, Convention[c].held, -1, &st, NULL),
                            Convention[c].key));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) held = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, Convention[c].key));
    PetscCheck(
      !held, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
      "'%s' holds %s: rows added now would not match the stored ones (rerun into a new -output)",
      dir, Convention[c].what);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLStoreSDETimeOffset(sqlite3 *db, int *offset)
{
  char *have = NULL;

  PetscFunctionBegin;
  PetscCall(NNLStoreMetaGet(db, "sde_time", &have));
  *offset = have ? 0 : 1;
  PetscCall(PetscFree(have));
  PetscFunctionReturn(0);
}
