"""A webhook receiver on 127.0.0.1 for the tests: records every request, and answers
each one as its script says (ok, fail with 500, answer slowly, go away mid-request,
410 ...). It can stop and start again on the same port, closing the connections it had
open, as a restarted service does."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What the receiver does with a request:
OK = "ok"  # record it, 204
FAIL = "fail"  # record it, 500 (the event may or may not have been handled: it comes again)
GONE = "gone"  # record it, 410
THROTTLE = "throttle"  # record it, 429 with Retry-After
SLOW = "slow"  # answer 204 only after `slow_seconds` (the client times out first)
DIE = "die"  # record it, then close the connection without an answer and stop listening
DRIP = "drip"  # answer 200 a byte at a time, for ever
CLOSE = "close"  # record it, 204 with `Connection: close`
STATUS = {OK: 204, FAIL: 500, GONE: 410, THROTTLE: 429, CLOSE: 204}


@dataclass(frozen=True)
class Received:
    status: int | None  # what it answered (None: no answer)
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer is what some tests do on purpose


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[str] = deque()  # modes for the next requests, then `mode`
        self.mode = OK
        self.slow_seconds = 5.0
        self.retry_after = "1"
        self.connections = 0  # TCP connections accepted, over its whole life
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def accepted(self) -> list[dict[str, Any]]:
        """The events it answered with a 2xx, in the order they came."""
        return [r.event for r in self.requests if r.status is not None and r.status < 300]

    def unique_ids(self) -> list[str]:
        """What a receiver that drops repeats by id keeps, in the order it first saw them:
        it may have handled an event and failed before answering (500, or dying)."""
        seen: dict[str, None] = {}
        for request in self.requests:
            seen.setdefault(request.event["id"], None)
        return list(seen)

    def _next_mode(self) -> str:
        with self._lock:
            return self.script.popleft() if self.script else self.mode

    def start(self) -> Receiver:
        receiver = self
        self._stopping.clear()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real service

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver.connections += 1
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                super().finish()

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = dict(self.headers.items())
                mode = receiver._next_mode()
                if mode == SLOW:
                    receiver._stopping.wait(receiver.slow_seconds)
                    self._answer(204)
                elif mode == DIE:
                    receiver.requests.append(Received(None, headers, body))
                    threading.Thread(target=receiver.stop).start()
                    self.close_connection = True
                elif mode == DRIP:
                    self._drip()
                else:
                    receiver.requests.append(Received(STATUS[mode], headers, body))
                    extra = {"Retry-After": receiver.retry_after} if mode == THROTTLE else {}
                    if mode == CLOSE:
                        extra["Connection"] = "close"
                        self.close_connection = True
                    self._answer(STATUS[mode], extra)

            def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
                text = b"" if status == 204 else b"receiver says no"
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def _drip(self) -> None:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while not receiver._stopping.is_set():
                    self.wfile.write(b"X")  # a header line that never ends
                    self.wfile.flush()
                    receiver._stopping.wait(0.05)

        server = _Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection (as a killed service does)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def restart(self) -> None:
        self.stop()
        for _ in range(50):  # the port may linger a moment after close
            try:
                self.start()
                return
            except OSError:
                time.sleep(0.05)
        self.start()


class RefusingPort:
    """A port on 127.0.0.1 bound but not listening: connecting to it is refused, and no
    other process can take it meanwhile."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def release(self) -> int:
        self._sock.close()
        return self.port
