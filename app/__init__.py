"""The command line: the Typer app, one-line errors and each command's wiring (the top floor)."""
