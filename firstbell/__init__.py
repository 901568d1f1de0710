"""firstbell: rehearse a school district's SIS go-live before it happens.

This package holds the command line and orchestration; domain logic lives in the parts
(`fake_data`, `staging`, `scenarios`, `loadtests`, `monitoring`).
"""

__version__ = "0.1.0"
