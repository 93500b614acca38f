"""Which published findings a benchmark can be set beside: its task, model family, factor and levels."""

from harness.report.findings import FINDINGS, applicable


def test_a_finding_needs_its_task_family_factor_and_two_of_its_levels():
    levels = {"attention": {"dot", "general", "additive"}, "schedule": {"constant", "warmup_cosine"}}
    found = {f.source.split(",")[0]: present for f, present in applicable("translation", {"rnn"}, ["attention", "schedule"],
                                                                           levels)}
    assert found == {"Luong et al. 2015": ["dot", "general"], "Britz et al. 2017": ["additive", "dot", "general"]}
    assert applicable("translation", {"rnn"}, ["schedule"], levels) == []  # the warmup finding is about Transformers
    assert applicable("translation", {"transformer"}, ["schedule"], {"schedule": {"constant"}}) == []  # one level
    assert [f.factor for f, _ in applicable("translation", {"transformer"}, ["schedule"], levels)] == ["schedule"]
    # a Transformer forecaster is not the NMT Transformer the warmup papers studied
    assert applicable("forecasting", {"transformer_forecaster"}, ["schedule"], levels) == []


def test_every_finding_compares_levels_cites_a_source_and_states_its_setting():
    for finding in FINDINGS:
        assert len(finding.levels) >= 2 and finding.claim and any(ch.isdigit() for ch in finding.source)
        assert finding.families and finding.setting
