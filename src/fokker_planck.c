/* Fokker–Planck PDE of the shaped-ReLU correlation diffusion: finite volumes on a DMDA over [−1, 1], PETSc TS in time. */
#include <math.h>
#include <petscts.h>
#include <petscdmda.h>
#include "nnlimits/fokker_planck.h"
#include "nnlimits/sde.h"

/* A (ncell × ncell, tridiagonal) with dp/dt = A p: −(J_{i+1/2} − J_{i−1/2})/h, J_{i+1/2} = μ⁺ p_i + μ⁻ p_{i+1} − (D_{i+1}p_{i+1} − D_i p_i)/h,
   μ at faces, D = ½(1−ρ²)² at centres, J = 0 on the two boundary faces. Every column sums to zero: mass is conserved. */
static PetscErrorCode Assemble(double k, PetscInt N, Mat A)
{
  const double h = 2.0 / (double)N;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < N; i++) {
    const double xi = -1 + (i + 0.5) * h, Di = 0.5 * (1 - xi * xi) * (1 - xi * xi);
    PetscInt     col[3], nc = 0;
    PetscScalar  v[3];
    double       diag = 0;
    if (i > 0) { /* face i−1/2 */
      const double xl = -1 + (i - 0.5) * h, Dl = 0.5 * (1 - xl * xl) * (1 - xl * xl), mu = NNLCorrelationDrift(k, -1 + i * h);
      col[nc] = i - 1;
      v[nc++] = (PetscMax(mu, 0) + Dl / h) / h;
      diag += (PetscMin(mu, 0) - Di / h) / h;
    }
    if (i < N - 1) { /* face i+1/2 */
      const double xr = -1 + (i + 1.5) * h, Dr = 0.5 * (1 - xr * xr) * (1 - xr * xr), mu = NNLCorrelationDrift(k, -1 + (i + 1) * h);
      diag -= (PetscMax(mu, 0) + Di / h) / h;
      col[nc] = i + 1;
      v[nc++] = -(PetscMin(mu, 0) - Dr / h) / h;
    }
    col[nc] = i;
    v[nc++] = diag;
    PetscCall(MatSetValues(A, 1, &i, nc, col, v, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* The point mass at ρ_0 as cell averages: split between the two nearest centres so that its mean is ρ_0 exactly. */
static PetscErrorCode Initial(PetscInt N, double rho0, Vec P)
{
  const double h = 2.0 / (double)N, u = (rho0 + 1) / h - 0.5;
  PetscInt     i = (PetscInt)floor(u);
  double       w = u - (double)i;
  PetscScalar *p;

  PetscFunctionBegin;
  if (i < 0) i = 0, w = 0;
  if (i >= N - 1) i = N - 2, w = 1;
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
  /* backward Euler: L-stable, so the point mass at t = 0 is smoothed, never rings; keeps p >= 0 with an M-matrix */
  PetscCall(TSSetType(*ts, TSBEULER));
  PetscCall(TSSetTime(*ts, 0.0));
  PetscCall(TSSetTimeStep(*ts, 5e-4));
  PetscCall(TSSetMaxSteps(*ts, 10000000));
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

PetscErrorCode NNLFokkerPlanckSolve(double k, double rho0, PetscInt N, PetscInt nt, const double t[], double *density, PetscBool *ok,
                                    char msg[], size_t msglen)
{
  DM        da;
  Mat       A;
  Vec       P;
  TS        ts;
  PetscReal dt;

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  PetscCall(DMDACreate1d(PETSC_COMM_SELF, DM_BOUNDARY_NONE, N, 1, 1, NULL, &da));
  PetscCall(DMSetUp(da));
  PetscCall(DMCreateMatrix(da, &A));
  PetscCall(DMCreateGlobalVector(da, &P));
  PetscCall(Assemble(k, N, A));
  PetscCall(Initial(N, rho0, P));
  PetscCall(CreateTS(A, &ts));
  PetscCall(TSGetTimeStep(ts, &dt)); /* 5e-4, or -limit_fp_ts_dt */
  for (PetscInt j = 0; j < nt; j++) {
    const PetscScalar *p;
    PetscReal          now;
    TSConvergedReason  reason;
    PetscCall(TSGetTime(ts, &now));
    if (t[j] > now) {
      /* Equal steps of at most dt that end on t[j]. TS_EXACTFINALTIME_MATCHSTEP alone cuts a segment's last step
         short, and the fixed-step TS kept that step for the next segment: the step shrank segment by segment (5e-4,
         then 4.9e-4, 2.7e-4, ... 2e-7 after 24 of the 64 layers of a width-16, depth-64 shaped network), and the
         solve ran 10^7 steps into CONVERGED_ITS, failing the task after 110-350 s. */
      PetscCall(TSSetTimeStep(ts, (t[j] - now) / ceil((t[j] - now) / dt - 1e-9)));
      PetscCall(TSSetMaxTime(ts, t[j]));
      PetscCall(TSSolve(ts, P));
      PetscCall(TSGetConvergedReason(ts, &reason));
      PetscCall(TSGetTime(ts, &now));
      if (reason < 0 || fabs(now - t[j]) > 1e-12) {
        snprintf(msg, msglen, "Fokker-Planck: TS stopped at t = %g before %g (%s)", (double)now, t[j], TSConvergedReasons[reason]);
        *ok = PETSC_FALSE;
        break;
      }
    }
    PetscCall(VecGetArrayRead(P, &p));
    PetscCall(PetscArraycpy(density + j * N, p, N));
    PetscCall(VecRestoreArrayRead(P, &p));
  }
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
  PetscCall(TSDestroy(&ts));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(0);
}
