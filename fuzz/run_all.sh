#!/bin/sh
# Runs every fuzz target for SECS seconds each (default 600), one after another, on one core,
# logging to logs/<target>.log. Usage (from fuzz/): sh seed.sh; sh run_all.sh 600
set -eu
secs=${1:-600}
mkdir -p logs
for t in microbeta delimited_long delimited_grid hidex topcount xlsx plate_map config; do
  cargo +nightly fuzz run -O -s none "$t" -- -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 > "logs/$t.log" 2>&1 || echo "$t: exit $?" >> logs/summary.txt
  grep -E "^Done|stat::number_of_executed_units" "logs/$t.log" | tail -1 | sed "s/^/$t: /" >> logs/summary.txt || true
done
