#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): wall time of one N×N SVD (values only, default N = 4096) at 1 and
# 2 ranks: ScaLAPACK pdgesvd on a spectra team (matrix distribution included), and LAPACK dgesdd at 1 rank.
# Also 2 ranks with Open MPI's yield_when_idle. One OpenBLAS thread per rank, so that 2 ranks use 2 cores and 1 rank one. Usage: bash tests/bench/spectra_svd.sh [N] [REPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$PWD/build/tests/bench_spectra
[ -x "$B" ] || { echo "build first: cmake --build build" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
n=${1:-4096}
reps=${2:-1}
echo "bench=svd load_before=\"$(cut -d' ' -f1-3 /proc/loadavg)\" cores=$(nproc)"
mpiexec -n 1 "$B" "$n" "$reps"
mpiexec -n 2 "$B" "$n" "$reps"
# On a shared (oversubscribed) machine a rank waiting in MPI spins and takes cycles from its partner: yield instead.
echo "bench=svd variant=mpi_yield_when_idle"
OMPI_MCA_mpi_yield_when_idle=1 mpiexec -n 2 "$B" "$n" "$reps"
echo "bench=svd load_after=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
