"""`python -m xref.distributed crossref` on a real local Ray cluster (`ray start --head`, two
worker CPUs), started and stopped by the test inside a network namespace of its own
(`unshare --net`, loopback only: no packet leaves the machine), bounded in time. The
distributed crossref must write what `xref crossref` writes, byte for byte, with a worker
killed (SIGKILL) in the middle of an embedding task: Ray runs the task again and every
paragraph is embedded into the index once."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FORMATS = ["jsonl", "csv", "md", "html"]

# Inside the namespace: loopback up, a head node with 2 CPUs and its own temporary folder,
# the driver in the background; a watcher kills the first worker process it finds running
# an embedding task (its process title is `ray::embed_segment`), once; Ray stopped on exit.
INSIDE = r"""
set -euo pipefail
ip link set lo up
export RAY_USAGE_STATS_ENABLED=0
# Ray's socket paths must stay under 108 bytes: a short temporary folder of its own.
rt=$(mktemp -d /tmp/xref-ray.XXXXXX)
trap '"$BIN/ray" stop --force >/dev/null 2>&1 || true; rm -rf "$rt"' EXIT
"$BIN/ray" start --head --num-cpus 2 --include-dashboard=false --disable-usage-stats \
    --temp-dir "$rt" >"$WORK/ray-start.log" 2>&1
"$BIN/python" -m xref.distributed crossref seeds --index "$WORK/dist.xref" \
    --out "$WORK/out" --segments 4 --address auto >"$WORK/summary.json" 2>"$WORK/driver.log" &
driver=$!
if [ "$KILL" = 1 ]; then
    for _ in $(seq 1 3000); do
        pid=$(pgrep -f '^ray::embed_segment' | head -n1 || true)
        if [ -n "$pid" ]; then kill -9 "$pid"; echo "$pid" >"$WORK/killed"; break; fi
        kill -0 "$driver" 2>/dev/null || break
        sleep 0.01
    done
fi
wait "$driver"
"""


def namespace():
    """`unshare` arguments for a network namespace of the test's own."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("unshare and ip (util-linux, iproute2) are needed: .ci/run installs them")
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]


def run_distributed(work, kill):
    env = dict(os.environ, BIN=str(BIN), WORK=str(work), KILL="1" if kill else "0")
    try:
        out = subprocess.run([*namespace(), "bash", "-c", INSIDE], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("the distributed crossref took more than 300 s")
    logs = "".join(
        f"\n--- {name}\n{(work / name).read_text(errors='replace')[-3000:]}"
        for name in ["ray-start.log", "driver.log"] if (work / name).exists())
    assert out.returncode == 0, out.stderr[-3000:] + logs
    return json.loads((work / "summary.json").read_text()), logs


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """`xref crossref` of the seed in one process."""
    work = tmp_path_factory.mktemp("single")
    binary = os.environ.get("XREF_BIN", str(ROOT / "target/release/xref"))
    out = subprocess.run([binary, "crossref", "seeds", "--index", str(work / "index"),
                          "--out", str(work / "out")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return work / "out"


def test_a_killed_worker_is_retried_and_the_crossref_is_the_single_process_one(
        tmp_path, single):
    summary, logs = run_distributed(tmp_path, kill=True)
    assert (tmp_path / "killed").exists(), "no embedding task was caught running" + logs
    # Every paragraph embedded once: the killed task's work was not added, its retry's was.
    assert summary["embedded"] == summary["paragraphs"] == 275, summary
    assert summary["embed_tasks"] == 4 and summary["link_tasks"] == 4, summary
    assert "275 taken from the journal" in logs, logs
    for f in FORMATS:
        got = (tmp_path / "out" / f"crossref.{f}").read_bytes()
        assert got == (single / f"crossref.{f}").read_bytes(), f"crossref.{f} differs"
    # The links are kept beside the index: a later crossref re-links from them, and with
    # nothing changed it writes the same list.
    index = tmp_path / "dist.xref"
    assert (index / "links.json.gz").exists()
    binary = os.environ.get("XREF_BIN", str(ROOT / "target/release/xref"))
    again = subprocess.run([binary, "crossref", "--index", str(index), "--format", "jsonl"],
                           cwd=ROOT, capture_output=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout == (single / "crossref.jsonl").read_bytes()
