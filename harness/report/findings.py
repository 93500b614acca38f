"""Published findings about attention types and learning-rate schedules, set beside a benchmark's results.

Each finding names the task and model families it was made on, the factor it is about and the levels it
compares, and the setting of the papers. The benchmark report shows a finding only where the benchmark
has what the finding is about: the task, one of its model families among the arms' configurations, the
factor among the benchmark's factors, and at least two of its levels among the arms; beside it, what
this benchmark measured for those levels and where its setting differs. A finding that is said to depend on
another factor (``within``: warmup and the Transformer's layer-norm placement) is measured separately at each of
that factor's levels when the benchmark varies it. Findings are quoted from the papers, not rerun.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """A published claim comparing levels of one factor, for some model families of one task."""

    task: str
    families: tuple[str, ...]
    factor: str
    levels: tuple[str, ...]
    claim: str
    source: str
    setting: str
    within: tuple[str, ...] = ()
    """Factors the claim is said to depend on: where a benchmark varies one, the finding is measured at each level."""


FINDINGS: tuple[Finding, ...] = (
    Finding("translation", ("rnn",), "attention", ("dot", "general", "location"),
            "dot and general attention score close to each other; location-based attention is worse",
            "Luong et al. 2015, Effective Approaches to Attention-based NMT (WMT'14 en-de)",
            "4-layer LSTM encoder-decoder, WMT'14 English-German (4.5M pairs), 10-12 epochs"),
    Finding("translation", ("rnn",), "attention", ("additive", "dot", "general"),
            "additive attention is at least as good as multiplicative attention; unscaled multiplicative attention "
            "degrades at large dimensions",
            "Britz et al. 2017, Massive Exploration of Neural Machine Translation Architectures",
            "2-layer GRU/LSTM encoder-decoder, WMT'15 English-German, attention dimension up to 1024"),
    Finding("translation", ("transformer",), "schedule", ("constant", "cosine", "warmup_cosine", "inverse_sqrt"),
            "a learning-rate warmup is decisive for Transformers trained with Adam (without it training is unstable "
            "or converges to worse models)",
            "Vaswani et al. 2017; Popel & Bojar 2018; Liu et al. 2020 (On the Variance of the Adaptive Learning Rate)",
            "post-norm Transformers (layer norm after each residual block) on WMT-scale data; pre-norm layers "
            "train without warmup (Xiong et al. 2020)", within=("norm",)),
)


def applicable(task: str, families: set[str], factors: list[str],
               levels_present: dict[str, set[str]]) -> list[tuple[Finding, list[str]]]:
    """The findings made on ``task`` and one of ``families``, about one of ``factors``, with at least two of their
    levels among ``levels_present[factor]``; each with those levels (in the finding's order)."""
    out = []
    for finding in FINDINGS:
        if finding.task != task or not families & set(finding.families) or finding.factor not in factors:
            continue
        present = [level for level in finding.levels if level in levels_present.get(finding.factor, set())]
        if len(present) >= 2:
            out.append((finding, present))
    return out
