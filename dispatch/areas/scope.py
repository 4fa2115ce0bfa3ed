"""Holding a query to the user's area: one filter for every list an area coordinator reads (the programme
their pages act on is `programme.service.users_programme`; `auth.scope.area_scope` says which area, if any)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import QueryableAttribute

from dispatch.auth.models import User
from dispatch.auth.scope import area_scope
from dispatch.programme.choice import UnknownArea, area_id_of
from dispatch.programme.models import Municipality, Programme

__all__ = ["UnknownArea", "area_id_of", "area_programmes", "area_towns", "in_area", "in_users_area"]

Query = TypeVar("Query", bound=Select)


def area_programmes(area_id: int) -> Select[int]:
    """The ids of the programmes serving an area (one today)."""
    return select(Programme.id).where(Programme.area_id == area_id)


def area_towns(area_id: int) -> Select[int]:
    """The ids of an area's municipalities."""
    return select(Municipality.id).where(Municipality.area_id == area_id)


def in_area(query: Query, area_id: int | None, programme_id: QueryableAttribute[int]) -> Query:
    """`query` held to the rows whose `programme_id` serves the area (all rows for None)."""
    return query if area_id is None else query.where(programme_id.in_(area_programmes(area_id)))


def in_users_area(query: Query, user: User, programme_id: QueryableAttribute[int]) -> Query:
    """`query` held to the user's area through the rows' programme (an area coordinator's; else as is)."""
    return in_area(query, area_scope(user), programme_id)
