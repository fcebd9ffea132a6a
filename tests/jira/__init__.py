"""Tests of the Jira connector and the admin's mapping for Jira."""
