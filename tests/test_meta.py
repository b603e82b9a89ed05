"""Meta-tests: every command documents itself, every model field says what it holds."""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

from recap import model
from recap.cli import cli

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name):
    result = CliRunner().invoke(cli, [name, "-h"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert cli.commands[name].help


def test_group_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def _model_classes():
    return [
        obj
        for obj in vars(model).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == model.__name__
    ]


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda c: c.__name__)
def test_every_model_field_has_help(cls):
    assert cls.__dataclass_params__.frozen, f"{cls.__name__} must be frozen"
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help metadata"


def test_the_recap_holds_no_mutable_containers():
    hints = {f.name: str(f.type) for f in dataclasses.fields(model.WeeklyRecap)}
    for name, hint in hints.items():
        assert "list[" not in hint and "DataFrame" not in hint, f"WeeklyRecap.{name}: {hint}"


def test_cli_is_a_click_group():
    assert isinstance(cli, click.Group)


def _recap_modules():
    import importlib
    import pkgutil

    import recap

    names = [m.name for m in pkgutil.walk_packages(recap.__path__, "recap.")]
    return [importlib.import_module(n) for n in sorted(names) if not n.endswith("__main__")]


def test_every_exception_recap_defines_is_in_the_error_tree():
    from recap import errors

    defined = [
        obj
        for module in _recap_modules()
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
    ]
    assert errors.RecapError in defined
    outside = [
        f"{c.__module__}.{c.__name__}" for c in defined if not issubclass(c, errors.RecapError)
    ]
    assert not outside, f"not under RecapError: {outside}"
    homeless = [f"{c.__module__}.{c.__name__}" for c in defined if c.__module__ != errors.__name__]
    assert not homeless, f"errors live in recap/errors.py: {homeless}"
    tree = errors.__doc__ or ""
    for cls in defined:
        assert f"+-- {cls.__name__} " in tree or cls is errors.RecapError, (
            f"{cls.__name__} is missing from the tree in errors.py's docstring"
        )
