"""The studio's pages (GET): create, storyboard, library, video, explore, account, verify, admin."""

from __future__ import annotations

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from zoetrope.access import keys, ledger
from zoetrope.access.accounts import list_accounts, open_months
from zoetrope.access.entitlements import concurrency_limit
from zoetrope.access.models import Account
from zoetrope.access.usage import checked_month, month_bounds, today_utc, usage
from zoetrope.config import get_config
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from zoetrope.jobs import store
from zoetrope.jobs.content import open_content
from zoetrope.web import queries
from zoetrope.web.session import (
    NEW_KEY_COOKIE,
    from_another_site,
    read_message,
    read_session,
    session_principal,
    take_new_key,
)
from zoetrope.web.views import ASPECTS, RESOLUTIONS, SECONDS, Viewer, limits, render, viewer

router = APIRouter(include_in_schema=False)
MAX_VARIATIONS = 4


def _engine(request: Request):
    return request.app.state.services.engine


def _models(request: Request) -> list[str]:
    names = request.app.state.services.registry.model_names()
    aliases = [a for m in get_config().models for a in m.aliases]
    return names + [a for a in aliases if a not in names]


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/create" if viewer(request, required=False) else "/explore", status_code=303)


@router.get("/signin")
def signin_page(request: Request, next: str = "/create") -> Response:
    return render(
        request, "signin.html", None, next=next if next.startswith("/") else "/create", mode="signin"
    )


@router.get("/signup")
def signup_page(request: Request) -> Response:
    return render(request, "signin.html", None, next="/create", mode="signup")


@router.get("/create")
def create_page(request: Request) -> Response:
    v = viewer(request)
    running = _running(request, v)
    return render(
        request,
        "create.html",
        v,
        models=_models(request),
        aspects=_aspects(v.plan),
        seconds=SECONDS,
        variations=_variations(request, v),
        running=running,
        resolutions=_resolutions(v.plan),
        lanes=v.plan.allowed_lanes(),
        lane=v.plan.lane,
        limits=limits(v.plan),
    )


def _variations(request: Request, v: Viewer) -> list[int]:
    """How many variations one Generate may ask for: up to 4, and no more than the plan runs at once
    (each variation is a job of its own, and one past the plan's concurrency would be refused after
    the others were queued)."""
    with transaction(_engine(request)) as s:
        seats = s.get(Account, v.principal.account_id).seats
    return list(range(1, min(MAX_VARIATIONS, max(1, concurrency_limit(v.plan, seats))) + 1))


@router.get("/studio/concurrency")
def concurrency(request: Request) -> Response:
    """How many more jobs the viewer's account can start now: its plan's concurrency (as admission
    counts it: each admitted job not yet finished), for Create to check before it starts any of
    several variations. JSON; 401 without a session."""
    v = viewer(request, required=False)
    if v is None:
        return JSONResponse(
            {
                "error": {
                    "message": "sign in to the studio first",
                    "type": "authentication_error",
                    "code": "signed_out",
                    "param": None,
                }
            },
            status_code=401,
        )
    with transaction(_engine(request)) as s:
        account = s.get(Account, v.principal.account_id)
        plan = get_config().plans.get(account.plan, v.plan)  # the plan as of now, as admission reads it
        limit = concurrency_limit(plan, account.seats)
        running = ledger.open_charges(s, account.id)
    return JSONResponse({"limit": limit, "running": running, "free": max(0, limit - running)})


@router.get("/studio/csrf")
def csrf_token(request: Request) -> Response:
    """The CSRF token of the session the browser's cookie holds now, and its account: a page opened
    before the browser signed in again in another tab (a new session, a new token) asks for it
    when its own token is refused, and before it sends a form. JSON, never stored; 401 without a
    session. Another site's page cannot read it (CORS never allows credentials) and is refused it."""
    if from_another_site(request):
        raise PermissionDenied("another site asked for the studio's CSRF token", code="cross_site")
    session = read_session(request)
    if session is None:
        raise AuthenticationFailed("your session has ended: sign in again", code="signed_out")
    who = session_principal(_engine(request), session)
    return JSONResponse(
        {"csrf": session.csrf, "account": who.account_id}, headers={"cache-control": "no-store"}
    )


def _running(request: Request, v: Viewer, task: str = "") -> list[dict]:
    """The viewer's queued and running jobs (of `task`), as the page's bars start from: a reload or
    Back mid-render finds its bars again."""
    with transaction(_engine(request)) as s:
        return [_bar(j) for j in queries.running(s, v.principal.account_id, task=task)]


def _bar(job) -> dict:
    """What a page's script needs to show a running job's bar again (Studio.jobTile's video)."""
    return {
        "id": job.id,
        "size": job.size,
        "prompt": job.prompt,
        "progress": job.progress,
        "status": job.status,
        "task": job.task,
    }


def _aspects(plan) -> list[str]:
    """The aspects (landscape, vertical, square) the plan makes, for the pages' choosers."""
    allowed = [float(w) / float(h) for w, h in (a.split(":") for a in plan.aspects or [])]
    made = [n for n, (w, h) in ASPECTS.items() if not allowed or any(abs(w / h - r) < 0.01 for r in allowed)]
    return made or list(ASPECTS)


def _resolutions(plan) -> list[int]:
    """The resolutions (short side) the plan makes, for the pages' choosers."""
    return [r for r in RESOLUTIONS if r <= (plan.max_resolution or 0)] or [RESOLUTIONS[0]]


@router.get("/storyboard")
def storyboard_page(request: Request) -> Response:
    v = viewer(request)
    return render(
        request,
        "storyboard.html",
        v,
        models=_models(request),
        aspects=_aspects(v.plan),
        resolutions=_resolutions(v.plan),
        max_seconds=v.plan.max_seconds,
        running=_running(request, v, task="storyboard"),
    )


@router.get("/library")
def library_page(request: Request, kind: str = "", status: str = "", q: str = "", page: int = 1) -> Response:
    v = viewer(request)
    with transaction(_engine(request)) as s:
        lib = queries.library(s, v.principal.account_id, kind=kind, status=status, q=q, page=page)
        published = queries.published_ids(s, v.principal.account_id)
    filters = {"kind": kind, "status": status, "q": q}
    return render(
        request, "library.html", v, lib=lib, filters=filters, published=published, statuses=queries.STATUSES
    )


@router.get("/videos/{video_id}")
def video_page(request: Request, video_id: str) -> Response:
    v = viewer(request)
    with transaction(_engine(request)) as s:
        try:
            job = store.get_job(s, v.principal.account_id, video_id)
        except NotFound as e:
            return render(request, "message.html", v, 404, title="Not found", message=e.message)
        published = job.id in queries.published_ids(s, v.principal.account_id)
        page = queries.library(s, v.principal.account_id, kind="video", status="completed")
        running = [_bar(j) for j in queries.running_from(s, job)]
    others = [j for j in page.jobs if j.id != job.id]
    return render(
        request,
        "video.html",
        v,
        job=job,
        published=published,
        others=others,
        running=running,
        params=job.params or {},
        error=read_message(request),
    )


@router.get("/explore")
def explore_page(request: Request) -> Response:
    v = viewer(request, required=False)
    with transaction(_engine(request)) as s:
        jobs = queries.explore(s)
    return render(request, "explore.html", v, jobs=jobs)


@router.get("/explore/{video_id}/content")
def published_content(
    request: Request,
    video_id: str,
    variant: str = "video",
    range: str | None = Header(None),
    if_range: str | None = Header(None),
    if_none_match: str | None = Header(None),
) -> Response:
    """A published video's files, for anyone: the Explore feed needs no sign-in. A browser that holds
    the file (If-None-Match with its ETag) gets 304 and no bytes, as from the API's content route."""
    with transaction(_engine(request)) as s:
        job = queries.published_job(s, video_id)
    if job is None or variant not in ("video", "thumbnail", "spritesheet"):
        raise NotFound(f"no published video {video_id!r}", param="video_id")
    c = open_content(
        request.app.state.services.blobs,
        job,
        variant,
        range,
        body=request.method != "HEAD",
        if_range=if_range,
        if_none_match=if_none_match,
    )
    return StreamingResponse(c.chunks, status_code=c.status, media_type=c.media_type, headers=c.headers)


router.head("/explore/{video_id}/content", include_in_schema=False)(published_content)


@router.get("/account")
def account_page(request: Request) -> Response:
    """The account page; a key just created (see `hand_over_key`) is shown this once."""
    v = viewer(request)
    month = today_utc().strftime("%Y-%m")
    since, until = month_bounds(month)
    with transaction(_engine(request)) as s:
        days = usage(s, account_id=v.principal.account_id, since=since, until=until, group_by="day")
        total = usage(s, account_id=v.principal.account_id, since=since, until=until)[0]
        key_list = keys.list_keys(s, v.principal.account_id)
        points = ledger.balance(s, v.principal.account_id, "points")
        has_password = _has_password(s, v.principal.account_id)
    peak = max([d.credits for d in days] + [1])
    response = render(
        request,
        "account.html",
        v,
        limits=limits(v.plan),
        days=days,
        peak=peak,
        total=total,
        keys=key_list,
        points=points,
        month=month,
        has_password=has_password,
        new_key=take_new_key(request, v.session),
        error=read_message(request),
        error_at=_error_at(request),
        saved=request.query_params.get("saved"),
        typed_email=request.query_params.get("email"),
    )
    if NEW_KEY_COOKIE in request.cookies:
        response.delete_cookie(NEW_KEY_COOKIE, path="/account", httponly=True, samesite="strict")
    return response


def _error_at(request: Request) -> str | None:
    """The account page's section whose form an error is about (`?at=`), where the page shows it: the
    redirect scrolls there, past the top of the page."""
    at = request.query_params.get("at")
    return at if at in ("keys", "password") else None


def _has_password(s, account_id: str) -> bool:
    from sqlalchemy import select

    from zoetrope.web.models import StudioUser

    return s.scalar(select(StudioUser.id).where(StudioUser.account_id == account_id)) is not None


@router.get("/verify")
def verify_page(request: Request) -> Response:
    return render(request, "verify.html", viewer(request))


@router.get("/admin")
def admin_page(request: Request, month: str = "") -> Response:
    v = viewer(request)
    if not v.is_admin:
        return render(
            request,
            "message.html",
            v,
            403,
            title="Admins only",
            message="the admin pages need an admin account",
        )
    try:
        month = checked_month(month)
    except InvalidRequest as e:
        return render(request, "message.html", v, 400, title="Not a month", message=e.message)
    since, until = month_bounds(month)
    with transaction(_engine(request)) as s:
        listed = [a.id for a in list_accounts(s)]
    open_months(_engine(request), listed)  # balances of this month, for accounts not yet in it too
    with transaction(_engine(request)) as s:
        accounts = [(a, ledger.balance(s, a.id)) for a in list_accounts(s)]
        by_account = {r.group: r for r in usage(s, since=since, until=until, group_by="account")}
        queue = store.count_by_status(s)
    return render(
        request,
        "admin.html",
        v,
        accounts=accounts,
        by_account=by_account,
        queue=queue,
        plans=list(get_config().plans.values()),
        month=month,
    )
