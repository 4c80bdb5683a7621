#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036 - say so clearly when run with an old python3
        sys.exit("mcloud needs Python 3.12 or newer (see .python-version).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcloud.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
