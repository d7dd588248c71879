//! The desk Lambda: configuration and the DynamoDB client built once, then
//! the shared router behind `lambda_http`, with the caller read from the
//! HTTP API's JWT authorizer. The match key is read from its secret the
//! first time an admin searches for a person, not at start.

use axum::middleware;
use frontdesk_desk::{router, AppState, Rights};
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::content::ConsentWording;
use frontdesk_shared::desk::Consultants;
use frontdesk_shared::match_key::MatchKeyOnce;
use frontdesk_shared::store::dynamodb::{DynamoBookingStore, DynamoContentStore};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::DeskConfig;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = DeskConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    // In Lambda the desk trusts only its own app client's tokens, its
    // pages sign in through its managed login, and a person's bookings are
    // found under the match key's secret: none may be left unset.
    for (variable, value) in [
        ("DESK_CLIENT_ID", &config.client_id),
        ("DESK_SIGN_IN_URL", &config.sign_in_url),
        ("MATCH_KEY_SECRET", &config.match_key_secret),
    ] {
        if value.is_none() {
            tracing::error!(variable, "configuration refused: required in Lambda");
            return Err(format!("{variable} is required").into());
        }
    }
    let content = frontdesk_shared::ContentConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    // One SDK configuration for the tables and the secret, resolved once.
    let sdk = frontdesk_shared::aws::load_in_lambda(config.store_timeout).await;
    let client = frontdesk_shared::aws::dynamodb_client_on(&sdk);
    let content_store = Arc::new(DynamoContentStore::new(
        client.clone(),
        &content.content_table,
    ));
    // Each read only when needed (a booking naming a consultant, an
    // export), then kept for CONTENT_CACHE_SECONDS.
    let consultants = ContentCache::new(
        content_store.clone(),
        content.cache_ttl,
        Clock::system(),
        Consultants::of,
    );
    let wordings = ContentCache::new(
        content_store,
        content.cache_ttl,
        Clock::system(),
        ConsentWording::all_of,
    );
    let store = DynamoBookingStore::new(client, &config.bookings_table, &config.guards_table)
        .with_marketing_table(&config.marketing_table);
    let desk = store.desk(&config.audit_table, config.audit_retention, Clock::system());
    let key = MatchKeyOnce::from_secret(sdk, config.match_key_secret.clone().unwrap_or_default());
    let rights = Rights {
        index: Arc::new(store.clone()),
        bookings: Arc::new(store.clone()),
        register: Arc::new(store),
        wordings: Arc::new(wordings),
        key: Arc::new(key),
        backups_kept: Some(frontdesk_shared::rights::erase::BACKUPS_KEPT),
        folders: Vec::new(),
    };
    let client_id = config.client_id.clone();
    let state = AppState::new(
        Arc::new(desk),
        Arc::new(consultants),
        rights,
        Clock::system(),
        config,
    );
    let app = router(state).layer(middleware::from_fn(move |request, next| {
        frontdesk_desk::identity::from_authorizer(client_id.clone(), request, next)
    }));
    lambda_http::run(app).await
}
