"""Gene completion on the Evo 2 protocol (Brixi et al., Nature 2026): prompt a model with the start of a
gene, sample the rest, translate, and score percent amino-acid recovery beyond the prompt.

Two tasks, never mixed:

* ``gene_completion`` (causal LMs, Markov chains): left-to-right sampling with :mod:`genobench_hf.generation`
  (KV cache / recurrent state: linear in length), temperature 0.7 (prokaryote) / 1.0 (eukaryote), top_k 4.
* ``gene_completion_infill`` (models that score hidden sets: masked LMs, Markov): the continuation is hidden
  as a whole behind the prompt and filled in 20 steps, each fixing the most confident ``1/20`` of the
  still-hidden sites by a draw from their distribution (same temperature and top_k). This is a different
  quantity from the causal protocol and is reported under its own name.

Cases per dataset: the shipped Evo 2 panel of the dataset's kingdom (PRO: 4 prokaryote genes, EUK: 8
eukaryote genes) and ``n_genes`` annotated genes of the evaluated split (:mod:`.gene_cases`; VIR uses the
prokaryote protocol). Every model, the Markov baseline and chance (uniform bases) are scored on the same
cases with the same seeds (seeded by case and generation index, never by model). The summary's headline
is the mean of the per-gene means over the Evo 2 panel genes that ran (12 when PRO and EUK both ran),
shown beside the published Evo 2 figures (labelled as published). Formula:
:mod:`genobench_hf.metrics.gene_completion`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from genobench_hf.errors import ModelError
from genobench_hf.execution import fingerprint
from genobench_hf.gene_completion.panel import (
    N_GENERATIONS,
    PANELS,
    TEMPERATURE,
    TOP_K,
    GeneCase,
    evo2_panel,
    predicted_proteins,
    published,
)
from genobench_hf.gene_completion.splice import exonerate_path
from genobench_hf.generation import GenerationRequest, Sampling, generator_for, uniform_generator
from genobench_hf.metrics import amino_acid_recovery, gene_completion_summary
from genobench_hf.results import skipped
from genobench_hf.scoring.base import Scorer
from genobench_hf.tasks.base import KINGDOMS, Task, TaskMetadata, is_reads, kingdom_of, register_task
from genobench_hf.tasks.gene_cases import dataset_cases
from genobench_hf.tasks.generate import cached_chunks
from genobench_hf.tasks.infill import iterative_infill
from genobench_hf.tasks.sampling import Window, stable_seed

GENE_COLUMNS = ("genome_id", "sequence", "cds", "chunk_start", "genetic_code", "organism")
PROTOCOL_OF = {"PRO": "prokaryote", "VIR": "prokaryote", "EUK": "eukaryote"}
EVO2_OF = {"PRO": "prokaryote", "EUK": "eukaryote"}
Generate = Callable[[list[GenerationRequest]], list[str]]


def n_generations(config: Any) -> int:
    """Generations per gene: ``--generations`` (default 50, as published), capped by ``--limit``."""
    n = int(getattr(config, "n_generations", N_GENERATIONS))
    return min(n, config.limit) if config.limit else n


def _causal(scorer: Scorer, batch_size: int, sampling: Sampling) -> tuple[Generate | None, str]:
    kind = getattr(getattr(scorer, "loaded", None), "model_kind", "causal")
    if kind != "causal":
        return None, f"a {kind} LM cannot generate left to right; gene_completion_infill scores masked LMs"
    gen = generator_for(scorer)
    if gen is None:
        return None, "left-to-right generation needs a causal LM or a Markov chain"

    def run(reqs: list[GenerationRequest]) -> list[str]:
        return gen.generate(reqs, sampling, batch_size)

    run.check = getattr(gen.stepper, "check", None)  # type: ignore[attr-defined]
    return run, gen.mode


def _infill(scorer: Scorer, batch_size: int, sampling: Sampling) -> tuple[Generate | None, str]:
    if scorer.skip_reason("imputation_dense") is not None:
        return None, "iterative infill needs a model that scores hidden sets (imputation_dense)"

    def run(reqs: list[GenerationRequest]) -> list[str]:
        wins = []
        for r in reqs:
            win = r.prompt + "A" * r.n_new  # placeholders: every site after the prompt is hidden
            wins.append(Window.make("gene", 0, 0, win, range(len(r.prompt), len(win))))
        return iterative_infill(scorer, wins, batch_size, sampling=sampling, seeds=[r.seed for r in reqs])

    return run, "iterative"


class _GeneCompletion(Task):
    variant: ClassVar[str]
    make_generate: ClassVar[Callable[[Scorer, int, Sampling], tuple[Generate | None, str]]]

    def run(self, scorer: Scorer, dataset: str, context: Any) -> dict[str, Any]:
        kingdom = kingdom_of(dataset)
        if is_reads(dataset) or kingdom not in PROTOCOL_OF:
            return skipped("gene completion needs genomic windows with annotated genes (not reads)")
        protocol = PROTOCOL_OF[kingdom]
        batch = int(context.config.batch_size)
        sampling = Sampling(TEMPERATURE[protocol], TOP_K)
        generate, mode = type(self).make_generate(scorer, batch, sampling)
        if generate is None:
            return skipped(f"{scorer.name}: {mode}")
        if protocol == "eukaryote":
            exonerate_path()  # a clear error before hours of generation
        cfg = context.config.task
        n_gen = n_generations(cfg)
        cases = list(evo2_panel(EVO2_OF[kingdom])) if kingdom in EVO2_OF else []
        n_genes = min(cfg.n_genes, cfg.limit) if cfg.limit else cfg.n_genes
        rows = context.store.rows(dataset, cfg.split, columns=GENE_COLUMNS)
        extra, dropped = dataset_cases(
            rows, dataset=dataset, protocol=protocol, n_genes=n_genes, seed=cfg.seed
        )
        cases += extra

        def score(name: str, ident: dict[str, Any], gen: Generate) -> dict[str, Any]:
            return self._score(context, name, ident, gen, cases, n_gen, cfg.seed, sampling)

        scored = score(scorer.name, context.identity(scorer), generate)
        for part in ("evo2_panel", "dataset_genes"):
            if isinstance(scored.get(part), dict):  # per-gene records (genobench_hf.site_records.GeneLog)
                headline = part == scored["aa_recovery_source"]
                context.record_genes(
                    self.metadata.name, dataset, cfg.split, part, headline, mode, scored[part]["per_gene"]
                )
        out: dict[str, Any] = {
            "variant": self.variant,
            "protocol": protocol,
            "generation_mode": mode,
            "sampling": {"temperature": sampling.temperature, "top_k": sampling.top_k},
            "n_generations": n_gen,
            "split": cfg.split,
            **scored,
            "dropped_genes": dropped,
        }
        if "dataset_genes" not in out:
            out["dataset_genes"] = skipped(
                f"no annotated gene of {dataset}/{cfg.split} fits the {protocol} protocol"
            )
        refs: dict[str, Any] = {}
        for name, base in context.baselines(dataset).items():
            if base is scorer:
                continue
            gen_b, _ = type(self).make_generate(base, batch, sampling)
            if gen_b is not None:
                refs[name] = {"model": base.name, **score(base.name, context.identity(base), gen_b)}
        chance = uniform_generator()
        refs["chance"] = {
            "model": "uniform bases",
            **score("chance", {"name": "chance"}, lambda r: chance.generate(r, sampling)),
        }
        out["baselines"] = refs
        return out

    def _score(
        self,
        context: Any,
        name: str,
        identity: dict[str, Any],
        generate: Generate,
        cases: list[GeneCase],
        n_gen: int,
        seed: int,
        sampling: Sampling,
    ) -> dict[str, Any]:
        """Generate ``n_gen`` continuations per case (chunk-cached), score them; main score and summaries."""
        recoveries: dict[str, list[float]] = {}
        meta: dict[str, dict[str, Any]] = {}
        for case in cases:
            meta[case.key] = {"gene": case.gene, "organism": case.organism, "panel": case.panel}
            reqs = [
                GenerationRequest(case.prompt, case.n_new, stable_seed(seed, "gene_completion", case.key, g))
                for g in range(n_gen)
            ]
            ident = {"model": identity, "case": case.key, "sampling": str(sampling)}
            key = f"gene_completion-{self.variant}-{fingerprint(ident)}"
            try:
                check = getattr(generate, "check", None)
                if check is not None:  # every process refuses a too long gene alike, before any chunk
                    check(len(case.window))
                gens = cached_chunks(
                    context,
                    key,
                    reqs,
                    generate,
                    lambda r: f"{r.seed}|{r.n_new}|{r.prompt}",
                    desc=f"{self.variant} {name} {case.gene}",
                )
            except ModelError as exc:
                meta[case.key]["skipped"] = str(exc)
                continue
            proteins = predicted_proteins(case, gens)
            recoveries[case.key] = [amino_acid_recovery(p, case.reference, *case.scored) for p in proteins]
        evo2 = {k: v for k, v in recoveries.items() if k.startswith("evo2:")}
        data = {k: v for k, v in recoveries.items() if not k.startswith("evo2:")}
        out: dict[str, Any] = {}
        for part, values in (("evo2_panel", evo2), ("dataset_genes", data)):
            keys = [c.key for c in cases if (c.key.startswith("evo2:")) == (part == "evo2_panel")]
            if not keys:
                continue
            summary = gene_completion_summary(values, {k: meta[k]["panel"] for k in values})
            summary["per_gene"] = {
                k: {
                    **meta[k],
                    **summary["per_gene"].get(k, {}),
                    "recoveries": list(recoveries.get(k, [])),
                }
                for k in keys
            }
            out[part] = summary
        main = out.get("evo2_panel") or out.get("dataset_genes")
        out["aa_recovery"] = None if main is None else main["mean"]
        out["aa_recovery_source"] = "evo2_panel" if "evo2_panel" in out else "dataset_genes"
        return out

    def summarise(self, per_dataset: dict[str, Any]) -> dict[str, Any]:
        """12-gene headline (mean of per-gene means over the Evo 2 panel genes that ran), per panel,
        the same for each baseline, and the published Evo 2 figures beside them."""
        ran = {d: r for d, r in per_dataset.items() if isinstance(r, dict) and "evo2_panel" in r}

        def headline(get: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
            genes: dict[str, list[float]] = {}
            panels: dict[str, str] = {}
            for r in ran.values():
                part = get(r)
                for k, g in ((part or {}).get("per_gene") or {}).items():
                    if g.get("recoveries"):
                        genes[k], panels[k] = g["recoveries"], g["panel"]
            s = gene_completion_summary(genes, panels)
            return {"n_genes": s["n_genes"], "mean": s["mean"], "panels": s["panels"]}

        names = sorted({n for r in ran.values() for n in r.get("baselines", {})})
        model = headline(lambda r: r.get("evo2_panel"))
        return {
            "main_score": "aa_recovery",
            "variant": self.variant,
            "datasets": sorted(ran),
            "evo2_panel": model,
            "mean_aa_recovery": model["mean"],
            "complete_panel": model["n_genes"] == sum(len(evo2_panel(p)) for p in PANELS) if ran else False,
            "dataset_genes": {
                d: r["dataset_genes"]["mean"]
                for d, r in per_dataset.items()
                if isinstance(r, dict) and "mean" in (r.get("dataset_genes") or {})
            },
            "baselines": {
                n: headline(lambda r, n=n: r.get("baselines", {}).get(n, {}).get("evo2_panel")) for n in names
            },
            "published": published(),
            "skipped": sorted(d for d, r in per_dataset.items() if isinstance(r, dict) and "skipped" in r),
        }


@register_task
class GeneCompletion(_GeneCompletion):
    variant = "causal"
    make_generate = staticmethod(_causal)
    metadata = TaskMetadata(
        name="gene_completion",
        description="Evo 2's gene completion: prompt with the start of a gene (prokaryotes: 1 kb upstream + "
        "30% of the CDS; eukaryotes: 30% of the genomic window), sample the rest left to right (T 0.7 / 1.0, "
        "top_k 4, 50 generations), translate (eukaryotes: exonerate splicing) and score % amino-acid "
        "recovery beyond the prompt; Evo 2 panel (12 genes, published figures beside) + annotated genes.",
        category="imputation",
        protocol=None,
        main_score="aa_recovery",
        higher_is_better=True,
        default_datasets=KINGDOMS,
        reference="Brixi et al., Genome modelling and design across all domains of life with Evo 2, Nature 2026",
    )


@register_task
class GeneCompletionInfill(_GeneCompletion):
    variant = "infill"
    make_generate = staticmethod(_infill)
    metadata = TaskMetadata(
        name="gene_completion_infill",
        description="Gene completion for models that cannot generate left to right (masked LMs): the same "
        "prompts, genes, sampling and score, but the continuation is filled iteratively (20 steps, most "
        "confident sites first, sampled). Not comparable with gene_completion or Evo 2's figures.",
        category="imputation",
        protocol=None,
        main_score="aa_recovery",
        higher_is_better=True,
        default_datasets=KINGDOMS,
    )
