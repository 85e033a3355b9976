"""Per-site records: one Parquet row per scored site, beside the results JSON (like lm-eval's
``--log_samples``), so that models can be compared site by site and results re-analysed without
re-scoring.

Why a site key and not a row number: every model is scored on exactly the same sites (sampling is
seeded by dataset, genome and protocol, never by the model), so the key columns (``KEY``) identify a
site across results files; ``genobench compare`` joins on them. They never depend on the model. The
value columns are the model's: p(A, C, G, T), the mass it put outside ACGT, and the scoring path.

Span tasks (span_imputation's hidden spans and whole genes) write ``.spans.parquet`` the same way: one
row per span or gene, keyed by ``SPAN_KEY`` (never the model), with its identity figures; gene completion
writes ``.genes.parquet``, one row per prompted gene (``GENE_KEY``) with the recovery of each generation.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genobench_hf.errors import InputError

#: columns that identify a site, identical for every model given the same data, protocol and seed
KEY = (
    "task", "dataset", "split", "genome_id", "contig_id", "chunk_index", "row", "window_start",
    "window_length", "site", "position", "frame_offset",
)  # fmt: skip
VALUES = ("true_base", "p_A", "p_C", "p_G", "p_T", "mass_outside", "path", "approximate")
SUFFIX = ".sites.parquet"
#: columns that identify a hidden span or gene (kind: "span30", "span100", ..., "gene")
SPAN_KEY = (
    "task", "dataset", "split", "kind", "genome_id", "contig_id", "chunk_index", "row", "window_start",
    "window_length", "span_start", "span_length",
)  # fmt: skip
#: n_scored / matches: A, C, G, T positions of the truth and how many the infill got right; aa_*: the
#: translated gene (null for spans)
SPAN_VALUES = (
    "n_scored", "matches", "identity", "decoder", "aa_residues", "aa_matches", "aa_identity", "aa_exact",
)  # fmt: skip
SPAN_SUFFIX = ".spans.parquet"
#: gene completion: one row per prompted gene (part: evo2_panel | dataset_genes; case: the case key, seeded
#: generations never depend on the model); headline: the part the task's aa_recovery is the mean over
GENE_KEY = ("task", "dataset", "split", "part", "case", "panel", "gene", "organism")
GENE_VALUES = ("headline", "n_generations", "mean_recovery", "recoveries", "generation_mode")
GENE_SUFFIX = ".genes.parquet"
#: the results JSON's reference name and file suffix of each kind of record
RECORDS = {"site_records": SUFFIX, "span_records": SPAN_SUFFIX, "gene_records": GENE_SUFFIX}


def records_path(results_path: str | Path, suffix: str = SUFFIX) -> Path:
    """``results/x.json`` -> ``results/x.sites.parquet`` (or ``x.spans.parquet``)."""
    p = Path(results_path)
    return p.with_name(p.stem + suffix)


def rebase_records(doc: dict[str, Any], source: str | Path, target: str | Path) -> dict[str, Any]:
    """``doc`` (read from ``source``) with its record references made relative to ``target``'s folder, for
    a results document written elsewhere than the evaluation that scored it (e.g. ``genobench run``'s
    merged per-architecture file): the records stay where they are, the reference follows them."""
    out = dict(doc)
    for name in RECORDS:
        ref = doc.get(name)
        if isinstance(ref, dict) and ref.get("file"):
            where = (Path(source).parent / str(ref["file"])).resolve()
            out[name] = dict(ref, file=os.path.relpath(where, Path(target).resolve().parent))
    return out


class _RecordLog:
    """One Parquet table of records built from column parts: the ``key`` columns, then the ``values``."""

    key: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._parts: list[dict[str, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(p[self.key[0]]) for p in self._parts)

    def write(self, path: str | Path) -> dict[str, Any]:
        """Write the records atomically; returns the reference the results JSON keeps."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = {c: np.concatenate([p[c] for p in self._parts]) for c in (*self.key, *self.values)}
        table = pa.table({c: pa.array(v.tolist() if v.dtype == object else v) for c, v in cols.items()})
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return {"file": path.name, "sha256": sha256(path), "rows": table.num_rows, "key": list(self.key)}


class SiteLog(_RecordLog):
    """Collects the per-site records of one run (tasks call :meth:`add` after scoring)."""

    key, values = KEY, VALUES

    def add(
        self, task: str, dataset: str, split: str, windows: Sequence[Any], scores: Sequence[Any],
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:  # fmt: skip
        """Record the sites of ``windows`` (tasks.sampling.Window) scored as ``scores`` (SiteScores)."""
        n = [len(w.sites) for w in windows]
        if not n or sum(n) == 0:
            return
        rep = lambda values: np.repeat(np.asarray(values, dtype=object), n)  # noqa: E731
        meta = [rows[w.row] if rows is not None and 0 <= w.row < len(rows) else {} for w in windows]
        probs = np.concatenate([s.probs for s in scores], axis=0).astype(np.float32)
        mass = np.concatenate([s.mass_outside for s in scores], axis=0).astype(np.float32)
        sites = np.array([s for w in windows for s in w.sites], dtype=np.int64)
        starts = np.repeat(np.array([w.start for w in windows], dtype=np.int64), n)
        offsets = [getattr(w, "frame_offsets", None) for w in windows]
        frame = np.array(
            [(o[j] if o is not None else -1) for o, w in zip(offsets, windows, strict=True) for j in range(len(w.sites))],
            dtype=np.int64,
        )  # fmt: skip
        self._parts.append({
            "task": rep([task] * len(windows)), "dataset": rep([dataset] * len(windows)),
            "split": rep([split] * len(windows)), "genome_id": rep([w.genome_id for w in windows]),
            "contig_id": rep([str(m.get("contig_id", "")) for m in meta]),
            "chunk_index": np.repeat(np.array([int(m.get("chunk_index") or 0) for m in meta], dtype=np.int64), n),
            "row": np.repeat(np.array([w.row for w in windows], dtype=np.int64), n), "window_start": starts,
            "window_length": np.repeat(np.array([len(w.window) for w in windows], dtype=np.int64), n),
            "site": sites, "position": starts + sites, "frame_offset": frame,
            "true_base": np.array(["ACGT"[t] for w in windows for t in w.targets], dtype=object),
            "p_A": probs[:, 0], "p_C": probs[:, 1], "p_G": probs[:, 2], "p_T": probs[:, 3],
            "mass_outside": mass, "path": rep([s.path for s in scores]),
            "approximate": np.repeat(np.array([bool(s.approximate) for s in scores]), n),
        })  # fmt: skip


class SpanLog(_RecordLog):
    """Collects one record per hidden span or gene (span_imputation calls :meth:`add` after infilling)."""

    key, values = SPAN_KEY, SPAN_VALUES

    def add(
        self, task: str, dataset: str, split: str, kind: str, windows: Sequence[Any], predicted: Sequence[str],
        decoder: str, rows: Sequence[Mapping[str, Any]] | None = None,
        proteins: Sequence[tuple[str, str]] | None = None,
    ) -> None:  # fmt: skip
        """Record the spans of ``windows`` infilled as ``predicted``; ``proteins`` (predicted, true) per gene."""
        from genobench_hf.metrics.span import protein_matches, span_matches

        if not windows:
            return
        truth = ["".join(w.window[s] for s in w.sites) for w in windows]
        n, hits = span_matches(list(predicted), truth)
        meta = [rows[w.row] if rows is not None and 0 <= w.row < len(rows) else {} for w in windows]
        obj = lambda values: np.asarray(values, dtype=object)  # noqa: E731
        ints = lambda values: np.asarray(values, dtype=np.int64)  # noqa: E731
        k = len(windows)
        aa: list[list[Any]] = [[None] * k, [None] * k, [None] * k, [None] * k]
        if proteins is not None:
            m, length, exact = protein_matches(proteins)
            aa = [length, m, [a / b for a, b in zip(m, length, strict=True)], exact]
        self._parts.append({
            "task": obj([task] * k), "dataset": obj([dataset] * k), "split": obj([split] * k),
            "kind": obj([kind] * k), "genome_id": obj([w.genome_id for w in windows]),
            "contig_id": obj([str(r.get("contig_id", "")) for r in meta]),
            "chunk_index": ints([int(r.get("chunk_index") or 0) for r in meta]), "row": ints([w.row for w in windows]),
            "window_start": ints([w.start for w in windows]), "window_length": ints([len(w.window) for w in windows]),
            "span_start": ints([w.start + w.sites[0] for w in windows]), "span_length": ints([len(w.sites) for w in windows]),
            "n_scored": n, "matches": hits,
            "identity": np.where(n > 0, hits / np.maximum(n, 1), np.nan),
            "decoder": obj([decoder] * k), "aa_residues": obj(aa[0]), "aa_matches": obj(aa[1]),
            "aa_identity": obj(aa[2]), "aa_exact": obj(aa[3]),
        })  # fmt: skip


class GeneLog(_RecordLog):
    """Collects one record per prompted gene of gene completion (the model's, never a baseline's)."""

    key, values = GENE_KEY, GENE_VALUES

    def add(
        self, task: str, dataset: str, split: str, part: str, headline: bool, mode: str,
        genes: Mapping[str, Mapping[str, Any]],
    ) -> None:  # fmt: skip
        """``genes``: case key -> {panel, gene, organism, recoveries (% per generation)}; genes without a
        recovery (skipped) are left out."""
        done = {k: g for k, g in genes.items() if g.get("recoveries")}
        if not done:
            return
        obj = lambda values: np.asarray(values, dtype=object)  # noqa: E731
        k = len(done)
        self._parts.append({
            "task": obj([task] * k), "dataset": obj([dataset] * k), "split": obj([split] * k),
            "part": obj([part] * k), "case": obj(list(done)),
            **{c: obj([str(g.get(c) or "") for g in done.values()]) for c in ("panel", "gene", "organism")},
            "headline": np.full(k, bool(headline)),
            "n_generations": np.array([len(g["recoveries"]) for g in done.values()], dtype=np.int64),
            "mean_recovery": np.array([float(np.mean(g["recoveries"])) for g in done.values()]),
            "recoveries": obj([[float(r) for r in g["recoveries"]] for g in done.values()]),
            "generation_mode": obj([mode] * k),
        })  # fmt: skip


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_records(results_path: str | Path, reference: Mapping[str, Any]) -> Any:
    """The records a results file references, checksum-verified, as a pyarrow Table."""
    import pyarrow.parquet as pq

    path = Path(results_path).parent / str(reference["file"])
    if not path.is_file():
        raise InputError(f"the records named by {results_path} are missing", path=path)
    if sha256(path) != reference.get("sha256"):
        raise InputError(
            f"{path}: checksum differs from the one in {results_path} (changed or truncated)", path=path
        )
    return pq.read_table(path)
