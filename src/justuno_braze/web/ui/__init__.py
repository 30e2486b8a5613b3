"""The marketer's web UI (issue 5): server-rendered Jinja2 pages over the same services
the REST API uses, with small vanilla-JS enhancements served from ``/ui/static``.

``create_app`` includes the ``router`` of every module named in :data:`PAGES` that exists
(areas land one by one, like the API's ``ROUTERS``). Foundation: :mod:`.render` (``page``,
``see_other``), :mod:`.session` (``SignedIn``, ``CsrfChecked``, sign-in/out),
``templates/base.html`` and ``templates/_forms.html``, ``static/app.css`` / ``app.js``.
"""

from __future__ import annotations

PAGES: tuple[str, ...] = ("session", "apps", "workflows", "dashboard", "deliveries")
