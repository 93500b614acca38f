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


def test_the_warmup_finding_is_measured_at_each_layer_norm_placement_a_benchmark_varies():
    """A 2 x 2 benchmark (schedule x norm): warmup is judged among the pre-norm arms and among the post-norm arms
    apart, each paired by seed over the same 5 seeds, not pooled over the placement the claim depends on."""
    from harness.report.benchmark.load import BenchmarkData, SeedRun
    from harness.report.benchmark.tables import findings_table

    # per seed: post-norm without warmup trails by 10 chrF (plus seed noise), pre-norm arms differ by noise only
    noise = [0.3, -0.2, 0.1, -0.4, 0.2]
    test = {("cosine", "pre"): [40 + n for n in noise], ("warmup_cosine", "pre"): [40.1 + n * 0.5 for n in noise],
            ("cosine", "post"): [28 + 2 * n for n in noise], ("warmup_cosine", "post"): [38 + n for n in noise]}
    arm_values, runs = {}, []
    for (schedule, norm), scores in test.items():
        label = f"schedule={schedule}, norm={norm}"
        arm_values[label] = {"schedule": schedule, "norm": norm}
        runs += [SeedRun("p", label, arm_values[label], k, "complete", v - 0.5, {"chrf": v}, [], 1.0, "transformer")
                 for k, v in enumerate(scores)]
    data = BenchmarkData("b", "sqlite://", {"task": "translation", "benchmark": {"test": "paired-t"}}, "chrf", "maximize",
                         ["schedule", "norm"], list(arm_values), arm_values, ["p"], runs)
    table = findings_table(data, "p")
    row = table[table["source"].str.startswith("Vaswani")].iloc[0]
    post, pre = row["this benchmark"].split("<br>")  # in the order of the levels' names
    assert post.startswith("norm=post: test chrf: cosine 28.00, warmup_cosine 38.00; best on validation warmup_cosine")
    assert "cosine: worse (p < 0.001)" in post
    assert pre.startswith("norm=pre: test chrf: cosine 40.00, warmup_cosine 40.10; best on validation warmup_cosine")
    assert "cosine: no significant difference" in pre
