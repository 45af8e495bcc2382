# Kill anywhere (tests/kill_anywhere.py): SIGKILL a random rank (rank 0 included), mpiexec alone or the whole launch
# at a random moment, rerun, repeat; seeded (NNL_KILL_SEED), NNL_KILL_TRIALS for more trials than CI's 20.
# Catches: committed points lost, changed or duplicated by a kill or a rerun, a damaged store, orphan ranks that keep
# writing, a rerun that hangs or fails, a resume whose numbers differ from an uninterrupted run's.
# ctest-label: reliability
source "$(dirname "$0")/lib.sh" "$@"
exec /usr/bin/python3 "$(dirname "$0")/kill_anywhere.py" "$NNL" "$W"
