# Stores of schema 4 (a row of table layers per network and layer, before netlayers) and of schema 5 (points and
# netlayers keyed by the point's id): export and status read them as they are, giving the same bytes as the same run
# stored by this build. A run into one (resuming an
# unfinished sweep of the previous release) upgrades it in one transaction and finishes it, byte-identical to a run of
# this build; a merge takes one as an input, unchanged. A run of another job is refused before the store changes, and
# an upgrade that fails half-way (file size limit) leaves the schema-4 store as it was. The schema-4 store is made from
# this build's by SQL (analysis/nnlimits.py's nnl_at), as that build laid it out, and so is the schema-5 store. Catches: readers that only know
# netlayers, an upgrade that loses, reorders or misplaces a layer's arrays or ks, an upgrade before the job check, a
# non-atomic upgrade, a merge that modifies or cannot read an old input.
# ctest-label: cli
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
schema() { sqlite3 "$1/nnlimits.sqlite" "SELECT value FROM meta WHERE key='schema'"; }
same_laws() {
  "$NNL" export "$1" -table laws -o "$W/lawsA.csv" && "$NNL" export "$2" -table laws -o "$W/lawsB.csv" || fail "laws export"
  cmp -s "$W/lawsA.csv" "$W/lawsB.csv" || fail "laws exports of $1 and $2 differ"
}
# An unfinished schema-4 sweep: a third of its points (and their rows) never committed.
cur=$(schema "$W/s5") # this build's schema
# partial OLD NEW [TABLE]: NEW is OLD with a third of its points never committed (TABLE: layers, or netlayers)
partial() {
  mkdir -p "$2" && cp "$1/nnlimits.sqlite" "$2/"
  sqlite3 "$2/nnlimits.sqlite" "DELETE FROM points WHERE ord % 3 = 1;
    DELETE FROM ${3:-layers} WHERE point NOT IN (SELECT id FROM points); DELETE FROM limits WHERE point NOT IN (SELECT id FROM points);
    UPDATE runs SET status='interrupted'; VACUUM"
}

# Another job into a schema-4 store: refused, the file untouched (not upgraded).
partial "$W/s4" "$W/other"
cp "$W/other/nnlimits.sqlite" "$W/other.orig"
set +e; run 1 run $JOB -grid_seed 1-5 -output "$W/other" > /dev/null 2> "$W/other.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "another job into a schema-4 store: exit $rc, want 2"
grep -q 'grid_seed' "$W/other.err" || { cat "$W/other.err"; fail "the refusal does not name the option that differs"; }
cmp -s "$W/other/nnlimits.sqlite" "$W/other.orig" || fail "a refused run changed the schema-4 store"

# An upgrade that fails half-way (the file may not grow): exit 2, the store still schema 4 and whole.
partial "$W/s4" "$W/s4p"
blocks=$(( $(stat -c %s "$W/s4p/nnlimits.sqlite") / 1024 )) # bash counts ulimit -f in KiB
set +e
(trap '' XFSZ; ulimit -f "$blocks"; export PMIX_MCA_gds=hash; run 0 run $JOB -output "$W/s4p") > /dev/null 2> "$W/full.err"; rc=$?
set -e
[ "$rc" = 2 ] || { cat "$W/full.err"; fail "upgrade under a file size limit: exit $rc, want 2"; }
[ "$(schema "$W/s4p")" = 4 ] || fail "a failed upgrade left schema $(schema "$W/s4p")"
[ "$(sqlite3 "$W/s4p/nnlimits.sqlite" 'PRAGMA integrity_check')" = ok ] || fail "a failed upgrade damaged the store"
sqlite3 "$W/s4p/nnlimits.sqlite" "SELECT count(*) FROM layers" > /dev/null || fail "a failed upgrade lost table layers"

# The unfinished schema-4 sweep resumed by this build: upgraded, finished, the same bytes as a run of this build.
run 2 run $JOB -output "$W/s4p" > /dev/null 2> "$W/resume.err" || { cat "$W/resume.err"; fail "resuming a schema-4 store"; }
[ "$(schema "$W/s4p")" = "$cur" ] || fail "the resumed store is schema $(schema "$W/s4p"), want $cur"
[ "$(sqlite3 "$W/s4p/nnlimits.sqlite" 'PRAGMA integrity_check')" = ok ] || fail "the upgraded store fails its integrity check"
same_exports "$W/s5" "$W/s4p"
same_laws "$W/s5" "$W/s4p"
"$NNL" status "$W/s4p" | grep -q 'pending=0' || fail "status of the resumed store"

# A merge of a schema-4 input and a schema-5 one (disjoint halves of the points): the whole run, the inputs unchanged.
cp "$W/s4/nnlimits.sqlite" "$W/s4.orig"
mkdir -p "$W/half5" && cp "$W/s5/nnlimits.sqlite" "$W/half5/"
sqlite3 "$W/half5/nnlimits.sqlite" "DELETE FROM points WHERE ord % 2 = 0; DELETE FROM netlayers WHERE point NOT IN (SELECT id FROM points);
  DELETE FROM limits WHERE point NOT IN (SELECT id FROM points)"
"$NNL" merge "$W/s4" "$W/half5" -output "$W/m" > /dev/null || fail "merge of a schema-4 store"
cmp -s "$W/s4/nnlimits.sqlite" "$W/s4.orig" || fail "merge changed its schema-4 input"
same_exports "$W/s5" "$W/m"
same_laws "$W/s5" "$W/m"
# and a schema-4 store as the output of a merge: upgraded, then merged into
partial "$W/s4" "$W/m4"
"$NNL" merge "$W/half5" -output "$W/m4" > /dev/null || fail "merge into a schema-4 store"
[ "$(schema "$W/m4")" = "$cur" ] || fail "merge into a schema-4 store left schema $(schema "$W/m4")"
# its netlayers rows: byte for byte those this build wrote for the same points
rows() { sqlite3 "$1/nnlimits.sqlite" "ATTACH '$W/m4/nnlimits.sqlite' AS o; SELECT point, nrec, np, m, hex(layer), hex(q),
  hex(lognorm), hex(lognorm_post), hex(kurtosis), hex(ks) FROM main.netlayers WHERE point IN (SELECT id FROM o.points) ORDER BY point"; }
rows "$W/m4" > "$W/m4.rows"; rows "$W/s5" > "$W/s5.rows"
[ "$(wc -l < "$W/m4.rows")" -gt 20 ] || fail "merge into a schema-4 store: $(wc -l < "$W/m4.rows") networks"
cmp -s "$W/m4.rows" "$W/s5.rows" || fail "netlayers rows of an upgraded store differ from this build's"

# Schema 5: points and netlayers with the point's id as their rowid. Read as it is; resumed, it is upgraded to this
# build's keys with the same rows and finished to this build's bytes; merged, it is read unchanged.
mkdir -p "$W/s5old" && cp "$W/s5/nnlimits.sqlite" "$W/s5old/"
sqlite3 "$W/s5old/nnlimits.sqlite" "
  DROP VIEW gram; DROP VIEW stats; DROP VIEW layers;
  CREATE TABLE points5(id INTEGER PRIMARY KEY, ord INTEGER NOT NULL, family TEXT, activation TEXT, width INTEGER,
    depth INTEGER, seed INTEGER, status TEXT, sampler TEXT, dead_layer INTEGER, message TEXT, seconds REAL,
    committed REAL, run INTEGER, kind TEXT NOT NULL);
  INSERT INTO points5 SELECT * FROM points; DROP TABLE points; ALTER TABLE points5 RENAME TO points;
  CREATE INDEX points_ord ON points(ord);
  CREATE TABLE netlayers5(point INTEGER PRIMARY KEY, nrec INTEGER NOT NULL, np INTEGER NOT NULL, m INTEGER NOT NULL,
    layer BLOB, q BLOB, lognorm BLOB, lognorm_post BLOB, kurtosis BLOB, ks BLOB);
  INSERT INTO netlayers5 SELECT * FROM netlayers; DROP TABLE netlayers; ALTER TABLE netlayers5 RENAME TO netlayers;
  UPDATE meta SET value='5' WHERE key='schema'" || fail "making the schema-5 store"
/usr/bin/python3 - "$W/s5/nnlimits.sqlite" "$W/s5old/nnlimits.sqlite" <<'PY' || fail "the schema-5 store's views"
import sqlite3, sys
views = sqlite3.connect(sys.argv[1]).execute("SELECT sql FROM sqlite_master WHERE type='view' ORDER BY rowid").fetchall()
db = sqlite3.connect(sys.argv[2])
for (sql,) in views:
    db.execute(sql)
db.commit()
PY
[ "$(sqlite3 "$W/s5old/nnlimits.sqlite" "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%id INTEGER PRIMARY KEY%'")" = 1 ] ||
  fail "the schema-5 store's points are not keyed by id"
same_exports "$W/s5" "$W/s5old"
partial "$W/s5old" "$W/s5p" netlayers
run 2 run $JOB -output "$W/s5p" > /dev/null 2> "$W/resume5.err" || { cat "$W/resume5.err"; fail "resuming a schema-5 store"; }
[ "$(schema "$W/s5p")" = "$cur" ] || fail "the resumed schema-5 store is schema $(schema "$W/s5p"), want $cur"
[ "$(sqlite3 "$W/s5p/nnlimits.sqlite" "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%INTEGER PRIMARY KEY, ord%' OR sql LIKE '%point INTEGER PRIMARY KEY%'")" = 0 ] ||
  fail "the upgraded schema-5 store kept its old keys"
[ "$(sqlite3 "$W/s5p/nnlimits.sqlite" 'PRAGMA integrity_check')" = ok ] || fail "the upgraded schema-5 store fails its integrity check"
same_exports "$W/s5" "$W/s5p"
same_laws "$W/s5" "$W/s5p"
cp "$W/s5old/nnlimits.sqlite" "$W/s5old.orig"
"$NNL" merge "$W/s5old" -output "$W/m5" > /dev/null || fail "merge of a schema-5 store"
cmp -s "$W/s5old/nnlimits.sqlite" "$W/s5old.orig" || fail "merge changed its schema-5 input"
same_exports "$W/s5" "$W/m5"
echo "schema4: schema-4 and schema-5 stores read as this build's; resumed (upgraded) and merged they give this build's bytes; refused or failed upgrades leave them as they were"
