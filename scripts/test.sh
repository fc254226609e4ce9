#!/usr/bin/env bash
# Set up everything (Python packages and Chromium for the browser tests) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Ray backend's tests need the optional extra (skipped without it, mandatory under CI=true).
.venv/bin/python -m pip install --quiet -e ".[test,ray]"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: no /usr/bin/chromium and no root to install it: browser tests will skip" >&2
    echo "       (install it with: sudo apt-get install -y chromium)" >&2
  fi
fi
# PostgreSQL for the store's tests (each starts a throwaway cluster of its own in a temp dir).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing PostgreSQL for the store tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup: no PostgreSQL and no root to install it: its store tests will skip" >&2
    echo "       (install it with: sudo apt-get install -y postgresql)" >&2
  fi
fi
# Redis for the replica tests (tests/replicas start redis-server in a temp dir of their own).
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Redis for the replica tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "setup: no redis-server and no root to install it: the replica tests will skip" >&2
    echo "       (install it with: sudo apt-get install -y redis-server)" >&2
  fi
fi
# nginx for the deployment test (tests/deploy: the compose topology as processes behind it).
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing nginx for the deployment test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  else
    echo "setup: no nginx and no root to install it: the deployment test will skip" >&2
    echo "       (install it with: sudo apt-get install -y nginx-light)" >&2
  fi
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
