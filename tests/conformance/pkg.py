"""Package files on disk: zipping, unzipping, manifests and file inventories.

Pure Python on purpose: these helpers check what mlpress writes, so they must not share code
with it, and they need no coremltools.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path

# A fixed timestamp (the zip epoch) so zipping the same tree twice gives the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
JUNK_DIR = "__MACOSX"


def _zip_info(name: str, is_dir: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.create_system = 3  # unix, so the mode bits below mean what they say
    info.external_attr = ((0o40755 if is_dir else 0o100644) << 16) | (0x10 if is_dir else 0)
    info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
    return info


def zip_package(src: Path, dest: Path, top: str, dir_entries: bool = True,
                macos_junk: bool = False) -> Path:
    """Zips package directory `src` under top folder `top`, deterministically.

    Entries are sorted and time-stamped at the zip epoch. An empty `top` puts the package
    at the zip root ("zipped from inside"). Without `dir_entries` only empty directories get
    an entry, since a zip has no other way to hold them. `macos_junk` adds what Finder's
    "Compress" adds (AppleDouble files under __MACOSX/ and a .DS_Store), which readers must
    ignore.
    """
    prefix = f"{top}/" if top else ""
    entries: list[tuple[str, Path | None]] = [(prefix, None)] if dir_entries and top else []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_file():
            entries.append((prefix + rel, path))
        elif dir_entries or not any(path.iterdir()):
            entries.append((f"{prefix}{rel}/", None))
    with zipfile.ZipFile(dest, "w") as zf:
        for name, path in sorted(entries, key=lambda e: e[0]):
            zf.writestr(_zip_info(name, path is None), path.read_bytes() if path else b"")
        if macos_junk:
            _add_macos_junk(zf, prefix, [name for name, path in entries if path][:2])
    return dest


def _add_macos_junk(zf: zipfile.ZipFile, prefix: str, names: list[str]) -> None:
    zf.writestr(_zip_info(f"{prefix}.DS_Store", False), b"\0\0\0\1Bud1" + b"\0" * 32)
    for name in names:
        parent, base = posixpath.split(name)
        junk = posixpath.join(JUNK_DIR, parent, f"._{base}")
        zf.writestr(_zip_info(junk, False), b"\0\5\26\7\0\2\0\0Mac OS X        ")


def zip_layout_problems(path: Path) -> list[str]:
    """What is wrong with the layout of a zip mlpress wrote (FORMAT.md 1.5, 7.5 item 7)."""
    problems = []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        bad = zf.testzip()
        if bad is not None:
            problems.append(f"zip entry {bad!r} fails its CRC check")
    if not names:
        return ["zip is empty"]
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1:
        problems.append(f"zip must hold exactly one top folder, has {sorted(tops)}")
    top = min(tops, key=lambda t: (not t.endswith(".mlpackage"), t))
    if not top.endswith(".mlpackage"):
        problems.append(f"top folder {top!r} does not end in .mlpackage")
    if not any(n.startswith(top + "/") for n in names):
        problems.append(f"top entry {top!r} is a file, not a folder")
    if f"{top}/Manifest.json" not in names:
        problems.append(f"{top}/Manifest.json is missing")
    for n in names:
        parts = n.rstrip("/").split("/")
        if n.startswith("/") or ".." in parts or "\\" in n:
            problems.append(f"unsafe entry name {n!r}")
        if _is_junk(n):
            problems.append(f"macOS junk entry {n!r}")
    if len(names) != len(set(names)):
        problems.append("duplicate entry names")
    return problems


def _is_junk(name: str) -> bool:
    """Finder's additions, which readers ignore (FORMAT.md 1.5)."""
    parts = name.rstrip("/").split("/")
    return JUNK_DIR in parts or parts[-1] == ".DS_Store" or parts[-1].startswith("._")


def find_package_root(names: list[str]) -> str:
    """The in-zip folder holding the package: the shallowest Manifest.json, junk ignored."""
    candidates = []
    for n in names:
        parts = n.split("/")
        if JUNK_DIR in parts or parts[-1] != "Manifest.json":
            continue
        root = "/".join(parts[:-1])
        candidates.append((len(parts), not root.endswith(".mlpackage"), root))
    if not candidates:
        raise ValueError("no Manifest.json in zip")
    return min(candidates)[2]


def extract_package(zip_path: Path, dest: Path) -> Path:
    """Extracts a zipped package and returns its root directory (named NAME.mlpackage).

    coremltools requires the directory name to end in .mlpackage, so a root without that
    suffix (or a zip with Manifest.json at its top) is extracted under a new name.
    """
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        root = find_package_root(names)
        base = posixpath.basename(root) or zip_path.name.removesuffix(".zip")
        if not base.endswith(".mlpackage"):
            base += ".mlpackage"
        out = dest / base
        prefix = root + "/" if root else ""
        out.mkdir(parents=True, exist_ok=True)
        for info in zf.infolist():
            rel = info.filename[len(prefix):]
            if not info.filename.startswith(prefix) or not rel or _is_junk(rel):
                continue
            target = out / rel
            if info.is_dir():  # an empty weights/ directory is still a manifest item
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return out


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, keyed by its '/'-separated relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class ManifestItem:
    """A manifest entry without its identifier, which a rewriter may regenerate."""

    author: str
    description: str
    name: str
    path: str


def read_manifest(root: Path) -> dict:
    return json.loads((root / "Manifest.json").read_text())


def manifest_items(manifest: dict) -> tuple[set[ManifestItem], ManifestItem | None]:
    """All items, and the root model item (None if rootModelIdentifier dangles)."""
    entries = manifest.get("itemInfoEntries", {})
    items = {
        ManifestItem(e.get("author"), e.get("description"), e.get("name"), e.get("path"))
        for e in entries.values()
    }
    root_entry = entries.get(manifest.get("rootModelIdentifier"))
    root_item = None
    if root_entry is not None:
        root_item = ManifestItem(root_entry.get("author"), root_entry.get("description"),
                                 root_entry.get("name"), root_entry.get("path"))
    return items, root_item
