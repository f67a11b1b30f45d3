#!/bin/bash
# Runs CONFIG as N shards on a Slurm cluster, then merges them once every shard succeeded.
#   docs/slurm/submit.sh campaign.yaml /scratch/campaign 16
set -euo pipefail
CONFIG="$(realpath "$1")"; OUT="$2"; N="$3"
here="$(dirname "$(realpath "$0")")"
mkdir -p "$OUT"
ARRAY_JOB=$(sbatch --parsable --array="1-$N" --export="ALL,CONFIG=$CONFIG,OUT=$OUT" \
    "$here/shards.sbatch")
ARRAY_JOB="${ARRAY_JOB%%;*}"
MERGE_JOB=$(sbatch --parsable --dependency="afterok:$ARRAY_JOB" \
    --export="ALL,OUT=$OUT,N=$N" "$here/merge.sbatch")
echo "shards: job $ARRAY_JOB (array 1-$N); merge: job $MERGE_JOB -> $OUT/merged/latest"
