"""Registries: lazy entries, decorators, wildcard listing, did-you-mean errors; listing imports no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.errors import UnknownNameError
from harness.registry import TASKS, Registry
from tests.conftest import REPO_ROOT


def test_register_decorator_and_lazy_string():
    reg: Registry = Registry("widget")

    @reg.register("square", summary="four sides")
    def square(x):
        return x * x

    reg.register("join", "os.path:join")
    assert reg.get("square")(3) == 9
    assert reg.get("join")("a", "b") == "a/b"
    assert reg.names() == ["square", "join"]
    assert reg.names("sq*") == ["square"]
    assert reg.summary("square") == "four sides"
    assert reg.summary("join").startswith("Join two or more pathname components")
    with pytest.raises(ValueError, match="widget 'square' is already registered"):
        reg.register("square", "os:getcwd")


def test_unknown_name_suggests_close_matches():
    reg: Registry = Registry("widget")
    reg.register("additive", "os:getcwd")
    reg.register("general", "os:getcwd")
    with pytest.raises(UnknownNameError) as info:
        reg.get("additve")
    assert str(info.value) == "unknown widget 'additve' (did you mean 'additive'?); accepted: additive, general"
    with pytest.raises(UnknownNameError, match="unknown widget 'zzz'; accepted: additive, general"):
        reg.check("zzz")


def test_tasks_come_from_entry_points():
    assert "translation" in TASKS.names()
    assert TASKS.get("translation").__module__ == "harness_tasks.translation.task"


def test_listing_and_validating_specs_import_no_torch():
    code = ("import sys; from harness import api; api.catalogue(); "
            "from harness.spec import load_spec; load_spec('studies/quickstart.toml'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
