"""Dataset files, shared by the task plugins: where they are, how to read them, how to download them.

- :func:`dataset_folder` checks the data directory (``--data-dir`` / ``$HARNESS_DATA_DIR``) and says how to
  get the data when it is missing;
- :func:`decode_utf8` decodes strictly, naming the file, byte offset and line of a bad byte;
- :func:`fetch` downloads through a temporary file that is checked, then renamed, so a failed or wrong
  download (an HTML error page, a truncated archive) never leaves a file behind. ``file://`` URLs work,
  which is how the download code is tested against local copies.

Every problem is a :class:`~harness.errors.DataError` with a one-line message.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Annotated

from pydantic import AfterValidator

from harness.errors import DataError


def relative_path(value: str) -> str:
    """Validate a path option of a dataset: relative, inside the data directory (no ``..``, not absolute).

    Raises:
        ValueError: the path is absolute or climbs out of its folder (pydantic reports it as a spec error).
    """
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or "\x00" in value or (len(value) > 1 and value[1] == ":"):
        raise ValueError("must be a path inside the data directory (relative, without '..')")
    return value


def data_path(value: str) -> str:
    """Validate a file option of a dataset: relative to the data directory (and inside it: no ``..``), or absolute.

    Raises:
        ValueError: a relative path that climbs out of the data directory, or a NUL character.
    """
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    path = PurePosixPath(value.replace("\\", "/"))
    absolute = path.is_absolute() or (len(value) > 1 and value[1] == ":")
    if not absolute and ".." in path.parts:
        raise ValueError("a relative path must stay inside the data directory (no '..'); give an absolute path for a "
                         "file elsewhere")
    return value


#: A dataset option naming a folder under the data directory (never absolute).
RelativePath = Annotated[str, AfterValidator(relative_path)]

#: A dataset option naming a file: relative to the data directory, or absolute.
DataPath = Annotated[str, AfterValidator(data_path)]


def resolve_data_path(data_dir: Path | None, value: str, dataset: str) -> Path:
    """The file a :data:`DataPath` option names: itself when absolute, else under ``data_dir``.

    Raises:
        DataError: a relative path without a data directory.
    """
    path = Path(value)
    if path.is_absolute():
        return path
    if data_dir is None:
        raise DataError(f"dataset {dataset} reads '{value}' relative to the data directory: pass --data-dir DIR or set "
                        "HARNESS_DATA_DIR, or give an absolute path")
    return Path(data_dir) / value

#: Some hosts (manythings.org) refuse urllib's default agent.
USER_AGENT = "Mozilla/5.0 (compatible; harness-dataset-downloader/0.1)"
#: Seconds to wait for a download to answer.
DOWNLOAD_TIMEOUT_S = 60.0
#: Bytes copied at a time.
CHUNK_BYTES = 1 << 20


def how_to_get(dataset: str, data_dir: Path | str, url: str, downloadable: bool = True) -> str:
    """The one-clause hint telling how to get ``dataset`` (``harness download`` only where it can)."""
    if not downloadable:
        return f"fetch the files from {url} into {data_dir}"
    return f"run `harness download {dataset} --data-dir {data_dir}` or fetch the files from {url}"


def dataset_folder(data_dir: Path | None, subdir: str | None, dataset: str, url: str, downloadable: bool = True) -> Path:
    """``data_dir`` (or ``data_dir/subdir``), checked to exist.

    Raises:
        DataError: no data directory given, or it (or the subfolder) does not exist; the message says
            where it looked and how to get the data.
    """
    if data_dir is None:
        raise DataError(
            f"dataset '{dataset}' reads files: pass --data-dir DIR or set HARNESS_DATA_DIR "
            f"({how_to_get(dataset, 'DIR', url, downloadable)})"
        )
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} does not exist; {how_to_get(dataset, data_dir, url, downloadable)}")
    folder = data_dir / subdir if subdir else data_dir
    if not folder.is_dir():
        raise DataError(f"no {dataset} folder at {folder}; {how_to_get(dataset, data_dir, url, downloadable)}")
    return folder


def require_file(path: Path, hint: str) -> None:
    """Raise :class:`DataError` naming ``path``, followed by ``hint``, unless it is an existing file."""
    if not path.is_file():
        raise DataError(f"missing file {path}; {hint}")


def decode_utf8(data: bytes, path: Path) -> str:
    """Decode ``data`` (the content of ``path``) as strict UTF-8.

    Raises:
        DataError: naming the bad byte, its offset and its line.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path} is not UTF-8 text: byte 0x{data[e.start]:02x} at byte offset {e.start} "
            f"(line {line}) is invalid; re-download the file or convert it to UTF-8"
        ) from e


def fetch(url: str, destination: Path, check: Callable[[Path, str], None] | None = None) -> None:
    """Download ``url`` to ``destination`` through a temporary file renamed at the end.

    Args:
        url: Any URL urllib opens (``https://``, ``http://``, ``file://``).
        destination: Final path; its folder must exist.
        check: Called as ``check(temporary_file, url)`` on the complete download before the rename;
            raises to reject it.

    Raises:
        DataError: The URL cannot be read, or ``check`` rejected the content.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            write_atomically(response, destination, lambda tmp: check(tmp, url) if check else None)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise DataError(
            f"could not download {url} to {destination}: {reason}; check the network and the URL, "
            f"or copy the file there by hand"
        ) from e


def write_atomically(source: IO[bytes], destination: Path, check: Callable[[Path], None] | None = None) -> None:
    """Copy the stream ``source`` to ``destination`` via a temporary sibling file, ``check``, and a rename."""
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK_BYTES):
                out.write(chunk)
        if check is not None:
            check(tmp)
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)
