"""Locust personas, the open-model arrival engine and security probes. Built by a later issue."""
