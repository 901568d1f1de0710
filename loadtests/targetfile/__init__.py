"""Targets as files: a district's own SIS described in YAML (hosts, login, session carrier,
personas as click paths of steps, user pools, declared probes), validated, and run by the
engine through the same `Browser` protocol as the built-in Python targets."""
