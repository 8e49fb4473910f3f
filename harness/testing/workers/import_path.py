"""What a worker subprocess must import like the test session does.

pytest puts the rootdir, the ``pythonpath`` ini entries and the folders of test modules
and ``conftest.py`` files on ``sys.path`` of its own process only; a worker subprocess
started from a parent folder would not find the project's modules. These entries go
first on the subprocess's ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from collections.abc import Iterable

__all__ = ["project_entries", "session_import_path"]


def _system_dirs() -> list[str]:
    dirs = [v for k, v in sysconfig.get_paths().items() if k.endswith(("stdlib", "lib"))]
    dirs += [*site.getsitepackages(), site.getusersitepackages()]
    return [os.path.realpath(d) for d in dirs if d]


def project_entries(entries: Iterable[str]) -> list[str]:
    """The folders in ``entries`` that are not the interpreter's own (stdlib, site dirs)."""
    system = _system_dirs()
    out = []
    for entry in entries:
        if not entry or not os.path.isdir(entry):
            continue
        real = os.path.realpath(entry)
        if any(real == d or real.startswith(d + os.sep) for d in system):
            continue
        out.append(os.path.abspath(entry))
    return out


def session_import_path(rootpath: str, pythonpath: Iterable[str] = ()) -> tuple[str, ...]:
    """``rootpath``, the ``pythonpath`` ini entries, then this process's project folders."""
    paths = [str(rootpath), *(str(p) for p in pythonpath)]
    paths += project_entries(sys.path)
    return tuple(dict.fromkeys(os.path.abspath(p) for p in paths))
