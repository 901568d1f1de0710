"""Password hashes RosarioSIS accepts: SHA-512 crypt (``$6$``), made by PHP's own ``crypt()``.

Every account keeps its own password (the district's ``accounts.password``, which the user pool
carries), hashed with its own salt. The cost is bounded by the rounds: ``rounds=1000``, the
minimum SHA-crypt allows (RosarioSIS's own hashes use PHP's default, 5000), with a
4-character salt, so the hash fits RosarioSIS's 106-character password columns. A login therefore
costs the server a fifth of the hashing a production RosarioSIS spends, and seeding costs about
0.4-0.6 ms of one core per account. The hashes come from one ``php`` process per core, each fed
a slice of the accounts on stdin (PHP is needed anyway and its ``crypt`` is the one that checks
them; Python 3.13 has no ``crypt``); they run while the schema installs. Salts are drawn
from the seed, so a seed gives the same hashes.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from fake_data.rng import stream
from kernel.errors import UserError

ROUNDS = 1000
SALT_ALPHABET = np.frombuffer(
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
# staff.password and students.password are varchar(106): "$6$rounds=1000$" + salt + "$" + 86
# characters of hash leaves 4 characters of salt (PHP's default "$6$" + 16 + "$" + 86 = 106).
SALT_LENGTH = 4
# Reads "salt<TAB>password" lines, writes one hash a line, in the same order.
HASHER = (
    "while (($line = fgets(STDIN)) !== false) {"
    " [$salt, $plain] = explode(\"\\t\", rtrim($line, \"\\n\"), 2);"
    f" echo crypt($plain, '$6$rounds={ROUNDS}$' . $salt . '$'), \"\\n\"; }}"
)


def salts(seed: int, n: int) -> list[str]:
    rng = stream(seed, "rosariosis.salts")
    chars = SALT_ALPHABET[rng.integers(0, len(SALT_ALPHABET), (n, SALT_LENGTH))]
    return [row.decode() for row in np.frombuffer(chars.tobytes(), dtype=f"S{SALT_LENGTH}")]


class Hashing:
    """Running hashers, one `php` process per core on a slice of the accounts: the constructor
    returns at once, `result` waits for the hashes (in the accounts' order)."""

    def __init__(self, php: str, passwords: pa.Array, seed: int,
                 processes: int | None = None) -> None:
        plain = passwords.to_pylist()
        if any(p is None or "\t" in p or "\n" in p for p in plain):
            raise UserError("accounts.password: a password is empty or holds a tab or newline; "
                            "regenerate the district.")
        lines = [f"{s}\t{p}\n" for s, p in zip(salts(seed, len(plain)), plain, strict=True)]
        self.count = len(plain)
        k = max(1, min(processes or os.cpu_count() or 1, len(lines) // 1000 or 1))
        bounds = np.linspace(0, len(lines), k + 1).astype(int)
        self._jobs: list[tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes], int]] = []
        for lo, hi in itertools.pairwise(bounds.tolist()):
            # Both files outlive this call (the hasher runs meanwhile); result() closes them.
            source = tempfile.TemporaryFile()  # noqa: SIM115
            source.write("".join(lines[lo:hi]).encode())
            source.seek(0)
            sink = tempfile.TemporaryFile()  # noqa: SIM115
            proc = subprocess.Popen([php, "-d", "memory_limit=-1", "-r", HASHER], stdin=source,
                                    stdout=sink, stderr=subprocess.PIPE)
            self._jobs.append((proc, source, sink, hi - lo))

    def result(self) -> pa.Array:
        hashes: list[str] = []
        for proc, source, sink, count in self._jobs:
            _, err = proc.communicate()
            source.close()
            sink.seek(0)
            mine = sink.read().decode().splitlines()
            sink.close()
            if proc.returncode != 0 or len(mine) != count or \
                    any(not h.startswith("$6$") for h in mine):
                raise UserError(f"PHP crypt() did not hash the passwords (exit "
                                f"{proc.returncode}): {err.decode(errors='replace')[:500]}")
            hashes += mine
        return pa.array(hashes, pa.string())

    def cancel(self) -> None:
        for proc, source, sink, _count in self._jobs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            source.close()
            sink.close()


def verify(php: str, plain: str, hashed: str) -> bool:
    """PHP's own check (as RosarioSIS's match_password does it); for tests."""
    code = "echo hash_equals($argv[2], crypt($argv[1], $argv[2])) ? 'yes' : 'no';"
    with tempfile.TemporaryDirectory():
        done = subprocess.run([php, "-r", code, "--", plain, hashed], capture_output=True,
                              text=True, check=False, cwd=Path.cwd())
    return done.stdout.strip() == "yes"
