"""Consent → Braze subscription groups, one decision per configured channel (pure).

The rules are PRODUCT.md's table ("Consent and subscription groups"):

| channel | group configured | contact | design's consent field | result |
|---|---|---|---|---|
| SMS   | no  | any           | any            | no entry, no decision |
| SMS   | yes | no valid phone| any            | no entry (``no_valid_phone``) |
| SMS   | yes | valid phone   | absent         | subscribed (implicit, S10) ¹ |
| SMS   | yes | valid phone   | ticked         | subscribed (explicit) |
| SMS   | yes | valid phone   | unticked       | no entry (``unticked``): never "unsubscribed" |
| email | no  | any           | any            | no entry, no decision |
| email | yes | no valid email| any            | no entry (``no_valid_email``) |
| email | yes | valid email   | absent         | subscribed (implicit) ¹ |
| email | yes | valid email   | ticked         | subscribed (explicit) |
| email | yes | valid email   | unticked       | no entry (``unticked``) |

¹ Only when this event carries the contact; else no entry (``not_collected``).
Implicit consent is given by submitting a design that collects the contact, so it only
covers a contact the triggering event itself carries: a later email-only form must not
re-subscribe a phone number the visitor gave (and may since have opted out of) before.

We never send ``unsubscribed``: an unticked box is not a request to leave a group the
visitor may have joined elsewhere. Every decision, subscribed or not, becomes a
``ConsentDecision`` for the consent ledger (evidence for SMS compliance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from justuno_braze.events import Event

SUBSCRIBED = "subscribed"
NOT_SUBSCRIBED = "not_subscribed"
EXPLICIT = "explicit"
IMPLICIT = "implicit"


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """What was decided for one channel's subscription group, and on what evidence."""

    channel: str  # "sms" | "email"
    group_id: str
    state: str  # SUBSCRIBED | NOT_SUBSCRIBED
    basis: str  # EXPLICIT (the design has the consent field) | IMPLICIT
    design_id: str | None
    consent_text: str | None
    occurred_at: datetime
    ip: str | None
    page_url: str | None
    visitor_id: str
    reason: str | None = None  # why not: unticked | not_collected | no_valid_phone | no_valid_email


def decide(
    event: Event,
    visitor_id: str,
    *,
    sms_group: str | None,
    email_group: str | None,
    has_phone: bool,
    has_email: bool,
) -> tuple[list[dict[str, Any]], list[ConsentDecision]]:
    """The ``subscription_groups`` entries and the decisions behind them."""
    groups: list[dict[str, Any]] = []
    decisions: list[ConsentDecision] = []
    consent = event.consent
    props = event.properties
    for channel, group, has_contact, collected, missing in (
        ("sms", sms_group, has_phone, "sms" in props or "phone" in props, "no_valid_phone"),
        ("email", email_group, has_email, "email" in props, "no_valid_email"),
    ):
        if not group:
            continue
        ticked = consent.get(channel)
        basis = IMPLICIT if ticked is None else EXPLICIT
        if not has_contact:
            state, reason = NOT_SUBSCRIBED, missing
        elif ticked is False:
            state, reason = NOT_SUBSCRIBED, "unticked"
        elif ticked is None and not collected:
            state, reason = NOT_SUBSCRIBED, "not_collected"
        else:
            state, reason = SUBSCRIBED, None
            groups.append({"subscription_group_id": group, "subscription_state": SUBSCRIBED})
        decisions.append(
            ConsentDecision(
                channel=channel,
                group_id=group,
                state=state,
                basis=basis,
                design_id=event.design_id,
                consent_text=event.consent_text,
                occurred_at=event.occurred_at,
                ip=event.ip,
                page_url=event.page_url,
                visitor_id=visitor_id,
                reason=reason,
            )
        )
    return groups, decisions
