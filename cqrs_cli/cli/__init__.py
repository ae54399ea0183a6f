"""The command line: the Typer app, its commands and how they render results."""
