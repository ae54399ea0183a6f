"""How many failed sign-ins the page takes before it stops asking (docs/serve.md).

Two limits, both over the last `window` seconds and both in memory only:

- per address: a client that failed `per_client` times waits until the oldest of those
  failures is out of the window (guessing tokens or passwords from one place);
- Odoo sign-ins from every address together: at most `odoo_failures`. Odoo counts failed
  logins per address and, from the fifth on, refuses every login from that address for a
  minute after each failure (its `base.login_cooldown_after` and
  `base.login_cooldown_duration`). Every sign-in checked here reaches Odoo from this
  server's address, so without this limit anyone could lock the people signing in here,
  and a `cqrs sync` run from the same host, out of Odoo.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 60.0
PER_CLIENT = 5
ODOO_FAILURES = 4  # below Odoo's default cooldown threshold of 5
MAX_CLIENTS = 10_000  # addresses remembered at once: memory stays bounded under a flood


class SignInLimit:
    def __init__(
        self,
        *,
        window: float = WINDOW,
        per_client: int = PER_CLIENT,
        odoo_failures: int = ODOO_FAILURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window, self.per_client, self.odoo_failures = window, per_client, odoo_failures
        self.clock = clock
        self._clients: dict[str, deque[float]] = {}
        self._odoo: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self, client: str, *, odoo: bool) -> float:
        """Seconds `client` must wait before its sign-in is checked; 0 when it may go on."""
        with self._lock:
            now = self.clock()
            failures = self._recent(self._clients.get(client), now)
            waits = [0.0]
            if len(failures) >= self.per_client:
                waits.append(failures[-self.per_client] + self.window - now)
            if odoo and len(self._recent(self._odoo, now)) >= self.odoo_failures:
                waits.append(self._odoo[-self.odoo_failures] + self.window - now)
            return max(waits)

    def failed(self, client: str, *, odoo: bool) -> None:
        with self._lock:
            now = self.clock()
            failures = self._clients.pop(client, None) or deque()
            failures.append(now)
            self._clients[client] = failures  # newest last: the oldest go first below
            while len(self._clients) > MAX_CLIENTS:
                del self._clients[next(iter(self._clients))]
            if odoo:
                self._odoo.append(now)

    def succeeded(self, client: str, *, odoo: bool) -> None:
        with self._lock:
            self._clients.pop(client, None)
            if odoo:  # as Odoo forgets an address's failures when a login from it succeeds
                self._odoo.clear()

    def _recent(self, failures: deque[float] | None, now: float) -> deque[float]:
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
