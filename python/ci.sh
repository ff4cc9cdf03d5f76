#!/usr/bin/env bash
# The Python package's tests: a virtual environment, the wheel built from this checkout by
# maturin (`pip install ./python`, release profile, in the workspace's target/) with Ray,
# pytest (the distributed crossref on a local Ray cluster among the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check "./python[test]"
# The Ray tests run their cluster in a network namespace: unshare and ip (.ci/setup).
command -v unshare >/dev/null && command -v ip >/dev/null || bash .ci/setup
# The CLI of the same checkout, for the tests that compare records (reuses the release build).
cargo build --release --quiet --bin xref
XREF_BIN="$PWD/target/release/xref" "$venv/bin/python" -m pytest -q python/tests
