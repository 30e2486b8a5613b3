"""Batching (pure): coalesce a user's pending jobs, chunk updates into `/users/track` bodies.

``coalesce`` turns claimed outbox jobs into one :class:`UserUpdate` per user
``(connection_id, user_key)``: the user's jobs are applied in ``(occurred_at, id)`` order,
a later attribute value wins, ``subscription_groups`` are merged by group id (the later
state wins) and events are kept in order. The update remembers which jobs it covers so
they can be acked, retried or dead-lettered together.

``chunk`` packs updates into :class:`Request` bodies of at most ``cap`` objects per array
(and at most ``combined_cap`` over all arrays when the plan counts them together, see
braze-api.md §2.2). A user's attributes object and its events always travel in the SAME
request — attributes first, as Braze processes them first (§2.9) — so one user never has
two requests in flight. Each request keeps, per array, the update that owns each index,
so a minor error ``{input_array, index}`` maps back to the right profile (§2.5).

No I/O, no clock: everything here is a plain function of its arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

JSONObject = Mapping[str, Any]


class JobLike(Protocol):
    """What batching needs of an outbox job (``delivery.outbox.Job`` satisfies it)."""

    @property
    def id(self) -> int: ...
    @property
    def connection_id(self) -> int: ...
    @property
    def user_key(self) -> str: ...
    @property
    def source_key(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def enqueued_at(self) -> datetime: ...
    @property
    def attempts(self) -> int: ...
    @property
    def attributes(self) -> JSONObject | None: ...
    @property
    def event(self) -> JSONObject | None: ...


@dataclass(slots=True, eq=False)
class UserUpdate:
    """Everything one user gets in one request, and the jobs it stands for."""

    connection_id: int
    user_key: str
    occurred_at: datetime  # of the latest job applied
    job_ids: list[int]
    attributes: JSONObject | None
    # Time of the job that set each attribute; ``None`` means every attribute was set at
    # ``occurred_at`` (the common single-job case, so no per-attribute dict is built).
    attribute_times: dict[str, datetime] | None = None
    events: list[JSONObject] = field(default_factory=list)
    event_keys: list[str] = field(default_factory=list)  # idempotency keys, one per event
    first_enqueued_at: datetime | None = None  # oldest job: the retry window starts there
    attempts: int = 0  # highest attempt count among the jobs
    # Jobs of this user left for a later round because their events would not fit in one
    # request (more than the cap); the worker releases them.
    deferred_job_ids: list[int] = field(default_factory=list)
    # Set by dedup: what to remember as accepted once Braze takes this update.
    record: dict[str, tuple[Any, datetime]] | None = None

    def time_of(self, attribute: str) -> datetime:
        if self.attribute_times is None:
            return self.occurred_at
        return self.attribute_times.get(attribute, self.occurred_at)

    @property
    def needs_request(self) -> bool:
        """False when nothing is left to send (dedup removed everything)."""
        return self.attributes is not None or bool(self.events)

    @property
    def object_count(self) -> int:
        return (1 if self.attributes is not None else 0) + len(self.events)


@dataclass(slots=True, eq=False)
class Request:
    """One `/users/track` body and, per array, which update owns each index."""

    body: dict[str, list[JSONObject]]
    attribute_owners: list[UserUpdate]
    event_owners: list[UserUpdate]
    updates: list[UserUpdate]

    def update_for(self, input_array: str, index: int) -> UserUpdate | None:
        """The update a Braze minor error ``{input_array, index}`` points at, if any."""
        owners = (
            self.attribute_owners
            if input_array == "attributes"
            else self.event_owners
            if input_array == "events"
            else None
        )
        if owners is None or not 0 <= index < len(owners):
            return None
        return owners[index]

    @property
    def job_ids(self) -> list[int]:
        return [job_id for update in self.updates for job_id in update.job_ids]


def _order_key(job: JobLike) -> tuple[datetime, int]:
    return (job.occurred_at, job.id)


def coalesce(
    jobs: Iterable[JobLike], *, cap: int = 75, combined_cap: int | None = None
) -> list[UserUpdate]:
    """One :class:`UserUpdate` per user, in the order users first appear in ``jobs``.

    ``cap``/``combined_cap`` bound how many events one update may carry (all of a user's
    objects must fit in one request); jobs beyond that are left in ``deferred_job_ids``.
    """
    groups: dict[tuple[int, str], list[JobLike]] = {}
    for job in jobs:
        key = (job.connection_id, job.user_key)
        group = groups.get(key)
        if group is None:
            groups[key] = [job]
        else:
            group.append(job)
    max_objects = cap if combined_cap is None else min(cap, combined_cap)
    updates: list[UserUpdate] = []
    for group in groups.values():
        if len(group) == 1:
            updates.append(_single(group[0]))
        else:
            group.sort(key=_order_key)
            updates.append(_merge(group, cap, max_objects))
    return updates


def _single(job: JobLike) -> UserUpdate:
    event = job.event
    # Positional (the field order of UserUpdate): one of these per claimed user.
    return UserUpdate(
        job.connection_id,
        job.user_key,
        job.occurred_at,
        [job.id],
        job.attributes,
        None,
        [event] if event is not None else [],
        [job.source_key] if event is not None else [],
        job.enqueued_at,
        job.attempts,
    )


def _merge(group: Sequence[JobLike], cap: int, max_objects: int) -> UserUpdate:
    first = group[0]
    update = UserUpdate(
        connection_id=first.connection_id,
        user_key=first.user_key,
        occurred_at=first.occurred_at,
        job_ids=[],
        attributes=None,
        attribute_times={},
        first_enqueued_at=first.enqueued_at,
        attempts=first.attempts,
    )
    attributes: dict[str, Any] = {}
    times: dict[str, datetime] = {}
    groups: dict[str, Any] = {}
    for position, job in enumerate(group):
        event = job.event
        if event is not None:
            has_attributes = bool(attributes) or job.attributes is not None
            if len(update.events) + 1 > cap or (
                len(update.events) + 1 + (1 if has_attributes else 0) > max_objects
            ):
                # One request cannot hold more: the rest waits for the next round.
                update.deferred_job_ids = [later.id for later in group[position:]]
                break
            update.events.append(event)
            update.event_keys.append(job.source_key)
        if job.attributes is not None:
            for name, value in job.attributes.items():
                if name == "subscription_groups" and isinstance(value, list):
                    for entry in value:
                        is_group = isinstance(entry, dict)
                        gid = entry.get("subscription_group_id") if is_group else None
                        groups[str(gid)] = entry
                    times[name] = job.occurred_at
                    continue
                attributes[name] = value
                times[name] = job.occurred_at
        update.job_ids.append(job.id)
        update.occurred_at = job.occurred_at
        if job.enqueued_at < (update.first_enqueued_at or job.enqueued_at):
            update.first_enqueued_at = job.enqueued_at
        if job.attempts > update.attempts:
            update.attempts = job.attempts
    if groups:
        attributes["subscription_groups"] = list(groups.values())
    if attributes:
        update.attributes = attributes
        update.attribute_times = times
    else:
        update.attribute_times = None
    return update


def chunk(
    updates: Iterable[UserUpdate], *, cap: int = 75, combined_cap: int | None = None
) -> list[Request]:
    """Pack updates into requests: ≤ ``cap`` per array, ≤ ``combined_cap`` over all.

    Updates with nothing to send are skipped. Order is kept: earlier updates go in earlier
    requests, and within a request the arrays keep the updates' order.
    """
    if cap < 1:
        raise ValueError("cap must be at least 1")
    if combined_cap is not None and combined_cap < 1:
        raise ValueError("combined_cap must be at least 1")
    total_cap = 3 * cap if combined_cap is None else combined_cap
    requests: list[Request] = []
    current: Request | None = None
    for update in updates:
        n_attributes = 1 if update.attributes is not None else 0
        n_events = len(update.events)
        if n_attributes + n_events == 0:
            continue
        if n_events > cap or n_attributes + n_events > total_cap:
            raise ValueError(
                f"one user's update has {n_events} events: more than one request can hold"
            )
        if current is None or (
            len(current.attribute_owners) + n_attributes > cap
            or len(current.event_owners) + n_events > cap
            or len(current.attribute_owners) + len(current.event_owners) + n_attributes + n_events
            > total_cap
        ):
            current = Request(body={}, attribute_owners=[], event_owners=[], updates=[])
            requests.append(current)
        current.updates.append(update)
        if update.attributes is not None:
            current.body.setdefault("attributes", []).append(update.attributes)
            current.attribute_owners.append(update)
        if n_events:
            current.body.setdefault("events", []).extend(update.events)
            current.event_owners.extend([update] * n_events)
    # Braze processes attributes before events; keep that order in the serialised body too.
    for request in requests:
        if "events" in request.body and "attributes" in request.body:
            body = request.body
            request.body = {"attributes": body["attributes"], "events": body["events"]}
    return requests
