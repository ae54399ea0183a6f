"""Which events a webhook made `--as USER` sends: what USER could see (docs/webhooks.md).

An event at position p is sent when USER could see what it is about right before it
(after p - 1) or right after it (after p):

- an opportunity (`crm.lead`): USER could see it; so a reassignment away from USER is
  sent (seen before), and nothing after it (seen neither before nor after);
- an account (`res.partner`): it is the account of an opportunity USER could see;
- anything else (users, employees, teams, team members, stages: the organisation): USER
  is a sales administrator.

The visibility at a position comes from the as-of engine (`app/as_of.py`): the same rules
as the views, computed on the records that existed then. The org (and the views of it
alone) is built once per state of the org and shared by the questions of every position
until the next org event (`PastOrgs`): most events of a sync are about opportunities, and
building the org is most of the cost of a question.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from cqrs_cli.app.as_of import PastModel, past_model, visible_at
from cqrs_cli.app.read_model import ReadModel, UnknownUser
from cqrs_cli.bus.webhooks.registry import Webhook
from cqrs_cli.bus.webhooks.run import EventFilter
from cqrs_cli.domain import hierarchy
from cqrs_cli.projections.past import PastOrgs
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent

OPPORTUNITIES, ACCOUNTS = "crm.lead", "res.partner"
REMEMBERED = 4096  # answers kept: each event's "after" is often the next one's "before"


class Visibility:
    """What one user could see at each position, asked event by event."""

    def __init__(self, store: Store, user_id: int) -> None:
        self.store, self.user_id = store, user_id
        self.orgs = PastOrgs(store.log)
        self._answers: OrderedDict[Hashable, bool] = OrderedDict()

    def wants(self, event: RecordedEvent) -> bool:
        p = event.position
        if event.stream_type == OPPORTUNITIES:
            oid = int(event.stream_id)
            return self._sees_opportunity(oid, p - 1) or self._sees_opportunity(oid, p)
        if event.stream_type == ACCOUNTS:
            aid = int(event.stream_id)
            return self._sees_account(aid, p - 1) or self._sees_account(aid, p)
        return self._administrator(p - 1) or self._administrator(p)

    def _sees_opportunity(self, oid: int, position: int) -> bool:
        return self._remembered(
            ("opportunity", oid, position),
            lambda: (
                oid in visible_at(self.store, self.user_id, position, only=[oid], orgs=self.orgs)
            ),
        )

    def _sees_account(self, aid: int, position: int) -> bool:
        def compute() -> bool:
            if position < 1:
                return False
            with self._past(position) as past:
                try:
                    return aid in past.can_see(self.user_id).accounts
                except UnknownUser:  # not synced yet then
                    return False

        return self._remembered(("account", aid, position), compute)

    def _administrator(self, position: int) -> bool:
        def compute() -> bool:
            if position < 1:
                return False
            with self._past(position) as past:
                return past.org().access(self.user_id) == hierarchy.ADMINISTRATOR

        return self._remembered(("administrator", position), compute)

    def _past(self, position: int) -> PastModel:
        return past_model(ReadModel(self.store, behind="answer"), position, orgs=self.orgs)

    def _remembered(self, key: Hashable, compute: Callable[[], bool]) -> bool:
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        answer = compute()
        self._answers[key] = answer
        if len(self._answers) > REMEMBERED:
            self._answers.popitem(last=False)
        return answer


def filter_for(store: Store, webhook: Webhook) -> EventFilter:
    """The filter of a webhook made `--as USER` (every event passes without one)."""
    if webhook.as_user is None:
        return lambda event: True
    return Visibility(store, webhook.as_user).wants
