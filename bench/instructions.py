"""Instructions a request costs: the bench's bearer GET through the gateway app vs the bare app.

Requests per second move with everything else the machine runs; instructions do not. Under
callgrind, the WSGI app is called directly (no server) with the environ `powerctl.httpd`
builds, on the main thread, and only that thread is counted (the audit writer's work is not):
the difference between 50 and 200 requests, divided by 150, after 100 to warm up.

    python bench/instructions.py          # needs valgrind (apt install valgrind); about 3 minutes
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/restapi/relay/outlets/all;/physical_state/"
WARM, FEW, MANY = 100, 50, 200


def child(which: str, count: int) -> None:
    """Run in the measured process: build the app, warm up, then `count` requests."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bare_app import app as bare_app
    from common import HELLO_HASH

    import powerctl
    from powerctl.store import ClientRecord, Database

    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "RAW_URI": PATH,
        "REQUEST_URI": PATH,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "5555",
        "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if which == "gateway":
        data = tempfile.mkdtemp()
        db = Database(f"{data}/powerctl.db")
        scope = "/relay/outlets/all;/physical_state/?access=get"
        db.put_client(ClientRecord("bench", "bench", (scope,), {}, {}, {HELLO_HASH: {}}, 0))
        db.close()
        os.environ.setdefault("POWERCTL_ADMIN_PASSWORD", "bench-password")
        app = powerctl.create_app({"data_dir": data})
        environ["HTTP_AUTHORIZATION"] = "Bearer bench.SGVsbG8"
    else:
        app = bare_app

    def start_response(status, headers, exc_info=None):
        return None

    for _ in range(WARM + count):
        answer = app(dict(environ, **{"wsgi.input": io.BytesIO(b"")}), start_response)
        b"".join(answer)
        answer.close()
    os._exit(0)  # the app's threads are not waited for: their instructions are not counted


def main_thread_instructions(which: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--separate-threads=yes",
                f"--callgrind-out-file={out}/callgrind",
                sys.executable,
                __file__,
                "--child",
                which,
                str(count),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        for line in (Path(out) / "callgrind-01").read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def main() -> dict:
    if shutil.which("valgrind") is None:
        print("bench/instructions.py needs valgrind (apt install valgrind): skipped")
        return {}
    result = {}
    for which in ("gateway", "bare"):
        few, many = main_thread_instructions(which, FEW), main_thread_instructions(which, MANY)
        result[which] = (many - few) // (MANY - FEW)
    own = result["gateway"] - result["bare"]
    print(f"bearer GET {PATH}, WSGI app called directly, main thread (callgrind)")
    print(f"  gateway {result['gateway'] / 1000:7.1f}k instructions a request")
    print(f"  bare    {result['bare'] / 1000:7.1f}k")
    print(f"  own     {own / 1000:7.1f}k   (gateway minus bare)")
    return {"gateway": result["gateway"], "bare": result["bare"], "own": own}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
