"""Pin the deployment's base images by digest: `python deploy/pin_images.py [--check]`.

docker-compose.yml and the Dockerfile name their third-party images by tag
(`postgis/postgis:15-3.4`). A tag can be re-pushed; a digest cannot. On a machine that reaches
the registry (Docker Hub, or the intranet mirror given by `--registry`), this asks the registry
for the digest each tag points at now (Registry HTTP API v2, `HEAD /v2/<name>/manifests/<tag>`,
with the anonymous bearer token the registry's challenge names) and rewrites every reference as
`name:tag@sha256:…`, keeping the tag for the reader. Images built here (`gridgov:…`) are left alone.

    python deploy/pin_images.py --check     # list what is not pinned; exit 1 if any
    python deploy/pin_images.py             # pin (Docker Hub)
    python deploy/pin_images.py --registry https://mirror.example.gov.cn

Running it again after pinning changes nothing unless `--refresh` asks for the tags' new digests.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FILES = (ROOT / "docker-compose.yml", ROOT / "Dockerfile")
DOCKER_HUB = "https://registry-1.docker.io"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
# `image: ref` in compose files, `FROM ref [AS stage]` in Dockerfiles
REFERENCE = re.compile(r"^(?P<lead>\s*(?:image:\s*|FROM\s+))(?P<ref>[^\s#]+)", re.MULTILINE)
OWN_IMAGES = ("gridgov",)

Resolver = Callable[[str, str], str]


def split_reference(ref: str) -> tuple[str, str, str | None]:
    """`name:tag@digest` → (name, tag, digest); a missing tag is `latest`."""
    name, _, digest = ref.partition("@")
    tag = "latest"
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest or None


def is_own(name: str) -> bool:
    """Images this project builds itself are pinned by building them, not by a registry digest."""
    return name.split("/")[-1] in OWN_IMAGES


def unpinned(text: str) -> list[str]:
    """Third-party references in `text` that carry no digest."""
    found = []
    for m in REFERENCE.finditer(text):
        name, _, digest = split_reference(m["ref"])
        if digest is None and not is_own(name):
            found.append(m["ref"])
    return found


def pin(text: str, resolve: Resolver, refresh: bool = False) -> str:
    """`text` with every third-party reference written as `name:tag@digest` from `resolve`."""

    def replace(m: re.Match[str]) -> str:
        name, tag, digest = split_reference(m["ref"])
        if is_own(name) or (digest and not refresh):
            return m.group(0)
        return f"{m['lead']}{name}:{tag}@{resolve(name, tag)}"

    return REFERENCE.sub(replace, text)


def registry_resolver(registry: str, timeout: float = 20.0) -> Resolver:
    """Digests read from a v2 registry, following its bearer-token challenge when it sends one."""
    client = httpx.Client(timeout=timeout, follow_redirects=True)

    def resolve(name: str, tag: str) -> str:
        repo = name if "/" in name else f"library/{name}"  # Docker Hub's official images
        url = f"{registry.rstrip('/')}/v2/{repo}/manifests/{tag}"
        headers = {"Accept": MANIFEST_TYPES}
        answer = client.head(url, headers=headers)
        if answer.status_code == 401:
            headers["Authorization"] = f"Bearer {_token(client, answer, repo)}"
            answer = client.head(url, headers=headers)
        answer.raise_for_status()
        digest = answer.headers.get("Docker-Content-Digest", "")
        if not digest.startswith("sha256:"):
            raise RuntimeError(f"{registry} gave no digest for {name}:{tag}")
        return digest

    return resolve


def _token(client: httpx.Client, challenge: httpx.Response, repo: str) -> str:
    """The anonymous pull token named by a `WWW-Authenticate: Bearer realm=…` challenge."""
    header = challenge.headers.get("WWW-Authenticate", "")
    params = dict(re.findall(r'(\w+)="([^"]*)"', header))
    if not header.lower().startswith("bearer") or "realm" not in params:
        raise RuntimeError(f"the registry asks for credentials this tool does not have: {header!r}")
    query = {"scope": params.get("scope", f"repository:{repo}:pull")}
    if "service" in params:
        query["service"] = params["service"]
    answer = client.get(params["realm"], params=query)
    answer.raise_for_status()
    body = answer.json()
    return str(body.get("token") or body["access_token"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pin_images.py", description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only list unpinned images; exit 1 if any")
    p.add_argument("--registry", default=DOCKER_HUB, help="v2 registry or mirror to ask")
    p.add_argument("--refresh", action="store_true", help="re-read digests of pinned references")
    p.add_argument("files", nargs="*", type=Path, default=list(FILES))
    args = p.parse_args(argv)
    if args.check:
        missing = [(f, ref) for f in args.files for ref in unpinned(f.read_text())]
        for f, ref in missing:
            print(f"{f.name}: {ref} is pinned by tag only")
        return 1 if missing else 0
    resolve = registry_resolver(args.registry)
    try:  # every digest first, so a registry that fails half-way leaves no file half-pinned
        pinned = {f: pin(f.read_text(), resolve, refresh=args.refresh) for f in args.files}
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"cannot read digests from {args.registry}: {exc}; nothing changed", file=sys.stderr)
        return 2
    for f, after in pinned.items():
        if after != f.read_text():
            f.write_text(after)
            print(f"{f.name}: pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
