#!/usr/bin/env bash
# Regenerate README.md's benchmark table (between the bench-table markers): build the
# static binary (`cargo build-static`), run `benches/start.rs` on it with --markdown,
# and put its "README table" section in place. Needs root; takes a few minutes.
# The full output stays in target/bench-start.txt. Environment as for the bench
# (FASTRUN_BENCH_ITERS, FASTRUN_BENCH_EXTRA, ...; see the top of benches/start.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build-static
out=target/bench-start.txt
FASTRUN_BENCH_BIN="$PWD/target/x86_64-unknown-linux-musl/release/fastrun" \
  cargo bench --bench start -- --markdown | tee "$out"

table=$(awk '/^## README table/ { on = 1; next } on' "$out" | sed '/./,$!d')
[ -n "$table" ] || { echo "no README table in $out" >&2; exit 1; }
begin='<!-- bench-table:begin (benches/README-table.sh rewrites this part) -->'
end='<!-- bench-table:end -->'
grep -qF "$begin" README.md && grep -qF "$end" README.md ||
  { echo "README.md lacks the bench-table markers" >&2; exit 1; }
TABLE="$table" awk -v b="$begin" -v e="$end" '
  $0 == b { print; print ""; print ENVIRON["TABLE"]; print ""; skip = 1; next }
  $0 == e { skip = 0 }
  !skip' README.md > README.md.new
mv README.md.new README.md
echo "README.md: table updated"
