"""Tracker connectors: each one knows one tracker's API and none of the procedure's rules."""
