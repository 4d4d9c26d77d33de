#!/bin/sh
# Installs what the build and the tests need from Debian 12's packages, only when missing.
# Works as root or through sudo. Usage: tests/support/deps.sh [extra-package ...]
set -eu
PKGS="cmake g++ make pkg-config libyaml-cpp-dev libboost1.81-dev libboost-filesystem1.81-dev libfmt-dev
libspdlog-dev libcurl4-openssl-dev libssl-dev doctest-dev libpq-dev libsqlite3-dev nlohmann-json3-dev
libcli11-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libre2-dev libboost-url1.81-dev postgresql python3
python3-jsonschema python3-yaml python3-psycopg2 curl openssl redis-server redis-tools openssh-client openssh-server pssh
git dpkg-dev file debootstrap man-db zsh fish tmux libsodium-dev python3-selenium chromium chromium-driver prometheus
prometheus-alertmanager $*"
# yaml-language-server (the schema test) runs on node and comes from npm; a node that
# already brings its own npm (e.g. NodeSource's) must not get Debian's npm on top.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
