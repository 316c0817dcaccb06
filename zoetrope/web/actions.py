"""The studio's forms (POST): sign in and out, sign up, set a password, API keys, publish."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from zoetrope.access import keys
from zoetrope.access.accounts import find_account, open_account
from zoetrope.access.models import Account
from zoetrope.access.usage import checked_text
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest, PermissionDenied, ZoetropeError
from zoetrope.jobs import store
from zoetrope.web import queries
from zoetrope.web.models import StudioUser
from zoetrope.web.session import (
    check_csrf,
    end_other_sessions,
    end_session,
    from_another_site,
    hand_over_key,
    hash_password,
    limited_key,
    read_session,
    reissue_cookie,
    sign_in_key,
    sign_in_password,
    signed_message,
    start_session,
)
from zoetrope.web.views import codepoint, hidden_characters, render, viewer

router = APIRouter(include_in_schema=False)
SIGNUP_PLAN = "plus"
MIN_PASSWORD = 8
LIMITED_KEY = (
    "this session signed in with an API key that has its own quota or model list; sign in with "
    "your password or an unrestricted key to create keys or set a password"
)


def _engine(request: Request):
    return request.app.state.services.engine


def _safe_next(next: str) -> str:
    return next if next.startswith("/") and not next.startswith("//") else "/create"


def _go(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _refused_from_another_site(request: Request) -> Response | None:
    """A 403 page for a sign-in, sign-up or sign-out that a page of another site sent (it would sign
    the browser into the sender's account, or out of its own); None for the studio's own forms."""
    if not from_another_site(request):
        return None
    message = (
        "Another website sent this form to the studio, so it was refused and nothing changed. "
        "To sign in, up or out, use the studio's own pages."
    )
    if "sec-fetch-site" not in request.headers:  # judged by Origin against Host, which a proxy may rewrite
        message += (
            " If it was the studio's own page, the server does not know the address it is served at: "
            "its operator sets ZOETROPE_PUBLIC_URL to it (or has the proxy pass the Host header "
            "through, or set X-Forwarded-Host)."
        )
    return render(
        request, "message.html", None, 403, title="Refused: sent from another site", message=message
    )


@router.post("/signin")
def sign_in(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    api_key: str = Form(""),
    next: str = Form("/create"),
) -> Response:
    if refused := _refused_from_another_site(request):
        return refused
    try:
        if api_key.strip():
            who = sign_in_key(_engine(request), api_key)
            account_id, key_id, email = who.account_id, who.key_id, None
        else:
            user = sign_in_password(_engine(request), email, password)
            account_id, key_id, email = user.account_id, None, user.email
    except ZoetropeError as e:
        return render(
            request, "signin.html", None, 401, error=e.message, next=next, mode="signin", email=email
        )
    response = _go(_safe_next(next))
    start_session(response, _engine(request), account_id, key_id, email)
    return response


# One @, a dot in the domain, and none of the characters that only markup or a typo puts there. RFC 5321
# allows `+`, `=`, `|` and `!` in the local part, so an address may begin like a spreadsheet formula
# (`+1+cmd|calc!A0@a.co`): the invoice CSV neutralises such cells rather than this refusing them.
_EMAIL = re.compile(r"[^@\s<>\"'(),;:]+@[^@\s<>\"'(),;:]+\.[^@\s<>\"'(),;:.]+")


def _check_credentials(email: str, password: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise InvalidRequest("enter a valid email address, like ada@example.com", param="email")
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"the password must have at least {MIN_PASSWORD} characters", param="password")
    return email


@router.post("/signup")
def sign_up(request: Request, email: str = Form(""), password: str = Form("")) -> Response:
    if refused := _refused_from_another_site(request):
        return refused
    try:
        email = _check_credentials(email, password)
        checked_text(email, Account.name, "email")  # the account is named by it: at most 200 characters
        with transaction(_engine(request), immediate=True) as s:
            # A studio user, or an account made elsewhere (CLI, admin API) under this name.
            if s.scalar(select(StudioUser.id).where(StudioUser.email == email)) or find_account(s, email):
                raise InvalidRequest("an account with this email already exists: sign in", param="email")
            account = open_account(s, email, plan=SIGNUP_PLAN)  # this month's credits at once
            s.add(StudioUser(account_id=account.id, email=email, password_hash=hash_password(password)))
            account_id = account.id
    except ZoetropeError as e:
        return render(
            request, "signin.html", None, 400, error=e.message, next="/create", mode="signup", email=email
        )
    response = _go("/create")
    start_session(response, _engine(request), account_id, None, email)
    return response


@router.post("/signout")
def sign_out(request: Request, csrf: str = Form("")) -> Response:
    if refused := _refused_from_another_site(request):
        return refused
    session = read_session(request)
    if session is None:  # no cookie came (or none of ours): nothing to end, and no cookie to clear
        return _go("/signin")
    try:
        check_csrf(request, session, csrf)  # another site cannot sign the browser out
    except ZoetropeError as e:
        return _go(f"/account?error={signed_message(e.message)}")
    response = _go("/signin")
    end_session(response, _engine(request), session)
    return response


@router.post("/account/password")
def set_password(
    request: Request, email: str = Form(""), password: str = Form(""), csrf: str = Form("")
) -> Response:
    """Give the signed-in account an email and password, so it can sign in without a key."""
    v = viewer(request)
    try:
        check_csrf(request, v.session, csrf)
        if limited_key(v.principal):
            raise PermissionDenied(LIMITED_KEY, code="limited_key")
        email = _check_credentials(email, password)
        with transaction(_engine(request), immediate=True) as s:
            taken = s.scalar(select(StudioUser).where(StudioUser.email == email))
            if taken is not None and taken.account_id != v.principal.account_id:
                raise InvalidRequest("this email belongs to another account", param="email")
            user = taken or s.scalar(
                select(StudioUser).where(StudioUser.account_id == v.principal.account_id)
            )
            if user is None:
                s.add(
                    StudioUser(
                        account_id=v.principal.account_id, email=email, password_hash=hash_password(password)
                    )
                )
            else:
                user.email, user.password_hash = email, hash_password(password)
            # A new password ends every other sign-in of the account (a stolen cookie among them).
            end_other_sessions(s, v.principal.account_id, keep=v.session.id)
    except ZoetropeError as e:  # back to the form, with what was typed (never the password)
        return _go(
            f"/account?error={signed_message(e.message)}&at=password&email={quote_plus(email[:320])}#password"
        )
    response = _go("/account?saved=password#password")
    reissue_cookie(response, v.session, email)
    return response


def _key_name(name: str) -> str:
    """The key's name as the table will show it, or a refusal naming the field: an invisible character
    that reorders or hides text (U+202E before "evil" shows it as "live") would make the name read as
    another in the keys table and in the revoke question, so it is refused where it is typed."""
    name = name.strip()  # a pasted name's trailing newline goes, as its spaces do
    hidden = hidden_characters(name)
    if hidden:
        which = ", ".join(dict.fromkeys(codepoint(c) for c in hidden))
        raise InvalidRequest(
            f"Key name holds {which}, an invisible character that changes how the name reads: "
            "remove it (type the name again rather than pasting it)",
            param="name",
        )
    return name[:200] or "studio"


@router.post("/account/keys")
def create_key(request: Request, name: str = Form("studio"), csrf: str = Form("")) -> Response:
    v = viewer(request)
    try:
        check_csrf(request, v.session, csrf)
        if limited_key(v.principal):
            raise PermissionDenied(LIMITED_KEY, code="limited_key")
        name = _key_name(name)
        with transaction(_engine(request), immediate=True) as s:
            _, token = keys.create_key(s, v.principal.account_id, name)
    except ZoetropeError as e:
        return _go(f"/account?error={signed_message(e.message)}&at=keys#keys")
    # The key is shown once, on the page the redirect lands on; it is never stored in plain text.
    response = _go("/account#keys")
    hand_over_key(response, v.session, token)
    return response


@router.post("/account/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: str, csrf: str = Form("")) -> Response:
    v = viewer(request)
    try:
        check_csrf(request, v.session, csrf)
        with transaction(_engine(request), immediate=True) as s:
            keys.revoke_key(s, key_id, account_id=v.principal.account_id)
    except ZoetropeError as e:
        return _go(f"/account?error={signed_message(e.message)}&at=keys#keys")
    return _go("/account#keys")


@router.post("/videos/{video_id}/publish")
def publish(request: Request, video_id: str, published: str = Form("1"), csrf: str = Form("")) -> Response:
    v = viewer(request)
    try:
        check_csrf(request, v.session, csrf)
        with transaction(_engine(request), immediate=True) as s:
            job = store.get_completed_job(s, v.principal.account_id, video_id)
            queries.set_published(s, job, published == "1")
    except ZoetropeError as e:
        return _go(f"/videos/{video_id}?error={signed_message(e.message)}")
    return _go(f"/videos/{video_id}")
