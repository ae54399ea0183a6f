"""POSTs over kept-alive connections, each request over by a hard deadline.

Built on the standard library's `http.client`: one connection per (scheme, host, port),
reused from request to request (urllib opens a new one, and over TLS a new handshake,
for every request). A connection the receiver closed while idle is noticed on reuse and
the request is sent once more on a fresh one: a webhook is delivered at least once, so
a repeat is allowed, a lost event is not.

Socket timeouts bound each read or write, not a whole request: a receiver sending its
answer a byte at a time could hold a request for ever. Every read of the answer is
therefore given only the time left before the request's deadline. Redirects are not
followed, and at most `MAX_BODY` bytes of an answer are read.
"""

from __future__ import annotations

import http.client
import io
import math
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes  # at most MAX_BODY bytes


class TransportError(Exception):
    """No HTTP answer: refused, timed out, reset, TLS or name resolution failed."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _DeadlineReader(io.RawIOBase):
    """The socket's reader, each read given only the time left before the deadline."""

    def __init__(self, raw: Any, sock: socket.socket, conn: _Deadlined) -> None:
        self._raw, self._sock, self._conn = raw, sock, conn

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._conn.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(min(left, self._conn.step_timeout))
        return int(self._raw.readinto(buffer))

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Response(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, conn: _Deadlined, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        # Keep the socket's own reader (it keeps the socket open while the answer is read,
        # even once the connection let go of it) but read through the deadline.
        raw = self.fp.detach()
        self.fp = io.BufferedReader(_DeadlineReader(raw, sock, conn))


class _Deadlined:
    """What both connection classes add: a deadline for the request under way."""

    deadline: float = math.inf
    step_timeout: float = 10.0


class _HTTP(_Deadlined, http.client.HTTPConnection):
    def response_class(self, sock: socket.socket, *args: Any, **kwargs: Any) -> _Response:  # type: ignore[override]
        return _Response(sock, self, *args, **kwargs)


class _HTTPS(_Deadlined, http.client.HTTPSConnection):
    def response_class(self, sock: socket.socket, *args: Any, **kwargs: Any) -> _Response:  # type: ignore[override]
        return _Response(sock, self, *args, **kwargs)


def describe(exc: BaseException, timeout: float) -> TransportError:
    """A short, stable text for why a request got no answer."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return TransportError(f"timed out (after {timeout:g} s)", timed_out=True)
    if isinstance(exc, ConnectionRefusedError):
        return TransportError("connection refused")
    if isinstance(exc, http.client.RemoteDisconnected):
        return TransportError("the receiver closed the connection without answering")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return TransportError("connection reset")
    if isinstance(exc, socket.gaierror):
        return TransportError(f"cannot resolve the host ({exc.strerror or exc})")
    if isinstance(exc, ssl.SSLError):
        return TransportError(f"TLS error: {exc.reason or exc}")
    if isinstance(exc, http.client.HTTPException):
        return TransportError(f"not a valid HTTP answer ({type(exc).__name__})")
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return TransportError(str(text)[:200])


class HttpClient:
    """POST to any number of URLs, one kept-alive connection per origin."""

    def __init__(self, *, user_agent: str = "cqrs") -> None:
        self.user_agent = user_agent
        self._conns: dict[tuple[str, str, int], _HTTP | _HTTPS] = {}
        self._used: set[tuple[str, str, int]] = set()  # connections that answered once
        self._tls: ssl.SSLContext | None = None

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        *,
        timeout: float,
        deadline: float = math.inf,
    ) -> Response:
        """POST `body`; raise TransportError when no answer came by `timeout` seconds
        (each step) or by the monotonic `deadline` (the whole request)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        deadline = min(deadline, time.monotonic() + timeout)
        sent = {"Content-Type": "application/json", **headers, "User-Agent": self.user_agent}
        for fresh_try in (False, True):
            reused = key in self._conns and key in self._used
            conn = self._conns.get(key) or self._open(key, timeout)
            conn.deadline, conn.step_timeout = deadline, timeout
            try:
                return self._exchange(conn, key, target, body, sent, deadline)
            except _STALE as exc:
                self._drop(key)
                # An idle connection the receiver closed: once more on a new one.
                if not reused or fresh_try:
                    raise describe(exc, timeout) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                raise describe(exc, timeout) from None
        raise AssertionError("unreachable")

    def _exchange(
        self,
        conn: _HTTP | _HTTPS,
        key: tuple[str, str, int],
        target: str,
        body: bytes,
        headers: dict[str, str],
        deadline: float,
    ) -> Response:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        conn.timeout = min(left, conn.step_timeout)
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read(MAX_BODY + 1)
        answer = Response(
            response.status,
            response.reason,
            {k.lower(): v for k, v in response.getheaders()},
            data[:MAX_BODY],
        )
        if not response.isclosed() or len(data) > MAX_BODY:
            self._drop(key)  # an answer too long to read through: do not reuse its socket
            response.close()
        elif conn.sock is None:  # the receiver said `Connection: close`
            self._drop(key)
        else:
            self._used.add(key)
        return answer

    def _open(self, key: tuple[str, str, int], timeout: float) -> _HTTP | _HTTPS:
        scheme, host, port = key
        conn: _HTTP | _HTTPS
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            conn = _HTTPS(host, port, timeout=timeout, context=self._tls)
        else:
            conn = _HTTP(host, port, timeout=timeout)
        self._conns[key] = conn
        return conn

    def _drop(self, key: tuple[str, str, int]) -> None:
        conn = self._conns.pop(key, None)
        self._used.discard(key)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for key in list(self._conns):
            self._drop(key)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
