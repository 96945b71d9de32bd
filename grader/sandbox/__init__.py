"""The sandbox: student code runs in a child process, never in the grader's.

- ``parent.py``: :class:`Sandbox`, the grader's side: starts the child, loads
  the submission, sends requests with time limits, reads replies;
- ``child.py``: the child process (standard library and numpy only), a fork
  server that answers requests on a fresh copy of the loaded submission;
- ``operations.py``: the child's work: load the submission, answer a request;
- ``client.py``: a request and what its reply means, for any transport;
- ``local.py``: the students' checker's sandbox: the same operations, in its own process;
- ``view.py``: what the child sees: the folders its root shows, those hidden, its environment;
- ``isolation.py``: what the child does to itself before student code runs
  (namespaces, a private root, limits, its own user);
- ``users.py``: a user id of its own for every sandbox (root only);
- ``protocol.py``: the messages and their plain-data encoding, bounded;
- ``handles.py``: objects that stay in the child, driven through handles;
- ``calls.py``: what a request gave, and whose mistake a failure is.
"""

from .calls import CallResult, LoadReport, OperationFailed, Status, TestMistake, Unavailable, value_of
from .handles import Handle


def __getattr__(name: str):
    # The process sandbox is imported when first used: the students' checker (local.py) never needs it.
    if name == "Sandbox":
        from .parent import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
