/* The neural signature kernel of the controlled ResNet with shared weights driven by x_t = t
   (Cirone–Lemercier–Salvi 2023): the Goursat problem ∂_s∂_t K = σ_A² F_φ(Σ) + σ_b², marched row by
   row over the cells of [0,1]². */
#include <math.h>
#include <string.h>
#include "nnlimits/signature.h"
#include "nnlimits/gauss.h"

typedef struct {
  const NNLActivation *act;
  double               sa2, sb2, h2;
  NNLGoursatScheme     scheme;
  NNLPollFn            poll;
  void                *ctx;
  PetscBool           *abandon;
} Goursat;

/* Rows between two calls of poll (a row is at most N cells, one F_φ each). */
#define NNL_GOURSAT_POLL_ROWS 16

/* Σ's diagonal entry for row (or column) k of the cells: K(s_k, s_k) at the corner; at the centre
   K(s_{k+½}, s_{k+½}), extrapolated as (3D_k − D_{k−1})/2 (error (3/8)h²D'', so the scheme stays
   second order; it needs no value of row k + 1, which the diagonal of a pair a = b is still being
   marched towards). D'(0) = 0, the boundary being constant, so D_0 is the centre's value to O(h²)
   at k = 0. */
static inline double Diag(const Goursat *g, const double *D, PetscInt k)
{
  if (g->scheme == NNL_GOURSAT_CORNER || k == 0) return D[k];
  return 1.5 * D[k] - 0.5 * D[k - 1];
}

/* K_{i+1,j+1} from its cell's other three corners: left = K_{i+1,j}, up = K_{i,j+1}, diag =
   K_{i,j}, and the diagonals da (row) and db (column) of Σ. The centre's K is the mean of the
   cell's other diagonal, left and up (error O(h²)). */
static inline double Cell(const Goursat *g, double left, double up, double diag, double da,
                          double db)
{
  const double k12 = g->scheme == NNL_GOURSAT_CORNER ? diag : 0.5 * (left + up);
  return left + up - diag + g->h2 * (g->sa2 * NNLGaussDual(g->act, da, db, k12) + g->sb2);
}

static PetscErrorCode Poll(const Goursat *g, PetscInt i)
{
  PetscFunctionBegin;
  if (i % NNL_GOURSAT_POLL_ROWS == 0) PetscCall(NNLPoll(g->poll, g->ctx, g->abandon));
  PetscFunctionReturn(0);
}

/* A pair a = b: K symmetric, so row i holds its cells j <= i only; D[0..kmax] its diagonal. Row i +
   1's last cell needs K_{i,i+1} = K_{i+1,i}, the cell just before it in the same row. */
static PetscErrorCode MarchSelf(const Goursat *g, double c, PetscInt kmax, double *D, double *prev,
                                double *cur)
{
  PetscFunctionBegin;
  prev[0] = D[0] = c;
  for (PetscInt i = 0; i < kmax && !*g->abandon; i++) {
    const double da = Diag(g, D, i);
    cur[0]          = c;
    for (PetscInt j = 0; j <= i; j++) {
      const double up = j < i ? prev[j + 1] : cur[i];
      cur[j + 1]      = Cell(g, cur[j], up, prev[j], da, Diag(g, D, j));
    }
    D[i + 1] = cur[i + 1];
    {
      double *t = prev;
      prev      = cur;
      cur       = t;
    }
    PetscCall(Poll(g, i));
  }
  PetscFunctionReturn(0);
}

/* A pair a ≠ b: every cell of [0, kmax]², rows of kmax + 1; its diagonal K_{k,k} at the requested k
 * into q (stride). */
static PetscErrorCode MarchCross(const Goursat *g, double c, PetscInt kmax, const double *Da,
                                 const double *Db, PetscInt nout, const PetscInt idx[], double *q,
                                 PetscInt stride, double *prev, double *cur)
{
  PetscInt r = 0;

  PetscFunctionBegin;
  for (PetscInt j = 0; j <= kmax; j++) prev[j] = c;
  while (r < nout && idx[r] == 0) q[stride * r++] = c;
  for (PetscInt i = 0; i < kmax && !*g->abandon; i++) {
    const double da = Diag(g, Da, i);
    cur[0]          = c;
    for (PetscInt j = 0; j < kmax; j++)
      cur[j + 1] = Cell(g, cur[j], prev[j + 1], prev[j], da, Diag(g, Db, j));
    while (r < nout && idx[r] == i + 1) q[stride * r++] = cur[i + 1];
    {
      double *t = prev;
      prev      = cur;
      cur       = t;
    }
    PetscCall(Poll(g, i));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLGoursatDiagonal(const NNLActivation *act, PetscInt m, const double *C, double sa2,
                                  double sb2, PetscInt N, NNLGoursatScheme scheme, PetscInt nout,
                                  const PetscInt idx[], double *q, NNLPollFn poll, void *ctx,
                                  PetscBool *abandon)
{
  const PetscInt np = m * (m + 1) / 2, kmax = nout > 0 ? idx[nout - 1] : 0;
  const Goursat  g = {act, sa2, sb2, 1.0 / ((double)N * (double)N), scheme, poll, ctx, abandon};
  double        *D, *prev, *cur;
  PetscInt
    *self; /* self[a]: the input whose diagonal march input a's is (the first with C_aa's bits) */

  PetscFunctionBegin;
  PetscCheck(N >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "Goursat: N = %" PetscInt_FMT " cells, need >= 1", N);
  for (PetscInt r = 0; r < nout; r++)
    PetscCheck(idx[r] >= 0 && idx[r] <= N && (r == 0 || idx[r] >= idx[r - 1]), PETSC_COMM_SELF,
               PETSC_ERR_ARG_OUTOFRANGE,
               "Goursat: output index %" PetscInt_FMT " outside 0..%" PetscInt_FMT
               " or not ascending",
               idx[r], N);
  if (nout == 0) PetscFunctionReturn(0);
  PetscCall(PetscMalloc4(m * (kmax + 1), &D, kmax + 1, &prev, kmax + 1, &cur, m, &self));
  /* diagonal pairs sit at k = a·m − a(a−1)/2 (a-major, a <= b) */
  for (PetscInt a = 0; a < m && !*abandon; a++) {
    const double c = C[a * m - a * (a - 1) / 2];
    self[a]        = a;
    for (PetscInt b = 0; b < a && self[a] == a; b++)
      if (!memcmp(&C[b * m - b * (b - 1) / 2], &c, sizeof(c)))
        self[a] = b; /* bitwise, as NNLLimitDual's memo */
    if (self[a] == a) PetscCall(MarchSelf(&g, c, kmax, D + a * (kmax + 1), prev, cur));
  }
  for (PetscInt a = 0, k = 0; a < m && !*abandon; a++)
    for (PetscInt b = a; b < m && !*abandon; b++, k++) {
      const double *Da = D + self[a] * (kmax + 1), *Db = D + self[b] * (kmax + 1);
      PetscInt      same = -1;
      if (a == b) {
        for (PetscInt r = 0; r < nout; r++) q[np * r + k] = Da[idx[r]];
        continue;
      }
      /* an earlier pair (a2 < b2) with the same diagonals and C has the same march: its values */
      for (PetscInt a2 = 0, k2 = 0; a2 <= a && same < 0; a2++)
        for (PetscInt b2 = a2; b2 < m && k2 < k && same < 0; b2++, k2++)
          if (a2 != b2 && self[a2] == self[a] && self[b2] == self[b] &&
              !memcmp(&C[k2], &C[k], sizeof(double)))
            same = k2;
      if (same >= 0)
        for (PetscInt r = 0; r < nout; r++) q[np * r + k] = q[np * r + same];
      else
        PetscCall(MarchCross(&g, C[k], kmax, Da, Db, nout, idx, q + k, np, prev, cur));
    }
  PetscCall(PetscFree4(D, prev, cur, self));
  PetscFunctionReturn(0);
}
