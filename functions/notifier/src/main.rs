//! The notifier Lambda: configuration and the SDK clients built once, then
//! the stream handler behind `lambda_runtime`.

use frontdesk_notifier::Invocation;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::notify::Notifier;
use frontdesk_shared::store::dynamodb::DynamoNoticeLedger;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::{aws, NotifierConfig};
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = Arc::new(NotifierConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?);
    let sdk = aws::load(config.store_timeout).await;
    let ledger = DynamoNoticeLedger::new(aws::dynamodb_client_on(&sdk), &config.bookings_table);
    let mailer = SesMailer::new(
        aws::sesv2_client_on(&sdk, config.mail_timeout),
        config.configuration_sets.clone(),
    );
    // One booking's worst case in a sweep: a claim, a send and a mark.
    let per_booking = 2 * config.store_timeout + config.mail_timeout + Duration::from_secs(1);
    let notifier = Notifier::new(Arc::new(ledger), Arc::new(mailer), config, Clock::system());
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
