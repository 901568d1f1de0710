"""The user pool for RosarioSIS: who each persona logs in as, with RosarioSIS's own ids.

Written like the district's user pool (``fake_data.userpool``): one Arrow IPC file per persona
and a ``manifest.json``, so the engine's ``--userpool`` reads it the same way. The identities,
passwords and forbidden ids are the district pool's (same seed, same people); every id is
translated to the id RosarioSIS stores. The folder is owner-only (0700, files 0600): the
passwords are synthetic, but they open a running SIS.

Personas and columns (besides ``username`` and ``password``):

- ``teacher``: ``staff_id``, ``school_id``, ``course_periods`` (theirs), ``students`` (in their
  classes), ``forbidden_course_periods`` (a colleague's), ``forbidden_students`` (outside their
  classes, same school first); only teachers with a class whose term has begun, and those
  classes first in ``course_periods`` (summer school's classes have no students before the
  summer: the target file's teacher opens ``course_periods.0``);
- ``parent``: ``staff_id``, ``children`` (student ids they are linked to),
  ``forbidden_students`` (their children without portal access first, then another family's);
- ``student``: ``student_id``, ``school_id``, ``course_periods``, ``forbidden_students``
  (another family's);
- ``admin``: ``staff_id`` (district administrators: every school);
- ``inactive``: ``kind`` (``terminated_staff`` or ``unactivated_parent``) and ``staff_id``:
  accounts RosarioSIS must refuse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data.district import SYNTHETIC_NOTE, District
from fake_data.export_parquet import stamp, synthetic_metadata
from fake_data.userpool import build_userpool
from sis.rosariosis.ids import Seeded

PERSONAS = ("teacher", "parent", "student", "admin", "inactive")


def _map(values: pa.Array | pa.ChunkedArray, ids: np.ndarray) -> pa.Array:
    """District ids -> RosarioSIS ids through `ids` (indexed by district id - 1)."""
    raw = values.to_numpy(zero_copy_only=False) if isinstance(values, pa.Array) else \
        values.combine_chunks().to_numpy(zero_copy_only=False)
    return pa.array(ids[raw.astype(np.int64) - 1].astype(np.int32))


def _map_lists(lists: pa.ListArray | pa.ChunkedArray, ids: np.ndarray) -> pa.ListArray:
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = pc.list_flatten(lists)
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), _map(flat, ids))


def _any_begun(lists: pa.ListArray | pa.ChunkedArray, begun: np.ndarray) -> pa.Array:
    """Per row: does any of its district section ids have a begun term?"""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64) - 1
    rows = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    keep = np.zeros(len(lists), bool)
    keep[rows[begun[flat]]] = True
    return pa.array(keep)


def _begun_first(lists: pa.ListArray | pa.ChunkedArray, begun: np.ndarray) -> pa.ListArray:
    """Each row's section ids, those of a begun term first (else in their order)."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    order = np.lexsort((np.arange(len(flat)), ~begun[flat - 1], rows))
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets),
                                    pa.array(flat[order], lists.type.value_type))


def build(district: District, seeded: Seeded) -> dict[str, pa.Table]:
    pool = build_userpool(district)
    students, sections = seeded.student_ids, seeded.course_period_ids
    staff, schools = seeded.staff_ids, seeded.school_ids
    guardians = seeded.guardian_staff_ids[1:]  # indexed by guardian id - 1
    t, s, g = pool["teacher"], pool["student"], pool["guardian"]
    t = t.filter(_any_begun(t["sections"], seeded.course_period_begun))
    t = t.set_column(t.schema.get_field_index("sections"), "sections",
                     _begun_first(t["sections"], seeded.course_period_begun))
    login = ("username", "password")
    gone, new = pool["terminated_staff"], pool["guardian_unregistered"]
    return {
        "teacher": pa.table({
            **{c: t[c] for c in login},
            "staff_id": _map(t["staff_id"], staff), "school_id": _map(t["school_id"], schools),
            "course_periods": _map_lists(t["sections"], sections),
            "students": _map_lists(t["students"], students),
            "forbidden_course_periods": _map_lists(t["forbidden_sections"], sections),
            "forbidden_students": _map_lists(t["forbidden_students"], students),
        }),
        "parent": pa.table({
            **{c: g[c] for c in login},
            "staff_id": _map(g["guardian_id"], guardians),
            "children": _map_lists(g["children"], students),
            "forbidden_students": _map_lists(g["forbidden_students"], students),
        }),
        "student": pa.table({
            **{c: s[c] for c in login},
            "student_id": _map(s["student_id"], students),
            "school_id": _map(s["school_id"], schools),
            "course_periods": _map_lists(s["sections"], sections),
            "forbidden_students": _map_lists(s["forbidden_students"], students),
        }),
        "admin": pa.table({
            **{c: pool["district_admin"][c] for c in login},
            "staff_id": _map(pool["district_admin"]["staff_id"], staff),
        }),
        "inactive": pa.concat_tables([
            pa.table({**{c: gone[c] for c in login},
                      "kind": pa.array(["terminated_staff"] * gone.num_rows),
                      "staff_id": _map(gone["staff_id"], staff)}),
            pa.table({**{c: new[c] for c in login},
                      "kind": pa.array(["unactivated_parent"] * new.num_rows),
                      "staff_id": _map(new["guardian_id"], guardians)}),
        ]),
    }


def write(district: District, seeded: Seeded, folder: Path, url: str) -> dict[str, int]:
    """Write one ``<persona>.arrow`` per persona and ``manifest.json``, owner-only."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    meta = synthetic_metadata(district.profile.name, district.scale, district.seed)
    meta[b"firstbell.sis"] = b"rosariosis"
    counts = {}
    for persona, table in build(district, seeded).items():
        table = table.replace_schema_metadata(stamp(table.schema, meta).metadata)
        with _private(folder / f"{persona}.arrow") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        counts[persona] = table.num_rows
    manifest = {"synthetic": True, "note": SYNTHETIC_NOTE, "sis": "rosariosis", "url": url,
                "profile": district.profile.name, "scale": district.scale, "seed": district.seed,
                "syear": seeded.syear, "identities": counts}
    with _private(folder / "manifest.json") as out:
        out.write((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return counts


def restamp(folder: Path, url: str) -> None:
    """The manifest's URL, when a reused install is served on another port."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["url"] = url
    with _private(folder / "manifest.json") as out:
        out.write((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def _private(path: Path) -> BinaryIO:
    """A binary file created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")
