#!/usr/bin/env bash
# System packages the test suite needs on a fresh Debian/Ubuntu machine:
# Qt's runtime libraries for the offscreen platform, Xvfb for screenshots, and the
# full-size Fashion-MNIST IDX files the dataset tests load for real.
# Only acts when run as root with apt-get available; otherwise prints what is missing.
set -u
pkgs="dataset-fashion-mnist xvfb xauth libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "note: missing system packages:$missing (install them as root for the full test suite)" >&2
fi
exit 0
