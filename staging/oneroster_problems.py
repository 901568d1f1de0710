"""The problems of one OneRoster import, collected rather than raised one at a time: a
district fixing its export wants every problem of the file at once (the first `MAX_ERRORS` in
full, then how many more), each naming the file, row, column and value, and nothing loaded."""

from __future__ import annotations

from kernel.errors import UserError

MAX_ERRORS = 50


class Problems:
    """Every problem found, the first `MAX_ERRORS` in full, then how many more."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.shown: list[str] = []
        self.more = 0

    def add(self, where: str, why: str) -> None:
        if len(self.shown) < MAX_ERRORS:
            self.shown.append(f"{where}: {why}")
        else:
            self.more += 1

    def cell(self, file: str, row: int, column: str, value: str, why: str) -> None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        self.add(f"{file}.csv row {row} column {column}", f"value '{shown}' — {why}")

    def raise_any(self) -> None:
        if not self.shown:
            return
        total = len(self.shown) + self.more
        more = f"\n  … and {self.more} more" if self.more else ""
        raise UserError(
            f"{self.source}: {total} problem{'s' if total > 1 else ''}, nothing was loaded:\n"
            + "\n".join(f"  {s}" for s in self.shown) + more
            + "\nFix them in the district's export (or in the CSV files of the zip) and import "
            "again.")
