"""Which published findings a benchmark's factors and levels can be set beside."""

from harness.report.findings import FINDINGS, applicable


def test_a_finding_needs_its_factor_and_two_of_its_levels():
    levels = {"attention": {"dot", "general", "additive"}, "schedule": {"constant"}}
    found = {f.source.split(",")[0]: present for f, present in applicable(["attention", "schedule"], levels)}
    assert found == {"Luong et al. 2015": ["dot", "general"], "Britz et al. 2017": ["additive", "dot", "general"]}
    assert applicable(["schedule"], levels) == []  # one schedule level only
    assert applicable(["model"], {"model": {"dlinear", "rnn"}}) == []


def test_every_finding_compares_levels_and_cites_a_source():
    for finding in FINDINGS:
        assert len(finding.levels) >= 2 and finding.claim and any(ch.isdigit() for ch in finding.source)
