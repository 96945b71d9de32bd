"""``import reference`` gives the Tensor at once and each module of the engine when it is first named."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_package_loads_the_tensor_but_not_the_training_toolkit():
    loaded = run("import sys, reference; print(sorted(m for m in sys.modules if m.startswith('reference')))")
    assert loaded == "['reference', 'reference.tensor']"


def test_every_module_is_reachable_as_an_attribute_by_from_import_and_by_star_import():
    names = run(
        "import reference\n"
        "from reference import train, optim\n"
        "assert reference.train is train and reference.optim is optim\n"
        "assert reference.nn.Linear and reference.gradcheck.STEP\n"
        "namespace = {}\n"
        "exec('from reference import *', namespace)\n"
        "print(sorted(name for name in namespace if not name.startswith('__')))"
    )
    expected = run("import reference; print(sorted(reference.__all__))")
    assert names == expected
    assert "'train'" in names and "'Tensor'" in names


def test_an_unknown_name_is_an_attribute_error_and_dir_lists_the_modules():
    out = run(
        "import reference\n"
        "try:\n    reference.trian\nexcept AttributeError as error:\n    print(error)\n"
        "print(set(reference.__all__) <= set(dir(reference)))"
    )
    assert out.splitlines() == ["module 'reference' has no attribute 'trian'", "True"]
