"""Tests of the sandbox trackers over loopback."""
