//! The content Lambda: configuration and the DynamoDB client built once,
//! then the shared router behind `lambda_http`.

use frontdesk_content::{router, AppState};
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::ContentConfig;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = ContentConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let sdk = frontdesk_shared::aws::load_in_lambda(config.store_timeout).await;
    let store = DynamoContentStore::new(
        frontdesk_shared::aws::dynamodb_client_on(&sdk),
        &config.content_table,
    );
    let state = AppState::over(Arc::new(store), config.cache_ttl, Clock::system());
    lambda_http::run(router(state)).await
}
