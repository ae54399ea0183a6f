"""A webhook as a subscriber: each event it wants POSTed as a CloudEvent, signed when it
has a key. What the answer means for delivery:

- 2xx: delivered.
- 408, 429, 5xx, no answer (refused, timed out, reset): retried after a backoff
  (a Retry-After in seconds is honoured).
- 3xx (redirects are not followed) and every other 4xx: a dead letter at once, as trying
  again cannot help.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from cqrs_cli.bus.subscriber import DELIVERED, Outcome, cut_short, reject, retry
from cqrs_cli.bus.webhooks.cloudevent import CONTENT_TYPE, encode
from cqrs_cli.bus.webhooks.http import HttpClient, Response, TransportError
from cqrs_cli.bus.webhooks.registry import Webhook
from cqrs_cli.bus.webhooks.signing import signed_headers
from cqrs_cli.store.log import RecordedEvent

RETRIED_4XX = frozenset({408, 429})
_SPACES = re.compile(r"\s+")


class WebhookSubscriber:
    def __init__(
        self,
        webhook: Webhook,
        *,
        client: HttpClient,
        source: str,
        secret: bytes | None,
        wall_clock: Callable[[], float] = time.time,
        predicate: Callable[[RecordedEvent], bool] | None = None,
    ) -> None:
        self.webhook = webhook
        self._client, self._source, self._secret = client, source, secret
        self._wall_clock = wall_clock
        # A per-webhook filter beyond the event types (what one user may see, say).
        self._predicate = predicate

    @property
    def name(self) -> str:
        return self.webhook.subscriber

    @property
    def types(self) -> frozenset[str] | None:
        return self.webhook.types

    @property
    def max_attempts(self) -> int:
        return self.webhook.max_attempts

    def wants(self, event: RecordedEvent) -> bool:
        return self._predicate is None or self._predicate(event)

    def deliver(self, event: RecordedEvent, time_left: float) -> Outcome:
        body = encode(event, self._source)
        headers = {"Content-Type": CONTENT_TYPE}
        if self._secret is not None:
            headers.update(signed_headers(self._secret, int(self._wall_clock()), body))
        timeout = self.webhook.timeout
        # The run's budget ends before this request's own timeout would: a time-out then
        # is ours, not the receiver's, and does not count as a failed attempt.
        budget_first = time_left < timeout
        try:
            response = self._client.post(
                self.webhook.url,
                body,
                headers,
                timeout=timeout,
                deadline=time.monotonic() + time_left,
            )
        except TransportError as exc:
            if exc.timed_out and budget_first:
                return cut_short("the delivery time budget ran out during a request")
            return retry(str(exc))
        return judge(response)


def judge(response: Response) -> Outcome:
    status = response.status
    if 200 <= status < 300:
        return DELIVERED
    error = f"HTTP {status}{' ' + response.reason[:60] if response.reason else ''}"
    excerpt = _SPACES.sub(" ", response.body[:200].decode("utf-8", "replace")).strip()
    if 300 <= status < 400:
        where = response.headers.get("location", "")[:200]
        return reject(f"{error}: redirect to {where!r} not followed; update the webhook's URL")
    if excerpt:
        error += f": {excerpt}"
    if status >= 500 or status in RETRIED_4XX:
        return retry(error, retry_after=_seconds(response.headers.get("retry-after")))
    return reject(error)


def _seconds(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None  # an HTTP date: the backoff decides
    return float(value.strip())
