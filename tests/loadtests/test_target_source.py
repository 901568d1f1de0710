"""Which target a plan drives and what it needs before a request: the user-pool files (less
the vendor CSV pools a target file brings), and every host a target file may reach checked
against the same allowlist as the target."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loadtests.target_source import (
    check_hosts,
    csv_pools,
    target_file_payload,
    target_of_payload,
    userpool_files,
)
from loadtests.targets_allowed import TargetRefused

PORTAL = Path(__file__).resolve().parents[2] / "targets" / "staging-portal"


@pytest.fixture
def vendor_students(tmp_path: Path) -> Path:
    """The staging portal with its students logging in from a CSV of vendor test accounts."""
    folder = tmp_path / "portal"
    shutil.copytree(PORTAL, folder)
    student = folder / "personas" / "student.yaml"
    student.write_text("pool: {csv: accounts.csv, columns: {username: Login,"
                       " password: Secret, student_id: Id}}\n" + student.read_text())
    (folder / "accounts.csv").write_text("Login,Secret,Id\ns1,pw1,11\ns2,pw2,12\n")
    return folder


def test_csv_pools_are_not_looked_for_in_the_userpool(vendor_students: Path) -> None:
    payload = target_file_payload(vendor_students)
    target = target_of_payload(payload)
    pools = csv_pools(payload, vendor_students)
    assert [row["username"] for row in pools["student"]] == ["s1", "s2"]
    assert pools["student"][0]["student_id"] == "11"
    files = userpool_files(payload, target, ["student", "guardian"], vendor_students)
    assert "student" not in files and "guardian" in files
    # without the file on this machine, the pools are expected from --userpool
    assert "student" in userpool_files(payload, target, ["student"], None)


def test_a_built_in_target_reads_every_pool_from_the_userpool() -> None:
    payload = target_file_payload(PORTAL)
    target = target_of_payload(payload)
    assert csv_pools(None, PORTAL) == {}
    assert set(userpool_files(None, target, ["student", "guardian"], None)) >= {
        "student", "guardian"}


def test_every_host_of_a_target_file_passes_the_allowlist() -> None:
    check_hosts({"hosts": ["127.0.0.1", "http://localhost:8080"]}, [])
    check_hosts(None, [])
    with pytest.raises(TargetRefused, match=r"sis\.vendor\.example"):
        check_hosts({"hosts": ["127.0.0.1", "https://sis.vendor.example"]}, [])
    check_hosts({"hosts": ["https://sis.vendor.example"]}, ["sis.vendor.example"])


def test_plain_locust_with_a_target_file_refuses_personas_it_does_not_play() -> None:
    from argparse import Namespace

    from loadtests.options import plan_from
    from loadtests.plan import PlanError

    with pytest.raises(PlanError, match="plays no teacher"):
        plan_from(Namespace(firstbell_target_spec=str(PORTAL)))  # the default rates
    plan = plan_from(Namespace(firstbell_target_spec=str(PORTAL),
                               firstbell_rate="guardian=1,student=2", firstbell_duration=5))
    assert plan.target == "staging_portal" and set(plan.personas) == {"guardian", "student"}
    assert plan.target_file is not None and plan.target_file["name"] == "staging_portal"
