//! `GET /metrics`: Prometheus' scrape, for the holder of `METRICS_TOKEN` only.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::auth::MetricsScraper;
use crate::error::AppError;
use crate::metrics::CONTENT_TYPE;
use crate::services::metrics;
use crate::state::AppState;

/// `GET /metrics`: every series in Prometheus' text format (404 without `METRICS_TOKEN`).
pub async fn scrape(
    _scraper: MetricsScraper,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, AppError> {
    let text = metrics::scrape(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    ))
}
