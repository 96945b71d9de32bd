"""The sandbox: student code runs in a child process, never in the grader's.

- ``parent.py``: :class:`Sandbox`, the grader's side: starts the child, loads
  the submission, sends requests with time limits, reads replies;
- ``child.py``: the child process (standard library and numpy only), a fork
  server that answers requests on a fresh copy of the loaded submission;
- ``view.py``: what the child sees: the folders its root shows, those hidden, its environment;
- ``isolation.py``: what the child does to itself before student code runs
  (namespaces, a private root, limits, its own user);
- ``users.py``: a user id of its own for every sandbox (root only);
- ``protocol.py``: the messages and their plain-data encoding, bounded;
- ``handles.py``: objects that stay in the child, driven through handles;
- ``calls.py``: what a request gave, and whose mistake a failure is.
"""

from .calls import CallResult, OperationFailed, Status, TestMistake, Unavailable, value_of
from .handles import Handle
from .parent import LoadReport, Sandbox

__all__ = [
    "CallResult",
    "Handle",
    "LoadReport",
    "OperationFailed",
    "Sandbox",
    "Status",
    "TestMistake",
    "Unavailable",
    "value_of",
]
