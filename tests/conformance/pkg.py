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

    Entries are sorted and time-stamped at the zip epoch. `macos_junk` adds what Finder's
    "Compress" adds (AppleDouble files under __MACOSX/ and a .DS_Store), which readers must
    ignore.
    """
    files = sorted(p for p in src.rglob("*") if p.is_file())
    dirs = sorted({p.relative_to(src).parent for p in files} - {Path(".")})
    with zipfile.ZipFile(dest, "w") as zf:
        if dir_entries:
            zf.writestr(_zip_info(f"{top}/", True), b"")
            for d in dirs:
                zf.writestr(_zip_info(f"{top}/{d.as_posix()}/", True), b"")
        for f in files:
            zf.writestr(_zip_info(f"{top}/{f.relative_to(src).as_posix()}", False),
                        f.read_bytes())
        if macos_junk:
            zf.writestr(_zip_info(f"{top}/.DS_Store", False), b"\0\0\0\1Bud1" + b"\0" * 32)
            for f in files[:2]:
                rel = f.relative_to(src)
                junk = f"{JUNK_DIR}/{top}/{rel.parent.as_posix()}/._{rel.name}"
                zf.writestr(_zip_info(posixpath.normpath(junk), False),
                            b"\0\5\26\7\0\2\0\0Mac OS X        ")
    return dest


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
    top = sorted(tops)[0]
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
