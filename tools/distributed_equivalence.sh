#!/usr/bin/env bash
# Checks that distributed generation equals single-process generation, token for token, on the
# given checkpoints, for pipeline-only, expert-only and mixed plans.
#   tools/distributed_equivalence.sh build/bin/tessera CKPT_DIR...
set -euo pipefail
tessera=$1; shift
prompt="3,141,59,26,53,58,97,93,23,84,62,64,33,83,27,95"
printf "%-40s %-8s %-6s %s\n" checkpoint plan tokens equal
fail=0
for dir in "$@"; do
  ref=$("$tessera" --log-level error generate --model "$dir" --prompt-ids "$prompt" --max-tokens 24 --temperature 0 --json)
  want=$(echo "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["output_ids"])')
  for plan in "2 2 1" "2 1 2" "4 2 2"; do
    set -- $plan
    got=$("$tessera" --log-level error generate --model "$dir" --prompt-ids "$prompt" --max-tokens 24 --temperature 0 \
          --json --workers "$1" --stages "$2" --expert-groups "$3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["output_ids"])')
    ok=yes; [ "$got" = "$want" ] || { ok=NO; fail=1; }
    printf "%-40s %-8s %-6s %s\n" "$(basename "$dir")" "${2}x${3}" 24 "$ok"
  done
done
exit $fail
