"""Bulk loading into RosarioSIS's tables: an Arrow table written as CSV by Arrow and sent with
one COPY (one statement per table, never a row at a time)."""

from __future__ import annotations

import io

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns as their values (the CSV writer wants plain columns)."""
    return table.cast(pa.schema([
        pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
        for f in table.schema]))


def copy(conn: psycopg.Connection, name: str, table: pa.Table) -> int:
    """COPY `table` into RosarioSIS table `name` (columns by name) as CSV made by Arrow."""
    out = io.BytesIO()
    pacsv.write_csv(_plain(table), out, pacsv.WriteOptions(include_header=False,
                                                           quoting_style="needed"))
    columns = ", ".join(table.column_names)
    with conn.cursor() as cur, cur.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as cp:
        cp.write(out.getbuffer())
    return table.num_rows
