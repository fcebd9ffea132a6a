"""Zammad (REST v1) connector."""
