"""Database ids as the API accepts them: positive and within a 32-bit integer column."""

ID_MAX = 2_147_483_647
