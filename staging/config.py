"""Settings of the staging SIS: one place for every knob and its default.

Every setting has an environment spelling (``FIRSTBELL_<NAME>``), a CLI flag on
``firstbell staging up``, and a key in an optional ``.env``-style file; the defaults live here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.ports import STAGING_PORT

SCHEMA = "sis"  # everything firstbell creates lives in this schema, so a reset drops only ours


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRSTBELL_", extra="ignore", frozen=True)

    database_url: str = ""  # empty: the embedded server under .firstbell/
    host: str = "127.0.0.1"
    port: int = Field(STAGING_PORT, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    pool_min: int = Field(2, ge=1)
    pool_max: int = Field(10, ge=1)
    pool_timeout_seconds: float = Field(10.0, gt=0)
    # PBKDF2-SHA256 iterations for logins: ~310k is OWASP's 2023 advice; 100k costs ~40 ms here.
    kdf_iterations: int = Field(100_000, ge=1)
    session_idle_minutes: float = Field(15.0, gt=0)
    # An absolute lifetime too: a session polled all day still ends (a school day and then some).
    session_max_hours: float = Field(12.0, gt=0)
    # Request bodies above this are refused with 413 before they are read.
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # Addresses (or CIDR ranges, comma-separated) of the reverse proxies in front of the SIS:
    # only their X-Forwarded-For / X-Forwarded-Proto are believed. Empty: none, the socket's
    # peer is the client (uvicorn's own default trusts loopback; the SIS does not).
    trusted_proxies: str = ""
    # Logins (staging/throttle.py): `lockout_threshold` wrong passwords from one address lock
    # that username for that address for `lockout_minutes`; after `login_slow_after` failures
    # on a username from anywhere, an address that failed on it waits `login_slow_seconds`
    # between tries; one address gets `login_failures_per_minute` failed logins a minute (per
    # worker) unless it is in `login_throttle_exempt` (addresses or CIDR ranges; loopback:
    # a rehearsal's load generators on this machine).
    lockout_threshold: int = Field(5, ge=1)
    lockout_minutes: float = Field(15.0, gt=0)
    login_slow_after: int = Field(20, ge=1)
    login_slow_seconds: float = Field(10.0, ge=0)
    login_failures_per_minute: float = Field(30.0, gt=0)
    login_throttle_exempt: str = "127.0.0.0/8,::1"
    reset_rate_per_hour: int = Field(5, ge=1)
    reset_token_minutes: float = Field(30.0, gt=0)  # a password-reset token's validity
    # OneRoster OAuth 2 client-credentials tokens.
    oauth_token_seconds: int = Field(3600, ge=1)
    # Parent self-registration (cutover day): validation codes and abuse limits.
    registration_code_minutes: float = Field(30.0, gt=0)
    registration_per_email_per_hour: int = Field(3, ge=1)
    registration_per_ip_per_hour: int = Field(20, ge=1)
    # Downloads (reports, exports, report cards) go through short-lived signed links.
    signed_link_seconds: int = Field(300, ge=1)
    signing_key: str = ""  # empty: a random key per server start (links die with the server)
    admin_token: str = ""  # empty: the fault admin endpoint is off
    admin_allow_remote: bool = False
    # /metrics: with a token, Prometheus must send it (Authorization: Bearer); loopback only
    # answers clients on this machine only (403 otherwise), like the admin endpoint.
    metrics_token: str = ""
    metrics_loopback_only: bool = False
    fault_refresh_seconds: float = Field(0.5, gt=0)
    # Fault injection at start, same spellings as the admin endpoint (docs/staging-faults.md).
    fault_latency: str = ""  # "portal=200ms,auth=1s"
    fault_error_rate: str = ""  # "gradebook=0.1"
    fault_pool_size: int = Field(0, ge=0)  # 0: no shrink
    fault_stall_seconds: float = Field(0.0, ge=0)
    fault_rate_limit: str = ""  # "auth=20": requests/s a group serves, the rest get 503
    # TEST ONLY, never for a real rehearsal: shadow real routes with deliberately flawed ones
    # (staging/vulnerable.py) so a load generator's security probes can be shown to detect
    # exposures. Environment only (FIRSTBELL_INSECURE_PROBE_TARGETS), no CLI flag.
    insecure_probe_targets: bool = False
    # TEST ONLY: GET /api/dev/mailbox reads sis.email_outbox over HTTP (loopback clients only),
    # so a load test can receive registration codes and reset tokens as a person would by email.
    # Environment only (FIRSTBELL_DEV_MAILBOX=1), no CLI flag; off, the route does not exist.
    dev_mailbox: bool = False

    @field_validator("trusted_proxies", "login_throttle_exempt")
    @classmethod
    def _networks(cls, value: str, info: ValidationInfo) -> str:
        parse_networks(value, f"FIRSTBELL_{str(info.field_name).upper()}")
        return value


def parse_networks(text: str, what: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``"127.0.0.0/8, ::1"`` as networks; a bad entry is a ValueError naming the setting."""
    nets = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{what}: '{item}' is not an address or CIDR range (write"
                             " 10.0.0.5 or 10.0.0.0/8, comma-separated)") from None
    return nets


def default(name: str) -> Any:
    """A setting's default, read without building `Settings` (which would read the environment):
    what `staging up` and `UpOptions` fall back to, so the defaults are written only here."""
    return Settings.model_fields[name].default
