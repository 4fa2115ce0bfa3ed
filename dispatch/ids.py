"""Database ids as the API accepts them: positive and within a 32-bit integer column."""

from typing import Annotated

from fastapi import Path

ID_MAX = 2_147_483_647

# A record id in a route's path: anything else is a 422 naming the parameter, never a database error.
PathId = Annotated[int, Path(ge=1, le=ID_MAX)]
