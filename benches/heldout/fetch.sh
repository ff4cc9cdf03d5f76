#!/usr/bin/env bash
# The held-out check of issue #11: the Linux kernel's documentation and its Simplified
# Chinese translations (Documentation/translations/zh_CN/X.rst translates
# Documentation/X.rst), from Debian's linux-doc-6.1 package. Nothing in xref was tuned on
# it; it is measured once the cross-lingual scoring is settled.
#
#   bash benches/heldout/fetch.sh [OUT]       # default OUT: target/heldout
#   xref eval --pairs target/heldout/zh target/heldout/en --index target/heldout/.xref
#
# Needs apt-get (download only), dpkg-deb, gzip, python3.
set -euo pipefail
out=${1:-target/heldout}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A stale package list names versions the mirror no longer has (404): refresh it, once.
if ! (cd "$work" && apt-get download linux-doc-6.1 >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$work" && apt-get download linux-doc-6.1 >/dev/null)
fi
dpkg-deb -x "$work"/linux-doc-6.1_*.deb "$work/root"
doc="$work/root/usr/share/doc/linux-doc-6.1/Documentation"
rm -rf "$out/zh" "$out/en"
mkdir -p "$out/zh" "$out/en"
n=0
while IFS= read -r zh; do
    rel=${zh#"$doc/translations/zh_CN/"}
    en="$doc/$rel"
    [ -f "$en" ] || continue
    name=${rel%.gz}
    # Tables of contents carry no prose of their own.
    [ "$(basename "$name")" = index.rst ] && continue
    mkdir -p "$out/zh/$(dirname "$name")" "$out/en/$(dirname "$name")"
    gzip -dc "$zh" > "$out/zh/$name"
    gzip -dc "$en" > "$out/en/$name"
    n=$((n + 1))
done < <(find "$doc/translations/zh_CN" -name '*.rst.gz' | sort)
# Complete translations only (as for the manual pages): blocks within 10 % of each other.
kept=$(python3 - "$out" <<'PY'
import os, sys
out = sys.argv[1]
def blocks(path):
    return sum(1 for p in open(path, encoding="utf-8", errors="replace").read().split("\n\n") if p.strip())
kept = 0
for d, _, files in os.walk(f"{out}/zh"):
    for f in files:
        zh = os.path.join(d, f)
        en = os.path.join(f"{out}/en", os.path.relpath(zh, f"{out}/zh"))
        a, b = blocks(zh), blocks(en)
        if 0.9 <= a / max(b, 1) <= 1.1:
            kept += 1
        else:
            os.remove(zh)
            os.remove(en)
print(kept)
PY
)
echo "linux-doc-6.1" > "$out/PACKAGES"
echo "fetch.sh: $n translated files, $kept complete translations kept in $out/zh and $out/en"
