//! The booking Lambda: configuration, the match key (from Secrets Manager)
//! and the DynamoDB client built once (for the bookings, and for the
//! content whose conditions are bookable), then the shared router behind
//! `lambda_http`.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use frontdesk_booking::{router, AppState, ClientAddr};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::booking::Bookable;
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::store::dynamodb::{DynamoBookingStore, DynamoContentStore};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::{BookingConfig, ContentConfig};
use lambda_http::request::RequestContext;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = BookingConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let content = ContentConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let Some(secret) = config.match_key_secret.clone() else {
        tracing::error!("configuration refused: MATCH_KEY_SECRET must name the match key's secret");
        return Err("MATCH_KEY_SECRET is not set".into());
    };
    // One SDK configuration for the secret and both tables, resolved once.
    let sdk = frontdesk_shared::aws::load(config.store_timeout).await;
    let match_key = frontdesk_shared::aws::match_key(&sdk, &secret)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "the match key cannot be read"))?;
    let client = frontdesk_shared::aws::dynamodb_client_on(&sdk);
    let store =
        DynamoBookingStore::new(client.clone(), &config.bookings_table, &config.guards_table);
    let bookable = ContentCache::new(
        Arc::new(DynamoContentStore::new(client, &content.content_table)),
        content.cache_ttl,
        Clock::system(),
        Bookable::of,
    );
    let intake = Intake::new(
        Arc::new(store),
        Arc::new(config),
        Clock::system(),
        Arc::new(bookable),
        Arc::new(match_key),
    );
    let app = router(AppState::new(intake)).layer(middleware::from_fn(client_from_context));
    lambda_http::run(app).await
}

/// Passes API Gateway's view of the caller's address to the router.
async fn client_from_context(mut request: Request, next: Next) -> Response {
    let source = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = source.and_then(|s| s.parse().ok()) {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(request).await
}
