"""Errors the user can cause, with messages in the user's terms.

The command line prints a :class:`UserError` as one line, never a traceback,
and exits with status 2.
"""


class UserError(Exception):
    """Bad input from an instructor, TA or student: the message says what and how to fix it."""
