"""The shared kernel every part of firstbell may import, and which imports none of them: the
user-facing error type and exit codes, the version, the default ports the parts agree on, and
the small helpers several parts need in exactly one form (durations, clock times, validation
messages, latency bucket edges, built-in files by name).

Nothing here knows about districts, HTTP, Locust or Prometheus.
"""
