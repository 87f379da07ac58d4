"""Uploaded bytes as a private temporary file, for code that reads files.

The one helper behind every "bytes → temporary file → analyse" path (an analysed upload,
a mixed upload): the file lives in a private folder removed afterwards, and an error
message never names the server's temporary paths.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moodtune.errors import MoodtuneError, ParameterError

#: A file name ending kept for an upload (it tells a decoder or a muxer the format).
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,9}")
#: An absolute POSIX path inside a message (quoted or not).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"/]+/)+[^\s'\",;:]+")


def upload_suffix(filename: str | None) -> str:
    """The upload's lower-case extension when it is a plain one (``.ogg``), else ``.bin``."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if _SUFFIX.fullmatch(suffix) else ".bin"


@contextmanager
def upload_as_file(
    data: bytes, *, filename: str | None = None, stem: str = "upload", what: str = "a file"
) -> Iterator[Path]:
    """Write ``data`` to a private temporary file and yield its path; remove it after.

    A :class:`~moodtune.errors.MoodtuneError` raised inside the block is raised again with
    the file called "the uploaded file", its folder "a temporary folder" and any other
    absolute path "a file on the server". Files written next to the upload (in
    ``path.parent``) are removed with it.

    Parameters
    ----------
    data : bytes
        The upload; empty bytes are refused.
    filename : str, optional
        The upload's name: only its extension is kept (see :func:`upload_suffix`).
    stem : str
        The temporary file's name without extension.
    what : str
        What the upload should be, for the message about an empty one.

    Raises
    ------
    ParameterError
        The upload is empty.
    """
    if not data:
        raise ParameterError(f"the upload is empty (0 bytes); send {what}")
    with tempfile.TemporaryDirectory(prefix="moodtune-upload-") as tmpdir:
        path = Path(tmpdir) / f"{stem}{upload_suffix(filename)}"
        path.write_bytes(data)
        try:
            yield path
        except MoodtuneError as exc:  # name the upload, never the server's temporary files
            message = str(exc).replace(str(path), "the uploaded file")
            message = message.replace(tmpdir, "a temporary folder")
            message = _ABSOLUTE_PATH.sub("a file on the server", message)
            if message == str(exc):
                raise
            raise type(exc)(message) from None
