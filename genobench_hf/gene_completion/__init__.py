"""Gene completion on the Evo 2 protocol: the shipped panel (``data/``), prompts and predicted proteins
(:mod:`.panel`), and exonerate splicing (:mod:`.splice`). The task is ``genobench_hf.tasks.gene_completion``;
the score formula is ``genobench_hf.metrics.gene_completion``."""
