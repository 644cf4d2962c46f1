"""Which kind of cause an attribute names: a dependency (db.*, peer.*, upstream, server.*), a deploy
(version, service.version, build, commit), a client (client_ip, user_agent, user_id) or the
infrastructure (host, pod, node, region, zone, k8s.*, cloud.*)."""
from __future__ import annotations

DEPENDENCY, DEPLOY, CLIENT, INFRASTRUCTURE, UNKNOWN = "dependency", "deploy", "client", "infrastructure", "unknown"
KINDS = (DEPENDENCY, DEPLOY, CLIENT, INFRASTRUCTURE, UNKNOWN)

_DEPLOY_NAMES = {"version", "build", "commit", "release", "image", "git.commit", "git.sha", "deployment", "revision"}
_DEPLOY_SUFFIXES = (".version", ".build", ".commit", ".revision", ".image", ".release")
_CLIENT_NAMES = {"client_ip", "user_agent", "user_id", "method", "http.user_agent", "source.ip", "account"}
_CLIENT_PREFIXES = ("client.", "user_agent.", "user.", "source.")
_DEPENDENCY_PREFIXES = ("db", "peer", "upstream", "server", "rpc", "messaging", "net", "network", "cache", "redis",
                        "kafka", "queue", "dependency", "downstream", "http.host", "destination")
_INFRASTRUCTURE_PREFIXES = ("host", "pod", "node", "region", "zone", "az", "k8s", "cloud", "container",
                            "datacenter", "dc", "cluster", "instance", "machine", "vm")


def kind_of(attribute: str, new_value: bool = False) -> str:
    """The kind an attribute's value names; an attribute of no known family is a deploy when its value
    is new (a flag or config that appeared with the failures), else infrastructure."""
    name = attribute.lower()
    head = name.split(".", 1)[0]
    if name in _DEPLOY_NAMES or name.endswith(_DEPLOY_SUFFIXES):
        return DEPLOY
    if name in _CLIENT_NAMES or name.startswith(_CLIENT_PREFIXES):
        return CLIENT
    if head in _DEPENDENCY_PREFIXES or name.startswith(_DEPENDENCY_PREFIXES):
        return DEPENDENCY
    if head in _INFRASTRUCTURE_PREFIXES:
        return INFRASTRUCTURE
    return DEPLOY if new_value else INFRASTRUCTURE
