"""Server-rendered pages: the shell, reporting, dispatch, editing, statistics."""
