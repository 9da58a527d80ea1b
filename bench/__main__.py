"""`python -m bench`: run every benchmark (today: spatial assignment), passing options through."""

from __future__ import annotations

import sys

from bench import assign

BENCHMARKS = [assign.main]


def main(argv: list[str] | None = None) -> int:
    """Run each benchmark in turn; the exit status is the first failure's, else 0."""
    status = 0
    for run in BENCHMARKS:
        status = status or run(argv)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
