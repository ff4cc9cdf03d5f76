"""xref: semantic similarity and cross-references between documents, in many languages.

The same engine as the ``xref`` command line, built from the same crate: a multilingual
sentence model run locally (fetched from PyPI on first use), an HNSW index on disk, and
the CLI's records as plain Python dicts::

    import xref
    index = xref.Index.build(["seeds/"], ".xref")    # or xref.Index.open(".xref")
    answer = index.search("What drives new quality productive forces?", k=5)
    for hit in answer["hits"]:
        print(hit["score"], hit["doc"], hit["text"][:80])
    vectors = xref.embed(["a sentence", "一个句子"])  # NumPy float32, one row a text

Every record has the fields of its JSON line in the CLI (``xref search --json``,
``xref related --json``, ``xref crossref --format jsonl``, ``xref docs --json``,
``xref paragraphs --json``). Failures raise :class:`XrefError` (bad input:
:class:`BadInputError`) with the CLI's message. The GIL is released while the model runs
and while the index is searched, so threads can ask side by side.
"""

import json
import os

import numpy as np

from . import _xref
from ._xref import DEFAULT_MODEL, BadInputError, XrefError

__all__ = ["Index", "embed", "XrefError", "BadInputError", "DEFAULT_MODEL"]


def _lines(text):
    return [json.loads(line) for line in text.splitlines() if line]


def _paths(paths):
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [os.fspath(p) for p in paths]


def _dir(path):
    return None if path is None else os.fspath(path)


class Index:
    """An xref index on disk (a folder, ``.xref`` by default), opened with its model."""

    def __init__(self, inner):
        self._inner = inner

    @classmethod
    def open(cls, index_dir=".xref", *, model=None, models_dir=None):
        """Open an index built by ``xref index`` or :meth:`build`."""
        return cls(_xref.Index.open(os.fspath(index_dir), model, _dir(models_dir)))

    @classmethod
    def build(cls, paths, index_dir=".xref", *, model=None, models_dir=None,
              rebuild=False, max_chars=None):
        """Build (or update) the index in ``index_dir`` from files and folders, as
        ``xref index PATHS --index DIR`` does: only what changed is embedded again."""
        inner = _xref.Index.build(_paths(paths), os.fspath(index_dir), model,
                                  _dir(models_dir), rebuild, max_chars)
        return cls(inner)

    def search(self, question, k=10, mode="hybrid", doc=None):
        """Answer a question (or a list of questions, embedded in one batch).

        Returns the record of ``xref search --json``: ``{"query", "hits": [...],
        "confidence", "in_corpus"}`` (a list of them for a list). ``mode``: ``"hybrid"``,
        ``"dense"`` or ``"lexical"``; ``doc``: only documents whose title or id contains it.
        """
        many = not isinstance(question, str)
        questions = list(question) if many else [question]
        records = _lines(self._inner.search(questions, k, mode, doc))
        return records if many else records[0]

    def related(self, source, k=10, same_doc=False):
        """Passages in other documents related to a paragraph id or, when ``source`` is no
        paragraph id, to ``source`` as a text: ``{"id", "links": [...]}``."""
        return json.loads(self._inner.related(source, k, same_doc))

    def crossref(self, k=5, min_score=None, quantile=None, fresh=False):
        """The cross-reference list: one record per paragraph with its ``links``, as
        ``xref crossref --format jsonl`` (threshold calibrated on the corpus unless
        ``min_score`` is given; 0 keeps every link)."""
        return _lines(self._inner.crossref(k, min_score, quantile, fresh))

    def documents(self):
        """The documents: ``{"id", "doc", "paragraphs", "source"}`` each."""
        return _lines(self._inner.documents())

    def paragraphs(self):
        """Every paragraph as stored (``xref paragraphs --json``)."""
        return _lines(self._inner.paragraphs())

    @property
    def dir(self):
        return self._inner.dir

    @property
    def model(self):
        return self._inner.model

    def __len__(self):
        return len(self._inner)

    def __repr__(self):
        return f"xref.Index({os.fspath(self.dir)!r}, {len(self)} paragraphs, model {self.model!r})"


def embed(texts, prefix="passage", *, model=None, models_dir=None):
    """Embed texts with the model: a float32 array of shape (len(texts), dim), rows
    L2-normalised. ``prefix``: ``"passage"`` (documents), ``"query"`` (questions) or
    ``"none"``."""
    if isinstance(texts, str):
        texts = [texts]
    data, rows, dim = _xref.embed(list(texts), prefix, model, _dir(models_dir))
    return np.frombuffer(data, dtype=np.float32).reshape(rows, dim)
