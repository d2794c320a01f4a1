"""Each service's WSGI entry point freezes its startup heap, so full GC passes skip it."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

import pytest

from shared.web import freeze_startup_heap

ROOT = Path(__file__).resolve().parents[2]


def test_freezing_moves_live_objects_out_of_the_collected_generations():
    kept = [{"n": n} for n in range(1000)]
    freeze_startup_heap()
    try:
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("service", ["registration", "checkin", "notifications"])
def test_the_wsgi_module_freezes_right_after_building_the_app(service):
    body = ast.parse((ROOT / "services" / service / "wsgi.py").read_text()).body
    calls = [ast.unparse(node.value) for node in body if isinstance(node, ast.Expr | ast.Assign)]
    assert calls[-2:] == ["create_app()", "freeze_startup_heap()"]
