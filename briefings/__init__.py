"""What users read: briefs, sources, corpus overviews, themes and digests, as plain data."""
