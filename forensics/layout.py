"""Identity from the bundle layout (documented in the README).

- ``github/<owner>/<repo>/<run_id>/``: a run's ``logs.zip`` or its extracted files, and an
  optional ``jobs.json``. Top-level ``N_<job>.txt`` files are whole-job logs; files in a
  ``<job>/`` folder are the same lines split per step, read only when the job has no
  whole-job file.
- ``gitlab/<namespace...>/<project>/<job_id>.log``: a GitLab job trace (optional
  ``<job_id>.json``, the jobs API object).
- ``jenkins/<job path...>/<build>/log``: a Jenkins build's console log.
- ``hosts/<hostname>/``: what was captured on one machine.
- ``kubernetes/<cluster>/``: ``kubectl get events/pods -o json`` documents.
- ``registries/<name>/``: a registry's or pull-through cache's logs.
- ``dockerhub/``: Docker Hub audit-log responses.

The layout folders may sit below a wrapper folder (an archive's top folder). A file outside
the layout is still recognized by its content; its identity falls back to its path.
"""

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

_ANCHORS = ("github", "gitlab", "jenkins", "hosts", "kubernetes", "registries", "dockerhub")
_JOB_PREFIX_RX = re.compile(r"^-?\d+_")


def _split(path: str) -> tuple[list[str], list[str]]:
    """Folder parts and archive-member parts of a logical path."""
    outer, _, inner = path.partition("!")
    return list(PurePosixPath(outer).parts), list(PurePosixPath(inner).parts) if inner else []


def job_name_from_file(name: str) -> str:
    """The job name a GitHub log file name carries (``3_build (linux).txt`` → ``build (linux)``).

    Args:
        name: the file name.

    Returns:
        The name without the ordinal prefix and the ``.txt`` suffix.
    """
    stem = name[:-4] if name.endswith(".txt") else name
    return _JOB_PREFIX_RX.sub("", stem, count=1)


def _run_relative(path: str) -> tuple[str, list[str]] | None:
    """For a file under ``github/<o>/<r>/<run>/``: the run's logical root and the rest."""
    outer, inner = _split(path)
    if "github" not in outer:
        return None
    i = outer.index("github")
    if len(outer) < i + 5:
        return None
    root = "/".join(outer[: i + 4])
    rest = outer[i + 4 :]
    if inner:
        root = "/".join(outer) + "!"
        rest = inner
    return root, rest


def context(path: str) -> dict[str, str]:
    """Identity for a file from its logical path.

    Args:
        path: the logical path.

    Returns:
        ``ci``/``project``/``run``/``job_key``/``job_name`` for CI logs, ``host`` for host
        captures; missing keys are unknown.
    """
    outer, inner = _split(path)
    ctx: dict[str, str] = {}
    anchor = next((p for p in outer if p in _ANCHORS), None)
    i = outer.index(anchor) if anchor else -1
    if anchor == "github" and len(outer) >= i + 4:
        ctx |= {"ci": "github", "project": f"{outer[i + 1]}/{outer[i + 2]}", "run": outer[i + 3]}
    elif anchor == "hosts" and len(outer) >= i + 3:
        ctx["host"] = outer[i + 1]
    elif anchor == "jenkins" and len(outer) >= i + 4:
        # jenkins/<job path...>/<build>/<log, consoleText or build.xml>
        project = "/".join(outer[i + 1 : -2])
        return {"ci": "jenkins", "project": project, "run": outer[-2], "job_key": path,
                "job_name": outer[-3]}  # fmt: skip
    elif anchor in ("registries", "kubernetes") and len(outer) >= i + 3:
        # registries/<instance>/...: the registry or cache is the host that served images;
        # kubernetes/<cluster>/...: the node names come from the documents themselves
        ctx["host"] = outer[i + 1]
        ctx["cluster" if anchor == "kubernetes" else "registry"] = outer[i + 1]
    elif anchor == "gitlab" and len(outer) >= i + 3:
        # gitlab/<namespace...>/<project>/<job_id>.log: the job id is the file's stem
        stem = PurePosixPath(outer[-1]).stem
        project = "/".join(outer[i + 1 : -1])
        return {"ci": "gitlab", "project": project, "job_key": path, "job_name": stem}
    else:
        parent = outer[:-1] if not inner else outer
        ctx |= {"project": "/".join(parent) or ".", "host": parent[-1] if parent else "."}
    ctx |= _job_identity(path)
    return ctx


def _job_identity(path: str) -> dict[str, str]:
    rel = _run_relative(path)
    if rel is None:
        name = PurePosixPath(path.replace("!", "/")).name
        return {"job_key": path, "job_name": job_name_from_file(name)}
    root, rest = rel
    sep = "" if root.endswith("!") else "/"
    if len(rest) >= 2:
        return {"job_key": f"{root}{sep}{rest[0]}/", "job_name": rest[0]}
    return {"job_key": path, "job_name": job_name_from_file(rest[-1] if rest else path)}


def step_duplicates(paths: Iterable[str]) -> set[str]:
    """Step files whose job also has a whole-job log in the same run (read once, not twice).

    Args:
        paths: logical paths of all files in the bundle.

    Returns:
        The paths to skip.
    """
    whole: set[tuple[str, str]] = set()
    steps: list[tuple[str, str, str]] = []
    for path in paths:
        rel = _run_relative(path)
        if rel is None:
            continue
        root, rest = rel
        if len(rest) == 1 and rest[0].endswith(".txt"):
            whole.add((root, job_name_from_file(rest[0])))
        elif len(rest) >= 2:
            steps.append((root, rest[0], path))
    return {path for root, job, path in steps if (root, job) in whole}
