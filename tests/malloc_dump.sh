# -malloc_dump: PETSc lists at PetscFinalize every PetscMalloc not freed. A run at 1 and 2 ranks, its resume, a
# refused run, plan, status, export and merge must list nothing. Catches: objects not destroyed on success or on the
# input-error paths (before the fix, the error handler pushed at start-up was listed: "32 bytes PetscPushErrorHandler").
# ctest-label: reliability
source "$(dirname "$0")/lib.sh" "$@"
JOB="-grid_width 8,16 -grid_depth 2,4 -grid_seed 0-3 -progress_interval 0"
leaks() { if grep -E '^\[ *[0-9]+\] *[0-9]+ bytes ' "$W/err"; then fail "PETSc memory not freed at exit: $*"; fi; }
expect() { # expect RC NP ARGS...
  local want=$1 rc; shift
  set +e; run "$@" -malloc_dump > /dev/null 2> "$W/err"; rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$W/err" >&2; fail "exit $rc (want $want): $*"; }
  leaks "$@"
}
expect 0 0 run $JOB -output "$W/a"
expect 0 2 run $JOB -output "$W/b"
expect 0 2 run $JOB -output "$W/b"                       # resume: nothing to do
expect 2 2 run $JOB -grid_seed 1-5 -output "$W/b"        # refused: another job (seed 0 dropped: not an extension)
expect 2 0 run -grid_width 0 -output "$W/c"
expect 0 0 plan $JOB -shard 1/2
expect 0 0 status "$W/a"
expect 0 0 export "$W/a" -table compare -o "$W/a.csv"
expect 0 0 merge "$W/a" -output "$W/m"
expect 2 0 export "$W/a" -table nope
echo "malloc_dump: no PETSc memory left at exit (run at 1 and 2 ranks, resume, refusals, plan, status, export, merge)"
