"""The embed: ``/embed.js`` (served by every app, cacheable) and the public per-design
config it fetches — the form and the PUBLIC design key, never the ingest token; one 404 for
an unknown account and an unknown design; CORS only for the design key's allowed origins
and only on the embed's two URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from justuno_braze.config import Settings
from justuno_braze.errors import ConfigError
from justuno_braze.services.demo import DEMO_DESIGN, demo_design_key
from justuno_braze.vault import Vault
from justuno_braze.web.app import create_app
from tests.integration.demo_app import EMBED_CONFIG, PUBLIC_URL, Demo, demo_app

EVENTS = "/api/v1/accounts/demo/events"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with demo_app(tmp_path) as app:
        yield app


async def test_the_script_is_served_by_every_app_and_cacheable(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key=Vault.generate_key())
    app = create_app(settings, store=None)  # not the demo
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        script = await client.get("/embed.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in script.headers["cache-control"]
    assert "public" in script.headers["cache-control"]
    for needed in ("document.currentScript", "form_submitted", "/designs/", "showModal"):
        assert needed in script.text


async def test_the_config_has_the_form_and_the_public_key_but_no_secret(demo: Demo) -> None:
    answer = await demo.client.get(EMBED_CONFIG)
    assert answer.status_code == 200, answer.text
    assert "max-age=" in answer.headers["cache-control"]
    config = answer.json()
    assert (config["account"], config["design"]) == ("demo", DEMO_DESIGN)
    assert config["key"] == demo_design_key(demo.settings) and config["key"].startswith("jbd_")
    form = config["form"]
    assert [(f["name"], f["type"], f["required"]) for f in form["fields"]] == [
        ("email", "email", True),
        ("sms", "tel", False),
        ("first_name", "text", False),
    ]
    assert [f["label"] for f in form["fields"]] == ["Email", "Phone", "First name"]
    assert "Reply STOP to opt out" in form["consent_text"]
    assert form["headline"] and form["submit"] and form["thanks"]
    assert demo.settings.demo_token not in answer.text


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/accounts/demo/designs/other-popup/embed",
        "/api/v1/accounts/acme/designs/demo-popup/embed",
        "/api/v1/accounts/nobody/designs/nothing/embed",
    ],
)
async def test_unknown_account_or_design_is_one_404(demo: Demo, url: str) -> None:
    known = await demo.client.get(EMBED_CONFIG)
    unknown = await demo.client.get(url)
    assert known.status_code == 200
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "no such design"}


async def test_a_revoked_design_key_is_no_longer_handed_out(demo: Demo) -> None:
    account = await demo.store.accounts.by_slug("demo")
    assert account is not None
    [key] = await demo.store.tokens.list(account.id, kind="design")
    assert await demo.store.tokens.revoke(account.id, key.id)
    answer = await demo.client.get(EMBED_CONFIG)
    assert answer.status_code == 404
    assert demo_design_key(demo.settings) not in answer.text


async def test_an_allowed_origin_may_read_the_config_and_post_events(demo: Demo) -> None:
    config = await demo.client.get(EMBED_CONFIG, headers={"Origin": PUBLIC_URL})
    assert config.headers["access-control-allow-origin"] == PUBLIC_URL
    assert "Origin" in config.headers["vary"]
    assert "access-control-allow-credentials" not in config.headers
    preflight = await demo.client.options(
        EVENTS,
        headers={
            "Origin": PUBLIC_URL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PUBLIC_URL
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    event = {
        "type": "form_submitted",
        "visitor_id": "jv_cors",
        "design_id": DEMO_DESIGN,
        "properties": {"email": "cors@example.com"},
    }
    posted = await demo.client.post(
        EVENTS,
        json=event,
        headers={"Origin": PUBLIC_URL, "Authorization": f"Bearer {config.json()['key']}"},
    )
    assert posted.status_code == 202, posted.text
    assert posted.headers["access-control-allow-origin"] == PUBLIC_URL


async def test_other_origins_and_other_urls_get_no_cors(demo: Demo) -> None:
    evil = "https://evil.example"
    config = await demo.client.get(EMBED_CONFIG, headers={"Origin": evil})
    assert config.status_code == 200  # the key is public; the browser just won't hand it over
    assert "access-control-allow-origin" not in config.headers
    assert "Origin" in config.headers["vary"]  # a shared cache keeps the answers apart
    preflight = await demo.client.options(
        EVENTS, headers={"Origin": evil, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    management = await demo.client.get(
        "/api/v1/accounts/demo/workflows", headers={"Origin": PUBLIC_URL}
    )
    assert "access-control-allow-origin" not in management.headers


async def test_embed_origins_are_allowed_like_the_served_url(tmp_path: Path) -> None:
    shop = "https://shop.example"
    async with demo_app(tmp_path, embed_origins=(shop,)) as demo:
        config = await demo.client.get(EMBED_CONFIG, headers={"Origin": shop})
        assert config.headers["access-control-allow-origin"] == shop
        event = {
            "type": "form_submitted",
            "visitor_id": "jv_shop",
            "design_id": DEMO_DESIGN,
            "properties": {"email": "shop@example.com"},
        }
        key = {"Authorization": f"Bearer {config.json()['key']}"}
        posted = await demo.client.post(EVENTS, json=event, headers={**key, "Origin": shop})
        assert posted.status_code == 202, posted.text
        other = await demo.client.post(
            EVENTS, json=event, headers={**key, "Origin": "https://other.example"}
        )
        assert other.status_code == 403


def test_embed_origins_are_read_from_the_environment() -> None:
    env = {"JUSTUNO_BRAZE_EMBED_ORIGINS": "https://shop.example/, http://127.0.0.1:3000"}
    settings = Settings.from_env(env, dotenv=None)
    assert settings.embed_origins == ("https://shop.example", "http://127.0.0.1:3000")
    with pytest.raises(ConfigError, match="EMBED_ORIGINS"):
        Settings.from_env({"JUSTUNO_BRAZE_EMBED_ORIGINS": "https://shop.example/p"}, dotenv=None)
