"""One read model per worker thread, over its own read-only connection.

A request's handler runs in a worker thread of the server's pool; each thread asks its
own `ReadModel` (docs/architecture.md, "Threads"), so answers run in parallel and a sync
in another process is seen by the next request (a new read transaction each question).
The server never writes: its connections are read-only and its views `behind="answer"`
(a request during a sync answers from the state before it, whole).
"""

from __future__ import annotations

import threading
from pathlib import Path

from cqrs_cli.app.read_model import ReadModel, open_read_model


class Readers:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[ReadModel] = []
        self._lock = threading.Lock()

    def get(self) -> ReadModel:
        model: ReadModel | None = getattr(self._local, "model", None)
        if model is None:
            model = open_read_model(self.path, migrate=False, behind="answer", roomy=True)
            self._local.model = model
            with self._lock:
                self._opened.append(model)
        return model

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for model in opened:
            model.close()
