#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the test fixtures and example configs. Run from fuzz/.
set -eu
d=../tests/data/ingest
seed() { t=$1; shift; mkdir -p corpus/$t; for f in "$@"; do [ -f "$f" ] && cp "$f" corpus/$t/; done; }
seed microbeta $d/mb_*.txt
seed delimited_long $d/long_* $d/topcount_96.csv
seed delimited_grid $d/grid_*
seed hidex $d/hidex_*
seed topcount $d/topcount_* $d/mb2_96.tsv $d/colmap_custom.csv
seed xlsx $d/*.xlsx
seed plate_map $d/platemap_*
seed config ../configs/*.yaml
