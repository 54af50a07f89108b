#!/usr/bin/env bash
# The lake's DuckDB extensions from PyPI's wheels, pinned, into meterflow's extension directory: what
# src/duckdb/extensions.ts does on first use, for CI and the tests (needs npm install done: DuckDB is asked
# its version and platform). The pins must equal DUCKDB_EXTENSION_WHEEL_VERSION and @duckdb/node-api's DuckDB.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=(
  duckdb-extension-ducklake==1.5.5
  duckdb-extension-httpfs==1.5.5
  duckdb-extension-sqlite-scanner==1.5.5
  duckdb-extension-postgres-scanner==1.5.5
)
extensions=(ducklake httpfs sqlite_scanner postgres_scanner)
dir="${METERFLOW_DUCKDB_EXTENSIONS:-${XDG_CACHE_HOME:-$HOME/.cache}/meterflow/duckdb-extensions}"

read -r version platform < <(node -e '
  const { DuckDBInstance } = require("@duckdb/node-api");
  DuckDBInstance.create(":memory:").then(async (instance) => {
    const rows = (await (await instance.connect()).runAndReadAll("select version(), (select platform from pragma_platform())")).getRows();
    console.log(rows[0].join(" "));
  });
')
if [ "$version" != "v1.5.5" ]; then
  echo "meterflow: @duckdb/node-api runs DuckDB $version, but the extension wheels are for v1.5.5: pin them together" >&2
  exit 1
fi
folder="$dir/$version/$platform"
missing=()
for name in "${extensions[@]}"; do [ -f "$folder/$name.duckdb_extension" ] || missing+=("$name"); done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "meterflow: DuckDB extensions ${extensions[*]} present in $folder"
  exit 0
fi

echo "meterflow: installing DuckDB extensions ${extensions[*]} from PyPI wheels (duckdb-extension-*==1.5.5) with pip into $folder" >&2
mkdir -p "$folder"
staging="$(mktemp -d "$dir/.install-XXXXXX")"
trap 'rm -rf "$staging"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --target "$staging" "${wheels[@]}" 2> >(grep -v "Running pip as the 'root' user" >&2)
for name in "${extensions[@]}"; do
  # a rename in the same file system: a concurrent reader sees the whole file or none
  mv -f "$staging/duckdb_extension_$name/extensions/$version/$name.duckdb_extension" "$folder/$name.duckdb_extension"
done
