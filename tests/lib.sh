# Shared by the script tests: the binary, a scratch directory, and mpiexec with the settings this machine needs.
# Usage from a test: source "$(dirname "$0")/lib.sh" "$@"   (ctest passes: BINARY WORKDIR)
set -euo pipefail
NNL=$(readlink -f "$1")
W=$2
rm -rf "$W" && mkdir -p "$W"
MPIEXEC=${MPIEXEC:-mpiexec}
# Open MPI refuses root without these; 3 ranks on 2 cores needs oversubscription.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# One node: shared memory only, no network or PCI probing at start-up (jobs/one_machine.sh says what and why).
source "$(dirname "${BASH_SOURCE[0]}")/../jobs/one_machine.sh"
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN PETSC_OPTIONS || true

# run NP ARGS...: nnlimits on NP ranks (NP=0: no mpiexec at all).
run() {
  local np=$1; shift
  if [ "$np" = 0 ]; then "$NNL" "$@"; else "$MPIEXEC" -n "$np" "$NNL" "$@"; fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# schema_of DIR: the store schema of DIR's store (of a store this build made: the schema it writes)
schema_of() { sqlite3 "$1/nnlimits.sqlite" "SELECT value FROM meta WHERE key = 'schema'"; }

# export_all DIR PREFIX: every table of DIR to PREFIX.TABLE.csv
# every table export has (the reproducibility review: five of them missed a Fokker-Planck density that depended on the
# other layers recorded)
EXPORT_TABLES="gram points stats limits compare extrapolate spectra spectrum sde fokker_planck laws"
export_all() {
  for t in $EXPORT_TABLES; do "$NNL" export "$1" -table "$t" -o "$2.$t.csv"; done
}

# same_exports A B: byte-identical exports of two run directories
same_exports() {
  export_all "$1" "$W/cmpA"; export_all "$2" "$W/cmpB"
  for t in $EXPORT_TABLES; do
    cmp -s "$W/cmpA.$t.csv" "$W/cmpB.$t.csv" || fail "$t export of $1 and $2 differ"
  done
}
