"""Webhooks: after-commit subscribers that POST each event they want as a CloudEvent.

`run.deliver_pending(store)` is the entry point (docs/webhooks.md).
"""
