#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds a host program against
# it twice: with CMake's find_package(libmcp) and with pkg-config. Each must run.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
libdir=$(ls -d "$work"/prefix/lib*/ | head -1)
test -L "$libdir/libmcp.so.1" && test -L "$libdir/libmcp.so"
readelf -d "$libdir/libmcp.so.1" | grep -q 'SONAME.*libmcp.so.1'

cmake -S "$src_dir/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/consumer" > /dev/null
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
# --define-prefix: the .pc names the configured prefix; this install went elsewhere.
cc -o "$work/pc" "$src_dir/consumer/main.c" $(pkg-config --define-prefix --cflags --libs libmcp)
LD_LIBRARY_PATH="$libdir" "$work/pc"
# The installed everything server finds the library through its RUNPATH.
"$work/prefix/bin/mcp-everything-server" --help > /dev/null
echo "install, find_package and pkg-config: ok"
