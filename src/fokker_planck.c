/* Fokker–Planck PDE of the shaped-ReLU correlation diffusion: finite volumes on a DMDA uniform in z
   = atanh ρ, PETSc TS in time. */
#include <math.h>
#include <string.h>
#include <petscts.h>
#include <petscdmda.h>
#include "nnlimits/fokker_planck.h"
#include "nnlimits/limits.h"
#include "nnlimits/sde.h"

#define FP_ZMAX                                                                                    \
  14.0 /* NNL_FP_GRID: 1 − tanh(14) = 1.4e-12; a cell there is ~1e-13 wide in ρ, far above its  \
          rounding */

/* The drift of z = atanh ρ: b = μ(ρ)/(1−ρ²) + ρ = k(sin θ − θ cos θ)/sin²θ + ρ/2 with cos θ = ρ,
   written in z so that it stays exact where ρ rounds to ±1 (sin θ = sech z, θ = atan2(1, sinh z)).
   It tends to ½ as z → ∞ and to +∞ (for k > 0) as z → −∞. */
static double DriftZ(double k, double z)
{
  const double s = sinh(z), c = cosh(z);

  return k * (c - atan2(1.0, s) * s * c) + 0.5 * tanh(z);
}

/* Bernoulli function x/(eˣ − 1) of the Scharfetter–Gummel flux: 0 for x beyond eˣ's range, −x far
 * below it. */
static double Bernoulli(double x)
{
  return fabs(x) < 1e-12 ? 1 - 0.5 * x : x / expm1(x);
}

double NNLFokkerPlanckEdge(const char *grid, PetscInt i, PetscInt ncell)
{
  if (i <= 0) return -1.0;
  if (i >= ncell) return 1.0;
  if (!grid) return -1 + (double)i * 2.0 / (double)ncell; /* stores before meta "fp_grid" */
  if (strcmp(grid, NNL_FP_GRID)) return NAN; /* a grid of another release: not this one's to read */
  return tanh(-FP_ZMAX + (double)i * 2 * FP_ZMAX / (double)ncell);
}

double NNLFokkerPlanckCentre(PetscInt i, PetscInt ncell)
{
  return tanh(-FP_ZMAX + ((double)i + 0.5) * 2 * FP_ZMAX / (double)ncell);
}

/* A (ncell × ncell, tridiagonal) with du/dt = A u for the density u in z: du_i/dt = −(J_{i+1} −
   J_i)/h with, at face f (between cells f − 1 and f, at z_f = −Z + f h), the Scharfetter–Gummel
   flux J_f = (D/h)[B(−P_f) u_{f−1} − B(P_f) u_f], D = ½, P_f = b(z_f) h/D; J = 0 on the two
   boundary faces. Off the diagonal A >= 0 and every column sums to zero: an M-matrix that conserves
   mass. */
static PetscErrorCode Assemble(double k, PetscInt N, Mat A)
{
  const double h = 2 * FP_ZMAX / (double)N, D = 0.5, s = D / (h * h);

  PetscFunctionBegin;
  for (PetscInt i = 0; i < N; i++) {
    PetscInt    col[3], nc = 0;
    PetscScalar v[3];
    double      diag = 0;
    if (i > 0) { /* face i, on the left */
      const double P = DriftZ(k, -FP_ZMAX + (double)i * h) * h / D;
      col[nc]        = i - 1;
      v[nc++]        = s * Bernoulli(-P);
      diag -= s * Bernoulli(P);
    }
    if (i < N - 1) { /* face i + 1, on the right */
      const double P = DriftZ(k, -FP_ZMAX + (double)(i + 1) * h) * h / D;
      col[nc]        = i + 1;
      v[nc++]        = s * Bernoulli(P);
      diag -= s * Bernoulli(-P);
    }
    col[nc] = i;
    v[nc++] = diag;
    PetscCall(MatSetValues(A, 1, &i, nc, col, v, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* The point mass at ρ_0 as densities in z: split between the two cells whose centres in ρ bracket
   it, so that its mean over the centres is ρ_0 exactly (all of it in an end cell beyond the
   outermost centres). */
static PetscErrorCode Initial(PetscInt N, double rho0, Vec P)
{
  const double h = 2 * FP_ZMAX / (double)N;
  PetscInt     i;
  double       w;
  PetscScalar *p;

  PetscFunctionBegin;
  if (!(rho0 > NNLFokkerPlanckCentre(0, N)))
    i = 0, w = 0;
  else if (!(rho0 < NNLFokkerPlanckCentre(N - 1, N)))
    i = N - 2, w = 1;
  else {
    i = PetscMin(PetscMax((PetscInt)floor((atanh(rho0) + FP_ZMAX) / h - 0.5), 0), N - 2);
    while (i > 0 && NNLFokkerPlanckCentre(i, N) > rho0)
      i--; /* atanh's rounding: the bracketing pair itself */
    while (i < N - 2 && NNLFokkerPlanckCentre(i + 1, N) <= rho0) i++;
    w = (rho0 - NNLFokkerPlanckCentre(i, N)) /
        (NNLFokkerPlanckCentre(i + 1, N) - NNLFokkerPlanckCentre(i, N));
  }
  PetscCall(VecSet(P, 0));
  PetscCall(VecGetArray(P, &p));
  p[i] += (1 - w) / h;
  p[i + 1] += w / h;
  PetscCall(VecRestoreArray(P, &p));
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateTS(Mat A, TS *ts)
{
  SNES snes;
  KSP  ksp;
  PC   pc;

  PetscFunctionBegin;
  PetscCall(TSCreate(PETSC_COMM_SELF, ts));
  PetscCall(TSSetOptionsPrefix(*ts, "limit_fp_"));
  PetscCall(TSSetProblemType(*ts, TS_LINEAR));
  PetscCall(TSSetRHSFunction(*ts, NULL, TSComputeRHSFunctionLinear, NULL));
  PetscCall(TSSetRHSJacobian(*ts, A, A, TSComputeRHSJacobianConstant, NULL));
  /* backward Euler: L-stable, so the point mass at t = 0 is smoothed, never rings; keeps p >= 0
   * with an M-matrix */
  PetscCall(TSSetType(*ts, NNL_FP_TS_TYPE));
  PetscCall(TSSetTime(*ts, 0.0));
  PetscCall(TSSetTimeStep(*ts, NNL_FP_DT));
  PetscCall(TSSetMaxSteps(*ts, NNL_FP_MAX_STEPS));
  PetscCall(TSSetExactFinalTime(*ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(TSSetErrorIfStepFails(*ts, PETSC_FALSE));
  PetscCall(TSGetSNES(*ts, &snes));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPSetType(ksp, KSPPREONLY)); /* tridiagonal: a direct solve is exact and cheapest */
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, PCLU));
  PetscCall(TSSetFromOptions(*ts));
  PetscFunctionReturn(0);
}

/* The poll after every step, in a post-step (TSSolve looks at the reason a post-step sets; a
   monitor's is reset by the next step): a long solve (-fp_cells, -limit_fp_ts_dt) serves a
   coordinator's workers and stops for a stop that abandons its task. */
typedef struct {
  NNLPollFn  poll;
  void      *pctx;
  PetscBool *abandon;
} FPPoll;

static PetscErrorCode PostStep(TS ts)
{
  FPPoll *fp;

  PetscFunctionBegin;
  PetscCall(TSGetApplicationContext(ts, &fp));
  PetscCall(NNLPoll(fp->poll, fp->pctx, fp->abandon));
  if (*fp->abandon) PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER)); /* set only with poll */
  PetscFunctionReturn(0);
}

PetscErrorCode NNLFokkerPlanckSolve(double k, double rho0, PetscInt N, PetscInt nt,
                                    const double t[], const PetscBool keep[], double *density,
                                    PetscBool *ok, char msg[], size_t msglen, NNLPollFn poll,
                                    void *pctx, PetscBool *abandon)
{
  FPPoll       fp = {poll, pctx, abandon};
  DM           da;
  Mat          A;
  Vec          P;
  TS           ts;
  PetscReal    dt;
  PetscInt     out = 0; /* densities written */
  const double h   = 2 * FP_ZMAX / (double)N;
  double      *width; /* of each cell, in ρ */

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  PetscCall(PetscMalloc1(N, &width));
  for (PetscInt i = 0; i < N; i++)
    width[i] = NNLFokkerPlanckEdge(NNL_FP_GRID, i + 1, N) - NNLFokkerPlanckEdge(NNL_FP_GRID, i, N);
  PetscCall(DMDACreate1d(PETSC_COMM_SELF, DM_BOUNDARY_NONE, N, 1, 1, NULL, &da));
  PetscCall(DMSetUp(da));
  PetscCall(DMCreateMatrix(da, &A));
  PetscCall(DMCreateGlobalVector(da, &P));
  PetscCall(Assemble(k, N, A));
  PetscCall(Initial(N, rho0, P));
  PetscCall(CreateTS(A, &ts));
  if (poll) {
    PetscCall(TSSetApplicationContext(ts, &fp));
    PetscCall(TSSetPostStep(ts, PostStep));
  }
  PetscCall(TSGetTimeStep(ts, &dt)); /* 5e-4, or -limit_fp_ts_dt */
  for (PetscInt j = 0; j < nt; j++) {
    const PetscScalar *p;
    PetscReal          now;
    TSConvergedReason  reason;
    PetscCall(TSGetTime(ts, &now));
    if (t[j] > now) {
      /* Equal steps of at most dt that end on t[j]. TS_EXACTFINALTIME_MATCHSTEP alone cuts a
         segment's last step short, and the fixed-step TS kept that step for the next segment: the
         step shrank segment by segment (5e-4, then 4.9e-4, 2.7e-4, ... 2e-7 after 24 of the 64
         layers of a width-16, depth-64 shaped network), and the solve ran 10^7 steps into
         CONVERGED_ITS, failing the task after 110-350 s. */
      PetscCall(TSSetTimeStep(ts, (t[j] - now) / ceil((t[j] - now) / dt - 1e-9)));
      PetscCall(TSSetMaxTime(ts, t[j]));
      PetscCall(TSSolve(ts, P));
      PetscCall(TSGetConvergedReason(ts, &reason));
      PetscCall(TSGetTime(ts, &now));
      if (reason < 0 || fabs(now - t[j]) > 1e-12) {
        snprintf(msg, msglen, "Fokker-Planck: TS stopped at t = %g before %g (%s)", (double)now,
                 t[j], TSConvergedReasons[reason]);
        *ok = PETSC_FALSE;
        break;
      }
    }
    if (keep && !keep[j]) continue;
    PetscCall(VecGetArrayRead(P, &p));
    for (PetscInt i = 0; i < N; i++)
      density[out * N + i] = p[i] * h / width[i]; /* mass u h over the cell's width in ρ */
    PetscCall(VecRestoreArrayRead(P, &p));
    out++;
  }
  PetscCall(PetscFree(width));
  PetscCall(TSDestroy(&ts));
  PetscCall(VecDestroy(&P));
  PetscCall(MatDestroy(&A));
  PetscCall(DMDestroy(&da));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLFokkerPlanckSetFromOptions(void)
{
  Mat A;
  TS  ts;

  PetscFunctionBegin;
  PetscCall(MatCreateSeqAIJ(PETSC_COMM_SELF, 2, 2, 3, NULL, &A));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(CreateTS(A, &ts));
  PetscCall(NNLTSCheckOptions(ts, "limit_fp_"));
  PetscCall(TSDestroy(&ts));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(0);
}
