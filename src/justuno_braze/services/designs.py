"""A design's pop-up form as the embed script renders it, and its public key.

A *design* is one Justuno pop-up: the fields it asks for, its words, and a public design
key (token kind ``design``, named after the design) that may only post that design's
``form_submitted`` events. :func:`embed_config` is what ``embed.js`` fetches: everything
a page needs to render the form and submit it — never the account's ingest token.

Design keys are stored hashed like every token, so a key can be handed out only when it
can be derived again: today that is the demo's :data:`DEMO_DESIGN` (its key comes from
the settings, see :func:`~justuno_braze.services.demo.demo_design_key`). Giving other
accounts designs means keeping their (public) key in plain — not built yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from justuno_braze.config import Settings
from justuno_braze.services.demo import DEMO_ACCOUNT, DEMO_DESIGN, demo_design_key
from justuno_braze.store import Store
from justuno_braze.store.tokens import DESIGN_KIND


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of the form; ``name`` is the canonical event property it fills."""

    name: str
    label: str
    type: str  # an <input> type: email | tel | text
    autocomplete: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class DesignForm:
    """What the pop-up shows. ``consent_text`` labels the SMS consent checkbox and is
    sent with the event, so the consent ledger records the words the visitor agreed to."""

    headline: str
    intro: str
    opener: str  # the label of the button that opens the pop-up
    fields: tuple[FormField, ...]
    consent_text: str
    submit: str
    thanks: str


@dataclass(frozen=True, slots=True)
class EmbedConfig:
    """A design as the embed script gets it: the form and the design's PUBLIC key."""

    account: str
    design: str
    key: str
    form: DesignForm


DEMO_FORM = DesignForm(
    headline="10% off your first order",
    intro="Join the Demo Store list for a welcome code and first word on new linens.",
    opener="Get 10% off",
    fields=(
        FormField("email", "Email", "email", "email", required=True),
        FormField("sms", "Phone", "tel", "tel"),
        FormField("first_name", "First name", "text", "given-name"),
    ),
    consent_text=(
        "Yes, text me offers and order updates from Demo Store at the number above. "
        "Message and data rates may apply. Reply STOP to opt out."
    ),
    submit="Get my code",
    thanks="Thanks! Your code is on its way.",
)

# (account slug, design id) -> (its form, how its public key is derived)
_DESIGNS: dict[tuple[str, str], tuple[DesignForm, Callable[[Settings], str]]] = {
    (DEMO_ACCOUNT, DEMO_DESIGN): (DEMO_FORM, demo_design_key),
}


async def embed_config(
    store: Store, settings: Settings, account: str, design: str
) -> EmbedConfig | None:
    """The design ``design`` of account ``account`` for the embed, or None when either is
    unknown or the design's key is not live (revoked, or never seeded) — one answer for
    all, so the endpoint reveals nothing about which accounts exist."""
    known = _DESIGNS.get((account, design))
    if known is None:
        return None
    form, derive = known
    key = derive(settings)
    owner = await store.accounts.by_slug(account)
    record = await store.tokens.authenticate(key, DESIGN_KIND)  # a read: not a use
    if owner is None or record is None or record.account_id != owner.id or record.name != design:
        return None
    return EmbedConfig(account=account, design=design, key=key, form=form)
