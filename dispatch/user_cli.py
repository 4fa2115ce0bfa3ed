"""`dispatch user create`: the first admin of a new installation (everyone else is added through the API).

The password never appears on the command line (where `ps` and shell histories would show it): it is read
from the environment variable named by `--password-env` when that is set, else from standard input (one
line; asked twice on a terminal).
"""

from __future__ import annotations

import getpass
import os
import sys

import typer

from config.settings import Settings
from dispatch.startup import settings_or_exit

user_app = typer.Typer(help="User accounts (the first admin; then use the API).", no_args_is_help=True)

PASSWORD_ENV = "DISPATCH_USER_PASSWORD"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    return settings_or_exit()


def read_password(env_name: str) -> str:
    """The new password: from the environment variable `env_name`, else standard input."""
    from_env = os.environ.get(env_name)
    if from_env is not None:
        return from_env
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise _fail("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("create")
def create(
    username: str = typer.Option(..., help="login name: a-z, 0-9, '.', '_' or '-'"),
    role: str = typer.Option(..., help="admin, coordinator, operator, consulting_physician, …"),
    display_name: str | None = typer.Option(None, help="the name shown in the console (default: username)"),
    clinic_id: int | None = typer.Option(None, help="a clinic admin's clinic"),
    physician_id: int | None = typer.Option(None, help="a physician's record, for a physician's account"),
    area: str | None = typer.Option(None, help="an area coordinator's area, by code (e.g. katori-kaiso)"),
    password_env: str = typer.Option(
        PASSWORD_ENV, help="the environment variable holding the password; standard input when unset"
    ),
) -> None:
    """Create a user with one role; the password comes from the environment or standard input."""
    from pydantic import ValidationError

    from dispatch import models  # noqa: F401 - every mapped class, so foreign keys resolve
    from dispatch.auth import service
    from dispatch.auth.models import Role
    from dispatch.auth.passwords import Passwords
    from dispatch.auth.schemas import UserCreate
    from dispatch.clock import SystemClock
    from dispatch.db import make_engine, make_session_factory, unit_of_work

    settings = _settings()
    try:
        body = UserCreate(
            username=username,
            display_name=display_name or username,
            password=read_password(password_env),
            role=role,  # a str, validated into a Role here
            clinic_id=clinic_id,
            physician_id=physician_id,
            area=area,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(problems, 2) from None
    if body.role is Role.clinic_admin and body.clinic_id is None:
        raise _fail("--clinic-id: a clinic admin must belong to a clinic", 2)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            user = service.create_user(
                session, Passwords.from_settings(settings), SystemClock(), **body.model_dump()
            )
            typer.echo(f"user {user.username} ({user.role.value}) created, id {user.id}")
    except service.UsernameTaken:
        raise _fail(f"username {username!r} is already taken") from None
    except (service.UnknownReference, service.AreaRejected) as exc:
        raise _fail(str(exc), 2) from None
    finally:
        engine.dispose()


@user_app.command("reset-two-factor")
def reset_two_factor(username: str = typer.Option(..., help="whose second factor to clear")) -> None:
    """Clear a user's second factor (a lost phone, the last admin's too); they enrol again at their next login.
    Audited as the system."""
    from sqlalchemy import select

    from dispatch import models  # noqa: F401 - every mapped class, so foreign keys resolve
    from dispatch.auth.models import User
    from dispatch.clock import SystemClock
    from dispatch.db import make_engine, make_session_factory, unit_of_work
    from dispatch.twofactor import service

    engine = make_engine(_settings().database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise _fail(f"no user {username!r}")
            service.reset(session, SystemClock(), None, user)
            typer.echo(f"second factor of {username} cleared; they enrol again at their next login")
    finally:
        engine.dispose()
