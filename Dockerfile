# The meterflow image: the `meterflow` command (workers, runs, the generator) on Node.js 20, with the
# lake's DuckDB extensions (ducklake, httpfs, sqlite and postgres scanners) built in.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

# the extensions from PyPI's wheels, pinned to the DuckDB of @duckdb/node-api (v1.5.5), as
# scripts/install-duckdb-extensions.sh installs them: one .duckdb_extension file in each wheel
FROM python:3.12-slim-bookworm AS extensions
RUN pip install --quiet --no-deps --no-compile --target /wheels \
      duckdb-extension-ducklake==1.5.5 duckdb-extension-httpfs==1.5.5 \
      duckdb-extension-sqlite-scanner==1.5.5 duckdb-extension-postgres-scanner==1.5.5 \
 && folder="/extensions/v1.5.5/linux_$(dpkg --print-architecture)" && mkdir -p "$folder" \
 && for name in ducklake httpfs sqlite_scanner postgres_scanner; do \
      mv "/wheels/duckdb_extension_$name/extensions/v1.5.5/$name.duckdb_extension" "$folder/"; \
    done

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production METERFLOW_HOME=/var/lib/meterflow METERFLOW_DUCKDB_EXTENSIONS=/opt/meterflow/duckdb-extensions
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=extensions /extensions /opt/meterflow/duckdb-extensions
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY models ./models
ENTRYPOINT ["node", "bin/meterflow.js"]
CMD ["--help"]
