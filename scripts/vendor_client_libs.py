"""Vendor the console's client-side libraries from the npm registry into the package, with
their licences: ``python scripts/vendor_client_libs.py`` (then review and commit the
diff). Nothing is loaded from a CDN at run time; ``serve`` serves these files itself.

Each library is pinned below (name, version, the files it takes from the package); the
tarball is checked against the registry's SHA-512 integrity before anything is written,
and ``voicebridge/console/static/vendor/MANIFEST.json`` records what was taken from where.
"""

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parents[1] / "voicebridge" / "console" / "static" / "vendor"
LIBRARIES = {
    # the map: Lima's districts and the incidents (BSD-2-Clause)
    "leaflet": (
        "1.9.4",
        [
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
            "LICENSE",
        ],
    ),
    # the analytics' charts: Vega-Lite specifications the server writes, rendered in the
    # browser by vega-embed (the same specifications the CLI's report renders; BSD-3-Clause)
    "vega": ("6.4.0", ["build/vega.min.js", "LICENSE"]),
    "vega-lite": ("6.5.0", ["build/vega-lite.min.js", "LICENSE"]),
    "vega-embed": ("7.3.0", ["build/vega-embed.min.js", "LICENSE"]),
}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https, fixed host)
        data: bytes = response.read()
        return data


def vendor(name: str, version: str, files: list[str]) -> dict[str, object]:
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    tarball, integrity = meta["dist"]["tarball"], meta["dist"]["integrity"]
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        sys.exit(f"{name}@{version}: unexpected integrity {integrity}")
    data = _get(tarball)
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
        sys.exit(f"{name}@{version}: the tarball does not match its integrity {integrity}")
    target = VENDOR / name
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for wanted in files:
            member = archive.getmember(f"package/{wanted}")
            content = archive.extractfile(member)
            if content is None:
                sys.exit(f"{name}@{version}: {wanted} is not a file")
            top = wanted.split("/", 1)[0] if "/" in wanted else ""
            path = target / Path(wanted).relative_to(top if top in ("dist", "build") else "")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.read())
    return {
        "version": version,
        "license": meta.get("license"),
        "tarball": tarball,
        "integrity": integrity,
        "files": files,
    }


def main() -> None:
    manifest = {name: vendor(name, version, files) for name, (version, files) in LIBRARIES.items()}
    (VENDOR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for name, entry in manifest.items():
        print(f"{name}@{entry['version']} ({entry['license']}) -> {VENDOR / name}")


if __name__ == "__main__":
    main()
