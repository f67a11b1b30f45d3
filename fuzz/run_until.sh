#!/bin/sh
# Runs fuzz targets one after another from the built binaries until each has made RUNS
# executions (or SECS seconds), appending the final stats to logs/<target>.log.
# Usage (from fuzz/, after `cargo +nightly fuzz build -O -s none` and `sh seed.sh`):
#   sh run_until.sh 10000000 3600 microbeta hidex ...
set -u
runs=$1; secs=$2; shift 2
bin=${FUZZ_BIN:-target/x86_64-unknown-linux-gnu/release}
mkdir -p logs
for t in "$@"; do
  mkdir -p "artifacts/$t" "corpus/$t"
  case $t in xlsx) len=65536 ;; config) len=8192 ;; *) len=4096 ;; esac
  "$bin/$t" "corpus/$t" -runs="$runs" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$len" -artifact_prefix="artifacts/$t/" -print_final_stats=1 > "logs/$t.log" 2>&1
  echo "$t exit $? $(grep -h 'stat::number_of_executed_units' "logs/$t.log")" >> logs/summary.txt
done
