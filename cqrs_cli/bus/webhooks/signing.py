"""Signing a request, as Stripe does: an HMAC-SHA256 of `<timestamp>.<body>`.

The timestamp travels in its own header and is part of what is signed, so a receiver
that refuses old timestamps cannot be fed a request recorded earlier. docs/webhooks.md
shows the check a receiver makes.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE = "X-Cqrs-Signature"
TIMESTAMP = "X-Cqrs-Timestamp"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signed_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP: str(timestamp), SIGNATURE: signature(secret, timestamp, body)}
