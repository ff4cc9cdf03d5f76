#!/usr/bin/env bash
# What kind of passage answers a how-to question first in HTML documentation: the Debian
# Reference's English and Chinese HTML editions (benches/books/fetch.sh) in one index, the
# 45 questions of benches/books/howto.txt (30 English, 15 Chinese, written as a user would
# ask). Prints the share of top answers that are prose, list items, tables and code.
#
#   bash benches/books/howto.sh [XREF_BINARY] [BOOKS_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
xref=${1:-target/release/xref}
books=${2:-target/books}
index=$(mktemp -d)
trap 'rm -rf "$index"' EXIT
"$xref" index "$books/html/debian-reference.en" "$books/html/debian-reference.zh-cn" --index "$index" >&2
"$xref" search --json -k 5 --queries benches/books/howto.txt --index "$index" | python3 -c '
import json, sys, collections
rows = [json.loads(l) for l in sys.stdin if l.strip()]
top = collections.Counter(r["hits"][0].get("kind", "prose") for r in rows if r["hits"])
n = sum(top.values())
print(json.dumps({"questions": n, **{k: round(v / n, 3) for k, v in sorted(top.items())},
                  "not_table_or_code": round((top["prose"] + top["list"]) / n, 3)}))
'
