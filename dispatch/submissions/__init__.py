"""Monthly submissions to the prefecture: a month's figures frozen with who and when, and what changed since."""
