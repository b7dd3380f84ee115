"""The controller's JSON-RPC call to the fleet server, over HTTPS with its client certificate."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from powerctl.fleet.errors import RemoteError, Unreachable

MAX_ANSWER = 64 << 20  # 10,000 clients with a few hashes each is a few MB


def tls_context(fleet: dict) -> ssl.SSLContext:
    """Verify the fleet server with ca_file and present cert_file/key_file (mTLS)."""
    try:
        context = ssl.create_default_context(cafile=fleet["ca_file"])
        context.load_cert_chain(fleet["cert_file"], fleet["key_file"])
    except (OSError, ssl.SSLError) as err:
        raise Unreachable(f"cannot load the fleet TLS files: {err}") from None
    return context


def call(fleet: dict, body: dict) -> object:
    """POST the body to `<url>/rpc` and return the decoded JSON answer."""
    context = tls_context(fleet)
    # No proxies from the environment: the fleet server is reached directly, as configured.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    request = urllib.request.Request(  # noqa: S310 - [fleet] url is validated as https://
        fleet["url"].rstrip("/") + "/rpc",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with opener.open(request, timeout=fleet["timeout"]) as response:
            data = response.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as err:
        raise RemoteError(f"fleet server answered HTTP {err.code}: {_message(err)}") from None
    except (urllib.error.URLError, OSError, ssl.SSLError) as err:
        reason = getattr(err, "reason", err)
        raise Unreachable(f"fleet server unreachable at {fleet['url']}: {reason}") from None
    if len(data) > MAX_ANSWER:
        raise RemoteError(f"fleet server answer is larger than {MAX_ANSWER} bytes")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise RemoteError("fleet server answer is not JSON") from None


def _message(err: urllib.error.HTTPError) -> str:
    """The message of an error answer (JSON-RPC error or the JSON envelope), else its reason."""
    try:
        answer = json.loads(err.read(65536))
    except (ValueError, OSError):
        return str(err.reason)
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:300]
        if isinstance(answer.get("message"), str):
            return answer["message"][:300]
    return str(err.reason)
