//! [`Config`]: every setting of the `order-http` binary, from flags or the
//! environment (`order-http --help` lists them).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand, ValueEnum};

/// When payments are captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Capture {
    /// Authorize and capture at checkout.
    Immediate,
    /// Authorize at checkout, capture when processing starts.
    OnProcessing,
}

/// How customers are charged (`--payments`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Payments {
    /// A built-in simulator that approves every payment (development and
    /// demonstrations; the default with `--dev`).
    Simulated,
    /// A payment service charges customers and reports through payment
    /// events (`payment.processed` / `payment.failed`); checkout answers 202
    /// with the payment pending.
    External,
    /// The payment service's REST API (`--payment-service-url`): checkout
    /// charges through it and answers at once; refunds and cancellations
    /// give the money back through it.
    Http,
}

/// How customer ids are checked (`--customers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Customers {
    /// A verified token's subject is the customer: every authenticated
    /// customer id exists.
    TrustToken,
}

/// Where outbox events go (`--events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Events {
    /// One log line per event; consumers read the event feed
    /// (`GET /api/v1/events`).
    Log,
    /// CloudEvents on Kafka (`--kafka-brokers`, `--kafka-topic`).
    Kafka,
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// The order engine's HTTP service.
#[derive(Debug, Clone, Parser)]
#[command(name = "order-http", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "ORDER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address to serve the gRPC API on (`order.OrderService`, health,
    /// reflection); off unless set. Port 0 picks a free port; the chosen
    /// address is printed.
    #[arg(long, env = "ORDER_GRPC_ADDR")]
    pub grpc_addr: Option<SocketAddr>,

    /// The currency of orders placed over gRPC (ISO 4217; the proto's
    /// CreateOrderRequest carries none).
    #[arg(long, env = "ORDER_GRPC_CURRENCY", default_value = "USD")]
    pub grpc_currency: String,

    /// Where orders live: `postgres://…` (TLS per `sslmode`), or
    /// `sqlite://path/to/file.db`, or `sqlite::memory:` for a throwaway
    /// database. Without it, a SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory of the default SQLite database (`orders.db`), used when no
    /// database URL is given.
    #[arg(long, env = "ORDER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Most database connections.
    #[arg(long, env = "ORDER_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Threads of the runtime that serves requests and runs the background
    /// work [default: the CPUs available to the process]. Fewer than the
    /// machine's cores where the service shares them with its database:
    /// each thread that sleeps must be woken, and that costs CPU.
    #[arg(long, env = "ORDER_WORKER_THREADS")]
    pub worker_threads: Option<NonZeroUsize>,

    /// The policy file: pricing, tax rates, shipping methods, coupons
    /// (TOML; see config/sample.toml). Required unless `--dev`, which
    /// defaults to config/sample.toml.
    #[arg(long = "config", env = "ORDER_CONFIG")]
    pub policy_file: Option<PathBuf>,

    /// How customers are charged. Required unless `--dev`, which defaults to
    /// `simulated`.
    #[arg(long, env = "ORDER_PAYMENTS", value_enum)]
    pub payments: Option<Payments>,

    /// How customer ids are checked.
    #[arg(long, env = "ORDER_CUSTOMERS", value_enum, default_value_t = Customers::TrustToken)]
    pub customers: Customers,

    /// Where outbox events are published.
    #[arg(long, env = "ORDER_EVENTS", value_enum, default_value_t = Events::Log)]
    pub events: Events,

    /// A catalog file (TOML: `[[products]]` and a `[stock]` table; see
    /// config/demo-catalog.toml) added to an empty catalog at start.
    #[arg(long, env = "ORDER_SEED_CATALOG")]
    pub seed_catalog: Option<PathBuf>,

    /// HS256 secret for bearer tokens.
    #[arg(long, env = "ORDER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// RS256 public key (PEM file) for bearer tokens, instead of a secret.
    #[arg(long, env = "ORDER_JWT_RSA_PUBLIC_KEY")]
    pub jwt_rsa_public_key: Option<PathBuf>,

    /// EdDSA (Ed25519) public key (PEM file) for bearer tokens, instead of a secret.
    #[arg(long, env = "ORDER_JWT_ED25519_PUBLIC_KEY")]
    pub jwt_ed25519_public_key: Option<PathBuf>,

    /// Required token issuer (`iss`).
    #[arg(long, env = "ORDER_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required token audience (`aud`).
    #[arg(long, env = "ORDER_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// HMAC-SHA256 secret of the payment webhook's `X-Signature`.
    #[arg(long, env = "ORDER_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Development mode: make a token secret when none is configured and
    /// print ready-made tokens, take simulated payments and read
    /// config/sample.toml unless told otherwise. Without it the service
    /// refuses to start until token keys, a payment mode and a policy file
    /// are configured.
    #[arg(long, env = "ORDER_DEV", value_parser = BoolishValueParser::new())]
    pub dev: bool,

    /// Require an admin or service token for `/metrics`.
    #[arg(long, env = "ORDER_PROTECT_METRICS", value_parser = BoolishValueParser::new())]
    pub protect_metrics: bool,

    /// Largest request body, in bytes.
    #[arg(long, env = "ORDER_BODY_LIMIT_BYTES", default_value_t = 64 * 1024)]
    pub body_limit_bytes: usize,

    /// Longest a request may take, in seconds.
    #[arg(long, env = "ORDER_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,

    /// Seconds a client has to send a request's headers (and an idle
    /// keep-alive connection to start its next request); then the
    /// connection is closed.
    #[arg(long, env = "ORDER_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a request's body once its headers
    /// arrived; then the request is answered 408 and the connection closed.
    #[arg(long, env = "ORDER_BODY_READ_TIMEOUT_SECS", default_value_t = 5)]
    pub body_read_timeout_secs: u64,

    /// Minutes an unpaid order (and its stock) is held before it expires.
    #[arg(long, env = "ORDER_PENDING_TTL_MINUTES", default_value_t = 30)]
    pub pending_ttl_minutes: i64,

    /// Days after delivery during which returns are accepted.
    #[arg(long, env = "ORDER_RETURN_WINDOW_DAYS", default_value_t = 30)]
    pub return_window_days: i64,

    /// The shipping method of an order placed through one of the seeds'
    /// routes (docs/seed-compat.md) whose body names none; a method of the
    /// policy file.
    #[arg(
        long,
        env = "ORDER_DEFAULT_SHIPPING_METHOD",
        default_value = "standard"
    )]
    pub default_shipping_method: String,

    /// When payments are captured.
    #[arg(long, env = "ORDER_CAPTURE", value_enum, default_value_t = Capture::Immediate)]
    pub capture: Capture,

    /// Seconds between background sweeps (expire stale orders, complete
    /// delivered ones).
    #[arg(long, env = "ORDER_SWEEP_INTERVAL_SECS", default_value_t = 30)]
    pub sweep_interval_secs: u64,

    /// Milliseconds the outbox relay waits between passes when nothing is
    /// waiting (it runs continuously; a full batch is followed at once).
    #[arg(long, env = "ORDER_RELAY_POLL_MS", default_value_t = 100)]
    pub relay_poll_ms: u64,

    /// Seconds a webhook delivery is retried (5 s, doubling to an hour)
    /// before it is left failed for an admin to send again.
    #[arg(
        long,
        env = "ORDER_WEBHOOK_RETRY_WINDOW_SECS",
        default_value_t = 86_400
    )]
    pub webhook_retry_window_secs: u64,

    /// Milliseconds between the webhook dispatcher's passes when nothing
    /// is due.
    #[arg(long, env = "ORDER_WEBHOOK_POLL_MS", default_value_t = 250)]
    pub webhook_poll_ms: u64,

    /// Seconds one webhook attempt may take.
    #[arg(long, env = "ORDER_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,

    /// Kafka bootstrap servers (`host:port,…`). With them the service
    /// consumes the payment service's events (`--kafka-payment-topics`), and
    /// `--events kafka` publishes the outbox there.
    #[arg(long, env = "ORDER_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,

    /// The topic every order event is published to.
    #[arg(long, env = "ORDER_KAFKA_TOPIC", default_value = "order-events")]
    pub kafka_topic: String,

    /// Publish each event type to a topic of its own, named
    /// `<prefix><type>` (`order.created`…), instead of `--kafka-topic`.
    #[arg(long, env = "ORDER_KAFKA_TOPIC_PER_TYPE_PREFIX")]
    pub kafka_topic_per_type_prefix: Option<String>,

    /// The topics payment events are consumed from (comma-separated; a
    /// topic named after a type, `payment.processed`, types its bodies).
    #[arg(
        long,
        env = "ORDER_KAFKA_PAYMENT_TOPICS",
        value_delimiter = ',',
        default_value = "payment-events"
    )]
    pub kafka_payment_topics: Vec<String>,

    /// The consumer group of the payment-event consumer.
    #[arg(long, env = "ORDER_KAFKA_GROUP", default_value = "order-service")]
    pub kafka_group: String,

    /// Where payment events that can never apply go, with the reason.
    #[arg(
        long,
        env = "ORDER_KAFKA_DEAD_LETTER_TOPIC",
        default_value = "payment-events-dlq"
    )]
    pub kafka_dead_letter_topic: String,

    /// Extra librdkafka properties for the producer and the consumer
    /// (`key=value`, comma-separated: `linger.ms=5,compression.type=zstd`).
    #[arg(long, env = "ORDER_KAFKA_PROPERTIES", value_delimiter = ',')]
    pub kafka_properties: Vec<String>,

    /// Browser origins allowed to call the API (CORS), comma-separated, or
    /// `*` for any; none by default.
    #[arg(long, env = "ORDER_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// The CloudEvents `source` of published events.
    #[arg(long, env = "ORDER_EVENT_SOURCE", default_value = "/order-service")]
    pub event_source: String,

    /// Seconds to finish in-flight requests after SIGTERM; then the process
    /// exits, closing whatever connections remain.
    #[arg(long, env = "ORDER_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// Log format.
    #[arg(long, env = "ORDER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Log filter (`info`, `order_http=debug,info`, …).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// OTLP/HTTP collector to export tracing spans to (e.g.
    /// `http://127.0.0.1:4318`; spans are POSTed as protobuf to
    /// `<endpoint>/v1/traces`). Needs a binary built with `--features otlp`;
    /// the usual `OTEL_*` variables (`OTEL_BSP_SCHEDULE_DELAY`,
    /// `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, …) apply.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// The payment service's base URL, for `--payments http`.
    #[arg(long, env = "PAYMENT_SERVICE_URL")]
    pub payment_service_url: Option<String>,

    /// The product service's base URL: prices and product facts come from
    /// it (`GET /products/{id}`) instead of the database's catalog.
    #[arg(long, env = "PRODUCT_SERVICE_URL")]
    pub product_service_url: Option<String>,

    /// The inventory service's base URL: it holds, commits and releases
    /// the stock (`/reservations/{orderId}`) instead of the database.
    #[arg(long, env = "INVENTORY_SERVICE_URL")]
    pub inventory_service_url: Option<String>,

    /// The user service's base URL: placement asks it whether the customer
    /// exists (`GET /users/{id}`) instead of trusting the token.
    #[arg(long, env = "USER_SERVICE_URL")]
    pub user_service_url: Option<String>,

    /// Milliseconds one attempt of a call to a remote service may take,
    /// answer included.
    #[arg(long, env = "ORDER_REMOTE_TIMEOUT_MS", default_value_t = 3_000)]
    pub remote_timeout_ms: u64,

    /// Attempts a remote call that is safe to repeat (a read, or a write
    /// with an idempotency key) gets.
    #[arg(long, env = "ORDER_REMOTE_ATTEMPTS", default_value_t = 3)]
    pub remote_attempts: u32,

    /// Milliseconds before the second attempt of a remote call; doubling,
    /// up to 2 seconds.
    #[arg(long, env = "ORDER_REMOTE_BACKOFF_MS", default_value_t = 100)]
    pub remote_backoff_ms: u64,

    /// Failures in a row after which calls to a remote service fail fast
    /// (the circuit opens).
    #[arg(long, env = "ORDER_REMOTE_BREAKER_FAILURES", default_value_t = 5)]
    pub remote_breaker_failures: u32,

    /// Milliseconds an open circuit fails fast before one probe call is let
    /// through.
    #[arg(
        long,
        env = "ORDER_REMOTE_BREAKER_COOL_DOWN_MS",
        default_value_t = 10_000
    )]
    pub remote_breaker_cool_down_ms: u64,

    /// Something to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Tool>,
}

/// Tools of the binary.
#[derive(Debug, Clone, Subcommand)]
pub enum Tool {
    /// Print a bearer token signed with `--jwt-secret`.
    Token {
        /// `customer`, `admin` or `service`.
        #[arg(long, default_value = "admin")]
        role: String,
        /// The subject; a customer's is their customer id (a UUID).
        #[arg(long, default_value = "cli")]
        subject: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u64,
    },
}
