"""Atomic file writes: a temporary file in the same folder, flushed, then renamed over the target.

Only a regular file (or nothing) is ever replaced: a rename over a device, FIFO, directory or symbolic link would
replace that special file itself (`--html /dev/null` run as root would replace /dev/null), so those are refused
with the path named. Every failure is an InputError (exit 2) naming the path, never an OSError traceback."""
from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

from planner.errors import InputError

STALE_TEMP_S = 600.0
"""A temporary file without a live writer's pid, older than this, is a leftover of a killed run (SIGKILL skips the
clean-up); the next write beside it removes it."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_error(path: Path, exc: OSError, doing: str) -> InputError:
    reason = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the device",
              errno.ENOTDIR: "a parent of this path is a file, not a directory",
              errno.EISDIR: "is a directory", errno.ENAMETOOLONG: "file name too long"}.get(
        exc.errno or 0, exc.strerror or str(exc))
    return InputError(f"cannot {doing}: {reason}", file=str(path))


def check_output_path(path: Path | str, option: str | None = None) -> Path:
    """The target if a file may be written there: nothing there yet or a regular file, in a directory that exists
    (or can be created) and is writable. Checked before long work (`calibrate --out`) so a run is not lost.
    `option`: the command-line option that gave the path, named before it in the error ('--out .: is a directory…'),
    as the suffix checks name it (new-user QA round 18: `--html ''` and `profile --out ''` read only '.: …')."""
    try:
        return _check_output_path(Path(path), trial=True)
    except InputError as exc:
        if option is not None:
            exc.file = f"{option} {exc.file}"
        raise


def _check_output_path(target: Path, trial: bool = False) -> Path:
    """check_output_path without the option's name; `trial`: a file made and removed in the folder decides whether it
    is writable (_writable), where a write is about to stage its own file there anyway."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _os_error(target, exc, "write here") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        hint = "Give a file name." if stat.S_ISDIR(info.st_mode) else "Write to a regular file instead."
        raise InputError(f"is {_kind(info.st_mode)}; refusing to replace it", file=str(target), hint=hint)
    parent = target.parent
    for ancestor in (parent, *parent.parents):  # the nearest existing one decides (missing folders are created)
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                raise InputError(f"cannot write here: {ancestor} is a file, not a directory", file=str(target))
            if not _writable(ancestor, trial):
                raise InputError(f"cannot write here: the directory {ancestor} is not writable", file=str(target))
            break
    return target


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(target, exc, f"create the directory {target.parent}") from None


def _writable(directory: Path, trial: bool) -> bool:
    """Whether this process may create a file in `directory`. With `trial`, one made there and removed at once:
    os.access says yes to root whatever the mode or the file system (new-user QA round 19: as root, `calibrate --out
    /proc/x.yaml` passed the check and was refused only after its measuring; /proc and /sys take no new file, nor does
    a read-only mount). Without, os.access: a write's own temporary file is the trial (_staged)."""
    if not trial:
        return os.access(directory, os.W_OK | os.X_OK)
    probe = directory / f".gpuplan-check-{os.getpid()}-{time.monotonic_ns()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass  # made but not removable: still a folder that takes files
    return True


def clean_stale_temps(target: Path) -> None:
    """Remove leftover temporary files of earlier writes to `target` whose writer is gone."""
    try:
        leftovers = list(target.parent.glob(f".{target.name}.*.tmp"))
    except OSError:
        return
    now = time.time()
    for tmp in leftovers:
        parts = tmp.name[len(target.name) + 2:].split(".")
        pid = int(parts[0]) if parts and parts[0].isdigit() else None
        try:
            if pid is not None and pid != os.getpid() and not _alive(pid):
                tmp.unlink()
            elif pid is None and now - tmp.lstat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
        except OSError:
            continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_temp(target: Path, data: bytes) -> str:
    """A complete temporary copy of `data` beside `target` (named with this process's id), normal permissions."""
    import tempfile  # here: an estimate that finds its caches writes nothing (~2.5 ms of a start: random, shutil)

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # what a plain open() would give, not mkstemp's 0600
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp


def _staged(path: Path | str, data: bytes) -> tuple[Path, str]:
    """The checked target and a flushed temporary file beside it holding `data` (stale temporaries cleaned)."""
    target = _check_output_path(Path(path))
    _make_parent(target)
    clean_stale_temps(target)
    try:
        return target, _write_temp(target, data)
    except OSError as exc:
        raise _os_error(target, exc, "write") from None


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` so a reader sees the old file or the new one, never half of one. Refuses to replace
    anything but a regular file; failures are InputErrors naming the path."""
    target, tmp = _staged(path, data)
    try:
        _check_output_path(target)  # again: a FIFO or link may have appeared meanwhile
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _os_error(target, exc, "write") from None
        raise


def write_new_file_atomic(path: Path | str, data: bytes) -> bool:
    """Write `data` to `path` only if nothing is there (a hard link, atomic and never overwriting). Returns False
    when the path already exists (the caller decides whether that is the same content)."""
    target, tmp = _staged(path, data)
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _os_error(target, exc, "write") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically (see `write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))
