"""大联勤 joint patrols (issue 22): this package owns patrols and their tracks.

- `store`: starting a patrol (leader, members who confirm joining), ending it, the patrol
  document, the list, who may see what (positions: dispatchers and admins of the scope only),
  linking reports found on the way (source `patrol`, through the normal intake);
- `fixes`: batches of GPS fixes (idempotent by the phone's point id, any order), the noise flags
  (inaccurate, jump, outside the service area);
- `coverage`: per grid and day/week figures, the grids not patrolled lately (negative list) and
  the retention prune that reduces old fixes to daily figures.

Spatial SQL lives in `gis.patrols`; the HTTP side in `api.routers.patrols`.
"""
