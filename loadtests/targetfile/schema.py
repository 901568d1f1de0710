"""The JSON Schema of the target file format, generated from the models (field names as spelled
in a file: ``json``, ``as``) and shipped as ``target.schema.json`` next to this module, for
editors to complete and check against (``# yaml-language-server: $schema=...``).

Regenerate after changing `model.py`: ``python -m loadtests.targetfile.schema``; a test holds the
shipped file equal to the generated one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests.targetfile.model import FORMAT_VERSION, TargetFile

SCHEMA_FILE = Path(__file__).with_name("target.schema.json")
SCHEMA_ID = "https://firstbell.dev/schemas/target-v1.json"


def schema() -> dict[str, Any]:
    out = TargetFile.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": f"firstbell target file, version {FORMAT_VERSION}", **out}


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    SCHEMA_FILE.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
