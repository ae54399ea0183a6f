"""A rebuild (or deep validation) held after its first page until told to go on.

    python -m tests.slow_rebuild DB DIR rebuild|deep

It stands for the rebuild of a large file: the real code in a real process, paused by its
progress callback. It writes DIR/started once its scratch tables hold the first page,
waits (60 s at most) for DIR/go, finishes, and prints the result as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cqrs_cli.projections import NAMES
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import rebuild
from cqrs_cli.store.files import open_store


def main(db: Path, signals: Path, what: str) -> None:
    waited = False

    def progress(_events: int) -> None:
        nonlocal waited
        if waited:
            return
        waited = True
        (signals / "started").touch()
        deadline = time.monotonic() + 60
        while not (signals / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    with open_store(db, write=True) as store:
        if what == "rebuild":
            report = rebuild(store, list(NAMES), batch=10, progress=progress)
            print(json.dumps({"events": report.events}))
        else:
            print(json.dumps(compare_with_rebuild(store, progress=progress)))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
