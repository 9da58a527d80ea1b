"""The base map GridGov serves itself: OSM import, Mapnik rendering, tiles, export."""
