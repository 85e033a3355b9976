"""Fair frames for fixed-frame k-mer tokenizers: where each window is cut so that every site is covered
by a token, at an offset drawn uniformly over the frame's offsets (DESIGN.md "Leak-free criterion").

A fixed-frame tokenizer (k-mers with stride s; Nucleotide Transformer: s = k) cuts a window at positions
fixed by the window start. Left alone, the same task layout puts every ``imputation`` site at the same
offset of its 6-mer (offset 2 for a 256-nt window) and every ``next_nucleotide`` site in the
single-nucleotide tail, and with s > 1 a site at the end of a window can be covered by no token at all
(its four candidates then look alike and it scored exactly chance). Here each unit is re-cut:

* the frame offset phi is drawn uniformly over the s offsets from a seed that is the site's identity
  (:attr:`ScoreRequest.frame_seed`, which the tasks derive from genome, row, window start and site; for
  requests without one, a hash of the unit as the scorer sees it: hidden sites overwritten, and for
  ``next_nucleotide`` nothing after the site), never from a base;
* ``imputation`` (and ``next_nucleotide`` when no free padding is allowed): up to s - 1 nt are trimmed
  from the window start, choosing the trim whose MEASURED segmentation puts the site at offset phi of a
  full k-mer (the tokenizer is asked, so a frame restarted by an N is seen as it is);
* masked LMs (``pads=True``) may add *free* positions: nucleotides that hold no data, whose tokens are
  masked and marginalised like a hidden site's and never scored. ``next_nucleotide`` appends them after
  the site so that it sits at offset phi of a full token whose right part is unknown (never in a
  single-nucleotide tail); ``imputation_dense`` prepends phi of them (the shift of the frame) and appends
  enough for the last position to be covered like any other;
* without free positions, ``next_nucleotide`` takes the trim that ends a full token at the site (the only
  frame whose token holds nothing after the site); a site no trim can cover (a window shorter than k) is
  recorded with offset -1 and left out of the metrics, which count it (``n_uncovered``).

Every choice reads only the unit's sequence with its hidden sites already overwritten, the site
positions and the seed, so the rule is leak-free by construction; the fixed-frame check asserts that the
segmentation never depends on the base at a hidden site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from genobench_hf.alignment import Aligner, Alignment, TokenizerKind
from genobench_hf.scoring.base import ScoreRequest, SiteScores
from genobench_hf.seeding import stable_seed

if TYPE_CHECKING:
    from genobench_hf.scoring.candidate import Unit

FILL = "A"  # what free positions (and, for hashing, hidden sites) hold: a constant, never a true base

#: recorded with every model identity: cached chunks scored under another frame rule are not reused
FRAME_RULE = "drawn-offset-v1"


@dataclass(frozen=True)
class FramedUnit:
    """A :class:`~genobench_hf.scoring.candidate.Unit` re-cut by the frame rule (same first four fields),
    with what the scorer must know about the cut."""

    request: int
    seq: str
    hidden: tuple[int, ...]
    rows: tuple[int, ...]
    start: int = 0  # window coordinate of ``seq[0]`` (negative when free positions were prepended)
    free: tuple[int, ...] = ()  # positions of ``seq`` holding no data: masked, marginalised, never scored
    offsets: tuple[int, ...] = ()  # per hidden site: offset in its last-starting covering token (-1: none)
    widths: tuple[int, ...] = ()  # per hidden site: width of that token (0: none)


def frame_period(kind: TokenizerKind) -> int:
    """How many distinct frames the tokenizer has: its stride for k-mers, 1 for char (and BPE: none)."""
    return int(kind.stride) if kind.kind == "kmer" else 1  # type: ignore[arg-type]


def _uniform(*parts: object) -> float:
    return (stable_seed(*parts) >> 11) / float(1 << 53)


def frame_draw(request: ScoreRequest, unit_seq: str, site: int | None) -> float:
    """A uniform number in [0, 1) for one site (or, ``site=None``, one dense window), from the request's
    ``frame_seed`` if it has one, else from the unit's own sequence (hidden sites already overwritten;
    for ``next_nucleotide`` nothing after the site), so it never depends on a base it must not see."""
    if request.frame_seed is not None:
        return _uniform("frame", request.frame_seed, site)
    return _uniform("frame-content", unit_seq, site)


def _site_frame(a: Alignment, site: int) -> tuple[int, int, int]:
    """(offset of ``site`` in the covering token that starts last, that token's width, the largest end of
    the tokens covering ``site``); (-1, 0, -1) when no token covers it."""
    s = a.spans
    hit = (s[:, 0] <= site) & (site < s[:, 1])
    if not hit.any():
        return -1, 0, -1
    last = int(np.flatnonzero(hit)[np.argmax(s[hit, 0])])
    return site - int(s[last, 0]), int(s[last, 1] - s[last, 0]), int(s[hit, 1].max())


def _choose(
    aligner: Aligner, seq: str, site: int, phi: int, period: int, k: int, *, pad: bool, end_at_site: bool
) -> tuple[int, int, int, int]:
    """(trim, right pad, offset, width) for one single-site unit. The trim is chosen by MEASURING the
    segmentation: first the cut that an unbroken frame predicts, then, if that fails (an N restarts the
    frame), every cut of the period."""
    right = k - 1 if pad else 0

    def good(t: int, f: tuple[int, int, int]) -> bool:
        if end_at_site:  # no free positions after the site: a full token must end at it
            return f[1] == k and f[2] == site - t + 1
        return f[1] == k and f[0] == phi

    predicted = ((site + 1 - k) if end_at_site else (site - phi)) % period
    trims = [t for t in (predicted, *range(period)) if t <= site]
    trims = list(dict.fromkeys(trims))  # the predicted cut first, then the others; never past the site
    frames: dict[int, tuple[int, int, int]] = {}

    def measure(batch: list[int]) -> None:
        aligns = aligner.align_batch([seq[t:] + FILL * right for t in batch], special=False)
        frames.update({t: _site_frame(a, site - t) for a, t in zip(aligns, batch, strict=True)})

    measure(trims[:1])
    if not good(trims[0], frames[trims[0]]):
        measure(trims[1:])
    hits = [t for t, f in frames.items() if good(t, f)]
    full = [t for t, f in frames.items() if f[1] == k] or [t for t, f in frames.items() if f[1] > 0]
    t = (hits or full or trims)[0]
    offset, width, end = frames[t]
    return t, (max(end - (site - t + 1), 0) if pad else 0), offset, width


def _frame_single(aligner: Aligner, unit: Unit, request: ScoreRequest, *, pads: bool) -> FramedUnit:
    kind, site = aligner.kind, unit.hidden[0]
    period, k = frame_period(kind), int(kind.k or 1)
    phi = int(frame_draw(request, unit.seq, request.sites[unit.rows[0]]) * period)
    left_only = request.protocol == "next_nucleotide"
    trim, right, offset, width = _choose(
        aligner, unit.seq, site, phi, period, k, pad=pads and left_only, end_at_site=left_only and not pads
    )
    seq = unit.seq[trim:] + FILL * right
    free = tuple(range(len(unit.seq) - trim, len(seq)))
    return FramedUnit(unit.request, seq, (site - trim,), unit.rows, trim, free, (offset,), (width,))


def _frame_dense(aligner: Aligner, unit: Unit, request: ScoreRequest) -> FramedUnit:
    """Shift the frame by phi free positions in front; append free positions until the last nucleotide
    is covered by a full token (so no site sits in a tail or outside every token)."""
    kind = aligner.kind
    period, k = frame_period(kind), int(kind.k or 1)
    phi = int(frame_draw(request, unit.seq, None) * period)
    padded = FILL * phi + unit.seq + FILL * (k - 1)
    a = aligner.align(padded, special=False)
    last = phi + len(unit.seq) - 1
    end = max(_site_frame(a, last)[2], last + 1)
    seq = padded[:end]
    a = aligner.align(seq, special=False)
    hidden = tuple(h + phi for h in unit.hidden)
    frames = [_site_frame(a, h) for h in hidden]
    free = (*range(phi), *range(phi + len(unit.seq), len(seq)))
    return FramedUnit(
        unit.request,
        seq,
        hidden,
        unit.rows,
        -phi,
        free,
        tuple(f[0] for f in frames),
        tuple(f[1] for f in frames),
    )


def frame_units(
    units: Sequence[Unit], requests: Sequence[ScoreRequest], aligner: Aligner, *, pads: bool
) -> list[Unit | FramedUnit]:
    """Each unit of :func:`~genobench_hf.scoring.candidate.expand_units` re-cut by the frame rule
    (fixed-frame k-mer tokenizers only; other kinds keep their units). ``pads``: the scorer marginalises
    free positions (the masked fast path); without them ``imputation_dense`` units are left as they are."""
    units = list(units)
    if not aligner.kind.fixed_frame or aligner.kind.kind == "char":  # one token per nucleotide: no frame
        return units
    out: list[Unit | FramedUnit] = []
    for u in units:
        q = requests[u.request]
        if q.protocol != "imputation_dense":
            out.append(_frame_single(aligner, u, q, pads=pads))
        elif pads:
            out.append(_frame_dense(aligner, u, q))
        else:
            out.append(u)
    return out


def with_frames(scores: list[SiteScores], units: Sequence[Unit | FramedUnit]) -> list[SiteScores]:
    """Record each site's frame (offset, token width) in its :class:`SiteScores` (``frame``, (n, 2) int;
    offset -1 = covered by no token: the metrics leave such a site out and count it)."""
    framed = [u for u in units if isinstance(u, FramedUnit)]
    if not framed:
        return scores
    for s in scores:
        s.frame = np.zeros((len(s.probs), 2), dtype=np.int64)
    for u in framed:
        s = scores[u.request]
        assert s.frame is not None
        s.frame[list(u.rows)] = np.stack([u.offsets, u.widths], axis=1)
    return scores


def frame_summary(scores: Sequence[SiteScores]) -> tuple[np.ndarray, dict[str, object]]:
    """Which sites count (False: covered by no token) and what the results record about the frames:
    ``n_uncovered``, and for fixed-frame k-mer scorers the histogram of the sites' offsets in full-width
    tokens (``frame_offsets``) plus the sites in shorter fallback tokens (``n_frame_fallback``)."""
    n = sum(len(s.probs) for s in scores)
    if all(s.frame is None for s in scores):
        return np.ones(n, dtype=bool), {"n_uncovered": 0}
    frame = np.concatenate(
        [s.frame if s.frame is not None else np.zeros((len(s.probs), 2), np.int64) for s in scores]
    )
    covered = frame[:, 0] >= 0
    k = int(frame[covered, 1].max(initial=0))
    full = covered & (frame[:, 1] == k)
    hist = np.bincount(frame[full, 0], minlength=k)
    return covered, {
        "n_uncovered": int((~covered).sum()),
        "frame_rule": FRAME_RULE,
        "frame_offsets": {str(o): int(c) for o, c in enumerate(hist)},
        "n_frame_fallback": int((covered & ~full).sum()),
    }
