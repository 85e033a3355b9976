"""The default built-dataset folder is keyed by the embedded corpus's content: a corpus that gains or
changes a genome must never reuse datasets built from the old one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from genobench_hf import store
from genobench_hf.data.taxonomy import embedded_corpus_dir


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small corpus-like folder standing in for the embedded corpus; caches under tmp_path."""
    folder = tmp_path / "corpus"
    (folder / "EUK").mkdir(parents=True)
    for table in ("MANIFEST.tsv", "TAXONOMY.tsv"):
        shutil.copyfile(embedded_corpus_dir() / table, folder / table)
    (folder / "EUK" / "a.fna").write_text(">a\nACGT\n")
    monkeypatch.setattr(store, "embedded_corpus_dir", lambda: folder)
    monkeypatch.delenv("GENOBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path / "memo"))
    return folder


def test_default_data_dir_changes_with_the_corpus_content(corpus: Path) -> None:
    first = store.default_data_dir(build_if_missing=False)
    assert (
        first.name.endswith(f"-corpus{store.corpus_fingerprint()}")
        and f"rules{store.BUILD_RULES}" in first.name
    )
    assert store.default_data_dir(build_if_missing=False) == first  # stable while nothing changes
    (corpus / "EUK" / "b.fna").write_text(">b\nGGCC\n")  # a genome added
    added = store.default_data_dir(build_if_missing=False)
    (corpus / "EUK" / "a.fna").write_text(">a\nACGA\n")  # a genome's bytes changed
    changed = store.default_data_dir(build_if_missing=False)
    with (corpus / "TAXONOMY.tsv").open("a", encoding="utf-8") as fh:  # a table row changed
        fh.write("EUK/b.fna\tEukaryota\t-\t-\t-\t-\tX\tX y\t-\t1\n")
    retabled = store.default_data_dir(build_if_missing=False)
    assert len({first, added, changed, retabled}) == 4
    assert {p.parent for p in (first, added, changed, retabled)} == {corpus.parent / "xdg" / "genobench"}


def test_corpus_fingerprint_ignores_where_the_corpus_lives(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(corpus, copy)
    assert store.corpus_fingerprint(copy) == store.corpus_fingerprint(corpus)


def test_explicit_data_dir_is_used_as_is(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENOBENCH_DATA_DIR", str(tmp_path / "mine"))
    assert store.default_data_dir(build_if_missing=False) == tmp_path / "mine"
