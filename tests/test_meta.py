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
