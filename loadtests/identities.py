"""Who a session logs in as: the user pool, partitioned across load processes and checked out
one session at a time, so no identity is ever used by two concurrent sessions.

Worker `index` of `count` owns the rows whose position modulo `count` is `index` (disjoint by
construction, whatever the machine), in a seeded shuffled order so consecutive sessions spread
over schools. A checked-out identity goes back to the end of the queue when its session ends.

Extra identities (the integration persona's OAuth clients, from ``--oneroster-client``) are
partitioned the same way but are not exclusive: an OAuth client may serve several sessions at
once, as a vendor's sync does, and its click path limits its own concurrency (it waits for a
slot instead of the session being dropped). They are handed out in turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data.userpool import load_persona


def check_folder(folder: str | None, personas: list[str]) -> None:
    """Before any load: the user pool has a file for every persona the click paths log in as
    (a ValueError naming the folder and the files otherwise)."""
    if not personas:
        return
    if not folder:
        raise ValueError("--userpool is required: the userpool/ folder that `firstbell district"
                         " generate` writes (FIRSTBELL_USERPOOL works too)")
    missing = [f"{p}.arrow" for p in personas if not (Path(folder) / f"{p}.arrow").is_file()]
    if missing:
        raise ValueError(f"--userpool {folder}: no {', '.join(missing)} there; point it at the"
                         " userpool/ folder of a generated district (`firstbell district"
                         " generate --formats userpool`)")


class IdentityPool:
    def __init__(self, tables: Mapping[str, pa.Table], *, index: int = 0, count: int = 1,
                 seed: int = 42, extra: Mapping[str, list[dict[str, Any]]] | None = None) -> None:
        self.tables = dict(tables)
        self.extra = {k: list(v) for k, v in (extra or {}).items()}
        self.free: dict[str, deque[int]] = {}
        for persona, table in self.tables.items():
            mine = np.arange(index, table.num_rows, count)
            np.random.default_rng([seed, index, len(persona)]).shuffle(mine)
            self.free[persona] = deque(int(i) for i in mine)
        for persona, rows in self.extra.items():
            self.free[persona] = deque(range(index, len(rows), count))
        self.held: set[tuple[str, int]] = set()
        self._indexes: dict[tuple[str, str], dict[Any, int]] = {}

    @classmethod
    def from_folder(cls, folder: Path, personas: list[str], **kw: Any) -> IdentityPool:
        return cls({p: load_persona(folder, p) for p in personas}, **kw)

    def size(self, persona: str) -> int:
        return len(self.free.get(persona, ()))

    def checkout(self, persona: str) -> tuple[int, dict[str, Any]] | None:
        """An identity nobody else holds, as (row, fields), or None when all are in use."""
        free = self.free.get(persona)
        if not free:
            return None
        if persona in self.extra:  # shared, in turn: never held, never exhausted
            free.rotate(-1)
            return -1, self.row(persona, free[-1])
        row = free.popleft()
        self.held.add((persona, row))
        return row, self.row(persona, row)

    def checkin(self, persona: str, row: int) -> None:
        self.held.discard((persona, row))
        self.free[persona].append(row)

    def row(self, persona: str, row: int) -> dict[str, Any]:
        if persona in self.extra:
            return dict(self.extra[persona][row])
        record: dict[str, Any] = self.tables[persona].slice(row, 1).to_pylist()[0]
        return record

    def lookup(self, persona: str, key: str, value: Any) -> dict[str, Any] | None:
        """Read-only: the row of `persona` whose `key` is `value` (whole pool, not only this
        process's share), or None."""
        table = self.tables.get(persona)
        if table is None or key not in table.column_names:
            return None
        index = self._indexes.get((persona, key))
        if index is None:
            values = pc.cast(table[key], pa.int64()) if pa.types.is_integer(table[key].type) \
                else table[key]
            index = {v: i for i, v in enumerate(values.to_pylist())}
            self._indexes[(persona, key)] = index
        position = index.get(value)
        return None if position is None else self.row(persona, position)
