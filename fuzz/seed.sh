#!/bin/sh
# Seeds <dir>/<target>/ (default fuzz/corpus) from the test fixtures and example configs.
# Run from fuzz/: sh seed.sh [dir]
set -eu
d=../tests/data/ingest
out=${1:-corpus}
seed() {
  t=$1; shift; mkdir -p "$out/$t"
  for f in "$@"; do if [ -f "$f" ]; then cp "$f" "$out/$t/"; fi; done
}
seed microbeta $d/mb_*.txt
seed delimited_long $d/long_* $d/topcount_96.csv
seed delimited_grid $d/grid_*
seed hidex $d/hidex_*
seed topcount $d/topcount_* $d/mb2_96.tsv $d/colmap_custom.csv
seed xlsx $d/*.xlsx
seed plate_map $d/platemap_*
seed conc_table ../sample_data/table/competition.csv $d/platemap_*
seed config ../configs/*.yaml
