"""The read side past the projections: who else hears about the events.

- `delivery`: the loop of a subscriber that runs after the commit, from its own
  checkpoint (`checkpoints`), in order, at least once, with retries (`backoff`) and dead
  letters (`dead_letters`). Webhooks (`webhooks/`) are such subscribers.
- `event_bus`: in-process handlers handed the events a sync just appended, with no
  checkpoint of their own.

docs/architecture.md compares them with the projections.
"""
