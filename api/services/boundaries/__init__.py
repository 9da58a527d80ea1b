"""Governance areas over time: edits, splits and merges, their impact on responsibility, coverage
checks, imports and lineage."""
