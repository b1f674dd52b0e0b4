#!/usr/bin/env bash
# A fuzzing campaign: run every cargo-fuzz target (or the ones named) for a given
# time each with libFuzzer's -fork on the available cores, merge what found new
# coverage into the committed corpus (fuzz/corpus/<target>, minimized with
# `cargo fuzz cmin`), and print per target the runs, the time, the coverage at the
# start and at the end, the corpus size and the crashes.
#
#   fuzz/campaign.sh [-t SECONDS] [-j JOBS] [-m BYTES] [--no-merge] [TARGET...]
#
#   -t SECONDS   time per target (default 3600)
#   -j JOBS      parallel fuzzing processes per target (-fork; default: nproc)
#   -m BYTES     largest new input merged into the corpus (default 1024: keeps the
#                committed corpus small; the seeds are larger real configs)
#   --no-merge   leave fuzz/corpus alone (new inputs are discarded)
#
# Crashes, leaks, timeouts and out-of-memory inputs do not stop the campaign
# (-ignore_crashes etc.): each is kept in fuzz/artifacts/<target>/ (git-ignored),
# counted, and the command reproducing it is printed. Every one must become a
# regression test and a fix. The exit status is 1 when any target crashed.
#
# On a shared machine run it as `nice -n 19 fuzz/campaign.sh ...`. Needs the nightly
# toolchain and cargo-fuzz (.ci/fuzz installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

seconds=3600
jobs=$(nproc)
merge=1
max_new=1024
targets=()
while (($#)); do
  case $1 in
  -t) seconds=$2; shift 2 ;;
  -j) jobs=$2; shift 2 ;;
  -m) max_new=$2; shift 2 ;;
  --no-merge) merge=0; shift ;;
  -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "campaign.sh: unknown option $1" >&2; exit 2 ;;
  *) targets+=("$1"); shift ;;
  esac
done

cargo +nightly fuzz build
all=$(cargo +nightly fuzz list)
if ((${#targets[@]} == 0)); then
  mapfile -t targets <<<"$all"
fi
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "campaign.sh: no target $t (have: $(echo $all))" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/fastrun-campaign.XXXXXX")
trap 'rm -rf "$work"' EXIT
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# The last libFuzzer status line (`#RUNS: cov: C ft: F corp: N ...` in fork mode,
# `#RUNS ... cov: C ft: F corp: N/SIZE ...` otherwise) and its fields.
status_field() { # log, field name, first|last
  local line
  if [[ $3 == first ]]; then
    line=$(grep -E '^#[0-9]+.* cov: ' "$1" | head -n 1 || true)
  else
    line=$(grep -E '^#[0-9]+.* cov: ' "$1" | tail -n 1 || true)
  fi
  case $2 in
  runs) sed -E 's/^#([0-9]+).*/\1/' <<<"$line" ;;
  *) sed -E "s/.* $2: ([0-9]+).*/\1/" <<<"$line" ;;
  esac
}

summary=()
failed=0
date=$(date -u '+%Y-%m-%d %H:%M UTC')
for t in "${targets[@]}"; do
  asan=${ASAN_OPTIONS:-}
  if [[ $t == seccomp ]]; then
    # Leaks inside libseccomp are suppressed by stack (fuzz/lsan.supp), which needs
    # full stacks: libseccomp has no frame pointers.
    asan="fast_unwind_on_malloc=0${asan:+:$asan}"
  fi
  mkdir -p "$work/$t" "corpus/$t" "artifacts/$t"
  before_files=$(find "corpus/$t" -type f | wc -l)
  before_crashes=$(find "artifacts/$t" -type f | wc -l)
  log="$work/$t.log"
  echo "campaign: $t for ${seconds}s on $jobs processes ($(date -u +%H:%M:%S))"
  start=$SECONDS
  # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: 2 GB is a leak or
  # an unbounded allocation. New inputs go to $work first (the corpus is read only).
  ASAN_OPTIONS=$asan cargo +nightly fuzz run "$t" "$work/$t" "corpus/$t" -- \
    -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || true
  elapsed=$((SECONDS - start))
  crashes=$(($(find "artifacts/$t" -type f | wc -l) - before_crashes))
  runs=$(status_field "$log" runs last)
  cov0=$(status_field "$log" cov first)
  cov=$(status_field "$log" cov last)
  ft=$(status_field "$log" ft last)
  if ((crashes > 0)); then
    failed=1
    grep -E 'ERROR: |panicked at|^SUMMARY' "$log" | sort | uniq -c | head -n 20 >&2 || true
    echo "campaign: $t: $crashes new input(s) in fuzz/artifacts/$t/; reproduce with:" \
      "cd fuzz && cargo +nightly fuzz run $t artifacts/$t/<file>" >&2
  fi
  after_files=$before_files
  if ((merge)); then
    # Everything found joins the corpus, then cmin keeps the inputs that cover it.
    find "$work/$t" -type f -size -"$((max_new + 1))"c -exec cp -n -t "corpus/$t" {} + 2>/dev/null || true
    ASAN_OPTIONS=$asan cargo +nightly fuzz cmin "$t" "corpus/$t" >"$log.cmin" 2>&1 ||
      { tail -n 20 "$log.cmin" >&2; echo "campaign: cmin of $t failed" >&2; failed=1; }
    after_files=$(find "corpus/$t" -type f | wc -l)
  fi
  line=$(printf '%-20s %6ss %12s runs  cov %6s -> %-6s ft %-7s corpus %5s -> %-5s crashes %s' \
    "$t" "$elapsed" "${runs:-?}" "${cov0:-?}" "${cov:-?}" "${ft:-?}" \
    "$before_files" "$after_files" "$crashes")
  echo "campaign: $line"
  summary+=("$line")
done

echo
echo "campaign of $date, ${seconds}s per target, -fork=$jobs:"
printf '%s\n' "${summary[@]}"
exit $failed
