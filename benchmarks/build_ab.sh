#!/usr/bin/env bash
# Two builds of Peft.Net against each other on whole training steps, alternating in the same minutes:
#   benchmarks/build_ab.sh <base checkout> <new checkout> [pairs] [extra `peft bench train` options]
# Each checkout must hold a Release build of the CLI (dotnet build src/Peft.Net.Cli -c Release). A pair runs
# `peft bench train --steps 12` once with each build, in alternating order; the script prints the machine, every pair's
# ms a step and base/new ratio, then the medians. For a base commit: git worktree add /tmp/base <commit> --detach, then
# build the CLI there.
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 <base checkout> <new checkout> [pairs] [bench train options]" >&2
    exit 2
fi
base=$1 new=$2 pairs=${3:-16}
shift $(( $# < 3 ? $# : 3 ))
for side in "$base" "$new"; do
    if [[ ! -x "$side/artifacts/bin/Peft.Net.Cli/release/peft" ]]; then
        echo "$side: no Release build of the CLI (artifacts/bin/Peft.Net.Cli/release/peft); build it first" >&2
        exit 2
    fi
done
source "$(dirname "$0")/peers/machine.sh"
print_machine "$new/artifacts/bin/Peft.Net.Cli/release/peft" "${PEFT_NUM_THREADS:-$(nproc)}"
step_ms() { "$1/artifacts/bin/Peft.Net.Cli/release/peft" bench train --steps 12 "${@:2}" | head -1 | sed -E 's/.* ([0-9.]+) ms\/step.*/\1/'; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 1; i <= pairs; i++)); do
    if (( i % 2 )); then b=$(step_ms "$base" "$@"); n=$(step_ms "$new" "$@"); else n=$(step_ms "$new" "$@"); b=$(step_ms "$base" "$@"); fi
    echo "$b $n" >> "$results"
    awk -v i="$i" -v b="$b" -v n="$n" 'BEGIN { printf "pair %2d: base %7.1f ms, new %7.1f ms, base/new %.3f\n", i, b, n, b / n }'
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
ratios = [b / n for b, n in rows]
print(f"medians over {len(rows)} pairs: base {statistics.median(b for b, _ in rows):.1f} ms, new {statistics.median(n for _, n in rows):.1f} ms; "
      f"base/new {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}; {sum(r > 1 for r in ratios)} of {len(ratios)} pairs faster)")
PY
