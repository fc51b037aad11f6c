"""The dispatcher's map page, its login form, its data, and the engineer's day sheet.

A browser page cannot attach a bearer header to a navigation, so the map
signs in with a form that sets the session cookie ``deps.SESSION_COOKIE``
(HttpOnly: no script reads it; SameSite=Strict: no other site's page sends
it). The page's own script then calls the JSON API with that cookie and the
``X-Requested-With`` header the API demands of cookie-authenticated writes.

Pages redirect to the login form when nobody is logged in; the JSON endpoint
answers 401 like the rest of the API. Engineers may open only their own day
sheet: ``/map`` and ``/map/data`` are 404 for them (as every record that is
not theirs is).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.deps import (
    SESSION_COOKIE,
    LateGateSessionDep,
    SessionDep,
    SettingsDep,
    Staff,
    oauth2,
    user_from_token,
)
from api.mapdata import day_bounds, load_map_data, load_map_frame
from api.security import issue_token
from crm.errors import NotFound, TooManyAttempts
from crm.models import Engineer, Role, User
from crm.services.users import authenticate
from crm.settings import Settings
from maps import MapLinks, map_payload, render_dispatcher_map, render_engineer_map
from maps.pages import render_login_page

router = APIRouter(tags=["map"])
LINKS = MapLinks()
LOGIN = "/map/login"


def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def _safe_next(target: str | None, default: str = LINKS.page) -> str:
    """A same-site path to return to after login; anything else is an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?next={quote(here, safe='')}", status_code=303)


def optional_user(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> User | None:
    """The logged-in user, or None (pages redirect to the form instead of 401)."""
    try:
        return user_from_token(request=request, settings=settings, token=token)
    except HTTPException:
        return None


MaybeUser = Annotated[User | None, Depends(optional_user)]


def _page_headers(settings: Settings) -> dict[str, str]:
    """Authenticated pages are never cached; the policy pins every fetch to this origin.

    The only other origin a page may load from is the tile server, when one
    is configured. folium writes inline scripts and styles, hence the
    'unsafe-inline' (no user text reaches a script: it is escaped JSON).
    """
    img = "'self' data:"
    if settings.tile_url:
        parts = urlsplit(settings.tile_url.replace("{s}", "*"))
        if parts.scheme in ("http", "https") and parts.netloc:
            img += f" {parts.scheme}://{parts.netloc}"
    policy = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; font-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _home_of(user: User, day: date | None = None) -> str:
    if user.role == Role.engineer and user.engineer_id is not None:
        path = LINKS.engineer_page.replace("{id}", str(user.engineer_id))
        return path + (f"?date={day.isoformat()}" if day else "")
    return LINKS.page


@router.get(LOGIN, response_class=HTMLResponse, summary="Login form of the map page")
def login_form(
    user: MaybeUser,
    settings: SettingsDep,
    next: Annotated[str | None, Query(description="Path to return to.")] = None,
) -> Response:
    """The map's login form; a logged-in user goes straight on."""
    target = _safe_next(next)
    if user is not None:
        return RedirectResponse(target if user.role != Role.engineer else _home_of(user), 303)
    return HTMLResponse(render_login_page(next_url=target), headers=_page_headers(settings))


@router.post(LOGIN, response_class=HTMLResponse, summary="Log in to the map page")
def login_submit(
    request: Request,
    session: LateGateSessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Check the password, set the HttpOnly session cookie, go back to the map."""
    target = _safe_next(next)
    headers = _page_headers(settings)
    try:
        user = authenticate(
            session,
            username=username,
            password=password,
            max_failures=settings.login_max_failures,
            lockout_seconds=settings.login_lockout_seconds,
        )
    except TooManyAttempts as exc:
        session.commit()
        page = render_login_page(next_url=target, username=username, error=exc.detail)
        return HTMLResponse(page, status_code=429, headers=headers)
    session.commit()
    if user is None or user.id is None:
        page = render_login_page(
            next_url=target, username=username, error="Wrong username or password."
        )
        return HTMLResponse(page, status_code=401, headers=headers)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = issue_token(
        user_id=user.id, role=user.role, secret=settings.resolved_secret_key, ttl=ttl
    )
    response = RedirectResponse(
        target if user.role != Role.engineer else _home_of(user), status_code=303
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/map/logout", summary="Log out of the map page")
def logout() -> Response:
    """Drop the session cookie and show the login form."""
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/map", response_class=HTMLResponse, summary="The dispatcher's map")
def dispatcher_map(
    request: Request,
    user: MaybeUser,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[date | None, Query(alias="date", description="Local day (YYYY-MM-DD).")] = None,
    layer: Annotated[
        Literal["auto", "cluster", "canvas"],
        Query(description="Tickets clustered (markercluster) or drawn on a canvas."),
    ] = "auto",
) -> Response:
    """Territories, engineers, tickets, routes, unassigned tickets and KPIs of a day."""
    if user is None:
        return _to_login(request)
    if user.role not in (Role.admin, Role.dispatcher):
        raise NotFound("page", request.url.path)
    today = _today(settings)
    shown = day or today
    # The frame only: the page fetches /map/data itself as it loads.
    data = load_map_frame(session, day=shown, tz=settings.timezone)
    # Another day than today: the page's actions act as of that day's start.
    as_of = None if shown == today else day_bounds(shown, settings.timezone)[0]
    html = render_dispatcher_map(
        data,
        links=LINKS,
        tile_url=settings.tile_url,
        user=user.username,
        as_of=as_of,
        ticket_layer=layer,
    )
    return HTMLResponse(html, headers=_page_headers(settings))


@router.get("/map/data", summary="The map's data as GeoJSON")
def map_data(
    _: Staff,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[date | None, Query(alias="date", description="Local day (YYYY-MM-DD).")] = None,
) -> JSONResponse:
    """Engineers, tickets, routes and stops as GeoJSON FeatureCollections
    (``[lon, lat]``), unassigned tickets with reasons, totals, and the panel's
    HTML fragments: what the map page redraws after an assignment."""
    shown = day or _today(settings)
    data = load_map_data(session, day=shown, tz=settings.timezone)
    return JSONResponse(map_payload(data, LINKS), headers={"Cache-Control": "no-store"})


@router.get(
    "/engineers/{engineer_id}/map",
    response_class=HTMLResponse,
    summary="One engineer's day, printable",
)
def engineer_map(
    engineer_id: int,
    request: Request,
    user: MaybeUser,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[date | None, Query(alias="date", description="Local day (YYYY-MM-DD).")] = None,
) -> Response:
    """An engineer's route and stop list for a day (an engineer sees only his own)."""
    if user is None:
        return _to_login(request)
    if user.role == Role.engineer and user.engineer_id != engineer_id:
        raise NotFound("engineer", engineer_id)
    if session.get(Engineer, engineer_id) is None:
        raise NotFound("engineer", engineer_id)
    shown = day or _today(settings)
    data = load_map_data(session, day=shown, tz=settings.timezone, engineer_id=engineer_id)
    html = render_engineer_map(data, engineer_id, links=LINKS, tile_url=settings.tile_url)
    return HTMLResponse(html, headers=_page_headers(settings))
