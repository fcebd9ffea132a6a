"""Sandbox Jira (Cloud v3 and Data Center v2): state in `model.py`, HTTP shaping in `responses.py`."""
