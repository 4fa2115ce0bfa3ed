"""An area coordinator's reach (広域連携): the one medical area whose cases, roster and figures they see and
act on. Everyone else is centre-wide: operators and consulting physicians take every area's calls, the
coordinator of the centre (no area) oversees them all, the prefecture reads every area's reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from dispatch.auth.models import Role, User

# Whether the object with an id, named in a route's path, is in an area: (session, area id, object id).
AreaCheck = Callable[[Session, int, int], bool]
# Each path parameter naming an object held to an area (`case_id`, `shift_id`, ...) and its check; the app
# puts them in `app.state.path_scopes`, and the route guard applies them to every route (`dispatch.area_paths`).
PathScopes = Mapping[str, AreaCheck]


def area_scope(user: User) -> int | None:
    """The area a user is held to: an area coordinator's; None (every area) for everyone else."""
    return user.area_id if user.role is Role.coordinator else None
