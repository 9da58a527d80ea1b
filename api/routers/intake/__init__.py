"""Reporting: reports, locate, the catalogue, reference data and photos."""
