"""The load engine: firstbell's open-model arrivals on Locust's own runners.

It owns load plans (`plan`), Poisson arrivals per persona (`arrivals`), sessions that drive a
target through the `Browser` protocol (`browser`, `session`), the targets themselves (built-in
Python click paths in `targets/`, a district's own SIS as a file in `targetfile/`), user pools
(`identities`), latency corrected for coordinated omission in HDR histograms (`hdr`, `stats`),
security probes and exposures, the Prometheus exporter (`exporter`), the run directory
(`rundir`) and the live verdict against the launch thresholds (`verdict`). It reaches a
target over HTTP only and knows nothing of scenarios, monitoring or the reference SIS.
"""
