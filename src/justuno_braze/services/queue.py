"""An account's delivery queue right now: jobs waiting, in flight and dead.

``analytics.summary`` gives one number (``queue_depth`` = waiting + in flight); the
dashboard splits it and adds the dead letters waiting for a replay. The outbox counts per
connection, so the account's numbers are the sum over its own connections: another
account's jobs are never counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from justuno_braze.store import Store


@dataclass(frozen=True, slots=True)
class QueueDepth:
    waiting: int  # pending: due now or retrying later
    in_flight: int  # leased by a worker, being sent
    dead: int  # refused for good or out of retries, until replayed

    @property
    def to_deliver(self) -> int:
        """What ``analytics.summary`` calls ``queue_depth``."""
        return self.waiting + self.in_flight


async def queue_depth(store: Store, account_id: int) -> QueueDepth:
    waiting = in_flight = dead = 0
    for connection in await store.connections.for_account(account_id):
        counts = await store.outbox.counts(connection_id=connection.id)
        waiting += counts["pending"]
        in_flight += counts["leased"]
        dead += counts["dead"]
    return QueueDepth(waiting, in_flight, dead)
