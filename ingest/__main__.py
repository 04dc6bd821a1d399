"""`python -m ingest`: the command line."""

from ingest.cli import app

app()
