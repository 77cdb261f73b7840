"""Log-format parsers: one module per format, listed in one explicit registry.

Each module exposes ``NAME``, ``DESCRIPTION``, ``sniff(path, head) -> bool`` and
``parse(source, data) -> ParseResult``. Order matters only for sniffing: the first module
whose ``sniff`` accepts a file parses it (sniffers are written to be mutually exclusive).
"""

from types import ModuleType

from forensics.parsers import (
    artifactory,
    docker_events,
    docker_images,
    dockerhub_audit,
    dockerhub_usage,
    github_actions,
    github_jobs,
    gitlab_ci,
    gitlab_jobs,
    jenkins,
    jenkins_build,
    kubernetes,
    nexus,
    registry_log,
    runtime_journal,
)

# Order matters only where sniffers could overlap: docker_images before dockerhub_audit
# (inspect output may hold "account"/"action" labels), nexus before registry_log (a Nexus
# connector-port line looks like a registry access line), registry_log before runtime_journal
# (registry logs are logrus lines too).
_MODULES: tuple[ModuleType, ...] = (
    github_actions,
    github_jobs,
    gitlab_ci,
    gitlab_jobs,
    jenkins,
    jenkins_build,
    docker_events,
    docker_images,
    artifactory,
    nexus,
    registry_log,
    runtime_journal,
    kubernetes,
    dockerhub_usage,
    dockerhub_audit,
)


def _build(modules: tuple[ModuleType, ...]) -> dict[str, ModuleType]:
    registry: dict[str, ModuleType] = {}
    for module in modules:
        if module.NAME in registry:
            raise KeyError(f"parser name registered twice: {module.NAME}")
        registry[module.NAME] = module
    return registry


REGISTRY: dict[str, ModuleType] = _build(_MODULES)
"""Parser NAME → module."""
