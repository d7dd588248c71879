//! The booking Lambda: configuration and the DynamoDB client built once,
//! then the shared router behind `lambda_http`.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use frontdesk_booking::{router, AppState, ClientAddr};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::store::dynamodb::DynamoBookingStore;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::BookingConfig;
use lambda_http::request::RequestContext;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = BookingConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let store = DynamoBookingStore::from_config(&config).await;
    let intake = Intake::new(Arc::new(store), Arc::new(config), Clock::system());
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
