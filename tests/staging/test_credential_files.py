"""Files holding credentials are owner-only (0600) whatever the umask, also when an older,
wider file was there: the staging state (admin token), user pools (every password) written by
generation and by a OneRoster import, RosarioSIS's database credentials."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_data.district import generate
from fake_data.export_oneroster import write_oneroster
from fake_data.profile import load_profile
from sis.rosariosis import control as rosario
from sis.rosariosis.layout import Layout
from staging import control
from staging.oneroster_import import read_oneroster, write_import_userpool


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the common default: new files 0644
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_staging_state_is_owner_only(tmp_path: Path, open_umask: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    control.STATE_DIR.mkdir()
    control.STATE_FILE.write_text("{}")
    control.STATE_FILE.chmod(0o644)  # left by an older version
    control.save_state(control.StagingState("http://127.0.0.1:1", 1, "dbname=x", None,
                                            "the-admin-token", "log"))
    assert _mode(control.STATE_FILE) == 0o600
    assert control.load_state().admin_token == "the-admin-token"  # type: ignore[union-attr]


def test_an_imported_user_pool_is_owner_only(tmp_path: Path, open_umask: None) -> None:
    tiny = generate(load_profile("small"), 0.01, 5)
    imported = read_oneroster(write_oneroster(tiny, tmp_path / "tiny.zip", "1.2"), 3)
    pool = tmp_path / "pool"
    counts = write_import_userpool(imported, pool)
    assert counts and _mode(pool) == 0o700
    files = sorted(pool.iterdir())
    assert {f.name for f in files} >= {f"{p}.arrow" for p in counts} | {"manifest.json"}
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_rosariosis_credentials_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    layout = Layout(tmp_path)
    wide = tmp_path / rosario.CREDENTIALS
    wide.write_text("{}")
    wide.chmod(0o644)
    rosario._save_credentials(layout, {"password": "s3cret"})
    assert _mode(wide) == 0o600 and rosario._credentials(layout) == {"password": "s3cret"}
