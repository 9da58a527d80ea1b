"""OGC API Features, vector tiles and the base map."""
