"""The built-in entries: published DNA language models, one per family and size.

Facts come from the model cards and Hub pages listed in each entry's ``sources`` (read 2026-11 through
the project's search tools; nothing was downloaded). Unknowns stay ``None``/``unknown``; no revision is
pinned because no card states one (``None`` = ``main`` at evaluation time, recorded in the results).
Context lengths are in tokens; where only the checkpoint name states it (``...-1k-seqlen``) that is said
in ``quirks``. The loader always enforces the checkpoint config's own limit.
"""

from __future__ import annotations

from genobench_hf.registry.model_entry import ModelEntry

HF = "https://huggingface.co/"
NT_CITE = (
    "Dalla-Torre H. et al. The Nucleotide Transformer: Building and Evaluating Robust Foundation Models "
    "for Human Genomics. bioRxiv 2023.01.11.523679"
)
NT_MULTI = (
    "850 genomes from NCBI, one species per genus; plants and viruses excluded (dataset card "
    "InstaDeepAI/multi_species_genomes: bacteria, fungi, invertebrates, protozoa, vertebrates)"
)
NT_QUIRK = "6-mer tokens with single-nucleotide fallback (k-mers containing N split into single tokens)"
DNABERT_CITE = (
    "Ji Y., Zhou Z., Liu H., Davuluri R.V. DNABERT: pre-trained Bidirectional Encoder Representations "
    "from Transformers model for DNA-language in genome. Bioinformatics 37(15), 2021"
)
HYENA_CITE = (
    "Nguyen E. et al. HyenaDNA: Long-Range Genomic Sequence Modeling at Single Nucleotide Resolution. "
    "NeurIPS 2023 (arXiv:2306.15794)"
)
CADUCEUS_CITE = (
    "Schiff Y. et al. Caduceus: Bi-Directional Equivariant Long-Range DNA Sequence Modeling. ICML 2024 "
    "(arXiv:2403.03234)"
)
ULMFIT_CITE = "Heyer K. Genomic-ULMFiT. https://github.com/kheyer/Genomic-ULMFiT"
ULMFIT_QUIRK = (
    "fastai AWD-LSTM weights, no transformers checkpoint on the Hub: convert to a transformers causal-LM "
    "folder (auto_map + --trust-remote-code) and pass it with --model PATH --tokenizer-kind as listed"
)


BPE_NOTE = "a BPE vocabulary trained here on real DNA (the published merges cannot be had offline)"
EVO2_CITE = "Brixi G. et al. Genome modelling and design across all domains of life with Evo 2. Nature 2026"
#: (size, parameters, context in tokens) as the Evo 2 paper and its model cards state; None = not stated
EVO2_SIZES: tuple[tuple[str, int, int | None], ...] = (
    ("1b-base", 1_000_000_000, 8_192),
    ("7b", 7_000_000_000, 1_000_000),
    ("20b", 20_000_000_000, None),
    ("40b", 40_000_000_000, 1_000_000),
)


def _evo2(size: str, params: int, context: int | None) -> ModelEntry:
    return ModelEntry(
        name=f"evo2-{size}",
        family="Evo 2",
        hub_id=None,
        architecture="StripedHyena 2 (the evo2 package; not a transformers model)",
        objective="causal",
        tokenizer="char",
        context_length=context,
        parameters=params,
        training_kingdoms=frozenset({"PRO", "EUK", "VIR"}),
        training_data="OpenGenome2: genomes from all domains of life (bacteria, archaea, eukaryotes, phages)",
        license="apache-2.0",
        citation=EVO2_CITE,
        quirks=(
            "scoring Evo 2 needs its own package (evo2, Vortex kernels) and a CUDA GPU: out of scope here; "
            "its published gene-completion figures are shown beside the models genobench scores",
            "byte-level (character) tokenizer",
        ),
        sources=("https://github.com/ArcInstitute/evo2", "https://huggingface.co/arcinstitute"),
        external=True,
        published_results="gene_completion/data/results_summary.csv",
        offline_test="none",
        offline_note="external reference: published figures only (gene-completion panel of the paper)",
    )


def _nt(size: str, params: int, data: str, kingdoms: set[str], v2: bool) -> ModelEntry:
    prefix = "nucleotide-transformer-v2" if v2 else "nucleotide-transformer"
    quirks = [NT_QUIRK]
    if v2:
        quirks.append("the Hub repo ships its own esm_config.py/modeling_esm.py (custom_code)")
    return ModelEntry(
        name=f"nt{'-v2' if v2 else ''}-{size}-{data}",
        family="Nucleotide Transformer v2" if v2 else "Nucleotide Transformer v1",
        hub_id=f"InstaDeepAI/{prefix}-{size}-{data}",
        architecture="EsmForMaskedLM",
        objective="masked",
        tokenizer="kmer:6",
        parameters=params,
        trust_remote_code=v2,
        training_kingdoms=frozenset(kingdoms),
        training_data={
            "multi-species": NT_MULTI,
            "human-ref": "the human reference genome",
            "1000g": "3,202 genetically diverse human genomes (1000 Genomes Project)",
        }[data],
        license="cc-by-nc-sa-4.0",
        citation=NT_CITE,
        quirks=tuple(quirks),
        sources=(f"{HF}InstaDeepAI/{prefix}-{size}-{data}",),
        offline_test="exact tokenizer",
        offline_note="EsmTokenizer over the published 4,107-token vocabulary (6-mers, single-nucleotide "
        "fallback, `<cls>` prepended) + a tiny EsmForMaskedLM"
        + (" (transformers' ESM stands in for the repo's own modeling_esm.py)" if v2 else ""),
    )


def _dnabert1(k: int) -> ModelEntry:
    return ModelEntry(
        name=f"dnabert-{k}",
        family="DNABERT-1",
        hub_id=f"zhihan1996/DNA_bert_{k}",
        architecture="BertForMaskedLM",
        objective="masked",
        tokenizer=f"kmer:{k}:1",
        trust_remote_code=True,
        training_data="unknown (the Hub repo has no model card; the paper pre-trains on the human genome)",
        citation=DNABERT_CITE,
        quirks=(
            "overlapping k-mers (stride 1): the input is space-separated k-mers; every token covering a "
            "site is masked, or the neighbours leak the hidden base",
            "the Hub repo carries custom code (custom_code tag)",
        ),
        sources=(f"{HF}zhihan1996/DNA_bert_{k}", "https://github.com/jerryji1993/DNABERT"),
        offline_test="exact tokenizer",
        offline_note=f"BertTokenizer over the published {k}-mer vocab.txt (space-separated overlapping "
        f"{k}-mers, stride 1, [CLS] ... [SEP]) + a tiny BertForMaskedLM",
    )


def _hyena(size: str, seqlen: str, context: int) -> ModelEntry:
    return ModelEntry(
        name=f"hyenadna-{size}-{seqlen}",
        family="HyenaDNA",
        hub_id=f"LongSafari/hyenadna-{size}-{seqlen}-seqlen-hf",
        architecture="HyenaDNAForCausalLM",
        objective="causal",
        tokenizer="char",
        context_length=context,
        trust_remote_code=True,
        training_kingdoms=frozenset({"EUK"}),
        training_data="the human reference genome",
        license="bsd-3-clause",
        citation=HYENA_CITE,
        quirks=(f"context from the checkpoint name ({seqlen}-seqlen)", "use the -hf repos (transformers)"),
        sources=(f"{HF}LongSafari/hyenadna-{size}-{seqlen}-seqlen-hf",),
        offline_test="exact tokenizer",
        offline_note="the CharacterTokenizer's ids and framing (A..N = 7..11, [SEP] appended) + a local "
        "auto_map causal conv module (the Hyena operator itself is not reproduced)",
    )


def _caduceus(variant: str) -> ModelEntry:
    return ModelEntry(
        name=f"caduceus-{variant}-131k",
        family="Caduceus",
        hub_id=f"kuleshov-group/caduceus-{variant}_seqlen-131k_d_model-256_n_layer-16",
        architecture="CaduceusForMaskedLM",
        objective="masked",
        tokenizer="char",
        context_length=131_072,
        trust_remote_code=True,
        training_kingdoms=frozenset({"EUK"}),
        training_data="the human reference genome",
        license="apache-2.0",
        citation=CADUCEUS_CITE,
        quirks=(
            "Mamba blocks (mamba-ssm): its kernels need a CUDA device",
            "ps = RC-equivariant by parameter sharing; ph = RC post-hoc (averaging both strands)",
            "context from the checkpoint name (seqlen-131k)",
        ),
        sources=(f"{HF}kuleshov-group/caduceus-{variant}_seqlen-131k_d_model-256_n_layer-16",),
        offline_test="exact tokenizer",
        offline_note="the CaduceusTokenizer's ids and framing (upper-cased, A..N = 7..11, [SEP] appended) + "
        "a local auto_map masked conv module (Mamba kernels need CUDA)",
    )


def _ulmfit(corpus: str, k: int, stride: int, kingdom: str) -> ModelEntry:
    return ModelEntry(
        name=f"genomic-ulmfit-{corpus}-{k}m{stride}s",
        family="Genomic ULMFiT",
        hub_id=None,
        architecture="AWD-LSTM (fastai)",
        objective="causal",
        tokenizer=f"kmer:{k}:{stride}",
        trust_remote_code=None,
        training_kingdoms=frozenset({kingdom}),
        training_data={"bacteria": "an ensemble of bacterial genomes", "human": "the human genome"}[corpus],
        citation=ULMFIT_CITE,
        quirks=(ULMFIT_QUIRK, f"k-mer length {k}, stride {stride} (the repo's language-model notebooks)"),
        sources=("https://github.com/kheyer/Genomic-ULMFiT",),
        offline_test="stand-in",
        offline_note=f"a {k}-mer stride-{stride} tokenizer built here (the fastai vocabulary is not "
        "published as a file) + a local auto_map causal LSTM",
    )


BUILTIN: tuple[ModelEntry, ...] = (
    _nt("500m", 500_000_000, "human-ref", {"EUK"}, v2=False),
    _nt("500m", 500_000_000, "1000g", {"EUK"}, v2=False),
    _nt("2.5b", 2_500_000_000, "1000g", {"EUK"}, v2=False),
    _nt("2.5b", 2_500_000_000, "multi-species", {"PRO", "EUK"}, v2=False),
    *(
        _nt(s, p, "multi-species", {"PRO", "EUK"}, v2=True)
        for s, p in (("50m", 50_000_000), ("100m", 100_000_000), ("250m", 250_000_000), ("500m", 500_000_000))
    ),
    *(_dnabert1(k) for k in (3, 4, 5, 6)),
    ModelEntry(
        name="dnabert-2-117m",
        family="DNABERT-2",
        hub_id="zhihan1996/DNABERT-2-117M",
        architecture="BertForMaskedLM (custom bert_layers.py, ALiBi)",
        objective="masked",
        tokenizer="bpe",
        parameters=117_000_000,
        trust_remote_code=True,
        training_data="multi-species genomes (the card does not list the kingdoms)",
        citation="Zhou Z. et al. DNABERT-2: Efficient Foundation Model and Benchmark For Multi-Species "
        "Genome. ICLR 2024 (arXiv:2306.15006)",
        quirks=(
            "BPE: the masked span is fixed from x_{-i}; scores are approximate",
            "its custom code imports triton flash attention when available; on CPU it falls back",
        ),
        sources=(f"{HF}zhihan1996/DNABERT-2-117M",),
        offline_test="stand-in",
        offline_note=BPE_NOTE + " + a local auto_map masked module (refused without --trust-remote-code)",
    ),
    ModelEntry(
        name="grover",
        family="GROVER",
        hub_id="PoetschLab/GROVER",
        architecture="BertForMaskedLM",
        objective="masked",
        tokenizer="bpe",
        trust_remote_code=False,
        training_kingdoms=frozenset({"EUK"}),
        training_data="the human genome",
        citation="Sanabria M., Hirsch J., Joubert P.M., Poetsch A.R. DNA language model GROVER learns "
        "sequence context in the human genome. Nature Machine Intelligence, 2024",
        quirks=(
            "BPE: scores are approximate",
            "card: tokenisation of sequences under ~50 nt differs from the genome-wide one; it advises "
            "100 nt of flank on both sides (keep --window >= 256)",
        ),
        sources=(f"{HF}PoetschLab/GROVER",),
        offline_test="stand-in",
        offline_note=BPE_NOTE + " + a tiny BertForMaskedLM",
    ),
    *(
        ModelEntry(
            name=f"gena-lm-bert-{size}-t2t",
            family="GENA-LM",
            hub_id=f"AIRI-Institute/gena-lm-bert-{size}-t2t",
            architecture="BertForMaskedLM (custom modeling_bert.py)",
            objective="masked",
            tokenizer="bpe",
            trust_remote_code=True,
            training_kingdoms=frozenset({"EUK"}),
            training_data="the human T2T genome assembly (Hub tags: human_genome, t2t)",
            citation="Fishman V. et al. GENA-LM: a family of open-source foundational DNA language "
            "models for long sequences. bioRxiv 2023.06.12.544594",
            quirks=("BPE: scores are approximate",),
            sources=(f"{HF}AIRI-Institute/gena-lm-bert-{size}-t2t",),
            offline_test="stand-in",
            offline_note=BPE_NOTE + " + a tiny BertForMaskedLM",
        )
        for size in ("base", "large")
    ),
    *(
        _hyena(s, q, c)
        for s, q, c in (
            ("tiny", "1k", 1024),
            ("small", "32k", 32_768),
            ("medium", "160k", 160_000),
            ("medium", "450k", 450_000),
            ("large", "1m", 1_000_000),
        )
    ),
    _caduceus("ph"),
    _caduceus("ps"),
    ModelEntry(
        name="gpn-brassicales",
        family="GPN",
        hub_id="songlab/gpn-brassicales",
        architecture="ConvNetForMaskedLM",
        objective="masked",
        tokenizer="char",
        parameters=65_900_000,
        trust_remote_code=False,
        training_kingdoms=frozenset({"EUK"}),
        training_data="Arabidopsis thaliana and 7 other Brassicales (songlab/genomes-brassicales-balanced-v1)",
        license="mit",
        citation="Benegas G., Batra S.S., Song Y.S. DNA language models are powerful predictors of "
        "genome-wide variant effects. PNAS 2023 (bioRxiv 2022.08.22.504706)",
        quirks=(
            "the architecture comes from the gpn package (pip install 'genobench[gpn]'; "
            "gpn.register_auto_classes() registers ConvNet with the Auto classes; genobench calls it)",
            "gpn 0.9.0 needs Python >= 3.13; on Python 3.11/3.12 pip takes 0.9.0a1, which imports and runs "
            "on CPU",
            "parameter count as shown on the Hub page (65.9M)",
        ),
        sources=(f"{HF}songlab/gpn-brassicales", "https://pypi.org/project/gpn/"),
        import_module="gpn:register_auto_classes",
        model_types=("ConvNet", "GPN", "GPNRoFormer"),
        offline_test="package",
        offline_note="a tiny ConvNetForMaskedLM from the gpn package's own ConvNetConfig (random weights) + "
        "the published tokenizer-dna-mlm reconstruction (lower-case a c g t)",
    ),
    _ulmfit("bacteria", 5, 2, "PRO"),
    _ulmfit("bacteria", 3, 1, "PRO"),
    _ulmfit("human", 5, 1, "EUK"),
    ModelEntry(
        name="guanine-t5",
        family="GUANinE T5",
        hub_id=None,
        architecture="T5ForConditionalGeneration",
        objective="seq2seq",
        tokenizer=None,
        citation="Robson E.S., Ioannidis N.M. GUANinE v1.0: Benchmark Datasets for Genomic AI "
        "Sequence-to-Function Models. bioRxiv 2023 (PMC10614795)",
        quirks=(
            "self-supervised T5 models of the GUANinE paper; no Hub checkpoint was found: pass the "
            "folder with --model PATH (seq2seq is auto-detected); tokenizer kind detected at load time",
            "scored span-corruption style (sentinel in the encoder, candidate in the decoder target)",
        ),
        sources=("https://pmc.ncbi.nlm.nih.gov/articles/PMC10614795",),
        offline_test="stand-in",
        offline_note="a tiny T5ForConditionalGeneration + a char tokenizer with sentinels built here "
        "(tests/test_seq2seq.py)",
    ),
    *(_evo2(size, params, context) for size, params, context in EVO2_SIZES),
)
