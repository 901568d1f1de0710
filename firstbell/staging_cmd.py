"""`firstbell staging …`: bring the reference staging SIS up and down, and switch its faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

from firstbell.cli_options import (
    DISTRICT_PROFILE,
    DISTRICT_SCALE,
    DISTRICT_SEED,
    HISTORY_DAYS,
    seed_option,
)
from firstbell.districts import forget_userpool, remember_userpool, userpool_of
from kernel.errors import UserError
from staging import control
from staging.config import default, parse_networks
from staging.faults import parse_table
from staging.seed import SeedRequest

staging_app = typer.Typer(help="The reference staging SIS on PostgreSQL.", no_args_is_help=True)
fault_app = typer.Typer(help="Fault injection on the running staging SIS.", no_args_is_help=True)
staging_app.add_typer(fault_app, name="fault")


@staging_app.command("up")
def up_cmd(
    profile: str = DISTRICT_PROFILE, scale: float = DISTRICT_SCALE, seed: int = DISTRICT_SEED,
    history_days: int = HISTORY_DAYS,
    database_url: str = typer.Option(default("database_url"), envvar="FIRSTBELL_DATABASE_URL",
                                     help="Use this PostgreSQL instead of the embedded one."),
    port: int = typer.Option(default("port"), envvar="FIRSTBELL_PORT",
                             help="HTTP port (0: any free)."),
    workers: int = typer.Option(default("workers"), envvar="FIRSTBELL_WORKERS",
                                help="Server processes."),
    pool_max: int = typer.Option(default("pool_max"), envvar="FIRSTBELL_POOL_MAX",
                                 help="Database connections per worker."),
    kdf_iterations: int = typer.Option(default("kdf_iterations"),
                                       envvar="FIRSTBELL_KDF_ITERATIONS",
                                       help="PBKDF2 iterations per login."),
    # "" here is not the setting's "endpoint off": `control.up` draws a random token for it.
    admin_token: str = typer.Option(default("admin_token"), envvar="FIRSTBELL_ADMIN_TOKEN",
                                    help="Token for the fault switches (default: random)."),
    reset: bool = typer.Option(False, envvar="FIRSTBELL_RESET",
                               help="Drop firstbell's schema and seed again."),
    metrics_token: str = typer.Option(default("metrics_token"), envvar="FIRSTBELL_METRICS_TOKEN",
                                      help="Require this bearer token on /metrics (give it to"
                                           " Prometheus)."),
    metrics_loopback_only: bool = typer.Option(default("metrics_loopback_only"),
                                               envvar="FIRSTBELL_METRICS_LOOPBACK_ONLY",
                                               help="Serve /metrics to this machine only."),
    trusted_proxies: str = typer.Option(default("trusted_proxies"),
                                        envvar="FIRSTBELL_TRUSTED_PROXIES",
                                        help="Reverse proxies (addresses or CIDR ranges,"
                                             " comma-separated) whose X-Forwarded-For is"
                                             " believed (default: none)."),
) -> None:
    """Start the embedded PostgreSQL (unless --database-url), seed it, start the SIS.

    Example: firstbell staging up --profile small --port 8700
    """
    if history_days < 0 or workers < 1 or pool_max < 1 or kdf_iterations < 1:
        raise UserError("options --history-days must be >= 0 and --workers, --pool-max, "
                        "--kdf-iterations >= 1.")
    console = Console(stderr=True)
    try:
        parse_networks(trusted_proxies, "--trusted-proxies")
    except ValueError as exc:
        raise UserError(f"option {exc}.") from exc
    options = control.UpOptions(
        SeedRequest(profile, scale, seed, history_days), database_url, port, workers, pool_max,
        kdf_iterations, admin_token, reset, metrics_token=metrics_token,
        metrics_loopback_only=metrics_loopback_only, trusted_proxies=trusted_proxies)
    with console.status("staging up") as status:
        state, result = control.up(options, step=lambda s: status.update(s))
    if result is None:
        console.print("Already running.")
    elif result.seeded:
        console.print(f"Seeded district {profile} (scale {scale:g}, seed {seed}): "
                      f"{sum(result.rows.values()):,} rows.")
    else:
        console.print(f"Database already seeded with district "
                      f"{result.meta.get('profile', profile)}; reused.")
    if result is not None:
        _remember_pool(result.meta, console)
    Console().print(state.base_url, highlight=False)


def _remember_pool(meta: dict[str, str], console: Console) -> None:
    """Write (or find) the user pool of the district in the database and record it, so that
    `firstbell run` against this SIS needs no --userpool. An imported district's pool is the
    one `staging import --userpool-out` wrote."""
    if meta.get("profile", "").startswith("import:"):
        return
    pool = userpool_of(meta["profile"], float(meta["scale"]), int(meta["seed"]))
    remember_userpool(pool)
    console.print(f"User pool: {pool}", highlight=False)


@staging_app.command("seed")
def seed_cmd(
    database_url: str = typer.Option(..., envvar="FIRSTBELL_DATABASE_URL", show_default=False,
                                     help="The PostgreSQL database to seed (it must exist)."),
    profile: str = DISTRICT_PROFILE, scale: float = DISTRICT_SCALE, seed: int = DISTRICT_SEED,
    history_days: int = HISTORY_DAYS,
    reset: bool = typer.Option(False, "--reset/--no-reset", envvar="FIRSTBELL_RESET",
                               help="Drop firstbell's schema and seed again."),
) -> None:
    """Seed an existing PostgreSQL with a district and exit (no server).

    The one-shot init step of a container stack, seeding as `staging up` does. A database
    already holding this district is reused; one holding another district, or tables firstbell
    did not create, is refused.

    Example: firstbell staging seed --database-url postgresql://sis@db/staging --profile small
    """
    import psycopg

    if history_days < 0:
        raise UserError(f"option --history-days = {history_days}: must be >= 0.")
    control.check_url(database_url)
    console = Console(stderr=True)
    try:
        with console.status("seeding"):
            result = control.seed(database_url, SeedRequest(profile, scale, seed, history_days),
                                  reset=reset)
    except psycopg.Error as exc:
        raise UserError(f"option --database-url = '{control.redacted(database_url)}': cannot"
                        f" seed it ({exc}). Check that the user may create a schema in that"
                        " database.") from exc
    out = Console()
    if result.seeded:
        out.print(f"Seeded district {profile} (scale {scale:g}, seed {seed}): "
                  f"{sum(result.rows.values()):,} rows.", highlight=False)
    elif result.meta.get("profile", "").startswith("import:"):
        out.print(f"Database holds the district imported from "
                  f"{result.meta['profile'].removeprefix('import:')}; kept (--reset replaces "
                  "it).", highlight=False)
    else:
        out.print(f"Database already seeded with district {profile} (scale {scale:g}, seed "
                  f"{seed}); reused.", highlight=False)


@staging_app.command("down")
def down_cmd() -> None:
    """Stop everything `staging up` started.

    Example: firstbell staging down
    """
    stopped = control.down()
    Console().print("Stopped: " + ", ".join(stopped) if stopped else "Nothing was running.")


@staging_app.command("status")
def status_cmd() -> None:
    """Where the staging SIS runs, and whether it is ready.

    Example: firstbell staging status
    """
    state = control.load_state()
    if state is None:
        Console().print("Not running (no .firstbell/staging.json).")
        raise typer.Exit(1)
    try:
        ready = httpx.get(f"{state.base_url}/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        ready = False
    Console().print(f"{state.base_url} · {'ready' if ready else 'NOT ready'} · "
                    f"database {'embedded' if state.embedded_root else 'external'} · "
                    f"log {state.log}")
    if not ready:
        raise typer.Exit(1)


def _admin(method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    state = control.load_state()
    if state is None:
        raise UserError("the staging SIS is not running here; start it with "
                        "'firstbell staging up'.")
    try:
        r = httpx.request(method, f"{state.base_url}/admin/faults", json=body, timeout=10,
                          headers={"X-Admin-Token": state.admin_token})
    except httpx.HTTPError as exc:
        raise UserError(f"cannot reach the staging SIS at {state.base_url} ({exc}); is it "
                        "up? Try 'firstbell staging status'.") from exc
    if r.status_code >= 400:
        raise UserError(f"the staging SIS refused the fault switch: {r.text}")
    data: dict[str, Any] = r.json()
    return data


def _show(spec: dict[str, Any]) -> None:
    active = [k for k, on in spec["active"].items() if on]
    Console().print(f"faults: {', '.join(active) or 'none'} · latency {spec['latency']} · "
                    f"error rate {spec['error_rate']} · rate limit {spec.get('rate_limit', {})} · "
                    f"pool size {spec['pool_size'] or 'normal'}")


@fault_app.command("set")
def fault_set(
    latency: str = typer.Option("", help="Added latency per route group: portal=200ms,auth=1s"),
    error_rate: str = typer.Option("", help="Share of requests answered 503: gradebook=0.1"),
    pool_size: int = typer.Option(0, min=0, help="Shrink the DB pool to N connections."),
    rate_limit: str = typer.Option("", help="Requests/s a route group serves (per server"
                                            " worker); the rest get 503: auth=20"),
    stall: float = typer.Option(0.0, min=0, help="Pause every request for N seconds from now."),
) -> None:
    """Switch faults on (replaces the current switches).

    Example: firstbell staging fault set --latency portal=300ms --error-rate auth=0.05
    """
    try:
        body = {"latency": parse_table(latency, "--latency", durations=True),
                "error_rate": parse_table(error_rate, "--error-rate", durations=False),
                "pool_size": pool_size, "stall_seconds": stall,
                "rate_limit": parse_table(rate_limit, "--rate-limit", durations=False,
                                          upper=None)}
    except ValueError as exc:
        raise UserError(f"option {exc}. Use group=value pairs, groups auth, portal, "
                        "gradebook, attendance, sim, admin, ims or *.") from exc
    _show(_admin("PUT", body))


@fault_app.command("clear")
def fault_clear() -> None:
    """Switch every fault off.

    Example: firstbell staging fault clear
    """
    _show(_admin("DELETE"))


@fault_app.command("show")
def fault_show() -> None:
    """Print the fault switches in effect.

    Example: firstbell staging fault show
    """
    _show(_admin("GET"))


@staging_app.command("import")
def import_cmd(
    zip_path: Path = typer.Argument(..., metavar="ONEROSTER.zip", show_default=False,
                                    help="The district's OneRoster 1.1 or 1.2 bulk export."),
    database_url: str = typer.Option("", envvar="FIRSTBELL_DATABASE_URL",
                                     help="Seed this PostgreSQL (default: the running "
                                          "staging SIS's database)."),
    seed: int = seed_option("Seed of the accounts' generated passwords"),
    reset: bool = typer.Option(False, envvar="FIRSTBELL_RESET",
                               help="Drop firstbell's schema (the district there) first."),
    userpool_out: Path | None = typer.Option(None, envvar="FIRSTBELL_USERPOOL_OUT",
                                             help="Write the user pool for load tests here."),
) -> None:
    """Seed staging from a district's own OneRoster bulk export: all of it valid, or nothing.

    Example: firstbell staging import district-oneroster.zip --reset --userpool-out pool
    """
    # Imported here: the other staging commands need none of the import machinery.
    import psycopg
    from rich.markup import escape

    from staging.oneroster_import import read_oneroster, seed_import, write_import_userpool

    url = _database_url(database_url)
    console = Console(stderr=True)
    with console.status(f"checking {zip_path.name}"):
        imported = read_oneroster(zip_path, seed)
    for note in imported.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    try:
        with console.status("seeding"):
            result = seed_import(url, imported, reset=reset)
    except psycopg.OperationalError as exc:
        raise UserError(f"option --database-url = '{control.redacted(url)}': cannot seed it"
                        f" ({exc}). Check the host, port, user and database name.") from exc
    out = Console()
    if not result.seeded:
        out.print(f"The database already holds {zip_path.name} (same file, same seed); reused.")
    else:
        out.print(f"Imported {zip_path.name} (OneRoster {imported.version}):", highlight=False)
        for table, rows in result.rows.items():
            out.print(f"  {table:<20} {rows:>10,}", highlight=False)
    state = control.load_state()
    ours = state is not None and url == state.database_url  # the running SIS's district
    if userpool_out is not None:
        counts = write_import_userpool(imported, userpool_out)
        if ours:
            remember_userpool(userpool_out)
        out.print(f"User pool in {userpool_out}: " + ", ".join(
            f"{persona} {n:,}" for persona, n in counts.items()), highlight=False)
    elif ours and result.seeded:  # the pool remembered was the generated district's
        forget_userpool()


def _database_url(given: str) -> str:
    """The database to act on: --database-url, else the one the running staging SIS uses."""
    if given:
        return given
    state = control.load_state()
    if state is None:
        raise UserError("no staging SIS is running here (no .firstbell/staging.json) and no "
                        "--database-url was given; start it with 'firstbell staging up' or "
                        "pass --database-url.")
    return state.database_url


oauth_app = typer.Typer(help="OneRoster OAuth 2 clients of the staging SIS.",
                        no_args_is_help=True)
staging_app.add_typer(oauth_app, name="oauth-client")


@oauth_app.command("create")
def oauth_client_create(
    name: str = typer.Option(..., help="Who the client is for, e.g. 'LMS nightly sync'."),
    scopes: str = typer.Option(
        "roster.readonly,gradebook.readonly,gradebook.createput,gradebook.delete",
        help="Comma-separated OneRoster 1.2 scopes (short names or full URIs)."),
    database_url: str = typer.Option("", envvar="FIRSTBELL_DATABASE_URL",
                                     help="Default: the running staging SIS's database."),
) -> None:
    """Create a OneRoster OAuth 2 client (client credentials); the secret is shown once.

    Example: firstbell staging oauth-client create --name "LMS sync" --scopes roster.readonly
    """
    from staging.oauth import SCOPE_BASE, create_client

    wanted = [s if s.startswith("https://") else SCOPE_BASE + s
              for s in (p.strip() for p in scopes.split(",")) if s]
    try:
        client_id, secret = create_client(_database_url(database_url), name, wanted)
    except ValueError as exc:
        raise UserError(f"option --scopes = '{scopes}': {exc}.") from exc
    Console().print(f"client_id: {client_id}\nclient_secret: {secret}", highlight=False)
    Console(stderr=True).print("Keep the secret now: only its hash is stored. Token endpoint: "
                               "POST /oauth/token (HTTP Basic, grant_type=client_credentials).")


@oauth_app.command("list")
def oauth_client_list(
    database_url: str = typer.Option("", envvar="FIRSTBELL_DATABASE_URL",
                                     help="Default: the running staging SIS's database."),
) -> None:
    """List the OneRoster OAuth 2 clients: id, name, scopes, created, live tokens.

    Example: firstbell staging oauth-client list
    """
    from staging.oauth import SCOPE_BASE, list_clients

    clients = list_clients(_database_url(database_url))
    out = Console()
    if not clients:
        out.print("No OAuth clients.")
        return
    for c in clients:
        scopes = ",".join(s.removeprefix(SCOPE_BASE) for s in c["scopes"])
        out.print(f"{c['client_id']}  {c['created_at']:%Y-%m-%d %H:%M}  live tokens "
                  f"{c['live_tokens']}  {scopes}  {c['name']}", highlight=False, markup=False,
                  soft_wrap=True)


@oauth_app.command("revoke")
def oauth_client_revoke(
    client_id: str = typer.Argument(..., metavar="CLIENT_ID", show_default=False,
                                    help="The client_id shown by create or list."),
    database_url: str = typer.Option("", envvar="FIRSTBELL_DATABASE_URL",
                                     help="Default: the running staging SIS's database."),
) -> None:
    """Revoke a OneRoster OAuth 2 client: it and every token it holds stop working at once.

    Example: firstbell staging oauth-client revoke 3f2a9c0d5e6b4a1f8c7d6e5f4a3b2c1d
    """
    from staging.oauth import revoke_client

    done = revoke_client(_database_url(database_url), client_id)
    if done is None:
        raise UserError(f"argument CLIENT_ID = '{client_id}': no such OAuth client. See "
                        "'firstbell staging oauth-client list'.")
    name, tokens = done
    Console().print(f"Revoked {client_id} ({name}): {tokens} live token"
                    f"{'' if tokens == 1 else 's'} revoked.", highlight=False, markup=False,
                    soft_wrap=True)
