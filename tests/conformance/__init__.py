"""Conformance checks against the trackers' official API descriptions."""
