"""Devices and precision: spec values, refusals, every model family trained and evaluated on the CPU in fp32 and
bf16 autocast, and no tensor created by the project's code on an implicit device (every factory call without a
``device`` argument is traced back to the line that made it)."""

from __future__ import annotations

import inspect
import math
import os
import sqlite3
from pathlib import Path

import optuna
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors

from harness.device import DeviceError, Placement, placement, resolve_device, resolve_precision, to_device
from harness.errors import SpecError
from harness.spec import build_space, parse_spec, resolve_threads
from harness.study import load_data, resolve_data_dir
from harness.training import fit, seeded_model
from tests.conftest import REPO_ROOT, harness_cli, write_tiny_spec

NO_CUDA = not torch.cuda.is_available()

TINY = {
    "translation": {"name": "numbers-en-de", "train_size": 48, "valid_size": 8, "test_size": 8, "vocab_size": 40,
                    "max_number": 999},
    "forecasting": {"name": "vega-temps", "features": "M", "lookback": 24, "horizon": 6},
    "captioning": {"name": "digits", "train_size": 40, "valid_size": 8, "test_size": 8, "min_count": 1},
}
FAMILIES = [("translation", "rnn"), ("translation", "transformer"), ("forecasting", "rnn_forecaster"),
            ("forecasting", "transformer_forecaster"), ("forecasting", "attention_pooling"), ("forecasting", "dlinear"),
            ("captioning", "show_attend_tell"), ("captioning", "caption_transformer")]
SMALL = {"translation": {"hidden_size": 16, "embedding_size": 8, "heads": 2, "transformer_layers": 1},
         "forecasting": {"hidden_size": 16, "heads": 2, "transformer_layers": 1, "patch_len": 8},
         "captioning": {"hidden_size": 16, "embedding_size": 8, "heads": 2, "transformer_layers": 1, "encoder_width": 8}}


def tiny_spec(task: str, family: str, **budget):
    return parse_spec({
        "study": {"name": f"dev-{family}", "task": task, "n_trials": 1},
        "dataset": TINY[task],
        "budget": {"max_epochs": 1, "max_train_examples": 48, "threads": 1, **budget},
        "search": {"model": family, "schedule": "constant", "lr": 1e-3, "batch_size": 16, **SMALL[task]},
    }, source="test")


def config_of(spec) -> dict:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return build_space(spec).suggest(study.ask())


def train_and_evaluate(spec):
    task, data = load_data(spec, resolve_data_dir(None))
    config = config_of(spec)
    place = spec.to_placement()
    model = seeded_model(task, config, data, 0)
    result = fit(task, model, data, config, spec.to_budget(), metric=spec.metric, direction=spec.direction, seed=0,
                 placement=place, keep_best_state=True)
    with place.autocast():
        metrics, _ = task.evaluate_outputs(model, data, "test")
        examples = task.examples(model, data)
    return result, metrics, examples


# -- spec values --------------------------------------------------------------------------------------------
def test_budget_defaults_are_auto_device_and_fp32():
    spec = tiny_spec("translation", "rnn")
    assert (spec.budget.device, spec.budget.precision, spec.budget.compile) == ("auto", "fp32", False)


@pytest.mark.parametrize("value,hint", [("cuda1", "did you mean 'cuda'"), ("gpu", "accepted: auto, cpu, cuda, cuda:N, mps"),
                                        ("CPU", "did you mean 'cpu'")])
def test_bad_device_names_are_refused_with_the_accepted_forms(value, hint):
    with pytest.raises(SpecError) as info:
        tiny_spec("translation", "rnn", device=value)
    message = str(info.value)
    assert "[budget] device" in message and hint in message and repr(value) in message and "\n" not in message


def test_device_and_compile_are_run_control_and_fp32_is_not_part_of_the_identity():
    base = tiny_spec("translation", "rnn")
    assert tiny_spec("translation", "rnn", device="cpu", compile=True).identity() == base.identity()
    assert "precision" not in base.identity()["budget"]
    assert tiny_spec("translation", "rnn", precision="bf16").identity()["budget"]["precision"] == "bf16"


def test_command_line_device_reaches_every_benchmark_problem():
    spec = parse_spec({
        "study": {"name": "b", "task": "translation"}, "dataset": TINY["translation"],
        "budget": {"max_epochs": 1, "device": "cpu"}, "search": {"model": "rnn", "attention": ["dot", "general"]},
        "benchmark": {"factors": ["attention"], "inner_trials": 1, "seeds": 1,
                      "problems": [{"name": "p2", "dataset": TINY["translation"], "budget": {"max_epochs": 2}}]},
    }, source="test")
    assert spec.benchmark.problems[0].budget.device == "cpu"  # inherited: the problem's budget does not set it
    moved = spec.with_overrides(device="auto", precision="bf16")
    assert [(p.budget.device, p.budget.precision) for p in moved.benchmark.problems] == [("auto", "bf16")]
    # a benchmark stored before devices existed resumes: its problems' budgets never held these keys
    assert spec.identity()["benchmark"]["problems"][0]["budget"] == {
        "max_epochs": 2, "max_train_examples": None, "max_valid_examples": None, "threads": None}
    assert moved.identity()["benchmark"]["problems"][0]["budget"]["precision"] == "bf16"


# -- what a device can do -----------------------------------------------------------------------------------
def test_auto_is_the_cpu_without_cuda_and_cpu_precisions():
    if NO_CUDA:
        assert resolve_device("auto") == torch.device("cpu")
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(DeviceError, match="fp16 .* for GPUs; on the CPU use bf16 or fp32"):
        resolve_precision("fp16", cpu)


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceError, match="sees no CUDA GPU"):
        resolve_device("cuda:1")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_mps_without_mps_is_a_clear_error():
    with pytest.raises(DeviceError, match="MPS backend is not available"):
        resolve_device("mps")


def test_to_device_moves_nested_batches_and_keeps_other_values():
    batch = ({"x": torch.ones(2)}, [torch.zeros(1), 3], "text")
    moved = to_device(batch, torch.device("cpu"))
    assert moved[0]["x"].device.type == "cpu" and moved[1][1] == 3 and moved[2] == "text"


def test_bf16_autocast_runs_the_forward_pass_in_bf16_on_the_cpu():
    place = placement("cpu", "bf16")
    linear = torch.nn.Linear(4, 4)
    with place.autocast():
        assert linear(torch.ones(2, 4, device="cpu")).dtype == torch.bfloat16
    assert not place.grad_scaler().is_enabled() and Placement().describe()["precision"] == "fp32"


# -- every model family on the CPU ---------------------------------------------------------------------------
@pytest.mark.parametrize("task,family", FAMILIES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_every_family_trains_and_evaluates_on_the_cpu(task, family, precision):
    result, metrics, _ = train_and_evaluate(tiny_spec(task, family, device="cpu", precision=precision))
    assert result.stopped is None and math.isfinite(result.history[0]["train_loss"])
    assert all(math.isfinite(v) for k, v in metrics.items() if v is not None), metrics
    assert all(t.device.type == "cpu" and t.dtype != torch.bfloat16 for t in result.best_state.values()
               if t.is_floating_point())  # weights stay fp32 under autocast


class ImplicitDevices(TorchFunctionMode):
    """Records every tensor factory call (``torch.zeros``, ``full``, ``tensor``, ``randperm``, ...) made directly by the
    project's code (harness/, tasks/) without a ``device`` argument: such a tensor lands on whatever the default device
    is, not where the model or the data lives. Calls made inside PyTorch (the DataLoader's seed, layers) are not ours."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _device_constructors() and kwargs.get("device") is None:
            caller = inspect.currentframe().f_back
            path = Path(caller.f_code.co_filename).resolve()
            if any(path.is_relative_to(REPO_ROOT / part) for part in ("harness", "tasks")):
                self.found.append(f"{path.relative_to(REPO_ROOT)}:{caller.f_lineno} {func.__name__}")
        return func(*args, **kwargs)


@pytest.mark.parametrize("task,family", FAMILIES)
def test_no_tensor_is_created_on_an_implicit_device(task, family):
    spec = tiny_spec(task, family, device="cpu")
    task_obj, data = load_data(spec, resolve_data_dir(None))
    config = config_of(spec)
    model = seeded_model(task_obj, config, data, 0)  # parameters are made by nn layers on the default device
    with ImplicitDevices() as mode:
        result = fit(task_obj, model, data, config, spec.to_budget(), metric=spec.metric, direction=spec.direction,
                     seed=0, placement=spec.to_placement())
        _, outputs = task_obj.evaluate_outputs(model, data, "test")
        task_obj.examples(model, data)
    assert result.history and outputs
    assert mode.found == []


def test_the_implicit_device_check_finds_a_factory_call_without_a_device():
    from harness_tasks.translation import task as translation

    with ImplicitDevices() as mode:
        translation.pad([[4, 5, 6]])
        exec(compile("import torch\ntorch.zeros(2)", str(REPO_ROOT / "harness" / "probe.py"), "exec"))
    assert mode.found == ["harness/probe.py:2 zeros"]


def test_fp32_results_do_not_depend_on_the_placement_object():
    spec = tiny_spec("translation", "rnn", device="cpu")
    task, data = load_data(spec, resolve_data_dir(None))
    config = config_of(spec)
    runs = [fit(task, seeded_model(task, config, data, 3), data, config, spec.to_budget(), metric="chrf",
                direction="maximize", seed=3, placement=p) for p in (None, spec.to_placement())]
    assert runs[0].history[0]["train_loss"] == runs[1].history[0]["train_loss"]
    assert runs[0].lr_per_step == runs[1].lr_per_step


# -- threads ------------------------------------------------------------------------------------------------
def test_default_threads_are_the_available_cores_divided_among_workers():
    spec = parse_spec({"study": {"name": "t", "task": "translation"}, "dataset": TINY["translation"]}, source="test")
    cores = len(os.sched_getaffinity(0))
    assert resolve_threads(spec) == cores and resolve_threads(spec, workers=cores * 2) == 1
    assert resolve_threads(tiny_spec("translation", "rnn", threads=4), workers=2) == 2


# -- the command line ---------------------------------------------------------------------------------------
@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
@pytest.mark.parametrize("args,expected", [(["--device", "cuda"], "sees no CUDA GPU"),
                                           (["--device", "cpu", "--precision", "fp16"], "not available on device 'cpu'"),
                                           (["--device", "tpu"], "accepted: auto, cpu, cuda, cuda:N, mps")])
def test_run_study_refuses_a_device_it_cannot_use_and_writes_nothing(tmp_path, args, expected):
    spec = write_tiny_spec(tmp_path)
    db = tmp_path / "s.db"
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", *args, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], proc.stderr
    assert "unexpected failure" not in proc.stderr
    assert not db.exists() or not sqlite3.connect(db).execute("select name from sqlite_master").fetchall()


def test_a_study_records_where_it_ran(tmp_path):
    spec = write_tiny_spec(tmp_path, n_trials=1)
    db = tmp_path / "s.db"
    proc = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", "--device", "cpu", "--precision", "bf16",
                       "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}")
    env = study.user_attrs["environment"]
    assert (env["device"], env["precision"], env["gpu_count"]) == ("cpu", "bf16", 0 if NO_CUDA else env["gpu_count"])
    assert env["omp_wait_policy"] and env["torch_threads_from"] and env["cpu_cores_available"] >= 1
    assert study.trials[0].user_attrs["device"]["precision"] == "bf16"
    assert study.user_attrs["test_result"]["device"]["device"] == "cpu"
    report = harness_cli("report", "tiny", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r.md"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "r.md").read_text()
    assert "| device " in text and "cpu, bf16" in text and "`harness predict tiny --input FILE`" in text


def test_the_omp_wait_policy_is_passive_unless_the_user_set_it():
    import subprocess
    import sys

    code = "import harness, os; print(os.environ['OMP_WAIT_POLICY'], harness.SET_OMP_WAIT_POLICY)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.split() == \
        ["PASSIVE", "True"]
    assert subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, capture_output=True,
                          text=True).stdout.split() == ["ACTIVE", "False"]


# -- on a GPU (skipped here) ----------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(NO_CUDA, reason="needs CUDA")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("task,family", FAMILIES)
def test_every_family_trains_and_evaluates_on_cuda(task, family, precision):
    result, metrics, _ = train_and_evaluate(tiny_spec(task, family, device="cuda", precision=precision))
    assert result.stopped is None and all(math.isfinite(v) for v in metrics.values() if v is not None)
    assert all(t.device.type == "cpu" for t in result.best_state.values())
