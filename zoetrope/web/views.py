"""What the pages show, in the user's words: the signed-in viewer, plan limits and sizes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from zoetrope.access import accounts, ledger
from zoetrope.access.keys import Principal
from zoetrope.access.models import Account
from zoetrope.config import Plan
from zoetrope.db import transaction
from zoetrope.errors import ZoetropeError
from zoetrope.settings import get_settings
from zoetrope.web.session import Session, read_session, same_host, session_principal, session_tag

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Joiners that shape emoji sequences and some scripts' letters: invisible, but they reorder nothing.
_JOINERS = {"\u200c", "\u200d"}


def hidden_characters(text: str) -> list[str]:
    """The characters of `text` that show as nothing yet change what is shown: controls (a newline)
    and format characters (U+202E before "evil" shows it as "live", U+200B hides in a word)."""
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c not in _JOINERS]


def codepoint(c: str) -> str:
    """'U+202E (RIGHT-TO-LEFT OVERRIDE)'."""
    name = unicodedata.name(c, "")
    return f"U+{ord(c):04X}" + (f" ({name})" if name else "")


def visible(text: str) -> str:
    """`text` with each hidden character written out as [U+202E]: a name made through the API or the
    CLI is shown as it is, not as those characters make it look."""
    return "".join(f"[U+{ord(c):04X}]" if hidden_characters(c) else c for c in text)


templates.env.filters["visible"] = visible
ASPECTS = {"landscape": (16, 9), "vertical": (9, 16), "square": (1, 1)}
RESOLUTIONS = (480, 720, 1080)
SECONDS = (2, 4, 5, 8, 10, 12, 15, 20)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the pages show them."""

    session: Session
    principal: Principal
    name: str
    credits: int

    @property
    def plan(self) -> Plan:
        return self.principal.plan

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin


class SignInRequired(Exception):
    """Raised by a page for a visitor who is not signed in; answered with a redirect."""


def viewer(request: Request, *, required: bool = True) -> Viewer | None:
    engine = request.app.state.services.engine
    session = read_session(request)
    try:
        if session is None:
            raise SignInRequired
        who = session_principal(engine, session)
    except (SignInRequired, ZoetropeError):
        if required:
            raise SignInRequired from None
        return None
    with transaction(engine) as s:
        account = s.get(Account, who.account_id)
        name, due = account.name, accounts.month_due(s, account)
        credits = ledger.balance(s, who.account_id)
    if due:  # the month's first page before its first create: the balance shown is this month's
        accounts.open_months(engine, [who.account_id])
        with transaction(engine) as s:
            credits = ledger.balance(s, who.account_id)
    return Viewer(session, who, session.email or name, credits)


def render(request: Request, template: str, viewer: Viewer | None, status: int = 200, **context):
    context.update(
        request=request,
        viewer=viewer,
        csrf=viewer.session.csrf if viewer else "",
        session_tag=session_tag(viewer.session) if viewer else "",
        max_upload=get_settings().max_upload_bytes,
    )
    response = templates.TemplateResponse(request, template, context, status_code=status)
    # A page's forms tell the studio which page they were on (the Referer, and an Origin that is not
    # "null"), so a sign-in can go back there and a form from another site is told apart; other sites
    # still get no referrer.
    response.headers["referrer-policy"] = "same-origin"
    if viewer is not None:  # a signed-in page: Back after signing out or deleting asks the server again
        response.headers["cache-control"] = "no-store"
    return response


def to_sign_in(request: Request) -> RedirectResponse:
    """To the sign-in page, which then goes back to the page asked for. A form sent after the session
    ended goes back to the page the form was on (its path is a POST-only action): the same-origin
    Referer's path, else the account page or Create."""
    path = request.url.path
    if request.method not in ("GET", "HEAD"):
        referer = request.headers.get("referer", "")
        back = urlsplit(referer).path if same_host(referer, request) else ""
        if back.startswith("/") and not back.startswith("//") and back not in ("/signin", "/signup"):
            path = back
        else:
            path = "/account" if path.startswith("/account") else "/create"
    return RedirectResponse(f"/signin?next={quote(path)}", status_code=303)


def size_of(aspect: str, resolution: int) -> str:
    """'1280x720' for landscape at 720: the short side is the resolution, rounded to even pixels."""
    w, h = ASPECTS.get(aspect, ASPECTS["landscape"])
    scale = resolution / min(w, h)
    return f"{round(w * scale / 2) * 2}x{round(h * scale / 2) * 2}"


def limits(plan: Plan) -> list[tuple[str, str]]:
    """The plan's limits as label/value rows."""
    aspects = ", ".join(plan.aspects) if plan.aspects else "any"
    return [
        ("Plan", plan.name),
        ("Longest video", f"{plan.max_seconds:g} s" if plan.max_seconds else "no video"),
        ("Resolution", f"up to {plan.max_resolution}p" if plan.max_resolution else "—"),
        ("Aspect ratios", aspects),
        ("Concurrent jobs", str(plan.concurrent_jobs)),
        ("Queue lane", " / ".join(plan.allowed_lanes())),
        ("Downloads", "without watermark" if plan.watermark_free else "with visible watermark"),
        ("Monthly credits", str(plan.monthly_credits)),
    ]
