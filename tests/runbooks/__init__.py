"""A package, so that this folder's test_runbooks.py and tests/monitoring/test_runbooks.py can
both be collected (pytest's default import mode needs unique basenames outside packages)."""
