#!/usr/bin/env bash
# Installs everything mlpress needs on a Debian bookworm machine (run as root), then builds the
# WebAssembly dependencies (scripts/build_wasm_deps.sh). Idempotent: a second run that finds
# everything in place makes no network request and takes a few seconds.
#
#   scripts/setup.sh              # everything
#   MLPRESS_SKIP_WASM_DEPS=1 scripts/setup.sh   # packages only
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "run as root (or install sudo)"
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# --- Debian packages ------------------------------------------------------------------------
APT_PACKAGES=(
  emscripten node-acorn protobuf-compiler libprotobuf-dev libzip-dev libeigen3-dev
  nlohmann-json3-dev googletest libgtest-dev libbenchmark-dev chromium cmake ninja-build
  pkg-config clang-format zip unzip dpkg-dev
)
# npm and pip ship with some Node.js / Python installs and not with others; ask Debian only
# when the command is missing (Debian's npm conflicts with NodeSource's nodejs, which has one).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
python3 -m pip --version >/dev/null 2>&1 || APT_PACKAGES+=(python3-pip)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [ "$status" = installed ] || missing+=("$pkg")
done

# `apt-get source` (scripts/build_wasm_deps.sh) needs a deb-src entry. Add one mirroring the
# machine's own bookworm entries if there is none.
has_deb_src() {
  grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    || grep -qsE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}
added_deb_src=0
if ! has_deb_src; then
  src_file=/etc/apt/sources.list.d/mlpress-deb-src.sources
  tmp="$(mktemp)"
  # deb822 files: copy every enabled stanza that serves bookworm, as deb-src.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Suites:[^\n]*bookworm/ && /(^|\n)Types:[^\n]*deb/ && !/(^|\n)Enabled:[ \t]*no/ {
           sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' "$f" >>"$tmp"
  done
  # one-line format: turn every `deb ... bookworm...` line into a deb-src stanza.
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" && $0 ~ /bookworm/ {
           i = 2; key = "";
           if ($2 ~ /^\[/) {
             for (; ; i++) {
               o = $i; gsub(/[][]/, "", o);
               if (o ~ /^signed-by=/) { sub(/^signed-by=/, "", o); key = "Signed-By: " o "\n" }
               if ($i ~ /\]$/) break
             }
             i++
           }
           uri = $i; suite = $(i + 1); comps = "";
           for (j = i + 2; j <= NF; j++) comps = comps (comps ? " " : "") $j;
           printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n%s\n", uri, suite, comps, key }' \
      "$f" >>"$tmp"
  done
  [ -s "$tmp" ] || die "no bookworm apt entry found to mirror as deb-src"
  $SUDO install -m 0644 "$tmp" "$src_file"
  rm -f "$tmp"
  added_deb_src=1
  log "added $src_file"
fi

if [ ${#missing[@]} -gt 0 ] || [ "$added_deb_src" = 1 ]; then
  log "apt-get update"
  $SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages: all present"
fi

# --- Python (conformance tests) -------------------------------------------------------------
REQ=tests/conformance/requirements.txt
if [ ! -f "$REQ" ]; then
  mkdir -p "$(dirname "$REQ")"
  cat >"$REQ" <<'EOF'
# Python packages for the conformance tests (coremltools 9.0 supports scikit-learn <= 1.5.1).
coremltools==9.0
numpy==2.2.6
scikit-learn==1.5.1
pyyaml>=6.0
pytest>=8.0
EOF
  log "created $REQ"
fi

# Exit 0 when every requirement in $REQ is installed at a matching version.
py_satisfied() {
  python3 - "$REQ" <<'EOF' 2>/dev/null
import sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        if line:
            sys.exit(1)  # options (-r, -e, --index-url ...): let pip decide
        continue
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        sys.exit(1)
EOF
}
if py_satisfied; then
  log "Python packages: all present"
else
  pip_args=(install -q --root-user-action=ignore -r "$REQ")
  # Debian's own python3 refuses system-wide pip installs (PEP 668) unless told otherwise.
  if python3 -c 'import sys, sysconfig, os; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    pip_args+=(--break-system-packages)
  fi
  log "pip ${pip_args[*]}"
  python3 -m pip "${pip_args[@]}"
  py_satisfied || die "pip finished but $REQ is still not satisfied"
fi

# --- npm (playwright-core for the browser tests; it never downloads a browser) ---------------
if [ -f package-lock.json ]; then
  stamp=node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "$stamp" -nt package.json ]; then
    log "npm packages: up to date"
  else
    log "npm ci"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
fi

# --- WebAssembly dependencies -----------------------------------------------------------------
if [ "${MLPRESS_SKIP_WASM_DEPS:-0}" != 1 ]; then
  "$ROOT/scripts/build_wasm_deps.sh" >/dev/null  # its progress goes to stderr
fi
log "done"
