#!/bin/sh
# Runs fuzz targets from the built binaries, two at a time, each up to RUNS executions or SECS
# seconds. Usage (from fuzz/, after `cargo +nightly fuzz build -O -s none` and `sh seed.sh`):
#   sh run_direct.sh 1000000 120
set -u
runs=${1:-1000000}
secs=${2:-120}
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
one() {
  mkdir -p "artifacts/$1" "corpus/$1"
  "$bin/$1" "corpus/$1" -runs="$runs" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="artifacts/$1/" -print_final_stats=1 > "logs/$1.log" 2>&1
  echo "$1 exit $?" >> logs/summary.txt
}
for pair in "microbeta delimited_long" "delimited_grid hidex" "topcount xlsx" "plate_map config"; do
  set -- $pair
  one "$1" & one "$2" & wait
done
