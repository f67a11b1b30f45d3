#!/bin/sh
# Fuzz smoke for CI: every target for RUNS executions from the seed inputs (seed.sh into a
# scratch directory, so fuzz/corpus is neither needed nor grown), no crash allowed.
# Usage (from fuzz/, after `cargo +nightly fuzz build --dev -s none`): sh smoke.sh 3000
set -eu
runs=${1:-3000}
bin=${FUZZ_BIN:-target/x86_64-unknown-linux-gnu/debug}
for t in microbeta delimited_long delimited_grid hidex topcount xlsx plate_map conc_table config; do
  work=$(mktemp -d)
  sh seed.sh "$work/seeds" > /dev/null
  mkdir -p "$work/artifacts"
  if ! "$bin/$t" "$work/seeds/$t" -runs="$runs" -seed=1 -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -artifact_prefix="$work/artifacts/" > "$work/log" 2>&1; then
    echo "fuzz smoke: $t failed; its log and crash input:" >&2
    tail -40 "$work/log" >&2
    ls "$work/artifacts" >&2
    exit 1
  fi
  echo "fuzz smoke: $t $runs runs, no crash"
  rm -rf "$work"
done
