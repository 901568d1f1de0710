"""Load goes only to loopback or to declared staging hosts, refused before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.locust_run import run_locust

from loadtests.targets_allowed import TargetRefused, check_target


@pytest.mark.parametrize("url", ["http://127.0.0.1:8700", "http://localhost:1", "http://[::1]:80",
                                 "https://127.5.6.7/", "http://LOCALHOST:8080/sis"])
def test_loopback_is_always_allowed(url: str) -> None:
    assert check_target(url, [])


@pytest.mark.parametrize(("url", "hosts"), [
    ("https://staging.sis.example.org", ["staging.sis.example.org"]),
    ("https://a.staging.example.org:8443/x", [" .staging.example.org "]),
    ("https://staging.example.org", ["other.example.org", ".staging.example.org"]),
])
def test_declared_staging_hosts_are_allowed(url: str, hosts: list[str]) -> None:
    assert check_target(url, hosts)


@pytest.mark.parametrize(("url", "hosts", "message"), [
    ("https://sis.example.org", [], "refusing to send load to 'sis.example.org'"),
    ("https://evilstaging.example.org", [".staging.example.org"], "refusing"),
    ("https://staging.example.org.attacker.test", ["staging.example.org"], "refusing"),
    ("http://10.0.0.5:8700", ["10.0.0.6"], "refusing to send load to '10.0.0.5'"),
    ("ftp://127.0.0.1/", [], "is not an http(s) URL"),
    ("127.0.0.1:8700", [], "is not an http(s) URL"),
    (None, [], "no target"),
])
def test_anything_else_is_refused(url: str | None, hosts: list[str], message: str) -> None:
    with pytest.raises(TargetRefused) as err:
        check_target(url, hosts)
    assert message in str(err.value)


def test_locust_refuses_a_production_host_before_any_request(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_locust("https://sis.district.example.org", out, "--userpool", str(out.parent),
                        "--target-paths", "ping", "--rate", "visitor=10", "--duration", "5",
                        timeout=60)
    assert result.returncode == 2
    assert "refusing to send load to 'sis.district.example.org'" in result.output
    assert "--staging-hosts sis.district.example.org" in result.output
    assert "Traceback" not in result.output and not out.exists()
