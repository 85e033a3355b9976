"""Known-value tests of genobench_hf.metrics: every expected number is computed by hand in a comment."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from genobench_hf.errors import ConfigError
from genobench_hf.metrics import (
    CHANCE_BITS,
    average_ranks,
    expected_calibration_error,
    gain_over_chance,
    matrix_from_rows,
    nucleotide_metrics,
    rare_gap,
    span_metrics,
    spearman,
    transfer_summary,
)

UNIFORM = [0.25, 0.25, 0.25, 0.25]


def _json_types_only(obj: object) -> None:
    """Recursively assert that a result holds only JSON types (no numpy scalars or arrays)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert type(key) is str
            _json_types_only(value)
    elif isinstance(obj, list):
        for value in obj:
            _json_types_only(value)
    else:
        assert obj is None or type(obj) in (int, float, str, bool), type(obj)


# ---------------------------------------------------------------- nucleotide_metrics: point values


def test_two_sites_exact() -> None:
    # site 0: true A, p(A) = 1/2 -> correct, 1 bit; site 1: true G, argmax C, p(G) = 1/4 -> wrong, 2 bits
    probs = [[0.5, 0.25, 0.125, 0.125], [0.125, 0.5, 0.25, 0.125]]
    r = nucleotide_metrics(probs, [0, 2], n_bootstrap=0)
    assert r["n_scored"] == 2
    assert r["accuracy"] == 0.5
    assert r["bits_per_nt"] == 1.5
    assert r["gain_over_chance_bits"] == 0.5
    assert r["chance_bits"] == CHANCE_BITS == 2.0
    # both sites have confidence 0.5 (bin 7 of 15), accuracy 0.5 there -> perfectly calibrated
    assert r["ece"] == 0.0
    assert r["confusion"] == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert r["per_base"]["A"] == {"n": 1, "accuracy": 1.0, "bits": 1.0}
    assert r["per_base"]["G"] == {"n": 1, "accuracy": 0.0, "bits": 2.0}
    assert r["per_base"]["C"] == {"n": 0, "accuracy": None, "bits": None}
    assert r["ci"] is None and r["mass_outside_mean"] is None
    assert "macro" not in r and "accuracy_by_gc" not in r


def test_uniform_is_exactly_chance_and_ties_share_the_credit() -> None:
    targets = [0, 1, 2, 3, 0]  # A-rich: an argmax breaking ties toward A would report 0.4
    r = nucleotide_metrics([UNIFORM] * 5, targets, n_bootstrap=0)
    assert r["bits_per_nt"] == 2.0
    assert r["gain_over_chance_bits"] == 0.0
    assert r["accuracy"] == 0.25
    assert r["per_base"]["A"]["accuracy"] == 0.25
    assert r["confusion"] == [[0.5] * 4, [0.25] * 4, [0.25] * 4, [0.25] * 4]
    # one bin (confidence 0.25), accuracy 0.25 there: perfectly calibrated
    assert r["ece"] == 0.0
    assert expected_calibration_error([UNIFORM] * 5, targets) == 0.0


def test_two_way_tie_counts_half_and_round_off_still_ties() -> None:
    tied = [0.4, 0.4, 0.1, 0.1]
    r = nucleotide_metrics([tied, tied, tied], [0, 1, 2], n_bootstrap=0)
    assert r["accuracy"] == pytest.approx(1 / 3)  # (1/2 + 1/2 + 0) / 3
    assert r["confusion"][2] == [0.5, 0.5, 0.0, 0.0]
    wobbly = np.array([[0.25 + 1e-15, 0.25, 0.25, 0.25 - 1e-15]] * 4)  # float round-off of equal scores
    assert nucleotide_metrics(wobbly, [0, 1, 2, 3], n_bootstrap=0)["accuracy"] == 0.25
    clear = nucleotide_metrics([[0.26, 0.25, 0.25, 0.24]], [0], n_bootstrap=0)
    assert clear["accuracy"] == 1.0


def test_ece_two_bins_and_reliability_table() -> None:
    hi = [0.9, 0.05, 0.03, 0.02]  # confidence 0.9 -> bin 13 ([0.8667, 0.9333))
    lo = [0.45, 0.3, 0.15, 0.1]  # confidence 0.45 -> bin 6 ([0.4, 0.4667))
    probs = [hi, hi, hi, hi, lo, lo]
    targets = [0, 0, 0, 1, 0, 0]
    # bin 13: 4 sites, accuracy 3/4, confidence 0.9 -> gap 0.15; bin 6: 2 sites, accuracy 1, gap 0.55
    expected = 4 / 6 * 0.15 + 2 / 6 * 0.55
    r = nucleotide_metrics(probs, targets, n_bootstrap=0)
    assert r["ece"] == pytest.approx(expected, abs=1e-12)
    assert expected_calibration_error(probs, targets) == pytest.approx(expected, abs=1e-12)
    bins = r["reliability"]
    assert len(bins) == 15 and bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    assert [b["n"] for b in bins] == [0] * 6 + [2] + [0] * 6 + [4, 0]
    assert bins[13]["accuracy"] == 0.75 and bins[13]["mean_confidence"] == pytest.approx(0.9)
    assert bins[6]["accuracy"] == 1.0 and bins[6]["mean_confidence"] == pytest.approx(0.45)
    assert bins[0]["accuracy"] is None and bins[0]["mean_confidence"] is None
    # with 2 bins 0.45 -> [0, 0.5) and 0.9 -> [0.5, 1]: still one group per bin, same ECE
    assert expected_calibration_error(probs, targets, n_bins=2) == pytest.approx(expected, abs=1e-12)
    # with 1 bin: |mean accuracy 5/6 - mean confidence (3.6 + 0.9) / 6|
    assert expected_calibration_error(probs, targets, n_bins=1) == pytest.approx(abs(5 / 6 - 4.5 / 6))


def test_macro_vs_micro_with_unequal_genomes() -> None:
    # genome a: 3 sites, correct, p(true) = 1/2 (1 bit); genome b: 1 site, wrong, p(true) = 1/4 (2 bits)
    probs = [[0.5, 0.25, 0.125, 0.125]] * 4
    targets = [0, 1, 0, 0]  # the C site (argmax A, p(C) = 1/4) is genome b's; sites need not be sorted
    r = nucleotide_metrics(probs, targets, genome_ids=["a", "b", "a", "a"], n_bootstrap=0)
    assert r["accuracy"] == 0.75 and r["bits_per_nt"] == 1.25  # micro: (1+1+1+0)/4, (1+1+1+2)/4
    assert r["macro"] == {"accuracy": 0.5, "bits_per_nt": 1.5, "n_genomes": 2}  # (1+0)/2, (1+2)/2
    assert r["per_genome"] == {
        "a": {"n": 3, "accuracy": 1.0, "bits_per_nt": 1.0},
        "b": {"n": 1, "accuracy": 0.0, "bits_per_nt": 2.0},
    }


def test_accuracy_by_gc_bins_edges_and_missing() -> None:
    probs = [[0.5, 0.25, 0.125, 0.125]] * 5
    targets = [0, 0, 1, 0, 0]  # bits 1, 1, 2, 1, 1; correct 1, 1, 0, 1, 1
    gc = [0.1, 0.35, 0.3, 1.0, float("nan")]  # 0.3 is the lower edge of [0.3, 0.4); 1.0 joins the last bin
    r = nucleotide_metrics(probs, targets, gc=gc, n_bootstrap=0)
    bins = r["accuracy_by_gc"]
    assert [(b["lower"], b["upper"]) for b in bins] == [
        (0.0, 0.3),
        (0.3, 0.4),
        (0.4, 0.5),
        (0.5, 0.6),
        (0.6, 1.0),
    ]
    assert [b["n"] for b in bins] == [1, 2, 0, 0, 1]
    assert bins[1]["accuracy"] == 0.5 and bins[1]["bits_per_nt"] == 1.5
    assert bins[2]["accuracy"] is None
    assert r["n_gc_missing"] == 1


def test_mass_outside_is_nan_aware() -> None:
    probs, targets = [UNIFORM] * 3, [0, 1, 2]
    r = nucleotide_metrics(probs, targets, mass_outside=[0.1, float("nan"), 0.3], n_bootstrap=0)
    assert r["mass_outside_mean"] == pytest.approx(0.2)
    r = nucleotide_metrics(probs, targets, mass_outside=[float("nan")] * 3, n_bootstrap=0)
    assert r["mass_outside_mean"] is None


def test_renormalises_only_within_tolerance_and_floors_zero() -> None:
    r = nucleotide_metrics([[0.5 + 4e-7, 0.25, 0.125, 0.125]], [1], n_bootstrap=0)
    assert r["bits_per_nt"] == pytest.approx(-math.log2(0.25 / (1 + 4e-7)), abs=1e-12)
    r = nucleotide_metrics([[1.0, 0.0, 0.0, 0.0]], [1], n_bootstrap=0)
    assert r["n_prob_floored"] == 1 and r["bits_per_nt"] == pytest.approx(-math.log2(1e-15))


@pytest.mark.parametrize(
    ("probs", "targets", "match"),
    [
        ([[0.5, 0.5, 0.0]], [0], r"shape \(n, 4\)"),
        ([0.25, 0.25, 0.25, 0.25], [0], r"shape \(n, 4\)"),
        (np.zeros((0, 4)), [], "0 rows"),
        ([UNIFORM, UNIFORM], [0], r"targets must have shape \(2,\)"),
        ([[float("nan"), 0.5, 0.25, 0.25]], [0], "NaN"),
        ([[0.5, 0.2, 0.2, 0.2]], [0], "sum to 1"),
        ([[0.5, 0.25, 0.125, 0.1]], [0], "first row 0 sums to"),
        ([[1.25, -0.25, 0.0, 0.0]], [0], "non-negative"),
        ([UNIFORM], [4], "0..3"),
        ([UNIFORM], [-1], "0..3"),
        ([UNIFORM], [0.5], "integer"),
        ([UNIFORM], ["A"], "integer"),
    ],
)
def test_bad_input_raises_config_error(probs: object, targets: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        nucleotide_metrics(probs, targets, n_bootstrap=0)


def test_bad_side_inputs_raise_config_error() -> None:
    probs, targets = [UNIFORM] * 2, [0, 1]
    with pytest.raises(ConfigError, match="gc must have shape"):
        nucleotide_metrics(probs, targets, gc=[0.5], n_bootstrap=0)
    with pytest.raises(ConfigError, match=r"lie in \[0.0, 1.0\]"):
        nucleotide_metrics(probs, targets, gc=[0.5, 1.5], n_bootstrap=0)
    with pytest.raises(ConfigError, match="one entry per site"):
        nucleotide_metrics(probs, targets, genome_ids=["a"], n_bootstrap=0)
    with pytest.raises(ConfigError, match="not a single string"):
        nucleotide_metrics(probs, targets, genome_ids="ab", n_bootstrap=0)
    with pytest.raises(ConfigError, match="confidence level"):
        nucleotide_metrics(probs, targets, ci=1.5)
    with pytest.raises(ConfigError, match="n_bootstrap"):
        nucleotide_metrics(probs, targets, n_bootstrap=-1)


# ---------------------------------------------------------------- bootstrap intervals


def _random_sites(n: int, seed: int, n_genomes: int = 8) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(4), size=n)
    targets = rng.integers(0, 4, size=n)
    genomes = [f"g{i % n_genomes}" for i in range(n)]
    return probs, targets, genomes


def test_ci_contains_estimate_and_shrinks_with_n() -> None:
    widths = []
    for n in (200, 20_000):
        probs, targets, genomes = _random_sites(n, seed=1)
        r = nucleotide_metrics(probs, targets, genome_ids=genomes, n_bootstrap=300, seed=3)
        ci = r["ci"]
        assert ci["level"] == 0.95 and ci["n_bootstrap"] == 300
        assert ci["accuracy"][0] <= r["accuracy"] <= ci["accuracy"][1]
        assert ci["bits_per_nt"][0] <= r["bits_per_nt"] <= ci["bits_per_nt"][1]
        assert ci["macro_accuracy"][0] <= r["macro"]["accuracy"] <= ci["macro_accuracy"][1]
        assert ci["macro_bits_per_nt"][0] <= r["macro"]["bits_per_nt"] <= ci["macro_bits_per_nt"][1]
        widths.append(ci["accuracy"][1] - ci["accuracy"][0])
    # width ~ 1/sqrt(n): 100x the sites -> ~10x narrower
    assert widths[1] < widths[0] / 5


def test_bootstrap_width_matches_binomial_standard_error() -> None:
    # 400 sites, 200 right: bootstrap SE of the mean = sqrt(0.5 * 0.5 / 400) = 0.025,
    # so a 95% percentile interval is ~ 2 * 1.96 * 0.025 = 0.098 wide
    right, wrong = [0.5, 0.25, 0.125, 0.125], [0.125, 0.5, 0.25, 0.125]
    probs = [right] * 200 + [wrong] * 200
    r = nucleotide_metrics(probs, [0] * 400, n_bootstrap=4000, seed=0)
    lo, hi = r["ci"]["accuracy"]
    assert 0.088 < hi - lo < 0.108
    # bits are 1 (right) or 3 (p(A) = 1/8, wrong): SE doubles, interval ~0.196 wide around 2.0
    blo, bhi = r["ci"]["bits_per_nt"]
    assert 0.176 < bhi - blo < 0.216 and blo < 2.0 < bhi


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    probs, targets, genomes = _random_sites(1000, seed=2)
    a = nucleotide_metrics(probs, targets, genome_ids=genomes, n_bootstrap=200, seed=7)
    b = nucleotide_metrics(probs, targets, genome_ids=genomes, n_bootstrap=200, seed=7)
    c = nucleotide_metrics(probs, targets, genome_ids=genomes, n_bootstrap=200, seed=8)
    assert a == b
    assert a["ci"] != c["ci"]
    assert {k: v for k, v in a.items() if k != "ci"} == {k: v for k, v in c.items() if k != "ci"}


def test_single_genome_has_no_macro_interval() -> None:
    r = nucleotide_metrics([UNIFORM] * 3, [0, 1, 2], genome_ids=["g"] * 3, n_bootstrap=50)
    assert r["ci"]["macro_accuracy"] is None and r["ci"]["macro_bits_per_nt"] is None
    assert r["macro"]["n_genomes"] == 1


def test_bootstrap_is_vectorised_fast() -> None:
    probs, targets, genomes = _random_sites(50_000, seed=4, n_genomes=40)
    start = time.perf_counter()
    nucleotide_metrics(probs, targets, genome_ids=genomes, n_bootstrap=1000)
    assert time.perf_counter() - start < 20  # ~1 s here; a Python loop over resamples takes minutes


def test_result_is_json_ready() -> None:
    probs, targets, genomes = _random_sites(100, seed=5)
    gc = np.linspace(0, 1, 100)
    gc[3] = np.nan
    r = nucleotide_metrics(
        probs, targets, genome_ids=genomes, gc=gc, mass_outside=np.zeros(100), n_bootstrap=20
    )
    _json_types_only(r)
    assert json.loads(json.dumps(r, allow_nan=False)) == r


# ---------------------------------------------------------------- span_metrics


TRUTH = ["ACGTAC", "GGNGG"]
PRED = ["TCGAAC", "ggagc"]  # lowercase on purpose: comparison is case-insensitive
# span 0 (L=6, distances 0 1 2 2 1 0): wrong at j=0 (d=0) and j=3 (d=2) -> 4/6
# span 1 (L=5, distances 0 1 2 1 0): N at j=2 is not scored; wrong at j=4 (d=0) -> 3/4


def test_span_identity_micro_macro() -> None:
    r = span_metrics(PRED, TRUTH)
    assert r["n_spans"] == 2 and r["n_unscored"] == 1 and r["n_nucleotides"] == 10
    assert r["identity"] == pytest.approx(7 / 10)
    assert r["macro_identity"] == pytest.approx((4 / 6 + 3 / 4) / 2)
    assert r["aa_recovery"] is None


def test_span_edge_distance_buckets() -> None:
    r = span_metrics(PRED, TRUTH)
    # d=0: 4 positions, 2 right; d=1: 4 positions, all right; d=2: 2 scored positions, 1 right
    assert r["accuracy_by_edge_distance"] == [
        {"min_distance": 0, "max_distance": 0, "n": 4, "accuracy": 0.5},
        {"min_distance": 1, "max_distance": 1, "n": 4, "accuracy": 1.0},
        {"min_distance": 2, "max_distance": 2, "n": 2, "accuracy": 0.5},
    ]
    r = span_metrics(PRED, TRUTH, max_distance=0)
    assert r["accuracy_by_edge_distance"] == [
        {"min_distance": 0, "max_distance": 0, "n": 4, "accuracy": 0.5},
        {"min_distance": 1, "max_distance": None, "n": 6, "accuracy": pytest.approx(5 / 6)},
    ]
    r = span_metrics(PRED, TRUTH, max_distance=4)  # empty buckets are kept, with accuracy None
    assert [b["n"] for b in r["accuracy_by_edge_distance"]] == [4, 4, 2, 0, 0, 0]
    assert r["accuracy_by_edge_distance"][-1]["accuracy"] is None


def test_span_by_length() -> None:
    r = span_metrics([*PRED, "ACGTAA"], [*TRUTH, "ACGTAC"])  # a second length-6 span, 5/6 right
    assert r["by_span_length"] == [
        {"length": 5, "n_spans": 1, "n_nucleotides": 4, "identity": 0.75, "macro_identity": 0.75},
        {
            "length": 6,
            "n_spans": 2,
            "n_nucleotides": 12,
            "identity": pytest.approx(9 / 12),
            "macro_identity": pytest.approx((4 / 6 + 5 / 6) / 2),
        },
    ]


def test_amino_acid_recovery() -> None:
    pairs = [("MKV*", "MKL*"), ("MA", "MAST"), ("MS", "MS")]
    # 3/4 right; 2/4 (two missing residues are wrong); 2/2 -> micro 7/10, macro (0.75 + 0.5 + 1) / 3
    aa = span_metrics(PRED, TRUTH, amino_acids=pairs)["aa_recovery"]
    assert aa["n_genes"] == 3 and aa["n_residues"] == 10
    assert aa["identity"] == pytest.approx(0.7)
    assert aa["macro_identity"] == pytest.approx(0.75)
    assert aa["exact"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("predicted", "truth", "kwargs", "match"),
    [
        (["ACG"], ["ACGT"], {}, "differs from true length"),
        (["ACG"], ["ACG", "ACG"], {}, "1 predicted spans for 2"),
        ([], [], {}, "no spans"),
        ([""], [""], {}, "empty"),
        ("ACG", "ACG", {}, "not single strings"),
        (["ACG"], ["ACG"], {"max_distance": -1}, "max_distance"),
        (["ACG"], ["ACG"], {"amino_acids": []}, "amino_acids is empty"),
        (["ACG"], ["ACG"], {"amino_acids": [("M", "")]}, "true protein is empty"),
    ],
)
def test_span_bad_input(predicted: object, truth: object, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        span_metrics(predicted, truth, **kwargs)


# ---------------------------------------------------------------- transfer, rare gap, spearman

TESTS = ["PRO", "PRO_reads", "EUK", "EUK_reads", "VIR", "VIR_reads"]
GAINS = {
    "PRO": [0.4, 0.2, 0.1, 0.05, 0.15, 0.1],  # in (0.4+0.2)/2 = 0.3; off 0.4/4 = 0.1; ratio 1/3
    "EUK": [0.1, 0.1, 0.5, 0.3, 0.0, -0.04],  # in 0.4; off 0.16/4 = 0.04; ratio 0.1
    "VIR": [0.05, 0.05, 0.05, 0.05, 0.2, 0.2],  # in 0.2; off 0.05; ratio 0.25
}
MATRIX = {train: {t: 2.0 - g for t, g in zip(TESTS, gains, strict=True)} for train, gains in GAINS.items()}


def test_transfer_summary_3x6_by_hand() -> None:
    s = transfer_summary(MATRIX)
    assert s["chance_bits"] == 2.0 and s["n_train"] == 3 and s["n_known_training"] == 3
    assert s["in_domain_gain"] == pytest.approx((0.3 + 0.4 + 0.2) / 3)
    assert s["off_diagonal_gain"] == pytest.approx((0.1 + 0.04 + 0.05) / 3)
    assert s["ratio"] == pytest.approx((0.19 / 3) / 0.3)
    assert s["mean_gain"] == pytest.approx((1.0 / 6 + 0.96 / 6 + 0.6 / 6) / 3)
    pro = s["per_train"]["PRO"]
    assert pro["in_domain"] == ["PRO", "PRO_reads"] and pro["known_training"]
    assert pro["in_domain_gain"] == pytest.approx(0.3)
    assert pro["off_diagonal_gain"] == pytest.approx(0.1)
    assert pro["ratio"] == pytest.approx(1 / 3)
    assert pro["gains"]["EUK_reads"] == pytest.approx(0.05)
    assert s["per_train"]["EUK"]["ratio"] == pytest.approx(0.1)
    assert s["per_train"]["VIR"]["ratio"] == pytest.approx(0.25)
    # an explicit mapping that says the same thing gives the same summary
    explicit = {train: [train, f"{train}_reads"] for train in GAINS}
    assert transfer_summary(MATRIX, in_domain=explicit) == s


def test_transfer_explicit_mapping_changes_the_diagonal() -> None:
    s = transfer_summary(MATRIX, in_domain={"PRO": "PRO", "EUK": "EUK", "VIR": "VIR"})
    # PRO: in 0.4, off (0.2 + 0.1 + 0.05 + 0.15 + 0.1) / 5 = 0.12
    assert s["per_train"]["PRO"]["in_domain_gain"] == pytest.approx(0.4)
    assert s["per_train"]["PRO"]["off_diagonal_gain"] == pytest.approx(0.12)


def test_transfer_external_model_reports_row_mean_only() -> None:
    row = {"external": {t: 2.0 - g for t, g in zip(TESTS, GAINS["PRO"], strict=True)}}
    s = transfer_summary(row)
    ext = s["per_train"]["external"]
    assert not ext["known_training"] and ext["in_domain"] is None
    assert ext["mean_gain"] == pytest.approx(1.0 / 6)
    assert ext["in_domain_gain"] is None and ext["off_diagonal_gain"] is None and ext["ratio"] is None
    assert s["mean_gain"] == pytest.approx(1.0 / 6)
    assert s["in_domain_gain"] is None and s["ratio"] is None and s["n_known_training"] == 0
    assert transfer_summary(row, in_domain={"external": None}) == s


def test_transfer_ratio_undefined_without_positive_in_domain_gain() -> None:
    s = transfer_summary({"PRO": {"PRO": 2.1, "VIR": 1.9}})
    assert s["in_domain_gain"] == pytest.approx(-0.1) and s["ratio"] is None


def test_transfer_skips_none_and_rejects_bad_cells() -> None:
    s = transfer_summary({"PRO": {"PRO": 1.8, "VIR": None}})
    assert s["per_train"]["PRO"]["gains"] == {"PRO": pytest.approx(0.2)}
    with pytest.raises(ConfigError, match="finite"):
        transfer_summary({"PRO": {"PRO": float("nan")}})
    with pytest.raises(ConfigError, match="number of bits"):
        transfer_summary({"PRO": {"PRO": "1.8"}})
    with pytest.raises(ConfigError, match="empty"):
        transfer_summary({})
    with pytest.raises(ConfigError, match="no entry for train"):
        transfer_summary(MATRIX, in_domain={"PRO": "PRO"})
    with pytest.raises(ConfigError, match="not in the matrix"):
        transfer_summary({"PRO": {"PRO": 1.8}}, in_domain={"PRO": "PRO_read"})


def test_matrix_from_rows() -> None:
    m = matrix_from_rows(["PRO", "PRO", "EUK"], ["PRO", "EUK", "PRO"], [1.8, 1.9, 1.95])
    assert m == {"PRO": {"PRO": 1.8, "EUK": 1.9}, "EUK": {"PRO": 1.95}}
    with pytest.raises(ConfigError, match="duplicate"):
        matrix_from_rows(["PRO", "PRO"], ["PRO", "PRO"], [1.8, 1.9])
    with pytest.raises(ConfigError, match="one entry per row"):
        matrix_from_rows(["PRO"], ["PRO", "EUK"], [1.8])


def test_gain_and_rare_gap() -> None:
    assert gain_over_chance(1.5) == 0.5
    assert gain_over_chance(2.25) == -0.25
    with pytest.raises(ConfigError):
        gain_over_chance(float("inf"))
    r = rare_gap(1.75, 1.875)  # gains 0.25 and 0.125
    assert r == {
        "common_bits": 1.75,
        "rare_bits": 1.875,
        "common_gain": 0.25,
        "rare_gain": 0.125,
        "gap": 0.125,
        "ratio": 0.5,
    }
    assert rare_gap(2.1, 1.9)["ratio"] is None


def test_average_ranks_and_spearman_with_ties() -> None:
    assert average_ranks(np.array([10.0, 20.0, 20.0, 30.0, 20.0])).tolist() == [1, 3, 3, 5, 3]
    # ranks x = 1, 2.5, 2.5, 4; y = 1, 3, 2, 4; centred products sum to 4.5; norms 4.5 and 5
    # rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10), abs=1e-12)
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # the NaN pair is dropped (unaligned = missing), leaving the tie example above
    assert spearman([1, 2, 2, 3, np.nan], [1, 3, 2, 4, 0]) == pytest.approx(3 / math.sqrt(10))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1], [2]))
    with pytest.raises(ConfigError, match="same length"):
        spearman([1, 2], [1, 2, 3])
