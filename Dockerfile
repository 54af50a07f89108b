# The meterflow image: the `meterflow` command (workers, runs, the generator) on Node.js 20.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production METERFLOW_HOME=/var/lib/meterflow
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY models ./models
ENTRYPOINT ["node", "bin/meterflow.js"]
CMD ["--help"]
