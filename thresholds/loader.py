"""Reading a launch-thresholds file (the built-in `thresholds/launch-thresholds.yaml` unless
another is given) into the model, with errors that name the file, field and value."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from kernel.fields import field_errors
from thresholds.model import Thresholds

DEFAULT_FILE = Path(__file__).with_name("launch-thresholds.yaml")


class ThresholdError(ValueError):
    """A thresholds file that cannot be used; the message names file, field and value."""


def _message(path: Path, exc: ValidationError) -> str:
    return "\n".join([f"{path}: the launch thresholds are not valid:", *field_errors(exc),
                      "  See thresholds/launch-thresholds.yaml for the format."])


def load_thresholds(path: Path = DEFAULT_FILE) -> Thresholds:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdError(f"{path}: cannot read the launch thresholds ({exc.strerror})") \
            from None
    except yaml.YAMLError as exc:
        raise ThresholdError(f"{path}: not YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ThresholdError(f"{path}: not a text file (byte {exc.start} is not UTF-8); the"
                             " launch thresholds are a UTF-8 YAML file") from None
    if not isinstance(raw, dict):
        raise ThresholdError(f"{path}: launch thresholds are a mapping with 'version: 1',"
                             " 'objectives' and 'arrivals'")
    try:
        return Thresholds.model_validate(raw)
    except ValidationError as exc:
        raise ThresholdError(_message(path, exc)) from None
