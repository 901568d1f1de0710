"""Monitoring as code, derived from the launch thresholds: the Prometheus configuration,
recording and alert rules (`rules`), Alertmanager routes, Grafana provisioning and dashboards
(`dashboards`), the files as written (`generate`), a local Prometheus without Docker
(`local`) and the Grafana HTTP API (`grafana_api`: publishing, run annotations)."""
