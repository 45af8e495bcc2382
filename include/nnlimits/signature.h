/* The neural signature kernel (Cirone–Lemercier–Salvi 2023) of the controlled ResNet with shared
   weights, driven by the path x_t = t: a Goursat problem on [0,1]², marched cell by cell. */
#ifndef NNLIMITS_SIGNATURE_H
#define NNLIMITS_SIGNATURE_H

#include "nnlimits/net.h"

/* How a cell's source term is taken. CORNER: at the cell's lower-left corner, the explicit scheme
   whose values on a grid of N cells are exactly the infinite-width kernel of the depth-N network
   (first order in 1/N as a PDE solver). MIDPOINT: at the cell's centre (second order), for the
   depth limit. */
typedef enum { NNL_GOURSAT_CORNER = 0, NNL_GOURSAT_MIDPOINT = 1 } NNLGoursatScheme;

/**
  @brief K^{ab}(t, t) at t = idx[r]/N, r < nout, of ∂_s∂_t K^{ab} = σ_A² F_φ(Σ^{ab}(s,t)) + σ_b²,
  K^{ab}(0,·) = K^{ab}(·,0) = C_ab, Σ^{ab}(s,t) = [[K^{aa}(s,s), K^{ab}(s,t)], [K^{ab}(s,t),
  K^{bb}(t,t)]]: the m inputs' initial kernel C (packed, np = m(m+1)/2 pairs a <= b, a-major),
  marched over N×N cells of side h = 1/N: K_{i+1,j+1} = K_{i+1,j} + K_{i,j+1} − K_{i,j} + h² (σ_A²
  F_φ(Σ) + σ_b²), Σ at the cell's corner (i, j) or centre (scheme). idx ascending in [0, N]; q: nout
  × np. Memory O(N) per pair, work N²/2 cells for a pair a = b and N² for a ≠ b, each one F_φ; pairs
  with equal (C_aa, C_bb, C_ab) are marched once. poll (may be NULL) is called every few rows;
  *abandon set stops the march (q then incomplete). Not collective.
*/
PetscErrorCode NNLGoursatDiagonal(const NNLActivation *act, PetscInt m, const double *C, double sa2,
                                  double sb2, PetscInt N, NNLGoursatScheme scheme, PetscInt nout,
                                  const PetscInt idx[], double *q, NNLPollFn poll, void *ctx,
                                  PetscBool *abandon);

#endif
