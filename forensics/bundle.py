"""Open a bundle (folder or archive) and walk its files in a stable order.

An archive bundle (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``) is extracted into a private
temporary folder; members with absolute paths, ``..`` components, links or device files are
refused and recorded, never written. Inside the bundle, ``.zip`` files (the GitHub runs/logs
archive) are read member by member in memory, never extracted. Every input file and archive
member yields its logical path (``github/acme/api/9001/logs.zip!0_scan.txt``), size and bytes.
Symbolic links in a folder bundle are not followed.
"""

import io
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from forensics.errors import BundleError
from forensics.manifest import sha256_file

ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"


@dataclass(frozen=True)
class Member:
    """One input file or archive member.

    Attributes:
        path: the logical path in the bundle.
        data: its bytes.
        container: the logical path of the archive it came from, if any.
    """

    path: str
    data: bytes
    container: str | None = None


@dataclass
class Bundle:
    """An opened bundle.

    Attributes:
        root: the folder to walk (the bundle itself or a private extraction).
        source: the path the user gave.
        archive_sha256: SHA-256 of the archive when the bundle is one.
        refused: ``(member, reason)`` for archive members that were not extracted.
    """

    root: Path
    source: Path
    archive_sha256: str | None = None
    archive_size: int | None = None
    refused: list[tuple[str, str]] = field(default_factory=list)


def unsafe_name(name: str) -> str | None:
    """Why an archive member name must not be used, or None when it is safe.

    Args:
        name: the member name as stored in the archive.

    Returns:
        A reason, or None.
    """
    if not name or "\x00" in name:
        return "empty or NUL in member name"
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive"
    if ".." in posix.parts:
        return "'..' in archive member path"
    return None


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    problem = unsafe_name(info.filename)
    if problem is None and stat.S_ISLNK(info.external_attr >> 16):
        problem = "symbolic link in archive (not followed)"
    return problem


def _write_members(
    members: Iterable[tuple[str, str | None, Callable[[], bytes | None]]],
    dest: Path,
    refused: list[tuple[str, str]],
) -> None:
    """Write safe archive members under ``dest``; record the others, never write them."""
    for name, problem, read in members:
        if problem:
            refused.append((name, problem))
            continue
        data = read()
        if data is not None:
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _extract_zip(src: Path, dest: Path, refused: list[tuple[str, str]]) -> None:
    with zipfile.ZipFile(src) as zf:
        infos = sorted(zf.infolist(), key=lambda i: i.filename)
        members = (
            (i.filename, _zip_member_problem(i),
             (lambda i=i: None if i.is_dir() else zf.read(i)))
            for i in infos
        )  # fmt: skip
        _write_members(members, dest, refused)


def _tar_member_problem(member: tarfile.TarInfo) -> str | None:
    problem = unsafe_name(member.name)
    if problem is None and (member.issym() or member.islnk()):
        problem = f"link in archive to {member.linkname!r} (not followed)"
    if problem is None and not (member.isfile() or member.isdir()):
        problem = "device, FIFO or other special file in archive"
    return problem


def _tar_read(tf: tarfile.TarFile, member: tarfile.TarInfo) -> bytes | None:
    handle = tf.extractfile(member) if member.isfile() else None
    return None if handle is None else handle.read()


def _extract_tar(src: Path, dest: Path, refused: list[tuple[str, str]]) -> None:
    with tarfile.open(src) as tf:
        infos = sorted(tf.getmembers(), key=lambda m: m.name)
        members = ((m.name, _tar_member_problem(m), (lambda m=m: _tar_read(tf, m))) for m in infos)
        _write_members(members, dest, refused)


@contextmanager
def open_bundle(path: Path) -> Iterator[Bundle]:
    """Open a bundle folder or archive for reading.

    Args:
        path: a folder, or a ``.zip``/``.tar``/``.tar.gz`` of one.

    Yields:
        The opened bundle; a temporary extraction is removed afterwards.

    Raises:
        BundleError: when ``path`` is missing or neither a folder nor a readable archive.
    """
    if path.is_dir():
        yield Bundle(root=path, source=path)
        return
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle (expected a folder or an archive)")
    digest, size = sha256_file(path)
    with tempfile.TemporaryDirectory(prefix="forensics-bundle-") as tmp:
        bundle = Bundle(root=Path(tmp), source=path, archive_sha256=digest, archive_size=size)
        try:
            if zipfile.is_zipfile(path):
                _extract_zip(path, bundle.root, bundle.refused)
            elif tarfile.is_tarfile(path):
                _extract_tar(path, bundle.root, bundle.refused)
            else:
                raise BundleError(f"{path}: not a folder or a .zip/.tar/.tar.gz archive")
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise BundleError(f"{path}: corrupt archive: {exc}") from None
        yield bundle


def _zip_members(
    data: bytes, logical: str, errors: list[tuple[str, int | None, str]]
) -> Iterator[Member]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = sorted(zf.infolist(), key=lambda i: i.filename)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        errors.append((logical, None, f"corrupt zip archive: {exc}"))
        return
    for info in infos:
        name = f"{logical}!{info.filename}"
        problem = _zip_member_problem(info)
        if problem:
            errors.append((name, None, f"refused: {problem}"))
            continue
        if info.is_dir():
            continue
        try:
            yield Member(path=name, data=zf.read(info), container=logical)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            errors.append((name, None, f"unreadable archive member: {exc}"))


def is_zip(data: bytes) -> bool:
    """Whether bytes are a zip archive (including an empty one).

    Args:
        data: file content.

    Returns:
        True for a zip.
    """
    return data.startswith(ZIP_MAGIC) or data.startswith(_EMPTY_ZIP)


def walk(bundle: Bundle, errors: list[tuple[str, int | None, str]]) -> Iterator[Member]:
    """Every input file of the bundle, archives opened, in sorted path order.

    Args:
        bundle: the opened bundle.
        errors: receives ``(file, line, reason)`` for what cannot be read.

    Yields:
        Members: plain files, and the members of each zip (the zip itself is yielded first,
        with ``container`` None, so it is hashed too).
    """
    for name, reason in bundle.refused:
        errors.append((name, None, f"refused: {reason}"))
    for path in sorted(bundle.root.rglob("*"), key=lambda p: p.relative_to(bundle.root).as_posix()):
        logical = path.relative_to(bundle.root).as_posix()
        if path.is_symlink():
            errors.append((logical, None, "refused: symbolic link (not followed)"))
            continue
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            errors.append((logical, None, f"unreadable: {exc.strerror}"))
            continue
        yield Member(path=logical, data=data)
        if is_zip(data):
            yield from _zip_members(data, logical, errors)


def list_paths(bundle: Bundle) -> list[str]:
    """Logical paths of every file and zip member, without reading member contents.

    Args:
        bundle: the opened bundle.

    Returns:
        The paths :func:`walk` would yield (unreadable archives contribute none).
    """
    out: list[str] = []
    for path in sorted(bundle.root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        logical = path.relative_to(bundle.root).as_posix()
        out.append(logical)
        with path.open("rb") as f:
            magic = f.read(4)
        if not is_zip(magic):
            continue
        try:
            with zipfile.ZipFile(path) as zf:
                out.extend(f"{logical}!{name}" for name in zf.namelist())
        except (zipfile.BadZipFile, OSError, EOFError):
            continue
    return out
