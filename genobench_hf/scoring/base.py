"""The contract between tasks and scorers, as the scorers import it (defined in :mod:`genobench_hf.contract`).

A task turns datasets into :class:`ScoreRequest` objects; a scorer turns each request into
:class:`SiteScores` (a probability over A, C, G, T per hidden site). Every model kind (masked LM, causal
LM, Markov chain) implements :class:`Scorer`, so the tasks and metrics never branch on the model kind.
"""

from genobench_hf.contract import (  # noqa: F401  (re-exported)
    BASE_INDEX,
    BASES,
    PROTOCOLS,
    Protocol_,
    Scorer,
    ScoreRequest,
    SiteScores,
    normalise_log_scores,
)
