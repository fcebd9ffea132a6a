"""The `escalator` command line: `main.py` holds the group, one module per area holds its commands."""
