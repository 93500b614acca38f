"""Published findings about attention types and learning-rate schedules, set beside a benchmark's results.

Each finding names the factor it is about and the levels it compares; the benchmark report shows, for every
finding whose factor is one of the benchmark's factors and whose levels include at least two of its arms'
values, what this benchmark measured for those levels (pooled test scores, best level, Holm-corrected
one-sided Mann-Whitney tests against it). The findings are quoted from the papers, not rerun.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """A published claim comparing levels of one factor."""

    factor: str
    levels: tuple[str, ...]
    claim: str
    source: str


FINDINGS: tuple[Finding, ...] = (
    Finding("attention", ("dot", "general", "location"),
            "dot and general attention score close to each other; location-based attention is worse",
            "Luong et al. 2015, Effective Approaches to Attention-based NMT (WMT'14 en-de)"),
    Finding("attention", ("additive", "dot", "general"),
            "additive attention is at least as good as multiplicative attention; unscaled multiplicative attention "
            "degrades at large dimensions",
            "Britz et al. 2017, Massive Exploration of Neural Machine Translation Architectures"),
    Finding("schedule", ("constant", "cosine", "warmup_cosine", "inverse_sqrt"),
            "a learning-rate warmup is decisive for Transformers trained with Adam (without it training is unstable "
            "or converges to worse models)",
            "Vaswani et al. 2017; Popel & Bojar 2018; Liu et al. 2020 (On the Variance of the Adaptive Learning Rate)"),
)


def applicable(factors: list[str], levels_present: dict[str, set[str]]) -> list[tuple[Finding, list[str]]]:
    """The findings about one of ``factors`` with at least two of their levels among ``levels_present[factor]``,
    each with those levels (in the finding's order)."""
    out = []
    for finding in FINDINGS:
        present = [level for level in finding.levels if level in levels_present.get(finding.factor, set())]
        if finding.factor in factors and len(present) >= 2:
            out.append((finding, present))
    return out
