"""Helpers shared by the tests: real services started for the test session."""
