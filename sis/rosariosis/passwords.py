"""Password hashes RosarioSIS accepts: SHA-512 crypt (``$6$``), made by PHP's own ``crypt()``.

Every account keeps its own password (the district's ``accounts.password``, which the user pool
carries), hashed with its own salt. The cost is bounded by the rounds: ``rounds=1000``, the
minimum SHA-crypt allows (RosarioSIS's own hashes use PHP's default, 5000), with a
4-character salt, so the hash fits RosarioSIS's 106-character password columns. A login therefore
costs the server a fifth of the hashing a production RosarioSIS spends, and seeding costs about
0.2-0.4 ms of one core per account. The hashes come from one ``php`` process fed on stdin (PHP is
needed anyway and its ``crypt`` is the one that checks them; Python 3.13 has no ``crypt``), and
run while the schema installs. Salts are drawn from the seed, so a seed gives the same hashes.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

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
    """A running hasher: `start` returns at once, `result` waits for the hashes."""

    def __init__(self, php: str, passwords: pa.Array, seed: int) -> None:
        plain = passwords.to_pylist()
        if any(p is None or "\t" in p or "\n" in p for p in plain):
            raise UserError("accounts.password: a password is empty or holds a tab or newline; "
                            "regenerate the district.")
        lines = "".join(f"{s}\t{p}\n" for s, p in zip(salts(seed, len(plain)), plain,
                                                       strict=True))
        self.count = len(plain)
        # Both files outlive this call (the hasher runs meanwhile); result() closes them.
        self._input = tempfile.TemporaryFile()  # noqa: SIM115
        self._input.write(lines.encode())
        self._input.seek(0)
        self._output = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc = subprocess.Popen([php, "-d", "memory_limit=-1", "-r", HASHER],
                                      stdin=self._input, stdout=self._output,
                                      stderr=subprocess.PIPE)

    def result(self) -> pa.Array:
        _, err = self._proc.communicate()
        self._input.close()
        self._output.seek(0)
        hashes = self._output.read().decode().splitlines()
        self._output.close()
        if self._proc.returncode != 0 or len(hashes) != self.count or \
                any(not h.startswith("$6$") for h in hashes):
            raise UserError(f"PHP crypt() did not hash the passwords (exit "
                            f"{self._proc.returncode}): {err.decode(errors='replace')[:500]}")
        return pa.array(hashes, pa.string())

    def cancel(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def verify(php: str, plain: str, hashed: str) -> bool:
    """PHP's own check (as RosarioSIS's match_password does it); for tests."""
    code = "echo hash_equals($argv[2], crypt($argv[1], $argv[2])) ? 'yes' : 'no';"
    with tempfile.TemporaryDirectory():
        done = subprocess.run([php, "-r", code, "--", plain, hashed], capture_output=True,
                              text=True, check=False, cwd=Path.cwd())
    return done.stdout.strip() == "yes"
