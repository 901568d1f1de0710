"""Prometheus rules, alerts and Grafana dashboards generated from the thresholds. Later issue."""
