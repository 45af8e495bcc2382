/* The short summary a run prints: per (family, activation, width, depth) the last layer's q and ρ
   over seeds, with the infinite-width limits of q there, and the limit of ρ (the NNGP's; the shaped
   MLP's covariance SDE's mean). */
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include "summary.h"
#include "storeimpl.h"

static const char *SQL =
  "SELECT p.family, nnl_act(p.activation), p.width, p.depth, count(*),"
  " avg(g.q00), nnl_se(g.q00),"
  /* ρ as q01/(√q00·√q11): √(q00·q11) overflows once the q pass 1e154 (an exploding network), and ρ
     came out 0 */
  " avg(g.q01/(sqrt(g.q00)*sqrt(g.q11))), "
  /* over the seeds that have a ρ: a dead network's is 0/0 (NULL, left out of its average and se) */
  "nnl_se(g.q01/(sqrt(g.q00)*sqrt(g.q11))),"
  " min(l.q_nngp), min(l.q_ode),"
  /* the limit of ρ: the NNGP's, but for the shaped MLP, whose NNGP is its input kernel: its
     covariance SDE's mean over paths (with -sde_paths) */
  " CASE WHEN p.family IN ('shaped_mlp','shaped_attention','shaped_transformer') THEN (SELECT "
  "avg(r) FROM (SELECT max(CASE WHEN s.a=0 AND s.b=1 THEN s.q END)"
  "   / (sqrt(max(CASE WHEN s.a=0 AND s.b=0 THEN s.q END)) * sqrt(max(CASE WHEN s.a=1 AND s.b=1 "
  "THEN s.q END))) AS r"
  "   FROM points sp JOIN sde_paths s ON s.point=sp.id WHERE sp.kind='sde' AND sp.family=p.family"
  "   AND sp.activation=p.activation AND sp.width=p.width AND sp.depth=p.depth GROUP BY s.path))"
  " ELSE min(l01.q_nngp)/(sqrt(min(l.q_nngp))*sqrt(min(l11.q_nngp))) END, nnl_heavy(g.q00)"
  " FROM points p"
  /* the last recorded layer's q00, q01, q11 from the network's arrays (NULL where there is no
     second input), read from netlayers itself: a join on the view layers made SQLite expand every
     layer of every network first */
  " JOIN (SELECT point, CAST(nnl_at(layer, nrec - 1) AS INTEGER) AS layer, nnl_at(q, (nrec - 1) * "
  "np) AS q00,"
  "       nnl_at(q, (nrec - 1) * np + (SELECT k FROM pairs WHERE a=0 AND b=1)) AS q01,"
  "       nnl_at(q, (nrec - 1) * np + (SELECT k FROM pairs WHERE a=1 AND b=1)) AS q11 FROM "
  "netlayers) g"
  "  ON g.point=p.id AND g.layer=p.depth"
  /* the limit of the group's (family, activation, depth) at its last layer: one row, the same for
     every seed */
  " LEFT JOIN points lp ON lp.kind='limit' AND lp.family=p.family AND lp.activation=p.activation "
  "AND lp.depth=p.depth"
  " LEFT JOIN limits l ON l.point=lp.id AND l.layer=p.depth AND l.a=0 AND l.b=0"
  " LEFT JOIN limits l01 ON l01.point=lp.id AND l01.layer=p.depth AND l01.a=0 AND l01.b=1"
  " LEFT JOIN limits l11 ON l11.point=lp.id AND l11.layer=p.depth AND l11.a=1 AND l11.b=1"
  " WHERE p.status='done' AND p.kind='network' GROUP BY p.family, p.activation, p.width, p.depth "
  "ORDER BY min(p.ord)";

/* nnl_se(x): the standard error of the mean of a group's non-NULL x, as the compare table computes
   it (two passes, the squared deviations in units of a power of two at most max |x|), NULL for
   fewer than two. avg(x*x) - avg(x)^2 gave "± 0" for q ~ 1e-211 (its squares underflowed), and
   lost the digits of a small spread. */
typedef struct {
  double *x;
  int     n, cap;
} SEAgg;

static void SEStep(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  SEAgg *a = sqlite3_aggregate_context(ctx, sizeof(*a));

  (void)argc;
  if (!a || sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  if (a->n == a->cap) {
    int     cap = 2 * a->cap + 64;
    double *x   = sqlite3_realloc64(a->x, sizeof(double) * (sqlite3_uint64)cap);
    if (!x) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    a->x = x, a->cap = cap;
  }
  a->x[a->n++] = sqlite3_value_double(argv[0]);
}

/* The group's mean, ss's unit (a power of two at most max |x|), and in that unit the sum of squared
   deviations ss and the largest one dmax (a->n >= 2) */
static void SEMoments(const SEAgg *a, double *unit, double *ss, double *dmax)
{
  double sum = 0, big = 0, mean;

  for (int i = 0; i < a->n; i++) sum += a->x[i], big = fmax(big, fabs(a->x[i]));
  mean = sum / a->n, *unit = NNLStorePow2Below(big), *ss = *dmax = 0;
  for (int i = 0; i < a->n; i++) {
    const double d = ((a->x[i] - mean) / *unit) * ((a->x[i] - mean) / *unit);
    *ss += d, *dmax = fmax(*dmax, d);
  }
}

/* nnl_heavy(x): 1 when the group's non-NULL x are heavy-tailed (NNLStoreHeavyTailed), else 0 */
static void HeavyFinal(sqlite3_context *ctx)
{
  SEAgg *a = sqlite3_aggregate_context(ctx, 0);
  double unit, ss, dmax;

  if (!a || a->n < 2) {
    if (a) sqlite3_free(a->x);
    sqlite3_result_int(ctx, 0);
    return;
  }
  SEMoments(a, &unit, &ss, &dmax);
  sqlite3_free(a->x);
  sqlite3_result_int(ctx, NNLStoreHeavyTailed(a->n, ss, dmax));
}

static void SEFinal(sqlite3_context *ctx)
{
  SEAgg *a = sqlite3_aggregate_context(ctx, 0);
  double unit, ss, dmax;

  if (!a || a->n < 2) {
    if (a) sqlite3_free(a->x);
    sqlite3_result_null(ctx);
    return;
  }
  SEMoments(a, &unit, &ss, &dmax);
  sqlite3_free(a->x);
  sqlite3_result_double(ctx, unit * sqrt(ss / (a->n - 1) / a->n));
}

/* "mean ± se"; no standard error (one seed, or one not finite: q past 1e308): the mean alone, as
   the compare table leaves se empty, rather than a false "± 0" */
static void MeanSE(char buf[], size_t len, const char *fmt_mean, const char *fmt_se, double mean,
                   double se, PetscBool has)
{
  int k = snprintf(buf, len, fmt_mean, mean);
  if (has && isfinite(se) && k > 0 && (size_t)k < len)
    snprintf(buf + k, len - (size_t)k, fmt_se, se);
}

PetscErrorCode NNLSummaryPrint(const char dir[], PetscInt maxrows, FILE *out)
{
  char          path[PETSC_MAX_PATH_LEN];
  sqlite3      *db = NULL;
  sqlite3_stmt *st = NULL, *wst = NULL;
  PetscInt      rows = 0, heavy = 0;
  int           rc, fw = 7, aw = 12;

  PetscFunctionBegin;
  snprintf(path, sizeof(path), "%s/%s", dir, NNL_STORE_FILE);
  rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
  if (rc == SQLITE_OK && NNLStoreFunctions(db)) rc = SQLITE_ERROR;
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "nnl_se", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                                 SEStep, SEFinal);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "nnl_heavy", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                                 SEStep, HeavyFinal);
  /* its join looks each network up by its random id: SQLite's 2 MB default cache reread the index's
     pages (a store of 10^6 tiny points: 8 s for the summary, after a 7 s run) */
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA cache_size=-262144", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, SQL, -1, &st, NULL);
  if (rc != SQLITE_OK) {
    fprintf(out, "(no summary: %s)\n", db ? sqlite3_errmsg(db) : "cannot open store");
    sqlite3_close(db);
    PetscFunctionReturn(0);
  }
  /* the family and activation columns as wide as their longest names (shaped_mlp,
     controlled_resnet; an activation with its settings, tanh;sigma_w2=1.5), at least 7 and 12 */
  if (sqlite3_prepare_v2(
        db,
        "SELECT max(7, coalesce(max(length(f)), 0)), max(12, coalesce(max(length(nnl_act(a))), 0))"
        " FROM (SELECT DISTINCT family AS f, activation AS a FROM points WHERE kind='network')",
        -1, &wst, NULL) == SQLITE_OK &&
      sqlite3_step(wst) == SQLITE_ROW)
    fw = sqlite3_column_int(wst, 0), aw = sqlite3_column_int(wst, 1);
  sqlite3_finalize(wst);
  fprintf(out, "%-*s %-*s %6s %6s %6s  %-24s %-9s %-9s  %-24s %s\n", fw, "family", aw, "activation",
          "width", "depth", "seeds", "q_00(t=1) mean ± se", "nngp", "ode", "rho_01(t=1) mean ± se",
          "limit");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int    n = sqlite3_column_int(st, 4);
    double q = sqlite3_column_double(st, 5), qse = sqlite3_column_double(st, 6);
    char   rho[64] = "-", lim[3][32];
    for (int k = 0; k < 3; k++) { /* q's limits, ρ's */
      const int c = k < 2 ? 9 + k : 11;
      if (sqlite3_column_type(st, c) == SQLITE_NULL)
        snprintf(lim[k], sizeof(lim[k]), "-");
      else
        snprintf(lim[k], sizeof(lim[k]), k < 2 ? "%.5g" : "%.5f", sqlite3_column_double(st, c));
    }
    if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
      double r = sqlite3_column_double(st, 7), rse = sqlite3_column_double(st, 8);
      MeanSE(rho, sizeof(rho), "%.5f", " ± %.5f", r, rse,
             sqlite3_column_type(st, 8) != SQLITE_NULL);
    }
    MeanSE(path, sizeof(path), "%.5g", " ± %.3g", q, qse,
           sqlite3_column_type(st, 6) != SQLITE_NULL);
    if (sqlite3_column_int(st, 12)) { /* heavy-tailed: marked, and a line under the table */
      heavy++;
      strncat(path, " *", sizeof(path) - strlen(path) - 1);
    }
    if (rows++ < maxrows)
      fprintf(out, "%-*s %-*s %6d %6d %6d  %-24s %-9s %-9s  %-24s %s\n", fw,
              sqlite3_column_text(st, 0), aw, sqlite3_column_text(st, 1), sqlite3_column_int(st, 2),
              sqlite3_column_int(st, 3), n, path, lim[0], lim[1], rho, lim[2]);
  }
  if (rows > maxrows)
    fprintf(out, "... %" PetscInt_FMT " more rows: nnlimits export %s -table gram\n",
            rows - maxrows, dir);
  if (heavy)
    fprintf(
      out,
      "* %" PetscInt_FMT " rows of heavy-tailed seeds: one seed's q_00 is more than half "
      "of their squared deviations, so mean ± se is not a Gaussian's (a ReLU MLP deep beside "
      "its width is log-normal, Hanin-Nica: its log-norms are in export -table stats, laws)\n",
      heavy);
  if (rc != SQLITE_DONE)
    fprintf(out, "(the summary above is cut short: %s)\n", sqlite3_errmsg(db));
  else if (rows ==
           0) /* a shard of limit or SDE tasks alone printed the header and nothing under it */
    fprintf(out,
            "(no finished network in %s to summarise: its other tasks' rows are in nnlimits export "
            "%s -table limits, -table sde; "
            "failures in nnlimits status %s)\n",
            dir, dir, dir);
  sqlite3_finalize(st);
  /* a finished limit or SDE task with something to say (SDE paths that left the state space): its
     limit column above is over the paths that did not, so say it here, once per task, at most
     maxrows lines */
  if (sqlite3_prepare_v2(db,
                         "SELECT kind, family, nnl_act(activation), width, depth, message FROM "
                         "points WHERE kind!='network'"
                         " AND status='done' AND message IS NOT NULL AND message!='' ORDER BY ord",
                         -1, &st, NULL) == SQLITE_OK) {
    for (PetscInt k = 0; sqlite3_step(st) == SQLITE_ROW && k < maxrows; k++)
      fprintf(out, "note: %s %s %s width=%d depth=%d: %s\n", sqlite3_column_text(st, 0),
              sqlite3_column_text(st, 1), sqlite3_column_text(st, 2), sqlite3_column_int(st, 3),
              sqlite3_column_int(st, 4), sqlite3_column_text(st, 5));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  PetscFunctionReturn(0);
}
