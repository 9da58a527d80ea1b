"""Statistics and early warning."""
