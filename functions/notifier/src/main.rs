//! The notifier Lambda: configuration and the SDK clients built once, then
//! the stream handler behind `lambda_runtime`.

use aws_lambda_events::event::dynamodb::Event;
use frontdesk_shared::mail::ses::SesMailer;
use frontdesk_shared::notify::Notifier;
use frontdesk_shared::store::dynamodb::DynamoNoticeLedger;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::{aws, NotifierConfig};
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

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
        config.configuration_set.clone(),
    );
    let notifier = Notifier::new(Arc::new(ledger), Arc::new(mailer), config, Clock::system());
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        frontdesk_notifier::handle(notifier, event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
