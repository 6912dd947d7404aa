#!/usr/bin/env bash
# Runs every fuzz target over its committed seeds (docs/fuzzing.md).
#
#   fuzz/run.sh              the short run .ci/run makes: a fixed number of executions
#                            per target (sized for ~15 s each on one core)
#   fuzz/run.sh SECONDS      each target for SECONDS, one after another (the long run)
#
# Further arguments are passed to libFuzzer (e.g. -jobs=2 -workers=2). Stops at the
# first crash with a non-zero exit; the input that crashed is in
# fuzz/artifacts/<target>/, and `cargo +nightly fuzz run -s none <target> <file>`
# replays it; the full output is in fuzz/artifacts/<target>.log. New inputs the fuzzer finds go to fuzz/corpus/<target>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")"

# target:runs for the short run. A target that verifies signatures on every input runs
# fewer (block and the wire targets: ~2,000-4,000 inputs/s; the rest 13,000-60,000).
TARGETS=(
  tx:150000
  block:25000
  proof:120000
  access_proof:120000
  wire_gossip:50000
  wire_sync:40000
  genesis:250000
  payment_link:1000000
  readable_link:400000
  api_body:250000
)
# No sanitizer: every crate we fuzz forbids unsafe code, so what the fuzzer finds is
# panics (including overflows: release builds keep overflow checks), timeouts and
# memory blow-ups, which need no sanitizer; ASan would double the build and halve the
# executions. `-s address` is one flag away for a run over the dependencies' unsafe code.
SANITIZER=(-s none)

seconds=""
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi

cargo +nightly fuzz build "${SANITIZER[@]}"
for entry in "${TARGETS[@]}"; do
  target=${entry%%:*}
  runs=${entry##*:}
  if [[ -n $seconds ]]; then limit=(-max_total_time="$seconds"); else limit=(-runs="$runs"); fi
  mkdir -p "corpus/$target"
  echo "== fuzz $target (${limit[*]})"
  log="artifacts/$target.log"
  mkdir -p artifacts
  rc=0
  cargo +nightly fuzz run "${SANITIZER[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    "${limit[@]}" -print_final_stats=1 "$@" >"$log" 2>&1 || rc=$?
  grep -E '^INFO: seed corpus|^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
  if [[ $rc -ne 0 ]]; then
    tail -n 80 "$log"
    echo "fuzz target $target failed (exit $rc); its log is fuzz/$log"
    exit 1
  fi
done
