"""Sandbox trackers: stateful loopback emulations of Jira and Zammad for the demo and tests.

`server.py` is the shared loopback HTTP server (routing, faults, rate limiter, call
log); `jira/` and `zammad/` are the trackers, each laid out as moto lays out a service
(`models`, `responses`, `urls`, `exceptions`, plus `server` with the seed API) and
importable from the package (`from sandbox.jira import JiraSandbox`); `demo.py` is
`escalator demo` and the seeding harness of the end-to-end tests and benches;
`postgres.py` a throwaway PostgreSQL server (initdb, pg_ctl) and `failover.py` the harness
that runs several daemons on it and kills, freezes and restarts them.
"""
