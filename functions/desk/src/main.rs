//! The desk Lambda: configuration and the DynamoDB client built once, then
//! the shared router behind `lambda_http`, with the caller read from the
//! HTTP API's JWT authorizer.

use axum::middleware;
use frontdesk_desk::{router, AppState};
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::desk::Consultants;
use frontdesk_shared::store::dynamodb::{DynamoBookingStore, DynamoContentStore};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::DeskConfig;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = DeskConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    // In Lambda the desk trusts only its own app client's tokens, and its
    // pages sign in through its managed login: neither may be left unset.
    for (variable, value) in [
        ("DESK_CLIENT_ID", &config.client_id),
        ("DESK_SIGN_IN_URL", &config.sign_in_url),
    ] {
        if value.is_none() {
            tracing::error!(variable, "configuration refused: required in Lambda");
            return Err(format!("{variable} is required").into());
        }
    }
    let content = frontdesk_shared::ContentConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let client = frontdesk_shared::aws::dynamodb_client(config.store_timeout).await;
    // Read only when a booking names a consultant, then kept for CONTENT_CACHE_SECONDS.
    let consultants = ContentCache::new(
        Arc::new(DynamoContentStore::new(
            client.clone(),
            &content.content_table,
        )),
        content.cache_ttl,
        Clock::system(),
        Consultants::of,
    );
    // The desk writes no guards: the bookings store is only its way to the table.
    let desk = DynamoBookingStore::new(client, &config.bookings_table, "").desk(
        &config.audit_table,
        config.audit_retention,
        Clock::system(),
    );
    let client_id = config.client_id.clone();
    let state = AppState::new(
        Arc::new(desk),
        Arc::new(consultants),
        Clock::system(),
        config,
    );
    let app = router(state).layer(middleware::from_fn(move |request, next| {
        frontdesk_desk::identity::from_authorizer(client_id.clone(), request, next)
    }));
    lambda_http::run(app).await
}
