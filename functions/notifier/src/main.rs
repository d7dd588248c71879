//! The notifier Lambda: configuration and the SDK clients built once (the
//! bookings' ledger, SES, and the content that names the clinic), then the
//! stream handler behind `lambda_runtime`.

use frontdesk_notifier::Invocation;
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::content::Kind;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::notify::{clinic, Notifier};
use frontdesk_shared::store::dynamodb::{
    DynamoBookingStore, DynamoContentStore, DynamoNoticeLedger,
};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::{aws, ContentConfig, NotifierConfig};
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = Arc::new(NotifierConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?);
    let content = ContentConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let sdk = aws::load_in_lambda(config.store_timeout).await;
    let dynamodb = aws::dynamodb_client_on(&sdk);
    let ledger = DynamoNoticeLedger::new(dynamodb.clone(), &config.bookings_table);
    // The hourly ceiling on acknowledgements counts in the guards table.
    let guards = DynamoBookingStore::new(
        dynamodb.clone(),
        &config.bookings_table,
        &config.guards_table,
    );
    // The clinic the emails are from, as the content publishes it: its
    // site document alone is read.
    let clinic = ContentCache::new(
        Arc::new(DynamoContentStore::new(dynamodb, &content.content_table)),
        content.cache_ttl,
        Clock::system(),
        clinic::Published::of,
    )
    .reading(Kind::Site);
    let mailer = SesMailer::new(
        aws::sesv2_client_on(&sdk, config.mail_timeout),
        config.configuration_sets.clone(),
    );
    // One booking's worst case in a sweep: a claim, the hourly ceiling's
    // count, the clinic's details (a content Query, when the copy held is
    // stale), a send and a mark.
    let per_booking = 4 * config.store_timeout + config.mail_timeout + Duration::from_secs(1);
    let notifier = Notifier::new(
        Arc::new(ledger),
        Arc::new(mailer),
        config,
        Clock::system(),
        Arc::new(clinic),
    )
    .with_ceiling(Arc::new(guards));
    let notifier = &notifier;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Invocation>| async move {
            let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            let time_left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            frontdesk_notifier::invoke(notifier, event.payload, time_left, per_booking)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
