"""Import rules: services never import each other; only entry points build apps."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("registration", "checkin", "notifications")
ENTRY_POINTS = {"wsgi.py", "worker.py"}


def _imports(path: Path) -> set[str]:
    """Every module name a file imports, absolute."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _python_files(folder: Path):
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_another_service(service):
    others = [f"services.{name}" for name in SERVICES if name != service]
    for path in _python_files(ROOT / "services" / service):
        bad = [n for n in _imports(path) if any(n == o or n.startswith(o + ".") for o in others)]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_shared_never_imports_a_service():
    for path in _python_files(ROOT / "shared"):
        bad = [n for n in _imports(path) if n.startswith("services")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_and_tasks_stay_free_of_flask_and_app(service):
    folder = ROOT / "services" / service
    for name, banned in (
        ("domain.py", ("flask", "celery", "sqlalchemy")),
        ("tasks.py", (f"services.{service}.app", f"services.{service}.wsgi")),
    ):
        path = folder / name
        if path.exists():
            bad = [n for n in _imports(path) if n.startswith(banned)]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_entry_points_build_apps():
    for path in _python_files(ROOT / "services") + _python_files(ROOT / "shared"):
        if path.name in ENTRY_POINTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_level_calls = [
            node.value.func.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in {"create_app", "create_celery"}
        ]
        assert not module_level_calls, f"{path.relative_to(ROOT)} builds an app at import"


def test_no_grab_bag_modules():
    names = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    assert not names & {"utils.py", "helpers.py", "misc.py", "common.py"}


@pytest.mark.parametrize("folder", ["services", "shared", "runner"])
def test_modules_stay_under_400_lines(folder):
    for path in _python_files(ROOT / folder):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines"
