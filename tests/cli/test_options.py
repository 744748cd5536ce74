"""The option registry: what the Typer app, the session and the fast parser must agree with."""

from __future__ import annotations

import typer

from blackboxai.commands import app
from blackboxai.config.options import (
    COMMANDS,
    DEFAULTS,
    EDIT_FORMATS,
    OPTIONS,
    Kind,
    Settings,
    ident,
)


def test_the_typer_root_declares_exactly_the_registry_and_the_command_line_options() -> None:
    """A new option is a registry entry plus one Typer parameter; this notices a missing one."""
    command = typer.main.get_command(app)
    params = {p.name: p for p in command.params}
    assert set(params) == {ident(n) for n in OPTIONS} | {"message", "config", "exit_", "version"}
    for name, spec in OPTIONS.items():
        param = params[ident(name)]
        assert param.opts == [f"--{name}"], name  # type: ignore[attr-defined]
        negation = [f"--no-{name}"] if spec.negatable else []
        assert param.secondary_opts == negation, name  # type: ignore[attr-defined]
        assert param.is_flag is (spec.kind is Kind.BOOL), name  # type: ignore[attr-defined]
        assert param.multiple is (spec.kind is Kind.PATHS), name  # type: ignore[attr-defined]


def test_the_command_names_the_fast_path_knows_are_the_apps() -> None:
    group = typer.main.get_command(app)
    assert set(group.commands) == set(COMMANDS)  # type: ignore[attr-defined]
    for name, commands in COMMANDS.items():
        assert list(group.commands[name].commands) == list(commands)  # type: ignore[attr-defined]


def test_the_session_knows_exactly_the_registrys_edit_formats() -> None:
    from blackboxai.session.edits import EDIT_FORMATS as SESSION_FORMATS

    assert tuple(SESSION_FORMATS) == EDIT_FORMATS == OPTIONS["edit-format"].choices


def test_settings_start_from_the_registrys_defaults() -> None:
    settings = Settings()
    assert {name: getattr(settings, ident(name)) for name in OPTIONS} == DEFAULTS
    assert (settings.model, settings.edit_format, settings.file) == ("gpt-4o-mini", "whole", ())
