"""The product a person runs: CLI, configuration, daemon, webhooks, reports, sandboxes."""
