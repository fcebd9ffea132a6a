"""Sandbox Zammad: records in `store.py`, search in `search.py`, HTTP shaping in `responses.py`."""
