"""The Python package against the CLI on the seed corpus and the real model: the same
records (ids, scores) and the same gold-set figures, vectors equal to `xref embed`, the
CLI's errors as exceptions, and the GIL released while the model runs."""

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import xref

ROOT = Path(__file__).resolve().parents[2]
GOLD = json.loads((ROOT / "tests/gold/seed.json").read_text(encoding="utf-8"))


def cli(*args):
    """Run the `xref` binary built from the same checkout (XREF_BIN, set by python/ci.sh)."""
    binary = os.environ.get("XREF_BIN", str(ROOT / "target/release/xref"))
    out = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    # From the project root with the gold set's own corpus path, so that `xref eval` on
    # this index finds it up to date.
    os.chdir(ROOT)
    d = tmp_path_factory.mktemp("seed") / "index"
    return xref.Index.build([GOLD["corpus"]], d)


def test_build_indexes_the_seed_like_the_cli(index):
    assert len(index) == len(jsonl(cli("paragraphs", "--json", "--index", str(index.dir))))
    docs = index.documents()
    assert docs == jsonl(cli("docs", "--json", "--index", str(index.dir)))
    assert len(docs) == 15 and set(docs[0]) == {"id", "doc", "paragraphs", "source"}
    paragraphs = index.paragraphs()
    assert len(paragraphs) == len(index) == sum(d["paragraphs"] for d in docs)
    assert paragraphs[0]["doc_id"] == docs[0]["id"]
    assert "xref.Index(" in repr(index) and index.model == xref.DEFAULT_MODEL


def test_search_answers_the_gold_set_as_the_cli_does(index, tmp_path):
    questions = [q["query"] for q in GOLD["questions"]]
    mine = index.search(questions, k=10)
    queries = tmp_path / "questions.txt"
    queries.write_text("\n".join(questions) + "\n", encoding="utf-8")
    theirs = jsonl(cli("search", "--json", "-k", "10", "--queries", str(queries),
                       "--index", str(index.dir)))
    assert len(mine) == len(theirs) == len(questions)
    for a, b in zip(mine, theirs):
        assert [h["id"] for h in a["hits"]] == [h["id"] for h in b["hits"]], a["query"]
        for ha, hb in zip(a["hits"], b["hits"]):
            assert abs(ha["score"] - hb["score"]) <= 1e-6
        assert abs(a["confidence"] - b["confidence"]) <= 1e-6
    # The gold figures: MRR@10 and hit@1 over the answers, as `xref eval` reports them.
    rr, hit1 = [], 0
    for q, answer in zip(GOLD["questions"], mine):
        rank = next((i for i, h in enumerate(answer["hits"])
                     if any(s in h["text"] for s in q["answers"])), None)
        rr.append(0.0 if rank is None else 1.0 / (rank + 1))
        hit1 += rank == 0
    report = json.loads(cli("eval", str(ROOT / "tests/gold/seed.json"), "--json",
                            "--index", str(index.dir)))
    hybrid = report["questions"]["hybrid"]["all"]
    assert abs(sum(rr) / len(rr) - hybrid["mrr10"]) <= 1e-6
    assert abs(hit1 / len(rr) - hybrid["hit1"]) <= 1e-6
    assert hybrid["mrr10"] > 0.7, hybrid


def test_one_question_modes_and_document_filter(index):
    one = index.search("What drives new quality productive forces?", k=3, mode="dense")
    assert one["query"] == "What drives new quality productive forces?"
    assert 1 <= len(one["hits"]) <= 3
    title = index.documents()[0]["doc"]
    only = index.search("新质生产力", k=5, doc=title)
    assert only["hits"] and all(h["doc"] == title for h in only["hits"])


def test_related_and_crossref_are_the_cli_records(index):
    first = index.paragraphs()[0]["id"]
    assert index.related(first, k=5) == json.loads(
        cli("related", first, "-k", "5", "--json", "--index", str(index.dir)))
    text = index.related("金融监管要全覆盖", k=3)
    assert text["id"] is None and len(text["links"]) == 3
    rows = index.crossref(k=5)
    assert rows == jsonl(cli("crossref", "--format", "jsonl", "-k", "5",
                             "--index", str(index.dir)))
    assert len(rows) == len(index) and any(r["links"] for r in rows)


def test_embed_gives_the_cli_vectors_as_numpy():
    texts = ["新质生产力", "new quality productive forces", "金融监管要全覆盖"]
    v = xref.embed(texts, prefix="query")
    assert v.dtype == np.float32 and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    out = subprocess.run([os.environ.get("XREF_BIN", str(ROOT / "target/release/xref")),
                          "embed", "--prefix", "query"], input="\n".join(texts) + "\n",
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    theirs = np.array([line["embedding"] for line in jsonl(out)], dtype=np.float32)
    assert np.max(np.abs(v - theirs)) <= 1e-6
    # Query and passage prefixes give different vectors; the array is writable.
    assert not np.allclose(v, xref.embed(texts))
    v[0, 0] = 0.0


def test_errors_are_exceptions_with_the_cli_messages(index, tmp_path):
    with pytest.raises(xref.BadInputError, match="no index in"):
        xref.Index.open(tmp_path / "nothing-here")
    with pytest.raises(xref.BadInputError, match="unknown mode"):
        index.search("新质生产力", mode="fuzzy")
    with pytest.raises(xref.BadInputError, match="no document title or id contains"):
        index.search("新质生产力", doc="no such document anywhere")
    with pytest.raises(xref.BadInputError, match="unknown prefix"):
        xref.embed(["x"], prefix="title")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("", encoding="utf-8")
    with pytest.raises(xref.BadInputError, match="no documents found"):
        xref.Index.build([empty], tmp_path / "idx")
    assert issubclass(xref.BadInputError, xref.XrefError)


def test_the_gil_is_released_while_the_model_runs():
    texts = ["发展新质生产力是推动高质量发展的内在要求和重要着力点。" * 8] * 64
    xref.embed(texts[:1])  # the model loaded first
    ticks = 0
    done = threading.Event()

    def work():
        xref.embed(texts)
        done.set()

    t = threading.Thread(target=work)
    started = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - started
    # Python kept running beside the embedding: about one tick a millisecond.
    assert elapsed > 0.05 and ticks >= elapsed * 1000 * 0.3, (ticks, elapsed)
