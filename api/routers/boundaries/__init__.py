"""Boundary editing over HTTP: preview, save, split, merge, history."""
