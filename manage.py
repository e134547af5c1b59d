#!/usr/bin/env python
"""Django's command-line utility for Vetrina."""

import sys

from config.env import settings_module_select


def main() -> None:
    settings_module_select()  # the environment, else .env, else the embedded default
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
