"""Dockerfile and .dockerignore: a builder stage, a slim image run as hudoor, a clean context."""

from __future__ import annotations

import fnmatch
import re
import tomllib

import pytest

from tests.deployment.spec import (
    HUDOOR,
    ROOT,
    SERVICES,
    argv_of,
    dockerfile_cmd,
    dockerfile_stages,
)


def test_image_is_built_in_a_builder_stage_and_runs_from_python_slim():
    builder, *_, final = dockerfile_stages()
    builder_name = builder[0][1].split()[-1]
    assert re.search(r"\bAS\s+\w+$", builder[0][1], re.IGNORECASE)
    assert any(kind == "RUN" and "pip install ." in args for kind, args in builder)
    assert final[0][1].startswith("python:3.11-slim")
    assert ("COPY", f"--from={builder_name} /opt/venv /opt/venv") in final


def test_image_runs_as_hudoor_with_its_state_directory_on_the_compose_volume():
    final = dockerfile_stages()[-1]
    assert ("USER", "hudoor") in final
    assert ("WORKDIR", "/app") in final
    assert ("EXPOSE", "8000") in final
    env = " ".join(args for kind, args in final if kind == "ENV")
    var_dir = re.search(r"HUDOOR_VAR_DIR=(\S+)", env)[1]
    owned = re.compile(rf"-o hudoor\b.*\s{re.escape(var_dir)}\b")
    assert any(kind == "RUN" and owned.search(args) for kind, args in final)
    for service in HUDOOR:
        assert SERVICES[service]["environment"]["HUDOOR_VAR_DIR"] == var_dir
        assert any(v.endswith(f":{var_dir}") for v in SERVICES[service]["volumes"])


def test_image_serves_registration_by_default():
    assert dockerfile_cmd() == argv_of(SERVICES["registration"]["command"])


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().lstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def _excluded_from_build_context(path: str) -> bool:
    """Whether .dockerignore keeps `path` (or a folder holding it) out of the build context."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in _dockerignore_patterns():
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!")
        for candidate in candidates:
            names = candidate.split("/")
            if pattern.startswith("**/"):
                tails = ["/".join(names[i:]) for i in range(len(names))]
                hit = any(fnmatch.fnmatchcase(tail, pattern[3:]) for tail in tails)
            else:
                hit = fnmatch.fnmatchcase(candidate, pattern)
            if hit:
                excluded = not negated
    return excluded


def test_builder_copies_everything_pip_install_needs_and_dockerignore_keeps_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {project["project"]["readme"], "pyproject.toml"}
    needed |= {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    builder = dockerfile_stages()[0]
    copied = set()
    for kind, args in builder:
        if kind == "COPY" and not args.startswith("--from"):
            copied |= {source.rstrip("/") for source in args.split()[:-1]}
    assert needed <= copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _excluded_from_build_context(source), f".dockerignore drops {source}"


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv",
        "var",
        ".git",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "services/registration/__pycache__/app.cpython-311.pyc",
        "tests",
    ],
)
def test_dockerignore_keeps_secrets_local_state_and_caches_out_of_the_build(path):
    assert _excluded_from_build_context(path)
