"""A provider-neutral OneRoster REST client for click paths: who the client is (`spec`: the
``--oneroster-client`` value), how it signs in (`auth`: OAuth 2 client credentials, OAuth 1.0a
HMAC-SHA256) and the nightly sync that pages every rostering collection to its end, shared by
the sessions of one load process (`sync`).

It talks HTTP through the `Browser` only and knows no target: the staging SIS's `integration`
persona is one caller (`loadtests.targets.staging.integration`), a vendor's SIS another.
"""
