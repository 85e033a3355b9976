"""Read access to the built datasets (``genobench datasets build`` output), with caching.

Rows are loaded with ``datasets.load_dataset(<folder>, split=...)`` — the same way users load them — and
reduced to the columns the tasks need. A dataset's fingerprint (a hash of its files' contents, not of
where they live) goes into results and cache keys so that scores are never reused across different data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from genobench_hf.content import content_files, folder_digest
from genobench_hf.data.taxonomy import embedded_corpus_dir
from genobench_hf.errors import ConfigError
from genobench_hf.version import __version__

ROW_COLUMNS = ("genome_id", "sequence")


#: bump when the split rules or the row format change, so that a cache built by older rules is never used
#: (2: genomes with strains kept out of train, all-N genomes left out, evaluation-only builds;
#: 3: EUK split groups are orders, splits.GROUP_RANKS)
BUILD_RULES = 3


def corpus_fingerprint(folder: Path | None = None) -> str:
    """sha256 (12 hex) of the corpus folder's files, names and bytes (default: the embedded corpus).

    The default data folder is named by it: a corpus that gained, lost or changed a genome (or a
    MANIFEST/TAXONOMY row) must build afresh, never reuse datasets built from the old one. File digests
    are memoised (content.FileHashes), so this costs a stat per file after the first call."""
    folder = folder if folder is not None else embedded_corpus_dir()
    digest, _ = folder_digest(folder, content_files(folder, recursive=True))
    return digest[:12]


def default_data_dir(*, build_if_missing: bool = True) -> Path:
    """``$GENOBENCH_DATA_DIR`` or a cache folder per version, build rules and embedded-corpus content;
    built from the embedded corpus on first use."""
    env = os.environ.get("GENOBENCH_DATA_DIR")
    root = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    if env:
        folder = root
    else:
        folder = (
            root / "genobench" / f"datasets-{__version__}-rules{BUILD_RULES}-corpus{corpus_fingerprint()}"
        )
    if build_if_missing and not (folder / "PRO" / "README.md").exists():
        from genobench_hf.data.build import build_all

        print(f"genobench: building the default datasets from the embedded corpus into {folder}")
        build_all(folder)
    return folder


class DatasetStore:
    """Loads dataset splits once per run and keeps only the columns tasks use."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise ConfigError(
                f"--data-dir {self.data_dir} does not exist; run `genobench datasets build --out DIR`"
            )
        self._rows: dict[tuple[str, str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._fingerprints: dict[str, str] = {}

    def path(self, dataset: str) -> Path:
        return self.data_dir / dataset

    def has(self, dataset: str) -> bool:
        return (self.path(dataset) / "README.md").exists()

    def splits(self, dataset: str) -> list[str]:
        data = self.path(dataset) / "data"
        return sorted({p.name.split("-")[0] for p in data.glob("*.parquet")}) if data.is_dir() else []

    def fingerprint(self, dataset: str) -> str:
        """sha256 (16 hex) of the dataset's content: every file's relative name and bytes (card, Parquet
        shards), hidden files and folders below the dataset folder excepted. Where the folder lives does
        not enter, so a copy has the same fingerprint and any changed byte a new one."""
        if dataset not in self._fingerprints:
            folder = self.path(dataset)
            digest, _ = folder_digest(folder, content_files(folder, recursive=True))
            self._fingerprints[dataset] = digest[:16]
        return self._fingerprints[dataset]

    def rows(self, dataset: str, split: str, columns: tuple[str, ...] = ROW_COLUMNS) -> list[dict[str, Any]]:
        """All rows of one split (only ``columns``); [] if the split does not exist."""
        key = (dataset, split, tuple(columns))
        if key not in self._rows:
            if not self.has(dataset):
                raise ConfigError(f"dataset {dataset} not found in {self.data_dir}")
            if split not in self.splits(dataset):
                self._rows[key] = []
            else:
                import datasets

                datasets.disable_progress_bars()  # genobench shows its own progress
                ds = datasets.load_dataset(str(self.path(dataset)), split=split)
                missing = [c for c in columns if c not in ds.column_names]
                if missing:
                    raise ConfigError(f"{self.path(dataset)}: split {split} lacks columns {missing}")
                self._rows[key] = ds.select_columns(list(columns)).to_list()
        return self._rows[key]
