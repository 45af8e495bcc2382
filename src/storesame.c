/* Commit of a point the store already holds: accepted (nothing written) if the stored rows equal the new ones. */
#include <math.h>
#include <string.h>
#include "storeimpl.h"

/* Rank 0 is the only writer and computes the todo list from the store it holds locked, so a second commit of one
   id is a bug or a second writer; it must never abort a resumed sweep when the rows are the very same (results
   are bit-reproducible), and must never overwrite different ones. */

/* Count of rows of table for the point. */
static PetscErrorCode CountRows(NNLStore s, const char table[], uint64_t id, sqlite3_int64 *n)
{
  char          sql[128];
  sqlite3_stmt *st = NULL;
  int           rc;

  PetscFunctionBegin;
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE point=?", table);
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), "compare"));
  sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
  rc = sqlite3_step(st);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc, "compare"));
  PetscFunctionReturn(0);
}

/* Stored REALs are the doubles bound at commit; NaN was bound as NULL. */
static PetscBool SameReal(sqlite3_stmt *st, int col, double v)
{
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return v != v ? PETSC_TRUE : PETSC_FALSE;
  return sqlite3_column_double(st, col) == v ? PETSC_TRUE : PETSC_FALSE;
}

/* Look up the row (point, layer, a, b) of st and compare its ncol values with v. */
static PetscErrorCode SameRow(NNLStore s, sqlite3_stmt *st, uint64_t id, PetscInt layer, PetscInt a, PetscInt b, int nb,
                              int ncol, const double v[], PetscBool *same)
{
  int rc;

  PetscFunctionBegin;
  sqlite3_reset(st);
  sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
  sqlite3_bind_int64(st, 2, layer);
  sqlite3_bind_int64(st, 3, a);
  if (nb == 4) sqlite3_bind_int64(st, 4, b);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    for (int c = 0; c < ncol; c++) *same = *same && SameReal(st, c, v[c]) ? PETSC_TRUE : PETSC_FALSE;
  else *same = PETSC_FALSE;
  if (rc != SQLITE_ROW) PetscCall(NNLStoreCheck(s->db, rc, "compare"));
  PetscFunctionReturn(0);
}

static PetscErrorCode SameArrays(NNLStore s, const NNLPoint *pt, const NNLResult *res, PetscBool *same)
{
  const PetscInt  m = res->m, np = m * (m + 1) / 2;
  const PetscBool net = pt->kind == NNL_TASK_NETWORK ? PETSC_TRUE : PETSC_FALSE;
  sqlite3_stmt   *pair = NULL, *in = NULL;
  sqlite3_int64   n;

  PetscFunctionBegin;
  PetscCall(CountRows(s, net ? "gram" : "limits", pt->id, &n));
  if (n != res->nrec * np) *same = PETSC_FALSE;
  if (net) PetscCall(CountRows(s, "stats", pt->id, &n));
  if (net && n != res->nrec * m) *same = PETSC_FALSE;
  if (!*same) PetscFunctionReturn(0);
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, net ? "SELECT q FROM gram WHERE point=? AND layer=? AND a=? AND b=?"
                                                              : "SELECT q_nngp, q_ode FROM limits WHERE point=? AND layer=? AND a=? AND b=?",
                                                    -1, &pair, NULL), "compare"));
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, "SELECT lognorm, lognorm_post, kurtosis, ks FROM stats WHERE point=? AND "
                                                    "layer=? AND input=?", -1, &in, NULL), "compare"));
  for (PetscInt r = 0; r < res->nrec && *same; r++) {
    for (PetscInt a = 0, k = 0; a < m; a++)
      for (PetscInt b = a; b < m; b++, k++) {
        const double v[2] = {res->gram[r * np + k], net ? 0 : res->ode[r * np + k]};
        PetscCall(SameRow(s, pair, pt->id, res->layers[r], a, b, 4, net ? 1 : 2, v, same));
      }
    for (PetscInt a = 0; net && a < m; a++) {
      /* KS is stored only at the last recorded layer of a finished point (see InsertRows) */
      const PetscBool ks = r == res->nrec - 1 && res->status == NNL_STATUS_DONE ? PETSC_TRUE : PETSC_FALSE;
      const double    v[4] = {res->lognorm[r * m + a], res->lognorm_post[r * m + a], res->kurtosis[r * m + a],
                              ks ? res->ks[a] : (double)NAN};
      PetscCall(SameRow(s, in, pt->id, res->layers[r], a, 0, 3, 4, v, same));
    }
  }
  sqlite3_finalize(pair);
  sqlite3_finalize(in);
  PetscFunctionReturn(0);
}

/*@
  @brief Inside the commit's transaction: *held is set if the store already holds pt's id. If it does and its status
  or any stored value differs from res, error (PETSC_ERR_FILE_UNEXPECTED) naming the point; nothing is written.
  Not collective (rank 0).
@*/
PetscErrorCode NNLStoreHeldSame(NNLStore s, const NNLPoint *pt, const NNLResult *res, PetscBool *held)
{
  sqlite3_stmt *st = NULL;
  int           rc;
  PetscBool     same = PETSC_TRUE;
  char          status[16] = "";

  PetscFunctionBegin;
  *held = PETSC_FALSE;
  PetscCall(NNLStoreCheck(s->db, sqlite3_prepare_v2(s->db, "SELECT status FROM points WHERE id=?", -1, &st, NULL), "compare"));
  sqlite3_bind_int64(st, 1, (sqlite3_int64)pt->id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) snprintf(status, sizeof(status), "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  PetscCall(NNLStoreCheck(s->db, rc, "compare"));
  if (rc != SQLITE_ROW) PetscFunctionReturn(0);
  *held = PETSC_TRUE;
  if (strcmp(status, res->status == NNL_STATUS_DONE ? "done" : "failed")) same = PETSC_FALSE;
  if (same && res->status == NNL_STATUS_DONE) PetscCall(SameArrays(s, pt, res, &same));
  PetscCheck(same, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "store: '%s' already holds point %" PetscInt_FMT " (id %llu) with different results; was it written by "
             "another build or another process? (use a new -output)", s->dir, pt->ord, (unsigned long long)pt->id);
  PetscFunctionReturn(0);
}
