/* A point held twice must hold the same rows: a commit of a point the store already holds is
   accepted (nothing written) if the stored rows equal the new ones, and a merge input's point the
   output already holds likewise. */
#include <string.h>
#include "storeimpl.h"

/* Rank 0 is the only writer and computes the todo list from the store it holds locked, so a second
   commit of one id is a bug or a second writer; it must never abort a resumed sweep when the rows
   are the very same (results are bit-reproducible), and must never overwrite different ones.

   One mechanism for every kind of task and every table: inside a savepoint, the stored rows of the
   point are set aside in temporary tables and deleted, the new result is inserted by the commit's
   own code, and the two sets of rows are compared table by table (EXCEPT both ways: SQL compares
   NULLs as equal there, and BLOBs byte for byte); rolling back to the savepoint then restores the
   stored rows untouched. */

/* The point's tables and the column that holds its id. points is compared on its deterministic
   columns only: the run, commit time and compute seconds of a recomputation legitimately differ. */
static const struct {
  const char *table, *key, *columns;
} Tables[] = {
  {"points", "id",
   "id, ord, family, activation, width, depth, seed, status, sampler, dead_layer, message, kind"},
  {"netlayers", "point", "*"},
  {"limits", "point", "*"},
  {"spectra", "point", "*"},
  {"spectrum", "point", "*"},
  {"sde_paths", "point", "*"},
  {"fokker_planck", "point", "*"},
};
#define NTABLES ((int)(sizeof(Tables) / sizeof(Tables[0])))

/* Run sql with ?1 bound to the point's id; *count (may be NULL) gets the first column of its first
 * row. */
static PetscErrorCode Run(NNLStore s, const char sql[], uint64_t id, sqlite3_int64 *count)
{
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), "compare"));
  if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
  rc = sqlite3_step(st);
  if (count) *count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc, "compare"));
  PetscFunctionReturn(0);
}

/* Set the stored rows aside, insert res in their place, count the rows that differ; the caller
 * rolls back. */
static PetscErrorCode Differing(NNLStore s, const NNLPoint *pt, const NNLResult *res,
                                sqlite3_int64 *ndiff)
{
  char      sql[512];
  PetscBool dup;

  PetscFunctionBegin;
  *ndiff = 0;
  for (int t = 0; t < NTABLES; t++) {
    snprintf(sql, sizeof(sql),
             "CREATE TEMP TABLE IF NOT EXISTS old_%s AS SELECT %s FROM main.%s WHERE 0",
             Tables[t].table, Tables[t].columns, Tables[t].table);
    PetscCall(Run(s, sql, pt->id, NULL));
    snprintf(sql, sizeof(sql), "DELETE FROM temp.old_%s", Tables[t].table);
    PetscCall(Run(s, sql, pt->id, NULL));
    snprintf(sql, sizeof(sql), "INSERT INTO temp.old_%s SELECT %s FROM main.%s WHERE %s=?1",
             Tables[t].table, Tables[t].columns, Tables[t].table, Tables[t].key);
    PetscCall(Run(s, sql, pt->id, NULL));
    snprintf(sql, sizeof(sql), "DELETE FROM main.%s WHERE %s=?1", Tables[t].table, Tables[t].key);
    PetscCall(Run(s, sql, pt->id, NULL));
  }
  PetscCall(NNLStoreInsertRows(s, pt, res, &dup));
  PetscCheck(!dup, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "store: point %" PetscInt_FMT " still held after it was set aside", pt->ord);
  for (int t = 0; t < NTABLES; t++) {
    sqlite3_int64 n = 0;
    const char   *T = Tables[t].table, *k = Tables[t].key, *c = Tables[t].columns;
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM (SELECT %s FROM main.%s WHERE %s=?1 EXCEPT SELECT * "
             "FROM temp.old_%s))"
             " + (SELECT count(*) FROM (SELECT * FROM temp.old_%s EXCEPT SELECT %s FROM main.%s "
             "WHERE %s=?1))",
             c, T, k, T, T, c, T, k);
    PetscCall(Run(s, sql, pt->id, &n));
    *ndiff += n;
  }
  PetscFunctionReturn(0);
}

/*@
  @brief Inside the commit's transaction, for a point whose id the store already holds (its points
insert found the id): error (PETSC_ERR_FILE_UNEXPECTED) naming the point if any of its stored rows
(status and values, in every table) differs from res; the stored rows stay as they were. Not
collective (rank 0).
@*/
PetscErrorCode NNLStoreSameAsHeld(NNLStore s, const NNLPoint *pt, const NNLResult *res)
{
  sqlite3_int64  n = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(Run(s, "SAVEPOINT same", pt->id, NULL));
  ierr = Differing(s, pt, res, &n);
  /* always back to the stored rows, whatever happened */
  sqlite3_exec(s->db, "ROLLBACK TO same; RELEASE same", NULL, NULL, NULL);
  PetscCall(ierr);
  PetscCheck(n == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "store: '%s' already holds point %" PetscInt_FMT
             " (id %llu) with different results; was it written by "
             "another build or another process? (use a new -output)",
             s->dir, pt->ord, (unsigned long long)pt->id);
  PetscFunctionReturn(0);
}

/*@
  @brief Error (PETSC_ERR_FILE_UNEXPECTED) naming the first point (by grid order) that the attached
stores `a` and `b` (schema names: "main", "src", …) both hold with rows that differ in any table
(status and values, as NNLStoreSameAsHeld compares them); a_dir and b_dir name them in the message.
Only a's points of rowid above since are compared (-1: all; points are appended, so those are the
ones a store gained since it held that rowid). An input of schema 4 keeps its layers in another
table: netlayers is not compared for it (with_netlayers false). Without this check the first merged
copy of a point won silently, and which one that was depended on the order of the inputs.
@*/
PetscErrorCode NNLStoreMergeConflict(sqlite3 *db, const char a[], const char b[],
                                     const char a_dir[], const char b_dir[], sqlite3_int64 since,
                                     PetscBool with_netlayers)
{
  char          sql[1400];
  sqlite3_int64 id        = 0;
  char          what[256] = "";

  PetscFunctionBegin;
  for (int t = 0; t < NTABLES && !what[0]; t++) {
    const char   *T = Tables[t].table, *k = Tables[t].key, *c = Tables[t].columns;
    sqlite3_stmt *st = NULL;
    int           rc;
    if (!with_netlayers && !strcmp(T, "netlayers")) continue;
    /* the rows of the points both hold, each side minus the other; the first such point in grid
       order, as a user knows it (its id is not in any export) */
    snprintf(
      sql, sizeof(sql),
      "WITH both(id) AS (SELECT x.id FROM %s.points x JOIN %s.points y ON y.id=x.id WHERE "
      "x.rowid>%lld),"
      " a AS (SELECT %s FROM %s.%s WHERE %s IN both), b AS (SELECT %s FROM %s.%s WHERE %s IN both),"
      " d AS (SELECT %s FROM (SELECT * FROM a EXCEPT SELECT * FROM b) UNION ALL SELECT %s FROM "
      "(SELECT * FROM b EXCEPT SELECT * FROM a))"
      " SELECT p.id, p.kind, p.family, nnl_act(p.activation), p.width, p.depth, p.seed FROM "
      "%s.points p WHERE p.id IN d"
      " ORDER BY p.ord LIMIT 1",
      a, b, (long long)since, c, a, T, k, c, b, T, k, k, k, a);
    PetscCall(NNLStoreCheck(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), "merge compare"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      id = sqlite3_column_int64(st, 0);
      if (!strcmp((const char *)sqlite3_column_text(st, 1), "network"))
        snprintf(what, sizeof(what), "the %s %s network of width %lld, depth %lld, seed %lld",
                 sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                 (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5),
                 (long long)sqlite3_column_int64(st, 6));
      else if (!strcmp((const char *)sqlite3_column_text(st, 1), "sde"))
        snprintf(what, sizeof(what), "the %s %s SDE task of width %lld, depth %lld",
                 sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                 (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5));
      else
        snprintf(what, sizeof(what), "the %s %s limit task of depth %lld",
                 sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                 (long long)sqlite3_column_int64(st, 5));
    }
    sqlite3_finalize(st);
    PetscCall(NNLStoreCheck(db, rc == SQLITE_ROW ? SQLITE_DONE : rc, "merge compare"));
  }
  PetscCheck(!what[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "merge: '%s' and '%s' both hold %s (point id %016llx) with results that differ "
             "(written by another build or "
             "release?): merge into a new -output, without one of the two",
             a_dir, b_dir, what, (unsigned long long)id);
  PetscFunctionReturn(0);
}
