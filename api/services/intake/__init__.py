"""Reports coming in: the catalogue of what may be reported where, intake (assignment and
routing), duplicates, the configuration import, and the reporter's outcome."""
