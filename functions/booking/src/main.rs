//! The booking Lambda: configuration, the match key (read from Secrets
//! Manager in the background from the start) and the DynamoDB client built
//! once (for the bookings, and for the content whose conditions are
//! bookable), then the shared router behind `lambda_http`.

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use frontdesk_booking::{router, AppState, ClientAddr};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::booking::Bookable;
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::match_key::MatchKeyOnce;
use frontdesk_shared::store::dynamodb::{DynamoBookingStore, DynamoContentStore};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::{BookingConfig, ContentConfig};
use lambda_http::request::RequestContext;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
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
    let sdk = frontdesk_shared::aws::load_in_lambda(config.store_timeout).await;
    // Read in the background while the runtime fetches the first event,
    // which a malformed or refused request never waits for.
    let match_key = Arc::new(MatchKeyOnce::from_secret(sdk.clone(), secret));
    match_key.read_ahead();
    let client = frontdesk_shared::aws::dynamodb_client_on(&sdk);
    let store =
        DynamoBookingStore::new(client.clone(), &config.bookings_table, &config.guards_table)
            .with_marketing_table(&config.marketing_table);
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
        match_key,
    );
    let header = match (
        intake.config().client_address_header.clone(),
        intake.config().cdn_secret.clone(),
    ) {
        (Some(name), Some(secret)) => Some(Arc::new((name, secret))),
        _ => None,
    };
    let app = router(AppState::new(intake))
        .layer(middleware::from_fn_with_state(header, client_from_context));
    lambda_http::run(app).await
}

/// Passes the caller's address to the router: from the CDN's header when
/// one is configured and the request carries the CDN's secret, else API
/// Gateway's `sourceIp`. A request whose address cannot be read (one that
/// came around the CDN among them) gets none, and is refused.
async fn client_from_context(
    State(header): State<Option<Arc<(String, String)>>>,
    mut request: Request,
    next: Next,
) -> Response {
    // In a block of its own, so that nothing borrowing the request lives
    // across the await below.
    let source = {
        let text = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match header.as_deref() {
            Some((name, secret)) => {
                if frontdesk_booking::source::from_the_cdn(
                    text(frontdesk_booking::source::CDN_SECRET_HEADER).as_deref(),
                    secret,
                ) {
                    text(name)
                        .as_deref()
                        .and_then(frontdesk_booking::source::from_header)
                } else {
                    None
                }
            }
            None => match request.extensions().get::<RequestContext>() {
                Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref(),
                Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.as_deref(),
                _ => None,
            }
            .and_then(|s| s.parse().ok()),
        }
    };
    if let Some(ip) = source {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(request).await
}
