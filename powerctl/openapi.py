"""GET /openapi.json: the contract written in docs/openapi.yaml, shipped in the package as JSON.

The device never parses YAML: `make openapi` renders the YAML once into powerctl/openapi.json,
and tests/api/test_openapi.py fails when the two differ. The fleet server, a separate program,
serves its own contract the same way: `init_app(app, "fleetserver")`, and `make openapi` renders
docs/fleet-server-openapi.yaml into fleetserver/openapi.json with `main(SOURCE, TARGET)`.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app

PACKAGED = "openapi.json"
SOURCE = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json", provide_automatic_options=False)
def document() -> Response:
    # Public, like the file in the repository: it holds the contract, never device data.
    return Response(current_app.extensions["powerctl.openapi"], mimetype="application/json")


def packaged(package: str = "powerctl") -> bytes:
    """The JSON document shipped in `package` (the gateway's unless another app names its own)."""
    return resources.files(package).joinpath(PACKAGED).read_bytes()


def render(yaml_text: str) -> str:
    """The JSON form of the YAML source: merge keys resolved, status codes in order."""
    import yaml  # only where the JSON is made: a development dependency, not a runtime one

    spec = yaml.safe_load(yaml_text)
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"] = dict(sorted(operation["responses"].items()))
    return json.dumps(spec, indent=1, ensure_ascii=False) + "\n"


def init_app(app: Flask, package: str = "powerctl") -> None:
    app.extensions["powerctl.openapi"] = packaged(package)
    app.register_blueprint(bp)


def main(argv: list[str] | None = None) -> int:
    """`make openapi`: write the packaged JSON from the YAML (arguments: [SOURCE [TARGET]]);
    without arguments, the gateway's."""
    args = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    source = Path(args[0]) if args else SOURCE
    target = Path(args[1]) if len(args) > 1 else here / PACKAGED
    target.write_text(render(source.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {target} from {source}")
    return 0
