"""Seq2seq (T5-style) span-corruption scoring: exact chance for uniform and copy doubles, leak-free
encoder inputs, an off-by-one detector that can fail, and a tiny T5 through ``genobench evaluate``."""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast
from transformers.modeling_outputs import Seq2SeqLMOutput

from genobench_hf.cli import main
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.registry import get_model, register_model, unregister_model
from genobench_hf.scoring.base import BASE_INDEX, Scorer, ScoreRequest
from genobench_hf.scoring.candidate import expand_units
from genobench_hf.scoring.loading import load_model, wrap_model
from genobench_hf.scoring.seq2seq import SEQ2SEQ_DENSE_SKIP, Seq2SeqScorer, _Item
from genobench_hf.testing import bits_and_accuracy, bpe_tokenizer, real_dna, sample_requests

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]", "<extra_id_0>", "<extra_id_1>"]


def t5_tokenizer(alphabet: list[str] | None = None, base: Any = None) -> PreTrainedTokenizerFast:
    """Char tokenizer (or a BPE ``base``) with T5 sentinels and </s>-style EOS."""
    if base is not None:  # add sentinels to a trained BPE tokenizer
        tk = Tokenizer.from_str(base.backend_tokenizer.to_str())
        tk.add_special_tokens(SPECIALS[-2:])
    else:
        vocab = {t: i for i, t in enumerate([*SPECIALS, *(alphabet or list("ACGTN"))])}
        tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tk.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]", mask_token="[MASK]",
        model_max_length=100_000,
    )  # fmt: skip


def tiny_t5(tok: Any, seed: int = 0) -> Any:
    from transformers import T5Config, T5ForConditionalGeneration

    cfg = T5Config(
        vocab_size=len(tok), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2,
        dropout_rate=0.0, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id, initializer_factor=3.0,
    )  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return T5ForConditionalGeneration(cfg).eval()


class DoubleConfig(PretrainedConfig):
    model_type = "genobench_seq2seq_double"

    def __init__(self, vocab_size: int = 8, **kwargs: Any) -> None:
        super().__init__(is_encoder_decoder=True, **kwargs)
        self.vocab_size = vocab_size


class UniformSeq2Seq(PreTrainedModel):
    """All logits equal: every candidate scores exactly 0."""

    config_class = DoubleConfig

    def __init__(self, config: DoubleConfig) -> None:
        super().__init__(config)
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        pass

    def _logits(self, input_ids: torch.Tensor, dec: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*dec.shape, self.config.vocab_size)

    def forward(self, input_ids: torch.Tensor, decoder_input_ids: torch.Tensor, **_: Any) -> Any:
        return Seq2SeqLMOutput(logits=self._logits(input_ids, decoder_input_ids) + self.anchor)


class CopyDecoderSeq2Seq(UniformSeq2Seq):
    """Decoder position t predicts its own input token: a scorer reading the target at the wrong
    position (or feeding the unshifted target) scores perfectly; a correct one exactly chance."""

    def _logits(self, input_ids: torch.Tensor, dec: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*dec.shape, self.config.vocab_size)
        return out.scatter_(-1, dec.unsqueeze(-1), 12.0)


class EchoEncoderSeq2Seq(UniformSeq2Seq):
    """Every decoder position predicts the encoder's first token: harmless when the scorer is right,
    the true base whenever a scorer lets it into the encoder input."""

    def _logits(self, input_ids: torch.Tensor, dec: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*dec.shape, self.config.vocab_size)
        return out.scatter_(-1, input_ids[:, :1, None].expand(-1, dec.shape[1], 1), 3.0)


class LeakyEncoder(Seq2SeqScorer):
    """Deliberately broken: the true base travels in the encoder input (put first)."""

    def score(self, requests: Any, batch_size: int) -> Any:
        self._requests = requests
        return super().score(requests, batch_size)

    def _items(self, unit: Any) -> list[_Item]:
        items = super()._items(unit)
        true = self._requests[unit.request].window[unit.hidden[0]]
        leak = self.aligner.align(true, special=False).input_ids
        return [_Item(np.concatenate([leak, it.enc]), it.dec, it.target) for it in items]


@functools.cache
def char_tok() -> PreTrainedTokenizerFast:
    return t5_tokenizer()


def double(cls: type, tok: Any = None, scorer: type = Seq2SeqScorer) -> Scorer:
    tok = tok or char_tok()
    model = cls(DoubleConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id)).eval()
    model.model_kind = "seq2seq"
    return scorer(wrap_model(model, tok, tokenizer_kind="auto"))


def requests(protocol: str, n: int = 24, window: int = 64) -> list[ScoreRequest]:
    return sample_requests(real_dna(20_000), protocol, n, window=window, seed=1)


@pytest.mark.parametrize("protocol", ["imputation", "next_nucleotide"])
def test_uniform_model_scores_exactly_two_bits(protocol: str) -> None:
    reqs = requests(protocol)
    for tok in (char_tok(), t5_tokenizer(base=bpe_tokenizer())):
        scores = double(UniformSeq2Seq, tok).score(reqs, batch_size=5)
        assert all(np.array_equal(s.probs, np.full((1, 4), 0.25)) for s in scores)
        assert bits_and_accuracy(reqs, scores)[0] == 2.0
        assert {s.path for s in scores} == {"seq2seq.candidate"}
        assert all(s.approximate == (tok is not char_tok()) for s in scores)


def test_copy_decoder_scores_exactly_chance() -> None:
    reqs = requests("imputation")
    good = double(CopyDecoderSeq2Seq).score(reqs, 8)
    assert np.array_equal(np.concatenate([s.probs for s in good]), np.full((len(reqs), 4), 0.25))


def test_scores_equal_transformers_own_likelihood_of_the_span() -> None:
    """An independent check of the decoder shift: T5's loss with ``labels`` shifts right itself."""
    tok = char_tok()
    model = tiny_t5(tok)
    scorer = Seq2SeqScorer(wrap_model(model, tok))
    q = requests("imputation", n=1)[0]
    unit = expand_units([q])[0]
    enc = torch.from_numpy(scorer.encoder_ids(unit))[None]
    logp = []
    for it in scorer._items(unit):
        with torch.no_grad():
            loss = model(input_ids=enc, labels=torch.from_numpy(it.target)[None]).loss
        logp.append(-float(loss) * len(it.target))
    want = np.exp(np.array(logp) - max(logp))
    got = scorer.score([q], 1)[0].probs[0]
    assert np.abs(got - want / want.sum()).max() < 1e-5


def test_encoder_never_holds_the_true_base_and_a_leaky_encoder_is_caught() -> None:
    reqs = requests("imputation", n=40)
    scorer = double(EchoEncoderSeq2Seq)
    for q in reqs[:8]:  # the encoder input is the same whatever base sits at the site
        site = q.sites[0]
        variants = [
            ScoreRequest(q.window[:site] + b + q.window[site + 1 :], q.sites, q.protocol) for b in "ACGT"
        ]
        encs = {tuple(scorer.encoder_ids(expand_units([v])[0])) for v in variants}
        assert len(encs) == 1
    bits_ok, _ = bits_and_accuracy(reqs, scorer.score(reqs, 8))
    bits_leak, acc_leak = bits_and_accuracy(
        reqs, double(EchoEncoderSeq2Seq, scorer=LeakyEncoder).score(reqs, 8)
    )
    assert acc_leak == 1.0 and bits_leak < 0.3 < 1.5 < bits_ok


def test_next_nucleotide_encoder_sees_left_context_only() -> None:
    scorer = double(UniformSeq2Seq)
    q = requests("next_nucleotide", n=1)[0]
    unit = expand_units([q])[0]
    enc = scorer.encoder_ids(unit)
    s0, eos = scorer.sentinels[0], char_tok().eos_token_id
    assert enc[-2:].tolist() == [s0, eos] and len(enc) == q.sites[0] + 2


def test_tiny_t5_is_batch_invariant_and_leak_free() -> None:
    tok = char_tok()
    scorer = Seq2SeqScorer(wrap_model(tiny_t5(tok), tok))
    reqs = requests("imputation", n=12)
    a, b = scorer.score(reqs, 1), scorer.score(reqs, 7)
    pa, pb = np.concatenate([s.probs for s in a]), np.concatenate([s.probs for s in b])
    assert np.abs(pa - pb).max() < 1e-9 and np.abs(pa - 0.25).max() > 1e-3  # far from uniform
    assert np.all((a[0].mass_outside >= 0) & (a[0].mass_outside <= 1))
    site = reqs[0].sites[0]
    for base in "ACGT":  # replacing the true base changes nothing
        w = reqs[0].window
        other = ScoreRequest(
            w[:site] + base + w[site + 1 :], reqs[0].sites, "imputation", (BASE_INDEX[base],)
        )
        assert np.array_equal(scorer.score([other], 1)[0].probs, a[0].probs)


def test_dense_is_skipped_and_refused() -> None:
    scorer = double(UniformSeq2Seq)
    assert scorer.skip_reason("imputation_dense") == SEQ2SEQ_DENSE_SKIP
    with pytest.raises(ConfigError, match="imputation_dense"):
        scorer.score(requests("imputation_dense", n=1), 1)


def test_tokenizer_without_sentinels_is_refused() -> None:
    from genobench_hf.testing import char_tokenizer

    tok = char_tokenizer()
    with pytest.raises(ModelError, match="sentinel"):
        Seq2SeqScorer(wrap_model(tiny_t5(tok), tok))


@functools.cache
def data_dir() -> Path:
    from genobench_hf.data.build import build_all

    out = Path(tempfile.mkdtemp(prefix="genobench-s2s-data-"))
    build_all(out, reads_per_genome=20, names=("VIR",), conservation=False, progress=False)
    return out


def test_tiny_t5_replica_through_evaluate(tmp_path: Path) -> None:
    tok = char_tok()
    folder = tmp_path / "t5"
    tiny_t5(tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    assert load_model(folder).model_kind == "seq2seq"  # detected from is_encoder_decoder
    entry = dataclasses.replace(get_model("guanine-t5"), name="test-guanine-t5", hub_id=str(folder))
    register_model(entry)
    try:
        out = tmp_path / "res.json"
        rc = main([
            "evaluate", "--model", "test-guanine-t5", "--data-dir", str(data_dir()), "--datasets", "VIR",
            "--tasks", "imputation,next_nucleotide,imputation_dense", "--limit", "6", "--n-sites", "6",
            "--window", "64", "--baseline", "none", "--n-bootstrap", "10", "--output", str(out), "--quiet",
        ])  # fmt: skip
    finally:
        unregister_model("test-guanine-t5")
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["model_kind"] == "seq2seq" and doc["config"]["model_entry"]["family"] == "GUANinE T5"
    for task in ("imputation", "next_nucleotide"):
        cell = doc["results"][task]["VIR"]
        assert cell["scoring_path"] == ["seq2seq.candidate"] and cell["approximate"] is False
    assert "seq2seq" in doc["results"]["imputation_dense"]["VIR"]["skipped"]


def test_model_kind_flag_accepts_seq2seq(tmp_path: Path) -> None:
    """``--model-kind seq2seq`` (which the loader supports) is accepted, not refused by the parser."""
    tok = char_tok()
    folder = tmp_path / "t5"
    tiny_t5(tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    out = tmp_path / "res.json"
    rc = main([
        "evaluate", "--model", str(folder), "--model-kind", "seq2seq", "--data-dir", str(data_dir()),
        "--datasets", "VIR", "--tasks", "imputation", "--limit", "4", "--n-sites", "4", "--window", "64",
        "--baseline", "none", "--n-bootstrap", "0", "--output", str(out), "--quiet",
    ])  # fmt: skip
    assert rc == 0 and json.loads(out.read_text())["config"]["model_kind"] == "seq2seq"
