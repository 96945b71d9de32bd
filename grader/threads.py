"""numpy's math libraries kept to one thread, in every process the ``grader`` command starts and in every sandbox.

Once numpy loads it, OpenBLAS (numpy's linear algebra) starts a thread for every other core, and
each spins, waiting for work, for about a tenth of a second before it sleeps, whether any work
comes or not. A grader's own arrays are small (expected values, comparisons) and never want that
work shared; and on a two-core machine the spinning thread takes the core the sandbox's own Python
is starting on, so one ``grader grade`` took 20 ms longer (interleaved runs, 15 each). In the
sandbox, no such thread counts against the submission's process limit or spends its CPU seconds
on another core.
"""

import os

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def use_one_thread() -> None:
    """Set :data:`ONE_THREAD` for this process, before it imports numpy; a variable already set is left as it is
    (who sets one means it)."""
    for name, value in ONE_THREAD.items():
        os.environ.setdefault(name, value)
