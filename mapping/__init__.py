"""The procedure itself, pure: models, default profile, business clock, rules, field mapping.

Nothing here imports an HTTP library or a connector, and nothing asks the wall clock.
"""

#: the package's version (setup.cfg reads it from here)
__version__ = "0.1.0"
