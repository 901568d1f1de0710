"""Parquet export, the canonical output: one file per table, each stamped as synthetic.

Files carry the profile, scale and seed in their schema metadata, so any table found on its own
still says where it came from and that no real person is in it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fake_data.district import SYNTHETIC_NOTE, District

COMPRESSION = "zstd"


def synthetic_metadata(profile: str, scale: float, seed: int) -> dict[bytes, bytes]:
    return {
        b"firstbell.synthetic": b"true",
        b"firstbell.note": SYNTHETIC_NOTE.encode(),
        b"firstbell.profile": profile.encode(),
        b"firstbell.scale": repr(scale).encode(),
        b"firstbell.seed": str(seed).encode(),
    }


def stamp(schema: pa.Schema, metadata: dict[bytes, bytes]) -> pa.Schema:
    return schema.with_metadata({**(schema.metadata or {}), **metadata})


def write_table(table: pa.Table, path: Path, metadata: dict[bytes, bytes]) -> None:
    table = table.replace_schema_metadata(stamp(table.schema, metadata).metadata)
    pq.write_table(table, path, compression=COMPRESSION)


def write_parquet(district: District, folder: Path) -> list[Path]:
    """Write every table of `district` as ``folder/<table>.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = synthetic_metadata(district.profile.name, district.scale, district.seed)
    written = []
    for name, table in district.tables.items():
        path = folder / f"{name}.parquet"
        write_table(table, path, meta)
        written.append(path)
    return written


def read_table(folder: Path, name: str) -> pa.Table:
    return pq.read_table(folder / f"{name}.parquet")
