"""Content identities: memoised file hashes, dataset fingerprints independent of where the data lives."""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
from pathlib import Path

from genobench_hf.content import FileHashes, model_identity
from genobench_hf.store import DatasetStore


def test_file_hash_is_memoised_and_any_rewrite_is_rehashed(tmp_path: Path, monkeypatch) -> None:
    path, memo = tmp_path / "weights.bin", tmp_path / "memo" / "hashes.json"
    path.write_bytes(b"a" * 4096)
    assert FileHashes(memo).sha256(path) == hashlib.sha256(b"a" * 4096).hexdigest()
    real_open, reads = builtins.open, []

    def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file) == os.path.realpath(path):
            reads.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    assert FileHashes(memo).sha256(path) == hashlib.sha256(b"a" * 4096).hexdigest()
    assert reads == []  # a new process (fresh memo object) reuses the digest without reading the file
    before = path.stat()
    path.write_bytes(b"b" * 4096)  # same size; the old mtime restored, as `cp -p` would leave it
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert FileHashes(memo).sha256(path) == hashlib.sha256(b"b" * 4096).hexdigest()
    assert len(reads) == 1


def test_damaged_memo_is_ignored(tmp_path: Path) -> None:
    path, memo = tmp_path / "f", tmp_path / "hashes.json"
    path.write_bytes(b"x")
    memo.write_text("{not json")
    assert FileHashes(memo).sha256(path) == hashlib.sha256(b"x").hexdigest()
    assert FileHashes(memo).sha256(path) == hashlib.sha256(b"x").hexdigest()


def test_dataset_fingerprint_is_content_not_location(built_corpus, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path / "user-cache"))
    data, _ = built_corpus
    plain, under_cache = tmp_path / "plain", tmp_path / "home" / ".cache" / "genobench" / "datasets"
    for root in (plain, under_cache):
        shutil.copytree(data / "VIR", root / "VIR")
    fp_plain = DatasetStore(plain).fingerprint("VIR")
    assert DatasetStore(under_cache).fingerprint("VIR") == fp_plain
    assert DatasetStore(data).fingerprint("VIR") == fp_plain
    (plain / "VIR" / ".cache").mkdir()  # hidden files below the dataset (e.g. a tool's cache) do not count
    (plain / "VIR" / ".cache" / "x").write_text("x")
    assert DatasetStore(plain).fingerprint("VIR") == fp_plain
    shard = sorted((under_cache / "VIR" / "data").glob("test-*.parquet"))[0]
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one changed byte, same size
    shard.write_bytes(bytes(raw))
    assert DatasetStore(under_cache).fingerprint("VIR") != fp_plain


def test_model_identity_of_folder_and_hub(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path / "user-cache"))
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"w1")
    (folder / "tf_model.h5").write_bytes(b"not read by torch")
    first = model_identity(folder, None)
    assert first["kind"] == "content" and set(first["files"]) == {"config.json", "model.safetensors"}
    (folder / "README.md").write_text("---\nmodel-index: []\n---\n")  # a card edit is not a new model
    (folder / "training_metrics.json").write_text("{}")
    assert model_identity(folder, None) == first
    (folder / "model.safetensors").write_bytes(b"w2")
    assert model_identity(folder, None)["sha256"] != first["sha256"]
    assert model_identity("genobench-test/not-in-the-cache") == {"kind": "unknown"}


def fake_hub_snapshot(repo_id: str, commit: str, seed: int) -> Path:
    """A tiny masked LM laid out as the Hub cache holds a downloaded commit (refs/main -> snapshot)."""
    from huggingface_hub import constants

    from genobench_hf import testing as T

    repo = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    tok = T.char_tokenizer()
    T.tiny_masked_lm(tok, seed=seed).save_pretrained(snapshot)
    tok.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_hub_model_identity_is_the_resolved_commit() -> None:
    first, second = "1" * 40, "2" * 40
    fake_hub_snapshot("genobench-test/identity", first, seed=0)
    assert model_identity("genobench-test/identity") == {"kind": "hub_commit", "commit": first}
    fake_hub_snapshot("genobench-test/identity", second, seed=1)  # main moved on
    assert model_identity("genobench-test/identity") == {"kind": "hub_commit", "commit": second}
    assert model_identity("genobench-test/identity", first) == {"kind": "hub_commit", "commit": first}


def test_memo_lives_in_the_genobench_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path))
    (tmp_path / "f").write_bytes(b"x")
    FileHashes().sha256(tmp_path / "f")
    assert (tmp_path / "file-hashes.json").is_file()
