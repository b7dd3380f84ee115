"""The baseline: a bare Flask endpoint returning the same JSON as the gateway, nothing else."""

from flask import Flask, Response

app = Flask(__name__)
BODY = b"[true,true,true,true,true,true,true,true]"


@app.get("/restapi/relay/outlets/all;/physical_state/")
def states() -> Response:
    return Response(BODY, status=207, mimetype="application/json")
