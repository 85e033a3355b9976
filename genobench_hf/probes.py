"""Per-nucleotide labels from CDS annotations, class-balanced sampling held out by genome, linear probes.

Labels (from a dataset row's ``cds`` column, contig coordinates, GFF3 phase per segment):

* ``frame``: 0 = non-coding, 1..3 = codon position 1..3 on the ``+`` strand, 4..6 on the ``-`` strand.
  Positions of genes that overlap another gene *in a different frame or strand* are dropped (label -1):
  a state there could legitimately encode either gene, so both whole genes are removed (same-frame
  overlaps, e.g. alternative starts, agree and are kept). Non-ACGT positions are dropped too.
* ``aa``: the amino acid of the codon a position belongs to (21 classes: 20 amino acids and stop ``*``),
  read from the genome with the segment's translation table (``codon_table``; the codon's meaning, so an
  alternative start codon is its amino acid, not M). Only genes whose translation passed the dataset's
  check (``translation_ok``), and codons lying whole inside one segment of the row (spliced codons are
  skipped).

Sampling (DESIGN.md "Probes"): genomes with annotation are split into probe-train and probe-test genomes
(seeded, ~30% test, at least one each; probe splits need not follow the LM splits); from each side a
class-balanced sample is drawn window by window (:func:`sample_windows`), so that one forward pass
serves several nucleotides. Probes are L2 logistic regressions on standardised features with
the inverse strength C chosen by cross-validation (scikit-learn ``LogisticRegressionCV`` over
``DEFAULT_CS``, on at most ``CV_MAX`` training rows; folds grouped by genome when the train side has >= 2
genomes), then refitted on the whole training sample.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genobench_hf.data.fasta import to_model_alphabet as model_alphabet
from genobench_hf.data.genetic_code import codon_table
from genobench_hf.errors import ConfigError
from genobench_hf.seeding import stable_seed

AA_CLASSES = "ACDEFGHIKLMNPQRSTVWY*"
FRAME_CLASSES = ("non_coding", "+1", "+2", "+3", "-1", "-2", "-3")
CODON_POSITIONS = ("1", "2", "3")
#: default probe grid: inverse L2 strengths tried by cross-validation
DEFAULT_CS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
#: cross-validation runs on at most this many training rows (then one refit on all): bounds probe cost
CV_MAX = 4000
_CODE = np.full(256, -1, dtype=np.int64)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _i


def _aa_lut(table: int) -> np.ndarray:
    """Codon index ``16*b0 + 4*b1 + b2`` (A,C,G,T = 0..3) -> AA class index (-1 if not one of the 21)."""
    codons = codon_table(table)
    lut = np.full(64, -1, dtype=np.int64)
    for i in range(64):
        codon = "ACGT"[i // 16] + "ACGT"[(i // 4) % 4] + "ACGT"[i % 4]
        aa = codons.get(codon, "X")
        lut[i] = AA_CLASSES.index(aa) if aa in AA_CLASSES else -1
    return lut


@dataclass
class RowLabels:
    """Per-position labels of one row (-1 = no label)."""

    frame: np.ndarray  # int8, FRAME_CLASSES index
    aa: np.ndarray  # int8, AA_CLASSES index
    genes_dropped: int


def row_labels(row: Mapping[str, Any]) -> RowLabels:
    """Frame/strand and amino-acid labels of every position of a dataset row (see module docstring)."""
    seq = model_alphabet(str(row["sequence"]))
    n, base = len(seq), int(row.get("chunk_start") or 0)
    codes = _CODE[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
    claim = np.zeros(n, dtype=np.int8)
    segs = []
    for seg in row.get("cds") or []:
        s, e, strand = int(seg["start"]), int(seg["end"]), str(seg["strand"])
        lo, hi = max(s, base) - base, min(e, base + n) - base
        if hi <= lo:
            continue
        p = np.arange(lo, hi)
        cpos = ((p + base - s - int(seg.get("phase") or 0)) if strand != "-" else (e - 1 - p - base - int(seg.get("phase") or 0))) % 3  # fmt: skip
        cls = (cpos + (4 if strand == "-" else 1)).astype(np.int8)
        gene = (str(seg.get("gene_id") or f"{s}-{e}"), strand)
        segs.append((gene, lo, hi, cpos, cls, seg))
        existing = claim[lo:hi]
        claim[lo:hi] = np.where(existing == 0, cls, existing)
    conflict = np.zeros(n, dtype=bool)
    for _gene, lo, hi, _cpos, cls, _seg in segs:
        conflict[lo:hi] |= claim[lo:hi] != cls
    dropped = {g for g, lo, hi, *_ in segs if conflict[lo:hi].any()}
    frame = claim.copy()
    aa = np.full(n, -1, dtype=np.int8)
    for gene, lo, hi, cpos, _cls, seg in segs:
        if gene in dropped:
            continue
        if seg.get("translation_ok", True):
            _codon_labels(
                codes,
                aa,
                lo,
                hi,
                cpos,
                seg["strand"] == "-",
                int(seg.get("transl_table") or row.get("genetic_code") or 1),
            )
    for _gene, lo, hi, *_ in (s for s in segs if s[0] in dropped):
        frame[lo:hi] = -1
        aa[lo:hi] = -1
    frame[codes < 0] = -1
    aa[codes < 0] = -1
    return RowLabels(frame, aa, len(dropped))


def _codon_labels(
    codes: np.ndarray, aa: np.ndarray, lo: int, hi: int, cpos: np.ndarray, minus: bool, table: int
) -> None:
    """Write the AA class of each position's codon when the whole codon lies in ``[lo, hi)``."""
    p = np.arange(lo, hi)
    start = p - (2 - cpos) if minus else p - cpos
    ok = (start >= lo) & (start + 3 <= hi)
    p, start = p[ok], start[ok]
    b = np.stack([codes[start], codes[start + 1], codes[start + 2]], axis=1)
    if minus:
        b = np.where(b >= 0, 3 - b, -1)[:, ::-1]  # reverse complement (A<->T, C<->G in ACGT order)
    good = (b >= 0).all(axis=1)
    idx = (b[:, 0] * 16 + b[:, 1] * 4 + b[:, 2]).clip(0)
    cls = np.where(good, _aa_lut(table)[idx], -1)
    aa[p] = np.where(cls >= 0, cls, aa[p]).astype(np.int8)


@dataclass(frozen=True)
class GenomeSplit:
    """Probe genomes by role; ``notes`` say where the rules below could not be met."""

    train: list[str]
    validation: list[str]
    test: list[str]
    notes: list[str]


def split_genomes(
    genome_splits: Mapping[str, str], *, validation_fraction: float, seed: int, dataset: str,
    min_test: int = 3,
) -> GenomeSplit:  # fmt: skip
    """Probe train / validation / test genomes (seeded), held out by genome.

    Test genomes are the annotated genomes *outside* the dataset's ``train`` split (a model trained on
    that split has never seen them); train and validation genomes come from the rest (a probe may train
    on genomes the LM saw; probe splits need not follow LM splits). The validation genomes choose the
    layer (and the one-hot flank) so that no choice is made on the test genomes. Where a dataset has too
    few annotated genomes, test genomes are lent to train/validation (never below one) and ``notes`` say
    so; fewer than ``min_test`` test genomes is noted too.
    """
    ids = sorted(genome_splits)
    if len(ids) < 3:
        raise ConfigError(f"probes need >= 3 annotated genomes (train, validation, test), got {len(ids)}")
    if not 0.0 < validation_fraction < 1.0:
        raise ConfigError(f"the probe validation fraction must be in (0, 1), got {validation_fraction}")
    rng = np.random.default_rng(stable_seed(seed, "probe_split", dataset))
    test = [g for g in ids if genome_splits[g] != "train"]
    pool = [g for g in ids if genome_splits[g] == "train"]
    notes: list[str] = []
    while len(pool) < 2 and len(test) > 1:  # lend held-out genomes so train and validation exist
        pool.append(test.pop(int(rng.integers(len(test)))))
        notes.append(f"annotated genome {pool[-1]} (outside the LM train split) used to fit the probe")
    if not test:  # every annotated genome is in the LM's train split
        test = [pool.pop(int(rng.integers(len(pool))))]
        notes.append(
            f"no annotated genome outside the LM train split: {test[0]} (train split) is the test genome"
        )
    if len(test) < min_test:
        notes.append(f"only {len(test)} held-out annotated genome(s); at least {min_test} are wanted")
    pool = [pool[i] for i in rng.permutation(len(pool))]
    n_val = min(len(pool) - 1, max(1, round(validation_fraction * len(pool))))
    return GenomeSplit(sorted(pool[n_val:]), sorted(pool[:n_val]), sorted(test), notes)


def control_task_labels(types: Sequence[str], train_labels: np.ndarray, *, seed: int) -> np.ndarray:
    """Hewitt & Liang's control task: every input type (a codon, a k-mer) gets one random label, drawn
    from the empirical distribution of the real training labels; returns the label of each of ``types``
    (train and test items alike). A probe that scores well here memorises types, not the property."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(train_labels, return_counts=True)
    distinct = sorted(set(types))
    drawn = rng.choice(classes, size=len(distinct), p=counts / counts.sum())
    table = dict(zip(distinct, drawn.tolist(), strict=True))
    return np.array([table[t] for t in types], dtype=np.int64)


def input_types(
    windows: Sequence[str], offsets: Sequence[Sequence[int]], frames: np.ndarray, *, codon: bool
) -> list[str]:
    """The input type of each sampled nucleotide for the control task: its codon (strand-marked, for
    coding positions with a frame label) or else the centred 3-mer."""
    out = []
    i = 0
    for text, offs in zip(windows, offsets, strict=True):
        for o in offs:
            f = int(frames[i])
            i += 1
            if codon and f > 0:
                cpos = (f - 1) % 3
                start = o - cpos if f <= 3 else o - (2 - cpos)
                out.append(("+" if f <= 3 else "-") + text[max(start, 0) : start + 3])
            else:
                out.append(text[max(o - 1, 0) : o + 2])
    return out


@dataclass
class Sample:
    """Sampled nucleotides grouped by window: for each, its row, row position, class and genome, and the
    window (``windows[window_id]`` = (row, start)) whose state is read for it."""

    rows: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    genomes: list[str]
    window_id: np.ndarray
    windows: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.rows)

    def texts(self, rows: Sequence[Mapping[str, Any]], window: int) -> list[str]:
        """The windows in the model alphabet."""
        seqs: dict[int, str] = {}
        for r, _ in self.windows:
            if r not in seqs:
                seqs[r] = model_alphabet(str(rows[r]["sequence"]))
        return [seqs[r][s : s + window] for r, s in self.windows]

    def offsets(self) -> list[list[int]]:
        """Positions inside each window, in sample order (samples are stored grouped by window)."""
        starts = np.array([s for _, s in self.windows], dtype=np.int64)
        local = self.positions - starts[self.window_id] if len(self) else self.positions
        counts = np.bincount(self.window_id, minlength=len(self.windows))
        return [part.tolist() for part in np.split(local, np.cumsum(counts)[:-1])] if self.windows else []


def sample_windows(
    rows: Sequence[Mapping[str, Any]],
    labels: Mapping[int, np.ndarray],
    quotas: Mapping[int, int],
    *,
    window: int,
    seed: int,
    key: str,
    per_window: int = 16,
) -> Sample:
    """Class-balanced nucleotides, several per window, so that the model runs on few windows.

    Rows are tiled with windows of ``window`` nt (a seeded offset per row); tiles are visited in a seeded
    random order, and from the central half of each (a state there has >= window/4 nt of context on
    each side) up to ``ceil(per_window * quota_c / sum(quotas))`` random positions of each class c
    still short of its quota are taken; further passes raise that cap (x4, x16, unlimited) while a class
    is short. Tiles are uniform over the genome, so each class is sampled uniformly over the tiles
    visited; a class with fewer positions than its quota is taken whole.
    """
    if window < 8:
        raise ConfigError(f"the probe window must be >= 8 nt, got {window}")
    rng = np.random.default_rng(stable_seed(seed, "probe_sample", key))
    tiles = []
    for r in sorted(labels):
        n = len(labels[r])
        if n >= window:
            offset = int(rng.integers(0, min(window, n - window + 1)))
            tiles += [(r, int(s)) for s in range(offset, n - window + 1, window)]
    margin, total = window // 4, max(1, sum(quotas.values()))
    caps = {c: max(1, int(np.ceil(per_window * q / total))) for c, q in quotas.items()}
    need = {c: q for c, q in quotas.items() if q > 0}
    taken: dict[int, set[int]] = {}  # tile -> positions (in its centre) already taken
    order = rng.permutation(len(tiles)).tolist()
    for scale in (1, 4, 16, window):  # later passes lift the per-window cap for classes still short
        for t in order:
            if not need:
                break
            r, start = tiles[t]
            centre = labels[r][start + margin : start + window - margin]
            done = taken.setdefault(t, set())
            for c in sorted(need):
                hits = np.flatnonzero(centre == c)
                if not hits.size:
                    continue
                free = np.array([h for h in hits.tolist() if h not in done], dtype=np.int64)
                k = min(need[c], caps[c] * scale - (hits.size - free.size), free.size)
                if k > 0:
                    done.update(rng.choice(free, size=k, replace=False).tolist())
                    need[c] -= k
                    if not need[c]:
                        del need[c]
    picked = sorted((t, h) for t, hs in taken.items() for h in hs)
    ids = {t: i for i, t in enumerate(sorted({t for t, _ in picked}))}
    windows = [tiles[t] for t in sorted(ids)]
    w = np.array([ids[t] for t, _ in picked], dtype=np.int64)
    rr = np.array([tiles[t][0] for t, _ in picked], dtype=np.int64)
    pp = np.array([tiles[t][1] + margin + h for t, h in picked], dtype=np.int64)
    cc = np.array([labels[r][p] for r, p in zip(rr.tolist(), pp.tolist(), strict=True)], dtype=np.int64)
    return Sample(rr, pp, cc, [str(rows[r]["genome_id"]) for r in rr.tolist()], w, windows)


def onehot_features(
    windows: Sequence[str], offsets: Sequence[Sequence[int]], flank: int, *, left_only: bool = False
) -> np.ndarray:
    """One-hot (A,C,G,T; N = zeros) of the ``2 * flank + 1`` nt around each sampled position, in sample
    order: the control probe with no language model. ``left_only``: the ``flank + 1`` nt ending at the
    position, what a causal model's state there has seen (a matched control for causal models)."""
    parts = []
    right = 0 if left_only else flank
    for text, offs in zip(windows, offsets, strict=True):
        for o in offs:
            if o < flank or o + right >= len(text):
                raise ConfigError(f"one-hot flank {flank} does not fit around position {o} of a window")
            parts.append(text[o - flank : o + right + 1])
    width = 4 * (flank + right + 1)
    if not parts:
        return np.zeros((0, width), dtype=np.float32)
    codes = _CODE[np.frombuffer("".join(parts).encode("ascii"), dtype=np.uint8)].reshape(len(parts), -1)
    return (codes[:, :, None] == np.arange(4)).astype(np.float32).reshape(len(parts), width)


@dataclass
class ProbeFit:
    """Held-out predictions of one probe and the strength cross-validation chose."""

    predictions: np.ndarray
    proba: np.ndarray  # (n_test, n_classes), columns in ``classes`` order
    classes: np.ndarray
    C: float


def fit_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    groups: Sequence[str],
    x_test: np.ndarray,
    *,
    seed: int,
    Cs: Sequence[float] = DEFAULT_CS,
    folds: int = 3,
    max_iter: int = 300,
    cv_max: int = CV_MAX,
) -> ProbeFit:
    """L2 logistic regression on standardised features, C chosen by (genome-grouped) cross-validation on
    at most ``cv_max`` seeded training rows, then refitted on all of them; predicts ``x_test``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import GroupKFold, StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if len(np.unique(y_train)) < 2:
        raise ConfigError("a probe needs at least two classes in its training sample")
    scaler = StandardScaler().fit(x_train)
    xt, xs = scaler.transform(x_train), scaler.transform(x_test)
    rs = seed % 2**32
    sub = np.arange(len(xt))
    if len(sub) > cv_max:
        sub = np.sort(
            np.random.default_rng(stable_seed(seed, "probe_cv")).choice(len(xt), cv_max, replace=False)
        )
    xc, yc, g = xt[sub], y_train[sub], np.asarray(groups)[sub]
    n_groups = len(np.unique(g))
    if n_groups >= 2:
        splits = list(GroupKFold(n_splits=min(folds, n_groups)).split(xc, yc, g))
    else:
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=rs).split(xc, yc))
    # one BLAS thread: these small problems run many times faster than with oversubscribed threads, and
    # a fixed summation order keeps the probe bit-for-bit deterministic
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # folds missing a rare class
        cv = LogisticRegressionCV(
            Cs=list(Cs), l1_ratios=(0.0,), cv=splits, scoring="accuracy", max_iter=max_iter, tol=1e-3,
            random_state=rs, use_legacy_attributes=False, refit=False,
        ).fit(xc, yc)  # fmt: skip
        best = float(np.ravel(cv.C_)[0])
        model = LogisticRegression(C=best, max_iter=max_iter, tol=1e-3, random_state=rs).fit(xt, y_train)
    return ProbeFit(model.predict(xs), model.predict_proba(xs), model.classes_, best)
