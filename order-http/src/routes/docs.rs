//! `/openapi.json` (generated from the code) and `/docs` (Swagger UI, from
//! vendored assets: nothing is fetched at build or run time).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::openapi::ApiDoc;
use crate::state::AppState;

/// The documentation routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route(
            "/docs",
            get(|| {
                asset(
                    "text/html; charset=utf-8",
                    include_bytes!("../../assets/swagger-ui/index.html"),
                )
            }),
        )
        .route(
            "/docs/",
            get(|| {
                asset(
                    "text/html; charset=utf-8",
                    include_bytes!("../../assets/swagger-ui/index.html"),
                )
            }),
        )
        .route(
            "/docs/init.js",
            get(|| {
                asset(
                    "text/javascript",
                    include_bytes!("../../assets/swagger-ui/init.js"),
                )
            }),
        )
        .route(
            "/docs/swagger-ui.css",
            get(|| {
                asset(
                    "text/css",
                    include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
                )
            }),
        )
        .route(
            "/docs/swagger-ui-bundle.js",
            get(|| {
                asset(
                    "text/javascript",
                    include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
                )
            }),
        )
}

async fn asset(content_type: &'static str, bytes: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], ApiDoc::json())
}
