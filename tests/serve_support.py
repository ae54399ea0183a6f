"""A real `cqrs serve` in a subprocess on 127.0.0.1 (port 0), for the HTTP and browser tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

STARTED = re.compile(r"at (http://127\.0\.0\.1:\d+)/")


class Server:
    def __init__(self, db: Path, *args: str) -> None:
        self.db = db
        self.log = db.with_name(f"serve-{os.getpid()}-{id(self)}.log")
        env = {k: v for k, v in os.environ.items() if k != "CQRS_DEBUG"}
        env["PYTHONPATH"] = str(REPO)
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cqrs_cli", "--db", str(db), "serve", "--port", "0", *args],
            stdout=self._log_file,
            stderr=self._log_file,
            env=env,
        )
        self.url = self._wait()

    def _wait(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = STARTED.search(self.log.read_text(errors="replace"))
            if found and "Application startup complete" in self.log.read_text(errors="replace"):
                return found.group(1)
            if self.process.poll() is not None:
                raise RuntimeError(f"cqrs serve ended: {self.log.read_text()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"cqrs serve did not start: {self.log.read_text()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
