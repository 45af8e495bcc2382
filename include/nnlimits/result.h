/* The result of one point: per recorded layer Gram and per-input statistics; flat enough to send
 * and store. */
#ifndef NNLIMITS_RESULT_H
#define NNLIMITS_RESULT_H

#include <petscsys.h>

/* ABANDONED: a task cut short by a stop signal (NNLPollFn); sent back to the coordinator, never
 * stored. */
typedef enum { NNL_STATUS_DONE = 0, NNL_STATUS_FAILED = 1, NNL_STATUS_ABANDONED = 2 } NNLStatus;

/* Arrays are owned by the result; sizes: nrec recorded layers, m inputs, np = m(m+1)/2 pairs (a <=
   b, a-major). A network fills gram and the statistics; a limit fills gram with the NNGP kernel and
   ode with the depth-limit ODE (NaN where the ODE does not apply or failed) and leaves the
   statistics zero (they are neither sent nor stored). */
typedef struct {
  PetscInt  point; /* index into grid->points */
  PetscInt  kind;  /* NNLTaskKind of the task */
  NNLStatus status;
  PetscInt  nrec, m;
  PetscInt
    dead_layer; /* first layer whose post-activations are all zero for some input; -1 if none */
  double    seconds;      /* compute wall time (provenance only; never exported) */
  PetscInt *layers;       /* nrec */
  double   *gram;         /* nrec × np: q = <y_a, y_b>/n of pre-activations */
  double   *lognorm;      /* nrec × m: ln(‖y_a‖²/n), pre-activations */
  double   *lognorm_post; /* nrec × m: ln(‖φ(y_a)‖²/n), post-activations (-inf if dead) */
  double   *kurtosis;     /* nrec × m: excess kurtosis of the n coordinates of y_a */
  double   *ode;          /* nrec × np: depth-limit ODE at t = layer/depth (limits only) */
  double
    *ks; /* m: Kolmogorov–Smirnov distance of y_a/‖y_a‖·√n at the last recorded layer to N(0,1) */
  /* Spectra (networks with -spectra_layers only; nspec = 0 otherwise), set by NNLResultSetSpectra.
   */
  PetscInt  nspec;       /* layers with spectra */
  PetscInt  nsv;         /* singular values per layer: min(n, m) */
  PetscInt *spec_layers; /* nspec */
  PetscInt *spec_scale2; /* nspec: the network's power-of-two scale s at that layer (see net.c):
                            the true eigenvalues are eig·4^s, the true singular values sv·2^s; s ≠ 0
                            only for a network past 2^±256, whose true spectrum may overflow double
                            while its ranks and ratios do not */
  double *eig; /* nspec × m: eigenvalues of the Gram YᵀY/n of pre-activations, descending */
  double *sv;  /* nspec × nsv: singular values of the n × m post-activations Φ, descending */
  /* SDE tasks only (kind NNL_TASK_SDE; gram and the statistics unused, layers = the times of fp):
   */
  PetscInt npath; /* SDE paths */
  double *paths; /* npath × (np + m): per path, V at the final time (np pairs), then ln(‖φ(Y)‖²/n)
                    per input */
  PetscInt ncell;        /* Fokker–Planck cells (0: no density) */
  double  *fp;           /* nrec × ncell: density of ρ_01 on cell centres at t(layers[r]) */
  char     message[256]; /* why it failed, if it did */
} NNLResult;

/** @brief Allocate arrays for nrec layers and m inputs (zeroed). */
PetscErrorCode NNLResultCreate(PetscInt nrec, PetscInt m, NNLResult **res);
/** @brief Allocate an SDE task's result: nrec density times, m inputs, npath paths, ncell
 * Fokker–Planck cells. */
PetscErrorCode NNLResultCreateSDE(PetscInt nrec, PetscInt m, PetscInt npath, PetscInt ncell,
                                  NNLResult **res);
PetscErrorCode NNLResultDestroy(NNLResult **res);
/** @brief Allocate the spectra arrays of res for nspec layers of nsv singular values (zeroed;
 * replaces any). */
PetscErrorCode NNLResultSetSpectra(NNLResult *res, PetscInt nspec, PetscInt nsv);
/** @brief Number of doubles NNLResultPack writes for res (any kind, with its spectra or SDE paths
 * and its message). */
PetscInt NNLResultPackedLength(const NNLResult *res);
/** @brief Pack into buf (NNLResultPackedLength doubles) for MPI; exact (integers stored as doubles
 * < 2^53). */
PetscErrorCode NNLResultPack(const NNLResult *res, double *buf);
/** @brief Create a result from a packed buffer of `len` doubles. */
PetscErrorCode NNLResultUnpack(const double *buf, PetscInt len, NNLResult **res);

#endif
