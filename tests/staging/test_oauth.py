"""OAuth 2 client credentials for the OneRoster API: clients, the token endpoint's answers and
errors (RFC 6749), scope enforcement on protected endpoints, and token expiry."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, new_database, query

from staging import passwords
from staging.app import create_app
from staging.authz import token_hash
from staging.config import Settings
from staging.oauth import (
    GRADEBOOK_DELETE,
    GRADEBOOK_READ,
    GRADEBOOK_WRITE,
    ROSTER,
    ROSTER_CORE,
    ROSTER_DEMOGRAPHICS,
    SCOPES,
    create_client,
)
from staging.seed import SeedRequest, seed_database

ROSTERING = "/ims/oneroster/rostering/v1p2"
GRADEBOOK = "/ims/oneroster/gradebook/v1p2"
GRANT = {"grant_type": "client_credentials"}


@pytest.fixture(scope="module")
def full_client(seeded_url: str) -> tuple[str, str]:
    return create_client(seeded_url, "oauth tests (all scopes)", list(SCOPES))


def _token(client: httpx.Client, creds: tuple[str, str], scope: str | None = None) -> str:
    data = {**GRANT, **({"scope": scope} if scope else {})}
    r = client.post("/oauth/token", auth=creds, data=data)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _minor(r: httpx.Response) -> str:
    body = r.json()
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    [field] = body["imsx_CodeMinor"]["imsx_codeMinorField"]
    assert field["imsx_codeMinorFieldName"] == "TargetEndSystem"
    return str(field["imsx_codeMinorFieldValue"])


def test_create_client_stores_a_hash_and_the_scopes(seeded_url: str) -> None:
    client_id, secret = create_client(seeded_url, "  Canvas sync ", [ROSTER, ROSTER_CORE])
    [row] = query(seeded_url, "SELECT name, secret_hash, scopes FROM sis.oauth_clients"
                              " WHERE client_id = %s", [client_id])
    assert row[0] == "Canvas sync" and row[2] == [ROSTER_CORE, ROSTER]  # the sheet's order
    assert secret not in row[1] and passwords.verify(secret, row[1]) == (True, 10_000)
    assert len(secret) >= 40 and client_id != create_client(seeded_url, "b", [ROSTER])[0]
    for scopes in ([], ["https://example.org/scope/all"], [ROSTER, "roster.readonly"]):
        with pytest.raises(ValueError):
            create_client(seeded_url, "bad", scopes)
    with pytest.raises(ValueError):
        create_client(seeded_url, " ", [ROSTER])


def test_token_with_basic_auth(client: httpx.Client, seeded_url: str,
                               full_client: tuple[str, str]) -> None:
    r = client.post("/oauth/token", auth=full_client, data=GRANT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["scope"].split() == list(SCOPES)
    [row] = query(seeded_url, "SELECT client_id, scopes, expires_at - now() FROM"
                              " sis.oauth_tokens WHERE token_hash = %s",
                  [token_hash(body["access_token"])])
    assert row[0] == full_client[0] and row[1] == list(SCOPES)
    assert dt.timedelta(seconds=3590) < row[2] <= dt.timedelta(seconds=3600)
    assert not query(seeded_url, "SELECT 1 FROM sis.oauth_tokens WHERE token_hash = %s",
                     [body["access_token"].encode()])  # never stored in clear
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    ok = client.get(f"{ROSTERING}/orgs", headers=bearer)
    assert ok.status_code == 200 and ok.json()["orgs"][0]["sourcedId"] == "org-district"


def test_token_with_form_credentials_and_a_narrower_scope(client: httpx.Client,
                                                          full_client: tuple[str, str]) -> None:
    r = client.post("/oauth/token", data={**GRANT, "client_id": full_client[0],
                                          "client_secret": full_client[1],
                                          "scope": f"{GRADEBOOK_READ} {ROSTER_CORE}"})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == f"{ROSTER_CORE} {GRADEBOOK_READ}"
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get(f"{ROSTERING}/users?limit=1", headers=auth).status_code == 200
    assert client.get(f"{GRADEBOOK}/categories", headers=auth).status_code == 200
    # Not granted to this token (though granted to the client): 403 with the status payload.
    for path in (f"{ROSTERING}/demographics", f"{ROSTERING}/demographics/stu-000001"):
        r = client.get(path, headers=auth)
        assert r.status_code == 403 and _minor(r) == "forbidden", r.text
    r = client.put(f"{GRADEBOOK}/lineItems/x", headers=auth, json={})
    assert r.status_code == 403 and _minor(r) == "forbidden"
    r = client.delete(f"{GRADEBOOK}/results/x", headers=auth)
    assert r.status_code == 403 and _minor(r) == "forbidden"


def test_scopes_per_endpoint_family(client: httpx.Client, seeded_url: str) -> None:
    creds = create_client(seeded_url, "scope matrix", list(SCOPES))
    expect = {  # scope -> (rostering, demographics, gradebook read, PUT, DELETE) allowed
        ROSTER_CORE: (True, False, False, False, False),
        ROSTER: (True, True, False, False, False),
        ROSTER_DEMOGRAPHICS: (False, True, False, False, False),
        GRADEBOOK_READ: (False, False, True, False, False),
        GRADEBOOK_WRITE: (False, False, False, True, False),
        GRADEBOOK_DELETE: (False, False, False, False, True),
    }
    for scope, allowed in expect.items():
        auth = {"Authorization": f"Bearer {_token(client, creds, scope)}"}
        calls = (client.get(f"{ROSTERING}/classes?limit=1", headers=auth),
                 client.get(f"{ROSTERING}/demographics?limit=1", headers=auth),
                 client.get(f"{GRADEBOOK}/lineItems?limit=1", headers=auth),
                 client.put(f"{GRADEBOOK}/lineItems/scope-probe", headers=auth, json={}),
                 client.delete(f"{GRADEBOOK}/lineItems/scope-probe", headers=auth))
        for call, ok in zip(calls, allowed, strict=True):
            if ok:  # past the scope check: the PUT's empty body is 400, the DELETE 404
                assert call.status_code in (200, 400, 404), (scope, call.text)
                assert call.status_code != 403
            else:
                assert call.status_code == 403 and _minor(call) == "forbidden", (scope, call.text)


def test_token_errors(client: httpx.Client, full_client: tuple[str, str],
                      seeded_url: str) -> None:
    client_id, secret = full_client
    cases = [
        ({"auth": (client_id, secret + "x"), "data": GRANT}, 401, "invalid_client"),
        ({"auth": ("no-such-client", secret), "data": GRANT}, 401, "invalid_client"),
        ({"data": GRANT}, 401, "invalid_client"),
        ({"data": {**GRANT, "client_id": client_id, "client_secret": "wrong"}}, 401,
         "invalid_client"),
        ({"headers": {"Authorization": "Basic !!!"}, "data": GRANT}, 401, "invalid_client"),
        ({"headers": {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
          "data": GRANT}, 401, "invalid_client"),
        ({"auth": full_client, "data": {"grant_type": "password", "username": "a",
                                        "password": "b"}}, 400, "unsupported_grant_type"),
        ({"auth": full_client, "data": {"grant_type": "authorization_code"}}, 400,
         "unsupported_grant_type"),
        ({"auth": full_client, "data": {}}, 400, "invalid_request"),
        ({"auth": full_client, "json": GRANT}, 400, "invalid_request"),
        ({"auth": full_client, "data": {**GRANT, "client_id": client_id}}, 400,
         "invalid_request"),  # two authentication methods
        ({"auth": full_client, "content": "grant_type=client_credentials&grant_type=x",
          "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400,
         "invalid_request"),
    ]
    for kwargs, status, error in cases:
        r = client.post("/oauth/token", **kwargs)  # type: ignore[arg-type]
        assert (r.status_code, r.json()["error"]) == (status, error), (kwargs, r.text)
        assert r.headers["content-type"] == "application/json"
        assert "access_token" not in r.json()
        if error == "invalid_client":
            assert r.headers["www-authenticate"].startswith("Basic")
    narrow = create_client(seeded_url, "roster only", [ROSTER_CORE])
    for scope in (GRADEBOOK_WRITE, f"{ROSTER_CORE} {ROSTER}", "https://example.org/admin"):
        r = client.post("/oauth/token", auth=narrow, data={**GRANT, "scope": scope})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_scope"), r.text
    # one good request too, so the test does not depend on another having issued a token
    assert client.post("/oauth/token", auth=full_client, data=GRANT).status_code == 200
    metrics = client.get("/metrics").text
    for result in ("issued", "invalid_client", "unsupported_grant_type", "invalid_scope",
                   "invalid_request"):
        assert f'sis_oauth_tokens_total{{result="{result}"}}' in metrics


def test_protected_endpoints_refuse_missing_and_unknown_tokens(client: httpx.Client,
                                                               seeded_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer nope"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        for path in (f"{ROSTERING}/users", f"{ROSTERING}/users/stu-000001",
                     f"{GRADEBOOK}/categories"):
            r = client.get(path, headers=headers)
            assert r.status_code == 401 and _minor(r) == "unauthorisedrequest", (path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert set(r.json()) == {"imsx_codeMajor", "imsx_severity", "imsx_description",
                                     "imsx_CodeMinor"}
    # A client removed from the SIS: its tokens stop working at once.
    creds = create_client(seeded_url, "to be removed", [ROSTER_CORE])
    auth = {"Authorization": f"Bearer {_token(client, creds)}"}
    assert client.get(f"{ROSTERING}/orgs", headers=auth).status_code == 200
    with psycopg.connect(seeded_url) as conn:
        conn.execute("DELETE FROM sis.oauth_clients WHERE client_id = %s", [creds[0]])
    assert client.get(f"{ROSTERING}/orgs", headers=auth).status_code == 401


@pytest.fixture(scope="module")
def short_tokens(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A server of its own whose tokens live one second."""
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 0.2, 7))
    with serve(create_app(Settings(**{**TEST_SETTINGS, "oauth_token_seconds": 1}), url)) as base:
        yield base, url


def test_tokens_expire(short_tokens: tuple[str, str]) -> None:
    base, url = short_tokens
    creds = create_client(url, "expiry", [ROSTER_CORE])
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/oauth/token", auth=creds, data=GRANT)
        assert r.status_code == 200 and r.json()["expires_in"] == 1
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert c.get(f"{ROSTERING}/orgs", headers=auth).status_code == 200
        time.sleep(1.2)
        r = c.get(f"{ROSTERING}/orgs", headers=auth)
        assert r.status_code == 401 and _minor(r) == "unauthorisedrequest"
        assert "expired" in r.json()["imsx_description"]
        # A new token works; asking for it sweeps the client's expired ones.
        fresh = _token(c, creds)
        assert c.get(f"{ROSTERING}/orgs", headers={"Authorization": f"Bearer {fresh}"}
                     ).status_code == 200
        assert query(url, "SELECT count(*) FROM sis.oauth_tokens WHERE client_id = %s",
                     [creds[0]]) == [(1,)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firstbell.cli", "staging", "oauth-client",
                           *args], capture_output=True, text=True, timeout=120)


def test_cli_lists_and_revokes_clients_and_their_tokens(client: httpx.Client,
                                                        seeded_url: str) -> None:
    creds = create_client(seeded_url, "LMS to revoke", [ROSTER_CORE])
    auth = {"Authorization": f"Bearer {_token(client, creds)}"}
    assert client.get(f"{ROSTERING}/orgs", headers=auth).status_code == 200
    listed = _cli("list", "--database-url", seeded_url)
    assert listed.returncode == 0, listed.stderr
    [line] = [ln for ln in listed.stdout.splitlines() if ln.startswith(creds[0])]
    assert "live tokens 1" in line and "roster-core.readonly" in line
    assert line.endswith("LMS to revoke") and creds[1] not in listed.stdout  # never the secret
    revoked = _cli("revoke", creds[0], "--database-url", seeded_url)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"Revoked {creds[0]} (LMS to revoke): 1 live token revoked."
    assert client.get(f"{ROSTERING}/orgs", headers=auth).status_code == 401  # at once
    assert client.post("/oauth/token", auth=creds, data=GRANT).status_code == 401
    assert creds[0] not in _cli("list", "--database-url", seeded_url).stdout
    again = _cli("revoke", creds[0], "--database-url", seeded_url)
    assert again.returncode == 2 and "no such OAuth client" in again.stderr
    assert "Traceback" not in again.stderr
