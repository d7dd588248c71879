//! Logging as the Lambda functions do it: JSON lines for CloudWatch, no
//! timestamps (CloudWatch adds its own), the level from `RUST_LOG`.

/// Installs the JSON log subscriber; `info` unless `RUST_LOG` says otherwise.
pub fn init_lambda() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}
