"""Test helpers: a Digest client that behaves like curl (no cookies), and an API wrapper."""

from __future__ import annotations

import hashlib
import os
import time

from werkzeug.http import parse_dict_header

ADMIN_PASSWORD = "correct horse battery"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_authorization(
    challenge: str,
    method: str,
    uri: str,
    user: str,
    password: str,
    cnonce: str = "0a4f113b",
    nc: str = "00000001",
    algorithm: str = "MD5",
    qop: str | None = "auth",
) -> str:
    """The Authorization header answering a `WWW-Authenticate: Digest ...` challenge.

    `algorithm` "SHA-256" hashes as RFC 7616 says; `qop` None answers as RFC 2069 did.
    """
    params = parse_dict_header(challenge.split(" ", 1)[1])
    digest = _md5 if algorithm == "MD5" else _sha256
    ha1 = digest(f"{user}:{params['realm']}:{password}")
    ha2 = digest(f"{method}:{uri}")
    if qop is None:
        response = digest(f"{ha1}:{params['nonce']}:{ha2}")
        tail = ""
    else:
        response = digest(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:{qop}:{ha2}")
        tail = f', qop={qop}, nc={nc}, cnonce="{cnonce}"'
    return (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", algorithm={algorithm}, response="{response}", opaque="{params["opaque"]}"' + tail
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Api:
    """Drives the Flask test client as an admin (digest) or a bearer client."""

    def __init__(
        self, client, user: str | None = "admin", password: str = ADMIN_PASSWORD, bearer: str | None = None
    ):
        self.client = client
        self.user = user
        self.password = password
        self.bearer = bearer

    def request(self, method: str, path: str, csrf: bool = True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if csrf and method not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF", "x")
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
            return self.client.open(path, method=method, headers=headers, **kwargs)
        if self.user is None:
            return self.client.open(path, method=method, headers=headers, **kwargs)
        first = self.client.open(path, method=method, headers=headers, **kwargs)
        if first.status_code != 401 or "Digest" not in first.headers.get("WWW-Authenticate", ""):
            return first
        headers["Authorization"] = digest_authorization(
            first.headers["WWW-Authenticate"], method, path, self.user, self.password
        )
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def wait_for(predicate, timeout: float = 3.0, interval: float = 0.01) -> bool:
    """Poll `predicate` until it holds or `timeout` passes; whether it held at the last look."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def env_with_password() -> dict:
    return dict(os.environ, POWERCTL_ADMIN_PASSWORD=ADMIN_PASSWORD)


def fuzz_settings():
    """schemathesis settings for the contract tests (the gateway's and the fleet server's).

    `make test` runs 3 derandomized examples per operation; `make fuzz` sets
    POWERCTL_FUZZ_EXAMPLES to that many random ones. Credentials come from the requests session
    (digest needs its challenge round), so schemathesis adds none. Valid-looking data that the
    servers refuse for reasons beyond a schema (a range written as text, a PEM that is no
    certificate, an unknown controller) is no defect, so that check is off.
    """
    from schemathesis.config import SchemathesisConfig

    examples = int(os.environ.get("POWERCTL_FUZZ_EXAMPLES", "0"))
    return SchemathesisConfig.from_dict(
        {
            "generation": {
                "max-examples": examples or 3,
                "deterministic": examples == 0,
                "database": "none",
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "positive_data_acceptance": {"enabled": False},
                # schemathesis's refusals, plus 413 and 414: a body or target too large for the
                # server is refused by the server itself before any schema is read
                "negative_data_rejection": {
                    "expected-statuses": [
                        400,
                        401,
                        403,
                        404,
                        405,
                        406,
                        409,
                        413,
                        414,
                        415,
                        422,
                        428,
                        429,
                        "5XX",
                    ]
                },
            },
        }
    )
