"""The controller's JSON-RPC call to the fleet server, over HTTPS with its client certificate."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
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


class _Channel:
    """One fleet server's TLS context and the session of the last call, so the next call resumes
    it (an abbreviated handshake: no certificate chains, no key exchange signatures).

    A context resumes only its own sessions: it is kept while the TLS files stay as they are,
    and built anew (dropping the session) when a renewal or rotation replaces any of them.
    """

    def __init__(self, fleet: dict, stamp: tuple) -> None:
        self.stamp = stamp
        self.context = tls_context(fleet)
        self.session: ssl.SSLSession | None = None


_channels: dict[tuple, _Channel] = {}
_channels_lock = threading.Lock()


def _stamp(fleet: dict) -> tuple:
    try:
        return tuple(os.stat(fleet[key]).st_mtime_ns for key in ("ca_file", "cert_file", "key_file"))
    except OSError:
        return ()


def _channel(fleet: dict) -> _Channel:
    key = (fleet["url"], fleet["ca_file"], fleet["cert_file"], fleet["key_file"])
    stamp = _stamp(fleet)
    with _channels_lock:
        channel = _channels.get(key)
        if channel is None or channel.stamp != stamp or not stamp:
            channel = _channels[key] = _Channel(fleet, stamp)
        return channel


class _Resuming(http.client.HTTPSConnection):
    """An HTTPS connection that offers the channel's last session and keeps the new one."""

    def __init__(self, host: str, channel: _Channel, **kwargs) -> None:
        super().__init__(host, context=channel.context, **kwargs)
        self.channel = channel
        self.tls: ssl.SSLSocket | None = None

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self.tls = self.channel.context.wrap_socket(
            self.sock, server_hostname=self.host, session=self.channel.session
        )

    def getresponse(self) -> http.client.HTTPResponse:
        response = super().getresponse()
        # TLS 1.3 sends its session tickets after the handshake, before the answer: keep the
        # session now (the connection may already have handed its socket to the answer)
        if self.tls is not None and self.tls.session is not None:
            self.channel.session = self.tls.session
        return response


class _ResumingHandler(urllib.request.HTTPSHandler):
    def __init__(self, channel: _Channel) -> None:
        super().__init__(context=channel.context)
        self.channel = channel

    def https_open(self, req):
        def connect(host: str, **kwargs) -> _Resuming:
            kwargs.pop("context", None)
            return _Resuming(host, self.channel, **kwargs)

        return self.do_open(connect, req)


def call(fleet: dict, body: dict) -> object:
    """POST the body to `<url>/rpc` and return the decoded JSON answer."""
    channel = _channel(fleet)
    # No proxies from the environment: the fleet server is reached directly, as configured.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _ResumingHandler(channel))
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
