"""Alignment time per strain and the resulting coverage/conservation, per species and minimap2 preset.

Usage: ``python benchmarks/bench_conservation.py [--corpus ../shared/genomes] [--presets asm5,asm10,asm20]
[--species "Helicobacter pylori"] [--json out.json]``. Single-threaded mappy, as the dataset builder runs it;
the numbers back the preset choice documented in genobench_hf/data/conservation.py.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from genobench_hf.data.conservation import PRESETS, conservation_track, read_genome, strains_for
from genobench_hf.data.taxonomy import load_corpus, load_strains

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "genomes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--species", action="append", help="limit to these species (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the summaries here")
    args = parser.parse_args()

    strains = load_strains(args.corpus)
    out = []
    for entry in load_corpus(args.corpus):
        mine = strains_for(entry, strains)
        if not mine or (args.species and entry.species not in args.species):
            continue
        reference = read_genome(entry.path)
        strain_seqs = {s.genome_id: read_genome(s.path) for s in mine}
        for preset in args.presets.split(","):
            t0 = time.perf_counter()
            summary = conservation_track(reference, strain_seqs, preset=preset).summary()
            summary |= {"reference": entry.genome_id, "species": entry.species,
                        "wall_seconds": round(time.perf_counter() - t0, 2)}  # fmt: skip
            out.append(summary)
            print(f"\n{entry.species} — reference {entry.genome_id}, preset {preset}: "
                  f"{summary['wall_seconds']} s for {len(mine)} strains")  # fmt: skip
            fmt = {
                k: "n/a" if v is None else f"{v:.4f}"
                for k, v in summary.items()
                if not isinstance(v, list | str)
            }
            print(f"  coverage (>=1 strain) {fmt['coverage']}, all strains {fmt['coverage_all_strains']}, "
                  f"share at 1.0 {fmt['share_conserved']} (n_aligned>=2: {fmt['share_conserved_n2']}), "
                  f"mean {fmt['mean_conservation']}")  # fmt: skip
            print(f"  n_aligned histogram {summary['n_aligned_histogram']}")
            for s in summary["per_strain"]:
                print(f"  {s['strain']:<40} {s['seconds']:>7.2f} s wall {s['cpu_seconds']:>7.2f} s cpu  hits {s['hits']:>4}  "
                      f"aligned {s['aligned_fraction']:.4f}  identity {s['identity']:.4f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
