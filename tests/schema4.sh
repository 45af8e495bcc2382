# ctest-label: cli
# Stores of schema 4 (a row of table layers per network and layer, before this build's netlayers): export and status
# still read them, giving the same bytes as the same run stored in schema 5; a run into one or a merge of one is
# refused with a message naming the schemas and what to do. The schema-4 store is made from a schema-5 one by SQL
# (analysis/nnlimits.py's nnl_at), as that build laid it out. Catches: readers that only know netlayers, a schema-4
# store written into (mixing layouts), a merge that would fail half-way on a missing table.
source "$(dirname "$0")/lib.sh" "$@"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB="-family mlp,resnet -grid_activation relu,tanh -grid_width 8,16 -grid_depth 3,6 -grid_seed 0-4 -inputs 3
     -progress_interval 0"
run 1 run $JOB -output "$W/s5" > /dev/null 2>&1 || fail "run"
mkdir -p "$W/s4" && cp "$W/s5/nnlimits.sqlite" "$W/s4/"
/usr/bin/python3 - "$W/s4/nnlimits.sqlite" "$SRC/analysis" <<'PY' || fail "making the schema-4 store"
import sqlite3, sys
sys.path.insert(0, sys.argv[2])
import nnlimits
db = sqlite3.connect(sys.argv[1])
db.create_function("nnl_at", 2, nnlimits.nnl_at, deterministic=True)
views = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type='view' AND name IN ('gram','stats')").fetchall())
db.executescript("""
CREATE TABLE layers4(point INTEGER, layer INTEGER, q BLOB, lognorm BLOB, lognorm_post BLOB, kurtosis BLOB, ks BLOB,
  PRIMARY KEY(point, layer)) WITHOUT ROWID;
INSERT INTO layers4 SELECT point, layer, q, lognorm, lognorm_post, kurtosis, ks FROM layers;
DROP VIEW gram; DROP VIEW stats; DROP VIEW layers; DROP TABLE netlayers; DROP TABLE seq;
ALTER TABLE layers4 RENAME TO layers;
UPDATE meta SET value='4' WHERE key='schema';
""")
for name in ("gram", "stats"):
    db.execute(views[name])
db.commit()
assert db.execute("SELECT count(*) FROM layers").fetchone()[0] > 0
PY
same_exports "$W/s5" "$W/s4"
"$NNL" export "$W/s5" -table laws -o "$W/laws5.csv" && "$NNL" export "$W/s4" -table laws -o "$W/laws4.csv" || fail "laws export"
cmp -s "$W/laws5.csv" "$W/laws4.csv" || fail "laws export of the schema-4 store differs"
"$NNL" status "$W/s4" | grep -q 'pending=0' || fail "status of the schema-4 store"
set +e; run 1 run $JOB -output "$W/s4" > /dev/null 2> "$W/run4.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "a run into a schema-4 store: exit $rc, want 2"
grep -q 'store schema 4, this build writes 5): rerun into a new -output' "$W/run4.err" || { cat "$W/run4.err"; fail "run message"; }
set +e; "$NNL" merge "$W/s4" -output "$W/m" > /dev/null 2> "$W/merge4.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "a merge of a schema-4 store: exit $rc, want 2"
grep -q 'store schema 4, merge takes 5' "$W/merge4.err" || { cat "$W/merge4.err"; fail "merge message"; }
[ ! -e "$W/m/nnlimits.sqlite" ] || fail "a refused merge created its output store"
echo "schema4: exports and status of a schema-4 store equal schema 5's; run into it and merge of it refused"
