"""How the project installs: every package folder is listed, and the task plugins install as ``harness_tasks``."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO_ROOT, harness_cli


def test_pyproject_lists_every_package_folder():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {"harness_tasks": "tasks"}
    found = {".".join(p.parent.relative_to(REPO_ROOT).parts) for p in REPO_ROOT.glob("harness/**/__init__.py")}
    found |= {".".join(("harness_tasks", *p.parent.relative_to(REPO_ROOT / "tasks").parts))
              for p in (REPO_ROOT / "tasks").glob("**/__init__.py")}
    assert sorted(config["packages"]) == sorted(found)


def test_a_projects_own_tasks_module_does_not_shadow_the_task_plugins(tmp_path):
    """A folder with its own ``tasks.py`` (as invoke uses) is the working directory, hence first on ``sys.path``."""
    (tmp_path / "tasks.py").write_text("raise SystemExit('the project tasks.py was imported')\n")
    proc = harness_cli("list", "tasks", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {"captioning", "forecasting", "translation"} <= set(proc.stdout.split())
