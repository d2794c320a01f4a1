"""deploy/nginx.conf: each prefix to its service, headers passed, names resolved at request time."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

from tests.deployment.processes import NO_NGINX
from tests.deployment.spec import (
    NGINX_CONF,
    PREFIXES,
    gunicorn_port,
    healthcheck_argv,
    nginx_config_for_loopback,
    nginx_locations,
    nginx_without_comments,
    script_name,
)


def _proxy_target(body: str) -> str:
    """A location's proxy_pass target, with `set` variables resolved."""
    variables = dict(re.findall(r"set\s+\$(\w+)\s+(\S+);", body))
    target = re.search(r"proxy_pass\s+(\S+);", body)[1]
    return variables[target[1:]] if target.startswith("$") else target


@pytest.mark.parametrize("prefix, service", PREFIXES.items())
def test_proxy_sends_each_prefix_to_its_service_with_the_path_unchanged(prefix, service):
    body = nginx_locations()[prefix]
    target = urlsplit(_proxy_target(body))
    assert (target.hostname, target.port) == (service, gunicorn_port(service))
    # No URI part and no rewrite: the upstream sees /checkin/..., and its gunicorn strips the
    # prefix it knows from its SCRIPT_NAME environment variable.
    assert target.path == "" and "rewrite" not in body
    assert script_name(service) == prefix.rstrip("/")


def test_proxy_resolves_service_names_through_docker_dns_at_request_time():
    assert re.search(r"resolver\s+127\.0\.0\.11\b", NGINX_CONF)
    for prefix in PREFIXES:
        assert re.search(r"proxy_pass\s+\$", nginx_locations()[prefix]), prefix


def test_proxy_passes_client_address_scheme_host_and_a_request_id():
    server_level = nginx_without_comments()
    for header, value in (
        ("Host", "$http_host"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        ("X-Forwarded-Proto", "$scheme"),
        ("X-Request-ID", "$request_id"),
    ):
        assert re.search(rf"proxy_set_header\s+{header}\s+\{value};", server_level), header
    # A location with a proxy_set_header of its own would inherit none of the server's.
    assert not any("proxy_set_header" in body for body in nginx_locations().values())


def test_proxy_healthcheck_asks_nginx_for_a_location_it_answers_itself():
    argv = healthcheck_argv("proxy")
    path = urlsplit(next(a for a in argv if a.startswith("http://"))).path
    assert "return 200" in nginx_locations()["= " + path]


@pytest.mark.skipif(shutil.which("nginx") is None, reason=NO_NGINX)
def test_nginx_accepts_the_config(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config_for_loopback({}), encoding="utf-8")
    result = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
