"""One cog per user-facing area."""
