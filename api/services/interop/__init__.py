"""Other tools' doors: OGC API Features, vector tiles and their cache, exports."""
