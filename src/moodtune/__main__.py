"""``python -m moodtune`` runs the CLI."""

from moodtune.cli import run

run()
