"""Route access by role: every route declares who may call it, and the app refuses to start otherwise."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.routing import BaseRoute

from dispatch.auth.models import Role, User
from dispatch.auth.scope import PathScopes, area_scope
from dispatch.auth.service import Login, login_for_token
from dispatch.deps import db_session, get_services
from dispatch.ids import ID_MAX

SESSION_COOKIE = "dispatch_session"
ALL_ROLES = frozenset(Role)


class RoleGuard:
    """A dependency that lets through only logged-in users of the declared roles (or anyone, if public).
    A login that must first enrol a second factor passes only where `enrolling` is declared."""

    def __init__(self, roles: Iterable[Role] | None, *, enrolling: bool = False) -> None:
        self.public = roles is None
        self.roles = frozenset(roles or ())
        self.enrolling = enrolling
        # Set at start-up for routes that stream (a live event stream): the guard ends its read so the
        # stream holds no database connection. Other routes go on in the same transaction, saving a
        # COMMIT and a second connection checkout (with its ping) per request.
        self.release_connection = True

    async def __call__(self, request: Request, session: Session = Depends(db_session)) -> User | None:
        if self.public:
            return None  # on the event loop: a public route pays no threadpool hop for its guard
        return await run_in_threadpool(self._check, request, session)

    def _check(self, request: Request, session: Session) -> User:
        login = current_login(request, session)
        if login is None:
            raise self.anonymous(request)
        user = login.user
        if user.role not in self.roles:
            raise self.forbidden(user)
        if login.enrolment_only and not self.enrolling:
            raise self.enrolment_required(user)
        request.state.user = user
        request.state.enrolment_only = login.enrolment_only
        self.check_area(request, session, user)
        if self.release_connection:
            session.commit()
        return user

    def check_area(self, request: Request, session: Session, user: User) -> None:
        """Hold an area coordinator to their area: an object of another area named in the path (a case, a
        shift, a hospital...) is answered as if it did not exist. Every route passes here, so none can
        forget it; which area each object is in is the app's table (`dispatch.area_paths`)."""
        area_id = area_scope(user)
        if area_id is None or not request.path_params:
            return
        scopes: PathScopes | None = getattr(request.app.state, "path_scopes", None)
        for name, raw in request.path_params.items():
            check = scopes.get(name) if scopes is not None else None
            if check is None:
                if scopes is None:  # an app built without the table: refuse rather than guess
                    raise self.not_visible(user, name, str(raw))
                continue  # a parameter naming no object of an area (a month)
            try:
                value = int(raw)
            except ValueError:
                continue  # not an id: the route answers 422
            if 1 <= value <= ID_MAX and not check(session, area_id, value):
                raise self.not_visible(user, name, str(raw))

    def not_visible(self, user: User, name: str, value: str) -> Exception:
        """What an area coordinator is told of another area's object: 404, as if it did not exist."""
        noun = name.removesuffix("_id")
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{name}: no {noun} {value} that you may see")

    def anonymous(self, request: Request) -> Exception:
        """What nobody logged in is told (a page guard sends a browser to log in instead)."""
        return HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="login required: send a valid bearer token or session cookie",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def forbidden(self, user: User) -> Exception:
        """What a role that may not use the route is told."""
        return HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"the {user.role.value} role may not use this route"
        )

    def enrolment_required(self, user: User) -> Exception:
        """What a login still to enrol its second factor is told everywhere but the enrolment."""
        return HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="two-factor enrolment required: enrol an authenticator app at /api/v1/auth/totp/enrol",
        )


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site_cookie_write(request: Request) -> bool:
    """A browser sent the session cookie with a write that another site started. SameSite=Strict keeps the
    cookie from other sites, but another port on the same host is the same site; the browser's own
    Sec-Fetch-Site (or, from older browsers, Origin) tells the page's origin apart."""
    if request.method not in UNSAFE_METHODS or SESSION_COOKIE not in request.cookies:
        return False
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return False  # a header token is never added by a browser on its own
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and origin.rstrip("/") != str(request.base_url).rstrip("/")


def current_login(request: Request, session: Session) -> Login | None:
    """The login whose token or session cookie came with the request, if any."""
    if cross_site_cookie_write(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a write started by another site is refused")
    token = bearer_token(request)
    return login_for_token(session, get_services(request).clock, token) if token else None


def logged_in_user(request: Request, session: Session) -> User | None:
    """The user whose token or session cookie came with the request, if any."""
    login = current_login(request, session)
    return login.user if login is not None else None


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer …`, else from the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE) or None


def allow(*roles: Role) -> Depends:  # type: ignore[valid-type]
    """Declare the roles that may call a route: `dependencies=[allow(Role.operator)]`."""
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for open routes")
    return Depends(RoleGuard(roles))


def public() -> Depends:  # type: ignore[valid-type]
    """Declare a route open to anyone (health checks, login, webhooks that check their own signature)."""
    return Depends(RoleGuard(None))


def authenticated() -> Depends:  # type: ignore[valid-type]
    """Declare a route open to every logged-in user, whatever the role."""
    return Depends(RoleGuard(ALL_ROLES))


def enrolling() -> Depends:  # type: ignore[valid-type]
    """Declare a route open to every logged-in user, even one whose login must first enrol a second factor:
    the enrolment itself, who am I, log out."""
    return Depends(RoleGuard(ALL_ROLES, enrolling=True))


async def current_user(request: Request) -> User:
    """The user the route's guard let through."""
    user = getattr(request.state, "user", None)
    if user is None:  # a route used current_user without declaring roles
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="login required")
    return user


def route_guard(route: APIRoute) -> RoleGuard | None:
    """The guard a route declared, if any."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, RoleGuard):
            return dependency.call
    return None


def iter_api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every API route with its full path, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            # Newer FastAPI keeps included routers nested instead of copying their routes.
            context = getattr(route, "include_context", None)
            yield from iter_api_routes(route.original_router.routes, prefix + getattr(context, "prefix", ""))


def _streams(route: APIRoute) -> bool:
    """Whether the route answers with a long-lived stream (a generator or a streaming response class)."""
    response_class = getattr(route.response_class, "value", route.response_class)  # a DefaultPlaceholder
    if isinstance(response_class, type) and issubclass(response_class, StreamingResponse):
        return True
    return inspect.isasyncgenfunction(route.endpoint) or inspect.isgeneratorfunction(route.endpoint)


def enforce_declared_roles(app: FastAPI) -> None:
    """Fail start-up if any API route forgot to declare its roles; publish the roles in OpenAPI."""
    missing = []
    for path, route in iter_api_routes(app.routes):
        guard = route_guard(route)
        if guard is None:
            missing.append(f"{sorted(route.methods or ())} {path}")
            continue
        guard.release_connection = _streams(route)
        roles = ["public"] if guard.public else sorted(r.value for r in guard.roles)
        route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": roles}
        if "Roles:" not in (route.description or ""):
            route.description = (route.description or "") + f"\n\nRoles: {', '.join(roles)}"
    if missing:
        raise RuntimeError("routes without declared roles: " + "; ".join(missing))
