"""Geometry, coordinate reference systems and spatial SQL for GridGov (no HTTP here)."""
