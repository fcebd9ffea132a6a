"""Sandbox trackers: stateful loopback emulations of Jira and Zammad for the demo and tests."""
