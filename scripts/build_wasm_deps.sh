#!/usr/bin/env bash
# Builds the WebAssembly dependencies of mlpress -- zlib, libzip and protobuf-lite -- from
# Debian's source packages with Debian's emcc, and installs them into a cache outside the repo:
#
#   ${MLPRESS_CACHE:-$HOME/.cache/mlpress}/wasm-deps/<key>/
#       include/  lib/  mlpress-wasm-deps.cmake  build.log  stamp
#
# <key> names the three Debian source versions (the ones of the installed binary packages, so
# the wasm protobuf runtime always matches the host protoc), the emcc version and a hash of
# this script. A key whose stamp exists is reused without doing anything. Prints the key
# directory's path on its last line.
#
# `build_wasm_deps.sh --print-dir` prints that directory without building anything.
#
# mlpress-wasm-deps.cmake defines the IMPORTED targets mlpress_wasm_zlib, mlpress_wasm_libzip
# and mlpress_wasm_protobuf_lite; scripts/build_wasm.sh passes it to CMake.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/build_wasm_deps.sh"
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"  # Debian's emcc needs acorn
export EMCC_SKIP_SANITY_CHECK=1  # saves half a second per emcc call (hundreds of them)

log() { printf 'wasm-deps: %s\n' "$*" >&2; }  # stdout carries only the result path
die() { printf 'wasm-deps: error: %s\n' "$*" >&2; exit 1; }

for tool in emcc emar emcmake cmake protoc dpkg-query apt-get; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done

# Source package version of an installed binary package.
src_version() {
  dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null || die "package $1 is not installed (run scripts/setup.sh)"
}
ZLIB_VER="$(src_version zlib1g)"
LIBZIP_VER="$(src_version libzip-dev)"
PROTOBUF_VER="$(src_version protobuf-compiler)"
EMCC_VER="$(emcc -dumpversion)"
# Debian's package version also names its patches and its prebuilt library cache.
EMCC_PKG_VER="$(dpkg-query -W -f='${Version}' emscripten 2>/dev/null || true)"
[ "$(src_version libprotobuf-dev)" = "$PROTOBUF_VER" ] \
  || die "libprotobuf-dev and protobuf-compiler differ in version; reinstall them"

# protoc generates code for exactly one runtime version: the wasm runtime must be the same.
PROTOC_UPSTREAM="$(protoc --version | awk '{print $2}')"
PROTOBUF_UPSTREAM="${PROTOBUF_VER#*:}"
PROTOBUF_UPSTREAM="${PROTOBUF_UPSTREAM%%-*}"
[ "$PROTOC_UPSTREAM" = "$PROTOBUF_UPSTREAM" ] \
  || die "host protoc is $PROTOC_UPSTREAM but the protobuf source package is $PROTOBUF_UPSTREAM"

sanitize() { printf '%s' "$1" | tr -c 'A-Za-z0-9.+_-' '_'; }
case "$EMCC_PKG_VER" in "$EMCC_VER"*) EMCC_VER="$EMCC_PKG_VER" ;; esac
# The recipe: this script without its comment lines, so that a changed flag rebuilds.
RECIPE="$(grep -v '^[[:space:]]*#' "$SELF" | sha256sum | cut -c1-10)"
KEY="zlib-$(sanitize "$ZLIB_VER")_libzip-$(sanitize "$LIBZIP_VER")_protobuf-$(sanitize "$PROTOBUF_VER")_emcc-$(sanitize "$EMCC_VER")_r${RECIPE}"
CACHE="${MLPRESS_CACHE:-$HOME/.cache/mlpress}/wasm-deps"
PREFIX="$CACHE/$KEY"

if [ "${1:-}" = --print-dir ]; then  # where the deps are (or would be), without building
  echo "$PREFIX"
  exit 0
fi
if [ -f "$PREFIX/stamp" ]; then
  log "cached: $PREFIX"
  echo "$PREFIX"
  exit 0
fi

# One build per key at a time; a second caller waits, then finds the stamp.
mkdir -p "$CACHE"
exec 9>"$PREFIX.lock"
flock 9
if [ -f "$PREFIX/stamp" ]; then
  log "cached: $PREFIX"
  echo "$PREFIX"
  exit 0
fi

JOBS="${MLPRESS_JOBS:-$(nproc)}"
rm -rf "$PREFIX"
mkdir -p "$PREFIX/lib" "$PREFIX/include"
LOG="$PREFIX/build.log"
: >"$LOG"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/mlpress-wasm-deps.XXXXXX")"
[ -n "${MLPRESS_KEEP_SCRATCH:-}" ] || trap 'rm -rf "$SCRATCH"' EXIT
chmod 0755 "$SCRATCH"

# Runs a step with its output in the log; on failure shows the log's tail.
step() {
  local name="$1"; shift
  local t0=$SECONDS
  local rc
  # not `if ! ...`: errexit would be off inside the step
  set +e
  (set -e; "$@") >>"$LOG" 2>&1
  rc=$?
  set -e
  if [ $rc != 0 ]; then
    tail -n 40 "$LOG" >&2
    die "$name failed (full log: $LOG)"
  fi
  log "$name ok ($((SECONDS - t0)) s)"
}

log "building into $PREFIX (log: $LOG)"

# --- sources -------------------------------------------------------------------------------
fetch_sources() {
  cd "$SCRATCH"
  local pkgs=("zlib=$ZLIB_VER" "libzip=$LIBZIP_VER" "protobuf=$PROTOBUF_VER")
  if ! apt-get source -qq -o APT::Sandbox::User=root "${pkgs[@]}"; then
    # No deb-src entry yet, or stale package lists: refresh once and retry.
    echo "apt-get source failed; apt-get update and retry"
    apt-get update -qq
    apt-get source -qq -o APT::Sandbox::User=root "${pkgs[@]}"
  fi
}
step "sources (zlib $ZLIB_VER, libzip $LIBZIP_VER, protobuf $PROTOBUF_VER)" fetch_sources
src_dir() {
  local d
  d="$(find "$SCRATCH" -maxdepth 1 -type d -name "$1-*" | head -n 1)"
  [ -n "$d" ] || die "no unpacked $1 source in $SCRATCH"
  echo "$d"
}
ZLIB_SRC="$(src_dir zlib)"
LIBZIP_SRC="$(src_dir libzip)"
PROTOBUF_SRC="$(src_dir protobuf)"

# -ffile-prefix-map: no scratch path in __FILE__ strings, so that a rebuild is byte-identical.
CFLAGS_COMMON="-O2 -ffile-prefix-map=$SCRATCH=/src"
CXXFLAGS_COMMON="$CFLAGS_COMMON -fwasm-exceptions"  # the exception model of the core and bindings

# --- zlib: the dfsg tarball lacks win32/, which its CMakeLists wants; compile it directly -----
build_zlib() {
  local obj="$SCRATCH/zlib-obj"
  mkdir -p "$obj"
  printf '%s\n' adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast \
      inflate inftrees trees uncompr zutil \
    | xargs -P "$JOBS" -I{} \
        emcc $CFLAGS_COMMON -DHAVE_UNISTD_H -DHAVE_STDARG_H -c "$ZLIB_SRC/{}.c" -o "$obj/{}.o"
  emar rcs "$PREFIX/lib/libz.a" "$obj"/*.o
  cp "$ZLIB_SRC/zlib.h" "$ZLIB_SRC/zconf.h" "$PREFIX/include/"
}
step "zlib" build_zlib

# --- libzip ------------------------------------------------------------------------------------
# libzip's configure runs ~60 checks, each an emcc link of several seconds: minutes in all. Its
# answers for emcc's wasm32 libc are fixed, so they are given up front (they were read off a
# probing configure; MLPRESS_WASM_DEPS_PROBE=1 runs the checks instead, to re-derive them).
# check_type_size misreads every size under emcc (it reports 9), so the sizes are always given.
write_libzip_seed() {
  local f="$1" v
  {
    for v in HAVE__CLOSE HAVE__DUP HAVE__FDOPEN HAVE__FILENO HAVE__SETMODE HAVE__SNPRINTF \
             HAVE__STRDUP HAVE__STRICMP HAVE__STRTOI64 HAVE__STRTOUI64 HAVE__UNLINK \
             HAVE_ARC4RANDOM HAVE_CLONEFILE HAVE_EXPLICIT_MEMSET HAVE_GETPROGNAME HAVE_SETMODE \
             HAVE_STRICMP HAVE_FTS_H HAVE_LIB_FTS HAVE_FICLONERANGE \
             __INT8_LIBZIP __INT16_LIBZIP __INT32_LIBZIP __INT64_LIBZIP; do
      echo "set($v \"\" CACHE INTERNAL \"\")"
    done
    for v in HAVE_EXPLICIT_BZERO HAVE_FILENO HAVE_FSEEKO HAVE_FTELLO HAVE_LOCALTIME_R \
             HAVE_SNPRINTF HAVE_STRCASECMP HAVE_STRDUP HAVE_STRTOLL HAVE_STRTOULL \
             HAVE_STDBOOL_H HAVE_STRINGS_H HAVE_UNISTD_H HAVE_INTTYPES_H_LIBZIP \
             HAVE_STDINT_H_LIBZIP HAVE_SYS_TYPES_H_LIBZIP HAVE_SYS_TYPES_H HAVE_STDINT_H \
             HAVE_STDDEF_H HAVE_NULLABLE; do
      echo "set($v 1 CACHE INTERNAL \"\")"
    done
    echo 'set(WORDS_BIGENDIAN 0 CACHE INTERNAL "")'
    for v in __INT8 __INT16 __INT32 __INT64; do
      echo "set(HAVE_${v}_LIBZIP FALSE CACHE INTERNAL \"\")"
    done
  } >"$f"
}
write_libzip_sizes() {
  local f="$1" pair
  for pair in INT8_T:1 UINT8_T:1 INT16_T:2 UINT16_T:2 INT32_T:4 UINT32_T:4 INT64_T:8 UINT64_T:8 \
              SHORT:2 INT:4 LONG:4 LONG_LONG:8; do
    echo "set(HAVE_${pair%%:*}_LIBZIP TRUE CACHE INTERNAL \"\")"
    echo "set(${pair%%:*}_LIBZIP ${pair#*:} CACHE INTERNAL \"\")"
  done >>"$f"
  echo 'set(HAVE_SIZEOF_OFF_T TRUE CACHE INTERNAL "")' >>"$f"
  echo 'set(SIZEOF_OFF_T 8 CACHE INTERNAL "")' >>"$f"
  echo 'set(HAVE_SIZEOF_SIZE_T TRUE CACHE INTERNAL "")' >>"$f"
  echo 'set(SIZEOF_SIZE_T 4 CACHE INTERNAL "")' >>"$f"
}
build_libzip() {
  local seed="$SCRATCH/libzip-seed.cmake"
  : >"$seed"
  [ "${MLPRESS_WASM_DEPS_PROBE:-0}" = 1 ] || write_libzip_seed "$seed"
  write_libzip_sizes "$seed"
  emcmake cmake -C "$seed" -S "$LIBZIP_SRC" -B "$SCRATCH/libzip-build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="$CFLAGS_COMMON -DNDEBUG" \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_SHARED_LIBS=OFF -DBUILD_TOOLS=OFF -DBUILD_REGRESS=OFF -DBUILD_EXAMPLES=OFF \
    -DBUILD_DOC=OFF -DENABLE_BZIP2=OFF -DENABLE_LZMA=OFF -DENABLE_ZSTD=OFF \
    -DENABLE_COMMONCRYPTO=OFF -DENABLE_GNUTLS=OFF -DENABLE_MBEDTLS=OFF -DENABLE_OPENSSL=OFF \
    -DENABLE_WINDOWS_CRYPTO=OFF \
    -DZLIB_INCLUDE_DIR="$PREFIX/include" -DZLIB_LIBRARY="$PREFIX/lib/libz.a"
  cmake --build "$SCRATCH/libzip-build" -j "$JOBS"
  cmake --install "$SCRATCH/libzip-build"
  # the wasm32 answers must have reached zipconf.h / config.h
  grep -q 'define SIZEOF_OFF_T 8' "$SCRATCH/libzip-build/config.h"
  grep -q 'define SIZEOF_SIZE_T 4' "$SCRATCH/libzip-build/config.h"
  grep -q 'typedef int64_t zip_int64_t;' "$PREFIX/include/zipconf.h"
}
step "libzip" build_libzip

# --- protobuf-lite -----------------------------------------------------------------------------
build_protobuf() {
  emcmake cmake -S "$PROTOBUF_SRC" -B "$SCRATCH/protobuf-build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="$CXXFLAGS_COMMON -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELEASE="$CFLAGS_COMMON -DNDEBUG" \
    -Dprotobuf_BUILD_TESTS=OFF -Dprotobuf_BUILD_CONFORMANCE=OFF -Dprotobuf_BUILD_EXAMPLES=OFF \
    -Dprotobuf_BUILD_PROTOC_BINARIES=OFF -Dprotobuf_BUILD_LIBPROTOC=OFF \
    -Dprotobuf_BUILD_SHARED_LIBS=OFF -Dprotobuf_WITH_ZLIB=OFF -Dprotobuf_INSTALL=OFF
  cmake --build "$SCRATCH/protobuf-build" -j "$JOBS" --target libprotobuf-lite
  cp "$SCRATCH/protobuf-build/libprotobuf-lite.a" "$PREFIX/lib/"
  # The lite headers include a few of the full runtime's; copy the whole public tree.
  (cd "$PROTOBUF_SRC/src" && find google -type f \( -name '*.h' -o -name '*.inc' \) \
     ! -path '*/testing/*' ! -name '*test*' -print0 \
     | xargs -0 cp --parents -t "$PREFIX/include/")
}
step "protobuf-lite" build_protobuf

# --- the CMake file the project includes ------------------------------------------------------
cat >"$PREFIX/mlpress-wasm-deps.cmake" <<EOF
# Generated by scripts/build_wasm_deps.sh -- wasm builds of Debian's source packages:
#   zlib $ZLIB_VER, libzip $LIBZIP_VER, protobuf $PROTOBUF_VER (lite), emcc $EMCC_VER
set(MLPRESS_WASM_DEPS_DIR "\${CMAKE_CURRENT_LIST_DIR}")
set(MLPRESS_WASM_DEPS_KEY "$KEY")

add_library(mlpress_wasm_zlib STATIC IMPORTED GLOBAL)
set_target_properties(mlpress_wasm_zlib PROPERTIES
  IMPORTED_LOCATION "\${MLPRESS_WASM_DEPS_DIR}/lib/libz.a"
  INTERFACE_INCLUDE_DIRECTORIES "\${MLPRESS_WASM_DEPS_DIR}/include")

add_library(mlpress_wasm_libzip STATIC IMPORTED GLOBAL)
set_target_properties(mlpress_wasm_libzip PROPERTIES
  IMPORTED_LOCATION "\${MLPRESS_WASM_DEPS_DIR}/lib/libzip.a"
  INTERFACE_INCLUDE_DIRECTORIES "\${MLPRESS_WASM_DEPS_DIR}/include"
  INTERFACE_LINK_LIBRARIES mlpress_wasm_zlib)

add_library(mlpress_wasm_protobuf_lite STATIC IMPORTED GLOBAL)
set_target_properties(mlpress_wasm_protobuf_lite PROPERTIES
  IMPORTED_LOCATION "\${MLPRESS_WASM_DEPS_DIR}/lib/libprotobuf-lite.a"
  INTERFACE_INCLUDE_DIRECTORIES "\${MLPRESS_WASM_DEPS_DIR}/include")
EOF

date -u +%Y-%m-%dT%H:%M:%SZ >"$PREFIX/stamp"
log "done: $PREFIX"
echo "$PREFIX"
