"""What every command does first: read the settings and refuse, in words, a configuration unfit to start."""

from __future__ import annotations

import typer

from config.settings import InsecureConfiguration, Settings, load_settings


def settings_or_exit() -> Settings:
    """The settings, or exit 2 naming every reason this configuration must not start."""
    settings = load_settings()
    try:
        settings.check_can_start()
    except InsecureConfiguration as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    return settings
