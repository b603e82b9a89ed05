"""`python -m recap` runs the command-line interface."""

from recap.cli import cli

if __name__ == "__main__":
    cli()
