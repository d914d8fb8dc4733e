"""The corpus layer: ingest, clean, chunk, embed, store and search passages (no Discord here)."""
