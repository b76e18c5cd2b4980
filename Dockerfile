# syntax=docker/dockerfile:1
# One image with PostgreSQL 15, the quarry extension and the sidecar.
#
#   docker build -t quarry .
#   docker run --rm -p 8080:8080 \
#     -e POSTGRES_PASSWORD=change-me -e QUARRY_SIDECAR_PASSWORD=change-me-too \
#     -e QUARRY_DEMO=1 -e QUARRY_DEMO_PASSWORD=demo-password-1 \
#     -v quarry-data:/var/lib/postgresql/data quarry
#
# Then add http://localhost:8080/mcp to an MCP client. Behind a proxy or on another host, set
# QUARRY_PUBLIC_URL to the URL clients use. To use an existing database instead, run only the
# sidecar: docker run --entrypoint quarry-sidecar -e DATABASE_URL=… -e QUARRY_BIND=0.0.0.0:8080 quarry

# Build against the same PostgreSQL packages the runtime image has.
FROM postgres:15-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-server-dev-15 libclang-dev clang pkg-config \
      libssl-dev curl ca-certificates build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
      | sh -s -- -y --profile minimal --default-toolchain 1.95.0 \
 && cargo install --locked cargo-pgrx --version 0.18.1 \
 && cargo pgrx init --pg15 /usr/lib/postgresql/15/bin/pg_config
WORKDIR /src
COPY . .
RUN cd extension && cargo pgrx package --pg-config /usr/lib/postgresql/15/bin/pg_config --out-dir /out/extension \
 && cd .. && cargo build --release -p quarry-sidecar \
 && cp target/release/quarry-sidecar /out/

FROM postgres:15-bookworm
# curl for the health check, CA certificates for model providers over https, a font for chart images.
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/extension/usr/ /usr/
COPY --from=build /out/quarry-sidecar /usr/local/bin/quarry-sidecar
COPY sql/demo /usr/share/quarry/demo
COPY docker/initdb.sh /docker-entrypoint-initdb.d/50-quarry.sh
COPY docker/entrypoint.sh /usr/local/bin/quarry-entrypoint.sh
ENV QUARRY_BIND=0.0.0.0:8080 \
    QUARRY_PUBLIC_URL=http://localhost:8080 \
    QUARRY_SIDECAR_ROLE=quarry_sidecar \
    QUARRY_DB=quarry
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:8080/healthz >/dev/null || exit 1
ENTRYPOINT ["quarry-entrypoint.sh"]
CMD ["postgres"]
