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


def test_every_dataset_a_task_module_defines_is_registered_in_pyproject():
    """A task's datasets reach it only through the ``harness.datasets`` entry points, as a plugin's do: every
    ``DatasetInfo`` a task's data package defines must be listed there under ``<task>.<name>``, and nothing else."""
    import importlib
    import pkgutil

    from harness.task import DatasetInfo, registered_datasets

    for task in ("translation", "forecasting", "captioning"):
        package = importlib.import_module(f"harness_tasks.{task}.data")
        defined = {}
        for module in pkgutil.iter_modules(package.__path__):
            for value in vars(importlib.import_module(f"{package.__name__}.{module.name}")).values():
                if isinstance(value, DatasetInfo):
                    defined[value.name] = value
        registered = registered_datasets(task)
        assert defined and registered.keys() == defined.keys(), task
        assert all(registered[name] is info for name, info in defined.items())
