//! The mail-events Lambda: configuration and the DynamoDB client built
//! once, then the SES event handler behind `lambda_runtime`.

use frontdesk_mail_events::{handle, Handled};
use frontdesk_shared::store::dynamodb::DynamoNoticeLedger;
use frontdesk_shared::{aws, MailEventsConfig};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    frontdesk_shared::logs::init_lambda();
    let config = MailEventsConfig::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "configuration refused");
    })?;
    let sdk = aws::load_in_lambda(config.store_timeout).await;
    let ledger = DynamoNoticeLedger::new(aws::dynamodb_client_on(&sdk), &config.bookings_table);
    let ledger = &ledger;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            match handle(ledger, event.payload).await {
                Ok(Handled::Applied(reference, notice, delivery)) => {
                    tracing::info!(reference = %reference, email = %notice, delivery = %delivery, "delivery recorded");
                }
                Ok(Handled::Unchanged(reference, notice, delivery)) => {
                    tracing::info!(reference = %reference, email = %notice, delivery = %delivery, "delivery already recorded");
                }
                Ok(Handled::Ignored(why)) => tracing::info!(why, "event ignored"),
                Err(error) => {
                    tracing::warn!(error = %error, "event not recorded; it will be tried again");
                    // Its words, not its Debug form, reach the runtime's log.
                    return Err(lambda_runtime::Error::from(error.to_string()));
                }
            }
            Ok::<(), lambda_runtime::Error>(())
        },
    ))
    .await
}
