#!/usr/bin/env bash
# The distributed crossref's embedding on 1 and 2 Ray workers, each pinned to a core of its
# own (`taskset` on the node; one encoder thread a task), on a local cluster inside a
# network namespace of its own (loopback only). Prints each run's summary and the speed-up.
#
#     bash benches/ray/scale.sh [PATHS…]      # default: three folders of the kernel docs
#                                             # (bash benches/heldout/fetch.sh target/heldout)
# Needs the Python package with Ray in target/python-venv (bash python/ci.sh makes it) and
# root (or user namespaces) for `unshare --net`.
set -euo pipefail
cd "$(dirname "$0")/../.."
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(target/heldout/en/process target/heldout/en/core-api target/heldout/en/admin-guide)
bin="$PWD/target/python-venv/bin"
work=$(mktemp -d /tmp/xref-ray-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
as=(unshare --net)
[ "$(id -u)" -eq 0 ] || as=(unshare --net --map-root-user)
for workers in 1 2; do
    cores=$(seq -s, 0 $((workers - 1)))
    "${as[@]}" bash -c '
        set -euo pipefail
        ip link set lo up
        export RAY_USAGE_STATS_ENABLED=0
        trap "\"$0/ray\" stop --force >/dev/null 2>&1 || true" EXIT
        taskset -c "$2" "$0/ray" start --head --num-cpus "$3" --include-dashboard=false \
            --disable-usage-stats --temp-dir "$1/ray$3" >"$1/start$3.log" 2>&1
        shift 3
        taskset -c 0 "$0/python" -m xref.distributed crossref "$@" --quiet --address auto
    ' "$bin" "$work" "$cores" "$workers" "${paths[@]}" --index "$work/index$workers" \
        --out "$work/out$workers" --segments $((8 * workers)) >"$work/summary$workers.json"
    cat "$work/summary$workers.json"
done
cmp -s "$work/out1/crossref.jsonl" "$work/out2/crossref.jsonl" && echo "the two crossrefs are identical"
"$bin/python" - "$work" <<'PY'
import json, sys
s = [json.load(open(f"{sys.argv[1]}/summary{w}.json")) for w in (1, 2)]
e1, e2 = (x["seconds"]["embed"] for x in s)
n, tok = s[0]["embedded"], s[0]["tokens"]
print(f"embedding {n} paragraphs ({tok} tokens): 1 worker {e1:.1f} s ({n / e1:.1f}/s, "
      f"{tok / e1:.0f} tokens/s), 2 workers {e2:.1f} s ({n / e2:.1f}/s, {tok / e2:.0f} "
      f"tokens/s): {e1 / e2:.2f}x")
for w, x in zip((1, 2), s):
    t = x["seconds"]
    print(f"{w} worker(s): " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
PY
