"""firstbell: rehearse a school district's SIS go-live before it happens.

This package holds the command line and orchestration; domain logic lives in the parts
(`fake_data`, `staging`, `scenarios`, `loadtests`, `monitoring`).
"""

from kernel.version import __version__

__all__ = ["__version__"]
