"""Hub dataset repositories: Parquet shards + README card, offline validation, push.

datasets 5 has no loading scripts: a repo is ``data/<split>-0000i-of-0000N.parquet`` plus a README whose
YAML holds ``configs`` (data_files per split) and ``dataset_info`` (features, exact ``num_examples``, which
``load_dataset`` verifies, so a stale card cannot pass). Shards are written with a streaming
ParquetWriter and rotated by rows or bytes, so memory does not grow with the dataset.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from genobench_hf.cards import DATASET_CARD_TEMPLATE
from genobench_hf.data.card_yaml import card_metadata, render_card
from genobench_hf.errors import ConfigError, InputError

MAX_SHARD_ROWS = 100_000
MAX_SHARD_BYTES = 256 * 1024**2
TEMPLATE = DATASET_CARD_TEMPLATE  # package data (genobench_hf/cards/)
TASK_CATEGORIES = ["fill-mask", "text-generation"]
TAGS = ["biology", "genomics", "dna", "genobench"]


class ShardWriter:
    """Writes one split's tables into size-bounded Parquet shards, renamed ``-of-N`` when closed."""

    def __init__(
        self,
        folder: Path,
        split: str,
        schema: pa.Schema,
        *,
        max_rows: int = MAX_SHARD_ROWS,
        max_bytes: int = MAX_SHARD_BYTES,
        row_group_rows: int = 10_000,
    ) -> None:
        self.folder, self.split, self.schema = folder / "data", split, schema
        self.max_rows, self.max_bytes, self.row_group_rows = max_rows, max_bytes, row_group_rows
        self.folder.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []
        self.num_examples = 0
        self.num_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows = self._bytes = 0

    def _open(self) -> None:
        path = self.folder / f".{self.split}-{len(self.paths):05d}.parquet.part"
        self.paths.append(path)
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self._rows = self._bytes = 0

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        offset = 0
        while offset < table.num_rows:
            if self._writer is None or self._rows >= self.max_rows or self._bytes >= self.max_bytes:
                self._close_current()
                self._open()
            piece = table.slice(offset, self.max_rows - self._rows)
            # cut by bytes too (a 1 Mb contig row is ~1 MB): estimate from the piece's buffers
            per_row = max(piece.nbytes // max(piece.num_rows, 1), 1)
            fit = max(1, (self.max_bytes - self._bytes) // per_row)
            piece = piece.slice(0, fit)
            self._writer.write_table(
                piece, row_group_size=max(1, min(self.row_group_rows, 64 * 1024**2 // per_row))
            )
            self._rows += piece.num_rows
            self._bytes += piece.nbytes
            self.num_examples += piece.num_rows
            self.num_bytes += piece.nbytes
            offset += piece.num_rows

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        """Finish the split (an empty split still gets one shard, so its config entry resolves)."""
        if not self.paths:
            self._open()
        self._close_current()
        total = len(self.paths)
        final = []
        for i, path in enumerate(self.paths):
            target = self.folder / f"{self.split}-{i:05d}-of-{total:05d}.parquet"
            path.rename(target)
            final.append(target)
        return final


@dataclass
class CardContext:
    """What the card template needs beyond the YAML (see genobench_hf/cards/dataset_card.md)."""

    name: str
    description: str
    template_vars: dict


def size_category(n: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
    ]
    return next((label for bound, label in bounds if n < bound), "n>1T" if n > 10**12 else "100M<n<1B")


def write_card(folder: Path, schema: pa.Schema, splits: dict[str, tuple[int, int]], ctx: CardContext) -> Path:
    """Render README.md with ``configs`` + ``dataset_info`` YAML from the package's card template
    (``card_yaml``: the bytes ``datasets``/``huggingface_hub`` would write, without importing them)."""
    if not TEMPLATE.is_file():
        raise ConfigError(f"dataset card template not found: {TEMPLATE}")
    metadata = card_metadata(
        pretty_name=f"genobench {ctx.name}",
        license_name="public-insdc-records",
        task_categories=TASK_CATEGORIES,
        tags=TAGS,
        size_category=size_category(sum(n for n, _ in splits.values())),
        schema=schema,
        splits=splits,
    )
    text = render_card(TEMPLATE, metadata, name=ctx.name, description=ctx.description, **ctx.template_vars)
    path = folder / "README.md"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(text)
    return path


def validate_repo(folder: str | Path, *, load: bool = True) -> dict[str, int]:
    """Check a dataset repo offline: re-parse its card, then load every split and compare row counts.

    Returns split -> num_examples. Raises InputError on any inconsistency (``DatasetCard.validate`` needs
    the network, so the card is re-parsed instead).
    """
    from datasets import load_dataset
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    folder = Path(folder)
    readme = folder / "README.md"
    if not readme.is_file():
        raise InputError("not a dataset repo (no README.md card)", path=folder)
    card = DatasetCard.load(readme)
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    if "default" not in configs or "default" not in infos:
        raise InputError("card YAML lacks the default config or its dataset_info", path=readme)
    expected = {name: s.num_examples for name, s in (infos["default"].splits or {}).items()}
    listed = {entry["split"] for entry in configs["default"]["data_files"]}
    if set(expected) != listed:
        raise InputError(
            f"configs splits {sorted(listed)} differ from dataset_info splits {sorted(expected)}", path=readme
        )
    for split in expected:
        if not list((folder / "data").glob(f"{split}-*.parquet")):
            raise InputError(f"no Parquet shard for split {split!r}", path=folder / "data")
    if load:
        with tempfile.TemporaryDirectory(prefix="genobench-validate-") as cache:
            for split, n in expected.items():
                try:
                    ds = load_dataset(str(folder), split=split, cache_dir=cache)
                except Exception as exc:  # datasets raises many types; all mean "this repo is broken"
                    raise InputError(f"load_dataset failed for split {split!r}: {exc}", path=folder) from exc
                if len(ds) != n:
                    raise InputError(f"split {split!r} has {len(ds)} rows, card says {n}", path=folder)
                del ds
    return expected


def repo_files(folder: Path) -> list[str]:
    """The files an upload would send (hidden and temporary files excluded)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


@dataclass
class PushResult:
    repo_id: str
    files: list[str]
    counts: dict[str, int]
    dry_run: bool
    url: str | None = None


def push_dataset(
    folder: str | Path,
    repo_id: str,
    *,
    dry_run: bool,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
) -> PushResult:
    """Validate ``folder`` offline, then (unless ``dry_run``) create the dataset repo and upload it.

    A dry run makes no network call at all; the token is passed to huggingface_hub, never printed.
    """
    if "/" not in repo_id or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ConfigError(f"--repo-id must look like ORG/NAME, not {repo_id!r}")
    folder = Path(folder)
    counts = validate_repo(folder)
    files = repo_files(folder)
    if dry_run:
        return PushResult(repo_id, files, counts, dry_run=True)
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    commit = api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(folder),
        revision=revision,
        allow_patterns=files,
        commit_message=f"genobench: upload {folder.name}",
    )
    return PushResult(
        repo_id, files, counts, dry_run=False, url=getattr(commit, "commit_url", None) or str(commit)
    )


def write_tables(
    folder: Path, split: str, schema: pa.Schema, tables: Iterable[pa.Table], **limits
) -> tuple[int, int]:
    """Stream ``tables`` into the split's shards; returns (num_examples, num_bytes)."""
    writer = ShardWriter(folder, split, schema, **limits)
    try:
        for table in tables:
            writer.write(table)
    finally:
        writer.close()
    return writer.num_examples, writer.num_bytes
