/* Private interface of src/sdelanes.c: NNL_SDE_LANES paths of a covariance SDE (the shaped MLP,
   shaped attention, the shaped transformer) or of the fixed-width ResNet SDE (src/sde_task.c)
   advanced one Euler–Maruyama step together, for NNLSDE's lanes callback. */
#ifndef NNLIMITS_SDELANES_H
#define NNLIMITS_SDELANES_H

#include "nnlimits/sde.h"
#include "netkernel.h"

/* The SDE dV = b(V) dt + noise, V m×m (m <= NNL_SMALL_M), as src/sde_task.c's scalar callbacks
   define it: drift, the attention block's (NNLAttentionDrift) when attention is set, plus mlp_scale
   times the shaped MLP's (NNLShapedDrift: mlp 1, the shaped ReLU's, k = (c₊ − c₋)²/(2π); mlp 2,
   smooth shaping's, q2 = φ''(0)²/4, q3 = φ'''(0)/2, a2 = a²); noise, the values' Rᵀ((G + Gᵀ)/√2)R
   with RᵀR = V (G the first m² of the increments), times cv then plus NNLAttentionNoise's (the next
   m²) when attention is set. After the step V is symmetrised, and a V that fails VCone(V, 0) goes
   to fix (the rest of the scalar ShapedProject); then inside: VCone(V, 1e-6) (the scalar
   VInside). */
typedef struct {
  PetscInt  m;
  PetscBool attention;
  double    tau0, gamma, cv;
  int       mlp; /* 0: no MLP drift */
  double    mlp_scale, k, q2, q3, a2;
  PetscErrorCode (*fix)(const void *ctx, double *V);
  const void *ctx; /* of fix */
} NNLConeLanes;

/* The tolerance of the state space's test (VCone): rounding's reach (src/sde_task.c). */
#define NNL_PSD_TOL 1e-6

/* One step of NNL_SDE_LANES paths: V (m² × NNL_SDE_LANES, entry k of path l at k·NNL_SDE_LANES +
   l) ← V + b(V) dt + noise, dW (nnoise × NNL_SDE_LANES) the increments, inside[l] whether path l's
   new V is in the state space. Each path gets the bits of NNLSDEStepEM then inside with the scalar
   callbacks, in every build of simd.h. */
PetscErrorCode NNLConeStepLanes(const NNLConeLanes *c, double dt, const double *dW, double *V,
                                PetscBool *inside);

/* The fixed-width ResNet SDE (Hayou 2022; src/sde_task.c's HayouNoise): dY = dB (ΦᵀΦ/n)^{1/2}, Y
   n×m (m <= NNL_SMALL_M), Φ = φ(Y); Phi: scratch of n·m·NNL_SDE_LANES doubles. */
typedef struct {
  const NNLActivation *act;
  PetscInt             n, m;
  double              *Phi;
} NNLHayouLanes;

/* One step of NNL_SDE_LANES paths: Y (n·m × NNL_SDE_LANES, entry k of path l at k·NNL_SDE_LANES +
   l) ← Y + dB R, dW the increments (n·m × NNL_SDE_LANES), RᵀR = ΦᵀΦ/n. Each path gets the bits of
   NNLSDEStepEM with HayouNoise, in every build of simd.h. */
PetscErrorCode NNLHayouStepLanes(const NNLHayouLanes *h, const double *dW, double *Y);

/* Whether the fixed-width ResNet SDE task of width n and m inputs gives NNLSDEPaths its lanes
 * (src/sde_task.c; the cost model prices it by this) */
PetscBool NNLHayouUsesLanes(PetscInt n, PetscInt m);

#endif
