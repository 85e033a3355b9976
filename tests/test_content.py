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
    (folder / "model.safetensors").write_bytes(b"w2")
    assert model_identity(folder, None)["sha256"] != first["sha256"]
    assert model_identity("org/model", "a" * 40) == {"kind": "hub_commit", "commit": "a" * 40}
    assert model_identity("org/model", None) == {"kind": "unknown"}


def test_memo_lives_in_the_genobench_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENOBENCH_CACHE", str(tmp_path))
    (tmp_path / "f").write_bytes(b"x")
    FileHashes().sha256(tmp_path / "f")
    assert (tmp_path / "file-hashes.json").is_file()
