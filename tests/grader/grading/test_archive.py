"""Submissions handed in as archives: graded like the folder they hold, unpacked without trusting them."""

import io
import tarfile
import zipfile

import pytest

from grader.errors import UserError
from grader.grading import archive
from grader.grading.submission import read_submission

HW = "hw1_backprop"
SOURCE = "def forward_pass(weights, i):\n    return {}\n"


def zipped(files: dict[str, bytes], links: dict[str, str] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in files.items():
            out.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777) << 16  # a symbolic link, as zip -y stores one
            out.writestr(info, target)
    return buffer.getvalue()


def test_a_zipped_folder_is_graded_like_the_folder(tmp_path):
    path = tmp_path / "alice.zip"
    path.write_bytes(zipped({"work/hw1_backprop.py": SOURCE.encode(), "work/notes.txt": b"hi", "__MACOSX/x": b""}))
    submission = read_submission(path, HW)
    assert submission.path == path / "work" / "hw1_backprop.py"
    assert submission.chunks[0].label == "hw1_backprop.py" and "def forward_pass" in submission.chunks[0].source


def test_a_tarball_is_graded_too(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as out:
        info = tarfile.TarInfo("hw1_backprop.py")
        info.size = len(SOURCE)
        out.addfile(info, io.BytesIO(SOURCE.encode()))
    path = tmp_path / "bob.tar.gz"
    path.write_bytes(buffer.getvalue())
    assert read_submission(path, HW).chunks[0].label == "hw1_backprop.py"


@pytest.mark.parametrize(
    "files, links, says",
    [
        ({"../../etc/evil.py": b"x"}, {}, "a name outside the archive's own folder"),
        ({"/abs/hw1_backprop.py": b"x"}, {}, "a name outside the archive's own folder"),
        ({"hw1_backprop.py": b"x"}, {"solution.py": "/work/reference/backprop.py"}, "not an ordinary file"),
        ({f"f{n}.py": b"" for n in range(archive.MAX_FILES + 1)}, {}, f"more than {archive.MAX_FILES} files"),
        ({"big.py": b"0" * (archive.MAX_BYTES + 1)}, {}, "unpacks to more than"),
    ],
    ids=["climbs out", "absolute", "link", "too many files", "zip bomb"],
)
def test_an_archive_that_could_harm_the_grader_is_refused_with_a_reason(tmp_path, files, links, says):
    path = tmp_path / "mallory.zip"
    path.write_bytes(zipped(files, links))
    with pytest.raises(UserError, match=says):
        read_submission(path, HW)


def test_a_broken_archive_says_so(tmp_path):
    path = tmp_path / "carol.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UserError, match="could not be unpacked"):
        read_submission(path, HW)


def test_an_archive_with_two_candidate_files_names_them_inside_the_archive(tmp_path):
    path = tmp_path / "dave.zip"
    path.write_bytes(zipped({"a.py": b"x = 1\n", "b.py": b"y = 2\n"}))
    with pytest.raises(UserError, match=r"dave\.zip holds several files that could be the submission \(a\.py, b\.py\)"):
        read_submission(path, HW)
