# The order service's container image: built from the locked dependencies in
# a Rust image, run as a non-root user from a slim Debian with nothing but
# the binary (the database migrations are embedded in it), the sample policy
# file and curl for the health check. Every setting comes from the
# environment (ORDER_*, DATABASE_URL; see README "Settings").
#
#   docker build -t order-service .
#   docker run -p 8080:8080 -e ORDER_JWT_SECRET=… -e ORDER_PAYMENTS=simulated order-service

FROM rust:1.95-slim-bookworm AS build
# librdkafka is built from source by its own configure and make.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make perl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p order-http \
 && cp target/release/order-http /usr/local/bin/order-http

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/order-service --create-home order-service
COPY --from=build /usr/local/bin/order-http /usr/local/bin/order-http
COPY --from=build /src/config/sample.toml /etc/order-service/policies.toml
ENV ORDER_LISTEN=0.0.0.0:8080 \
    ORDER_DATA_DIR=/var/lib/order-service \
    ORDER_CONFIG=/etc/order-service/policies.toml \
    RUST_LOG=info
USER 10001:10001
WORKDIR /var/lib/order-service
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/health/live"]
ENTRYPOINT ["/usr/local/bin/order-http"]
