#!/usr/bin/env bash
# The systemd cgroup driver's start cost against a real systemd: `run` of `true`
# with --systemd-cgroup and without, fastrun and runc, interleaved, inside the
# systemd guest of tests/systemd/ (Debian bookworm, systemd 252, booted with
# systemd-nspawn; pure cgroup v2, no controllers). What it prints and how it
# measures: tests/systemd/bench-in-guest.sh. Figures: runtime/src/cgroups/README.md.
#
#   benches/systemd_run.sh [ROUNDS [BASELINE]]     (default 30; as root)
#
# BASELINE: another fastrun binary (e.g. a release build of an older commit),
# interleaved with the others and reported as "baseline".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-30}
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
cargo build --release -q --bin fastrun
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
FASTRUN_BASELINE=${2:+$(realpath "$2")} FASTRUN_SYSTEMD_BENCH=$N FASTRUN_SYSTEMD_BENCH_ONLY=1 \
    tests/systemd/run.sh "${CARGO_TARGET_DIR:-target}/release/fastrun" 2>&1 | grep -v '^guest.sh: building\|^I: '
