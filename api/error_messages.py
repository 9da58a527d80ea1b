"""The API's error messages as catalogue entries, so a client gets them in its language.

Services raise errors with finished English messages (values filled in). Each entry below is
one of those messages as a template, `{name}` where a value goes; `localise` matches a message
against the templates and returns the catalogue's translation with the same values. `code`s
never change with the language. A message with no entry here stays English (docs/i18n.md).
"""

from __future__ import annotations

from functools import cache

from web_map.i18n import N_, MessageTemplates, Translator

MESSAGES: tuple[str, ...] = (
    # api/errors.py handlers
    N_("The request body is not valid JSON."),
    N_("Invalid value in {field}: {problem}."),
    N_("Invalid value in {field}: {problem} (and {n} more problems)."),
    N_("No such resource."),
    N_("Method not allowed on this resource."),
    N_("A value in the request cannot be stored (e.g. a NUL character in text)."),
    N_("The database is unavailable for a moment; please retry shortly."),
    N_("Something went wrong on our side; it has been logged."),
    N_("The request body is nested too deeply."),
    N_(
        "The geometry cannot be processed (e.g. a polygon covering the whole world). "
        "Check the boundary."
    ),
    # sessions, tokens, CSRF
    N_("Wrong user name or password."),
    N_("This token is unknown, revoked or expired."),
    N_("This needs a token: send 'Authorization: Bearer <token>'."),
    N_("Send the token as 'Authorization: Bearer <token>'."),
    N_(
        "This request did not come from a GridGov page (missing or wrong CSRF token); "
        "reload the page and try again."
    ),
    N_("This needs a token (Authorization: Bearer …) or a signed-in page."),
    # locating and reporting
    N_("This location is outside the area GridGov serves."),
    N_(
        "This location is outside the area GridGov serves. The coordinates look swapped: "
        "longitude and latitude may be reversed."
    ),
    N_("Coordinates must be finite numbers."),
    N_("Longitude must be within -180..180 and latitude within -90..90."),
    N_(
        "Longitude must be within -180..180 and latitude within -90..90. "
        "They look swapped: send longitude as lon and latitude as lat."
    ),
    N_("Reporting without a token is switched off here; sign in first."),
    N_(
        "This Idempotency-Key was already used for a different report. "
        "Use a new key for a new report."
    ),
    N_(
        "Category '{category}' is a local service of {area} ({owner}) and cannot be reported "
        "here. GET /api/v1/catalogue?lon=…&lat=… lists what can."
    ),
    N_("Give lon and lat (a point) or area (an area code)."),
    N_("Give either lon and lat, or area — not both."),
    # incidents and the workflow
    N_("No incident '{id}'."),
    N_("No incident '{id}' that you may follow."),
    N_("Action '{action}' is not possible on incident {id}: {reason}."),
    N_("limit must be at most {n}."),
    N_("cursor must be the next_cursor value of the previous page."),
    N_("Unknown status {value}. Statuses: {values}."),
    N_(
        "Filtering incidents by department is for signed-in staff; "
        "leave out `department` or sign in."
    ),
    # whistles
    N_("No whistle {id}."),
    N_("Name each summoned department once."),
    N_(
        "Only a street or district dispatcher of this incident's area (or an admin) "
        "may whistle on it."
    ),
    N_("Cannot whistle on incident {id} while it is {status}."),
    N_("Unknown department {code}."),
    N_("You can only report in for your own department."),
    N_("Only a summoned department reports in."),
    N_("Department {department} was not summoned by whistle {id}."),
    N_("Department {department} already reported in at {when}."),
    N_("Name the department reporting in."),
    N_(
        "Only a street or district dispatcher of this incident's area (or an admin) "
        "may withdraw its whistle."
    ),
    N_("Whistle {id} has already ended."),
    N_("Whistle {id} has ended; there is nothing to report in for."),
    # areas and boundary editing
    N_("No current area with code '{code}'."),
    N_("You may not {action} here: area {code} is outside your scope ({scope})."),
    N_("Only admins and grid officers may {action}; you are signed in as {role}."),
    N_("Not saved: {problem}"),
    N_("The geometry is empty."),
    N_("Give two or more different area codes to merge."),
    N_("Only siblings can be merged: the areas must have the same parent and level."),
    N_("A new area needs a geometry and properties.name."),
    N_(
        "These areas are not adjacent: merged they would fall apart into {n} pieces. "
        "Only areas sharing an edge can be merged."
    ),
    N_(
        "The line does not cut the area into two or more pieces: draw it across the area from "
        "one edge to another."
    ),
    # statistics
    N_("Statistics are for admins, dispatchers (their area) and departments (their own figures)."),
    N_("from must be earlier than to."),
    N_("A period is at most {n} days long."),
    # 大联勤 patrols (api/services/patrols)
    N_("No patrol {id}."),
    N_("Patrol {id} is not yours and lies outside your scope."),
    N_("Only the leader of patrol {id} sends its positions and ends it."),
    N_("Name each member once."),
    N_("Members must be other grid officers or department staff: {names}."),
    N_("Patrols are started by grid officers and department staff."),
    N_("The start time lies in the future."),
    N_("You were not asked to join patrol {id}."),
    N_("Patrol {id} has ended."),
    N_("Patrols are staff business."),
    N_("A report linked to a patrol has the source 'patrol'."),
    N_("Only the members of patrol {id} report problems found on it."),
    N_("Positions of a patrol are shown to dispatchers and admins of its area only."),
    N_("Send at most {n} fixes per batch."),
    N_("Patrol {id} ended at {when}; fixes after its end are refused."),
    N_("A fix's time lies in the future ({field})."),
    N_("Patrol coverage is for admins and dispatchers (their area)."),
    N_("Incident {id} lies outside your scope: its officers are not yours to see."),
    # streams and tiles
    N_("Too many live streams are open; try again shortly."),
    N_("Zoom must be between 0 and {n}."),
)


@cache
def _templates() -> MessageTemplates:
    return MessageTemplates(MESSAGES)


def localise(message: str, tr: Translator) -> str:
    """`message` in `tr`'s language when the catalogue has it, else as it is."""
    return _templates().translate(message, tr)
