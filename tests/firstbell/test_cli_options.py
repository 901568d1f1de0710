"""The options `firstbell` commands share (`firstbell.cli_options`): one declaration each, so
the commands that take them agree on flag, environment variable, default and checks; and
`staging up`'s defaults are the staging settings'."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from firstbell.cli import app, main
from staging.config import Settings


def command(*path: str) -> Any:
    """The click command (Typer's own copy of click) at `path`."""
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    return cmd


def options(*path: str) -> dict[str, Any]:
    return {flag: p for p in command(*path).params if p.param_type_name == "option"
            for flag in p.opts}


def _seeded() -> list[tuple[str, ...]]:
    """Every command that takes a --seed (found, not listed: a new one is checked too)."""
    import typer.main

    from firstbell.cli import app

    found = []
    for name, cmd in _commands(typer.main.get_command(app)):
        if any("--seed" in p.opts for p in getattr(cmd, "params", [])):
            found.append(tuple(name.split()))
    return found


def _commands(command, path=()):
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))
    if path:
        yield " ".join(path), command


SEEDED = _seeded()


def test_the_seeded_commands_are_found() -> None:
    assert {("district", "generate"), ("staging", "up"), ("run",), ("target", "check"),
            ("sis", "rosariosis", "up")} <= set(SEEDED)


@pytest.mark.parametrize("path", SEEDED, ids=" ".join)
def test_every_seed_is_range_checked_the_same_way(path: tuple[str, ...],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    seed = options(*path)["--seed"]
    assert seed.envvar == "FIRSTBELL_SEED" and seed.default == 42
    assert seed.help.endswith("(0 to 2**63-1).")
    assert main([*path, "--seed", str(2**63)]) == 2  # refused while parsing: nothing runs
    assert "out of range" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_staging_up_refuses_a_seed_out_of_range_before_starting_anything(
        seed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staging", "up", "--profile", "small", "--seed", seed]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "out of range" in err and "0 to 9223372036854775807" in err


def test_staging_up_defaults_are_the_staging_settings() -> None:
    up = options("staging", "up")
    for name in ("database_url", "port", "workers", "pool_max", "kdf_iterations",
                 "admin_token"):
        flag = "--" + name.replace("_", "-")
        assert up[flag].default == Settings.model_fields[name].default, flag


@pytest.mark.parametrize("flag", ["--thresholds", "--userpool", "--staging-hosts",
                                  "--exporter-port", "--master-port", "--oneroster-client",
                                  "--target-spec", "--drop-persona"])
def test_a_shared_option_reads_the_same_everywhere(flag: str) -> None:
    paths = [("run",), ("capacity",), ("worker",), ("rehearse",), ("prometheus", "up"),
             ("grafana", "publish"), ("monitoring", "generate"), ("plan",),
             ("target", "check")]
    shared = [options(*p)[flag] for p in paths if flag in options(*p)]
    assert len(shared) >= 2
    assert len({(o.envvar, o.default) for o in shared}) == 1
    if flag not in ("--userpool", "--target-spec"):  # worker's and rehearse's pools, and
        # a worker's copy of the target file, say what they are for
        assert len({o.help for o in shared}) == 1



def test_every_command_summary_is_one_short_sentence() -> None:
    """`firstbell --help` lists each command by the first paragraph of its help: one line, one
    sentence, so the list never shows a summary broken mid-sentence."""
    import typer.main

    from firstbell.cli import app

    long = {}
    for name, command in _commands(typer.main.get_command(app)):
        first = (command.help or "").strip().split("\n\n")[0]
        if "\n" in first or len(first) > 90 or not first.endswith(".") or not first:
            long[name] = first
    assert long == {}


def test_the_old_monitor_spelling_still_works_and_says_it_is_deprecated() -> None:
    from typer.testing import CliRunner

    from firstbell.cli import app

    result = CliRunner().invoke(app, ["monitor", "down", "--help"])
    assert result.exit_code == 0 and "Stop the Prometheus" in result.output
    listing = CliRunner().invoke(app, ["--help"]).output
    assert "prometheus" in listing and " monitor " not in listing
