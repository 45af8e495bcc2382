/* Distributed spectra: a team of ranks on a BLACS grid computes eigenvalues / singular values with
 * ScaLAPACK. */
#include <limits.h>
#include <math.h>
#include <string.h>
#include "nnlimits/spectra.h"

/* ScaLAPACK 2.2.1 and its BLACS ship no C header: these are the Fortran symbols (1-based indices,
   pointers) and BLACS's C interface. */
int  Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int  numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
void Cpdgemr2d(int m, int n, double *a, int ia, int ja, int *desca, double *b, int ib, int jb,
               int *descb, int gcontext);
void pdgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
              const int *ia, const int *ja, const int *desca, double *s, double *u, const int *iu,
              const int *ju, const int *descu, double *vt, const int *ivt, const int *jvt,
              const int *descvt, double *work, const int *lwork, int *info);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
              const int *descz, double *work, const int *lwork, int *iwork, const int *liwork,
              int *info);

/* What team rank 0 asks the others to do (broadcast header: op, rows, cols). */
enum { OP_RELEASE = 0, OP_SVD = 1, OP_EIG = 2 };

struct _p_NNLSpectraTeam {
  MPI_Comm    comm;
  PetscMPIInt size, rank;
  int         handle; /* BLACS system handle of comm */
  int         ctxt;   /* nprow × npcol grid of all team ranks */
  int         ctxt0;  /* 1×1 grid of team rank 0 (-1 elsewhere): where whole matrices live */
  int         nprow, npcol, myrow, mycol;
  int         nb;        /* block size of the block-cyclic distribution */
  PetscInt    nmin;      /* matrices with max(rows, cols) >= nmin go to the team */
  PetscMPIInt fail_rank; /* tests: this team rank reports a ScaLAPACK failure (-1: none) */
};

PetscErrorCode NNLSpectraTeamCreate(MPI_Comm comm, NNLSpectraTeam *team)
{
  NNLSpectraTeam t;
  int            pr;

  PetscFunctionBegin;
  PetscCall(PetscNew(&t));
  PetscCallMPI(MPI_Comm_dup(comm, &t->comm));
  PetscCallMPI(MPI_Comm_size(t->comm, &t->size));
  PetscCallMPI(MPI_Comm_rank(t->comm, &t->rank));
  /* As square as the size allows: pdgesvd / pdsyevd communicate along rows and columns alike. */
  for (pr = (int)sqrt((double)t->size); pr > 1 && t->size % pr; pr--) {}
  t->handle = Csys2blacs_handle(t->comm);
  t->ctxt   = t->handle;
  Cblacs_gridinit(&t->ctxt, "R", pr, t->size / pr);
  t->ctxt0 = t->handle;
  Cblacs_gridinit(&t->ctxt0, "R", 1, 1);
  Cblacs_gridinfo(t->ctxt, &t->nprow, &t->npcol, &t->myrow, &t->mycol);
  PetscCheck(t->ctxt >= 0 && t->myrow >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB,
             "BLACS grid %d x %d on %d ranks not created", pr, t->size / pr, (int)t->size);
  t->nb        = NNL_SPECTRA_TEAM_NB;
  t->nmin      = 2048;
  t->fail_rank = -1;
  *team        = t;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamDestroy(NNLSpectraTeam *team)
{
  NNLSpectraTeam t = *team;

  PetscFunctionBegin;
  if (!t) PetscFunctionReturn(0);
  if (t->ctxt0 >= 0) Cblacs_gridexit(t->ctxt0);
  if (t->ctxt >= 0) Cblacs_gridexit(t->ctxt);
  Cfree_blacs_system_handle(t->handle);
  PetscCallMPI(MPI_Comm_free(&t->comm));
  PetscCall(PetscFree(*team));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamGetSize(NNLSpectraTeam team, PetscMPIInt *size, PetscMPIInt *rank)
{
  PetscFunctionBegin;
  if (size) *size = team->size;
  if (rank) *rank = team->rank;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamSetBlockSize(NNLSpectraTeam team, PetscInt nb)
{
  PetscFunctionBegin;
  PetscCheck(nb >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "block size %" PetscInt_FMT " < 1",
             nb);
  team->nb = (int)nb;
  PetscFunctionReturn(0);
}

/* Descriptor of the whole r×c matrix on the 1×1 grid of rank 0; other ranks hold no part (context
 * -1). */
static void DescWhole(NNLSpectraTeam t, int r, int c, int desc[9])
{
  int zero = 0, lld = PetscMax(1, r), info;

  if (t->ctxt0 >= 0)
    descinit_(desc, &r, &c, &r, &c, &zero, &zero, &t->ctxt0, &lld, &info);
  else {
    const int d[9] = {1, -1, r, c, r, c, 0, 0, 1};
    memcpy(desc, d, sizeof(d));
  }
}

/* B (this rank's blocks, *ld rows) of the r×c matrix A on rank 0, distributed nb×nb
 * block-cyclically. */
static PetscErrorCode Distribute(NNLSpectraTeam t, int r, int c, const double *A, double **B,
                                 int desc[9])
{
  int zero = 0, mloc, nloc, lld, info, dw[9];

  PetscFunctionBegin;
  mloc = numroc_(&r, &t->nb, &t->myrow, &zero, &t->nprow);
  nloc = numroc_(&c, &t->nb, &t->mycol, &zero, &t->npcol);
  lld  = PetscMax(1, mloc);
  descinit_(desc, &r, &c, &t->nb, &t->nb, &zero, &zero, &t->ctxt, &lld, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "descinit failed (info %d)", info);
  PetscCall(PetscMalloc1((size_t)lld * PetscMax(1, nloc), B));
  DescWhole(t, r, c, dw);
  Cpdgemr2d(r, c, (double *)A, 1, 1, dw, *B, 1, 1, desc, t->ctxt);
  PetscFunctionReturn(0);
}

/* Whether every team rank's workspace fits LWORK's 32-bit count: the sizes are each rank's own
   (its local blocks), and a rank alone giving up left the others inside the routine, waiting for
   it. */
static PetscErrorCode AllFit(NNLSpectraTeam t, PetscBool fits, PetscBool *all)
{
  int mine = fits ? 1 : 0, every = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, t->comm));
  *all = every ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* pdgesvd, values only, on B (r ≥ c, distributed by desc). */
static PetscErrorCode SVD(NNLSpectraTeam t, int r, int c, double *B, int desc[9], double *s,
                          int *info)
{
  int    one = 1, lwork = -1;
  double wq[2] = {0, 0}, *work;

  PetscFunctionBegin;
  pdgesvd_("N", "N", &r, &c, B, &one, &one, desc, s, NULL, &one, &one, desc, NULL, &one, &one, desc,
           wq, &lwork, info);
  if (*info) PetscFunctionReturn(0);
  /* Padded: the query has under-reported in several ScaLAPACK releases. LWORK is a 32-bit int: a
     query beyond it (UseTeam keeps such matrices local) fails the task rather than running on a
     short workspace. */
  {
    const double want = 1.25 * wq[0] + 4.0 * ((double)r + c) + 1024;
    PetscBool    all;
    PetscCall(AllFit(t, wq[0] >= 0 && want <= (double)INT_MAX ? PETSC_TRUE : PETSC_FALSE, &all));
    if (!all) {
      *info = -1000;
      PetscFunctionReturn(0);
    }
    lwork = (int)want;
  }
  PetscCall(PetscMalloc1(lwork, &work));
  pdgesvd_("N", "N", &r, &c, B, &one, &one, desc, s, NULL, &one, &one, desc, NULL, &one, &one, desc,
           work, &lwork, info);
  PetscCall(PetscFree(work));
  PetscFunctionReturn(0);
}

/* pdsyevd on B (m×m, distributed by desc); it computes eigenvectors too (jobz = 'N' is not
 * implemented). */
static PetscErrorCode Eig(NNLSpectraTeam t, int m, double *B, int desc[9], double *w, int *info)
{
  int    one = 1, lwork = -1, liwork = -1, iq = 0, *iwork;
  double wq = 0, *work, *Z;
  size_t nloc =
    (size_t)desc[8] * (size_t)PetscMax(1, numroc_(&m, &t->nb, &t->mycol, &(int){0}, &t->npcol));

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(nloc, &Z));
  pdsyevd_("V", "U", &m, B, &one, &one, desc, w, Z, &one, &one, desc, &wq, &lwork, &iq, &liwork,
           info);
  if (*info == 0) {
    /* The query leaves out what pdsyevd's final pdormtr needs at small m (it then rejects LWORK,
       printing a message, and pdsyevd does not report it): add pdormtr's minimum, bounded with the
       global m for the local sizes. */
    const double want =
      1.25 * wq + 2.0 * m * t->nb + (double)t->nb * t->nb + 1024; /* in double: SVD's guard */
    PetscBool all;
    PetscCall(AllFit(
      t, wq >= 0 && want <= (double)INT_MAX && iq <= INT_MAX - 1024 ? PETSC_TRUE : PETSC_FALSE,
      &all));
    if (!all) {
      *info = -1000;
      PetscCall(PetscFree(Z));
      PetscFunctionReturn(0);
    }
    lwork  = (int)want;
    liwork = iq + 1024;
    PetscCall(PetscMalloc2(lwork, &work, liwork, &iwork));
    pdsyevd_("V", "U", &m, B, &one, &one, desc, w, Z, &one, &one, desc, work, &lwork, iwork,
             &liwork, info);
    PetscCall(PetscFree2(work, iwork));
  }
  PetscCall(PetscFree(Z));
  PetscFunctionReturn(0);
}

/* Every team rank: compute what the header asks; on rank 0, A in, v out (descending). *ok agreed by
 * all. */
static PetscErrorCode Compute(NNLSpectraTeam t, const int hdr[3], const double *A, double *v,
                              PetscBool *ok, char msg[], size_t len)
{
  int     r = hdr[1], c = hdr[2], k = PetscMin(r, c), desc[9], info = 0, worst[2], mine[2];
  double *B = NULL, *vals;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(r, 1), &vals));
  PetscCall(Distribute(t, r, c, A, &B, desc));
  if (hdr[0] == OP_SVD)
    PetscCall(SVD(t, r, c, B, desc, vals, &info));
  else
    PetscCall(Eig(t, r, B, desc, vals, &info));
  PetscCall(PetscFree(B));
  if (t->rank == t->fail_rank) info = -999;
  /* A failure on any rank fails the task on all, and says which rank and what info it reported. */
  mine[0] = info != 0;
  mine[1] = (int)t->rank;
  PetscCallMPI(MPI_Allreduce(mine, worst, 1, MPI_2INT, MPI_MAXLOC, t->comm));
  *ok = worst[0] ? PETSC_FALSE : PETSC_TRUE;
  if (!*ok) {
    PetscCallMPI(MPI_Bcast(&info, 1, MPI_INT, worst[1], t->comm));
    if (info == -1000)
      snprintf(msg, len, "%s's workspace for a %d x %d matrix is beyond its 32-bit count",
               hdr[0] == OP_SVD ? "pdgesvd" : "pdsyevd", r, c);
    else
      snprintf(msg, len, "%s failed (info %d on team rank %d) on a %d x %d matrix",
               hdr[0] == OP_SVD ? "pdgesvd" : "pdsyevd", info, worst[1], r, c);
  } else if (t->rank == 0) {
    if (hdr[0] == OP_SVD)
      PetscCall(PetscArraycpy(v, vals, k));
    else
      for (int i = 0; i < r; i++) v[i] = vals[r - 1 - i]; /* ascending → descending */
  }
  PetscCall(PetscFree(vals));
  PetscFunctionReturn(0);
}

/* Team rank 0 says what comes; the others learn the shape from it. */
static PetscErrorCode Header(NNLSpectraTeam t, int op, PetscInt r, PetscInt c, int hdr[3])
{
  PetscFunctionBegin;
  hdr[0] = op;
  hdr[1] = (int)r;
  hdr[2] = (int)c;
  PetscCallMPI(MPI_Bcast(hdr, 3, MPI_INT, 0, t->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraSVDTeam(NNLSpectraTeam team, PetscInt r, PetscInt c, const double *A,
                                 double *s, PetscBool *ok, char msg[], size_t len)
{
  int     hdr[3];
  double *At = NULL;

  PetscFunctionBegin;
  PetscCheck(team->rank != 0 || ((double)r * c < 2147483647.0 && r > 0 && c > 0), PETSC_COMM_SELF,
             PETSC_ERR_ARG_OUTOFRANGE,
             "matrix %" PetscInt_FMT " x %" PetscInt_FMT " out of range for ScaLAPACK", r, c);
  /* pdgesvd is used with rows >= cols only (wide inputs have failed in ScaLAPACK releases): wide A
   * is transposed. */
  if (team->rank == 0 && r < c) {
    PetscCall(PetscMalloc1(r * c, &At));
    for (PetscInt j = 0; j < c; j++)
      for (PetscInt i = 0; i < r; i++) At[j + i * c] = A[i + j * r];
    PetscCall(Header(team, OP_SVD, c, r, hdr));
  } else
    PetscCall(Header(team, OP_SVD, r, c, hdr));
  PetscCall(Compute(team, hdr, At ? At : A, s, ok, msg, len));
  PetscCall(PetscFree(At));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraEigTeam(NNLSpectraTeam team, PetscInt m, const double *K, double *w,
                                 PetscBool *ok, char msg[], size_t len)
{
  int hdr[3];

  PetscFunctionBegin;
  PetscCheck(team->rank != 0 || ((double)m * m < 2147483647.0 && m > 0), PETSC_COMM_SELF,
             PETSC_ERR_ARG_OUTOFRANGE,
             "matrix %" PetscInt_FMT " x %" PetscInt_FMT " out of range for ScaLAPACK", m, m);
  PetscCall(Header(team, OP_EIG, m, m, hdr));
  PetscCall(Compute(team, hdr, K, w, ok, msg, len));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamServe(NNLSpectraTeam team)
{
  PetscFunctionBegin;
  for (;;) {
    int       hdr[3];
    PetscBool ok;
    char      msg[256];
    PetscCall(Header(team, OP_RELEASE, 0, 0, hdr));
    if (hdr[0] == OP_RELEASE) break;
    PetscCall(Compute(team, hdr, NULL, NULL, &ok, msg, sizeof(msg))); /* rank 0 reports a failure */
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamRelease(NNLSpectraTeam team)
{
  int hdr[3];

  PetscFunctionBegin;
  PetscCall(Header(team, OP_RELEASE, 0, 0, hdr));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamSetMinSize(NNLSpectraTeam team, PetscInt nmin)
{
  PetscFunctionBegin;
  team->nmin = nmin;
  PetscFunctionReturn(0);
}

static PetscBool UseTeam(NNLSpectraTeam team, PetscInt r, PetscInt c)
{
  const PetscInt rows = PetscMax(r, c);
  return team && team->size > 1 && rows >= team->nmin &&
             (double)rows < NNL_SPECTRA_TEAM_ROWS_MAX(team->nb)
           ? PETSC_TRUE
           : PETSC_FALSE;
}

PetscErrorCode NNLSpectraSVD(NNLSpectraTeam team, PetscInt r, PetscInt c, const double *A,
                             double *s, PetscBool *ok, char msg[], size_t len)
{
  PetscFunctionBegin;
  if (UseTeam(team, r, c))
    PetscCall(NNLSpectraSVDTeam(team, r, c, A, s, ok, msg, len));
  else
    PetscCall(NNLSpectraSVDLocal(r, c, A, s, ok, msg, len));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraEig(NNLSpectraTeam team, PetscInt m, const double *K, double *w,
                             PetscBool *ok, char msg[], size_t len)
{
  PetscFunctionBegin;
  if (UseTeam(team, m, m))
    PetscCall(NNLSpectraEigTeam(team, m, K, w, ok, msg, len));
  else
    PetscCall(NNLSpectraEigLocal(m, K, w, ok, msg, len));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLSpectraTeamSetFailRank(NNLSpectraTeam team, PetscMPIInt rank)
{
  PetscFunctionBegin;
  team->fail_rank = rank;
  PetscFunctionReturn(0);
}
