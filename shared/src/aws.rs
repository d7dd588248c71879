//! AWS SDK configuration, loaded once in `main`: explicit timeouts and the
//! standard retry policy, so a slow or unreachable service fails fast.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// Loads the SDK's standard environment (region, credentials, and endpoint
/// overrides such as `AWS_ENDPOINT_URL_DYNAMODB`) with `operation_timeout`
/// as the bound on a whole call, retries included.
pub async fn load(operation_timeout: Duration) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts(operation_timeout))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

/// A DynamoDB client on `load`'s configuration: what every binary uses.
#[cfg(feature = "dynamodb")]
pub async fn dynamodb_client(operation_timeout: Duration) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&load(operation_timeout).await)
}

/// A DynamoDB client on an already loaded configuration.
#[cfg(feature = "dynamodb")]
pub fn dynamodb_client_on(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// An SES v2 client on an already loaded configuration, with its own bound
/// on a whole call (`AWS_ENDPOINT_URL_SESV2` points it at an emulator).
#[cfg(feature = "ses")]
pub fn sesv2_client_on(sdk: &SdkConfig, operation_timeout: Duration) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(sdk)
            .timeout_config(timeouts(operation_timeout))
            .build(),
    )
}

/// Why the match key could not be read at start-up.
#[cfg(feature = "secrets")]
#[derive(Debug, thiserror::Error)]
pub enum MatchKeySecretError {
    /// Secrets Manager did not give the secret (missing, no permission, unreachable).
    #[error("the match key secret {secret} could not be read: {why}")]
    Unreadable {
        /// The secret's name or ARN.
        secret: String,
        /// Why, in one line.
        why: String,
    },
    /// The secret holds something other than a match key.
    #[error("the match key secret {secret} is refused: {why}")]
    Refused {
        /// The secret's name or ARN.
        secret: String,
        /// What is wrong with it.
        why: crate::match_key::MatchKeyError,
    },
}

/// Reads the match key from the Secrets Manager secret `secret` (its
/// current version), once at start-up; `AWS_ENDPOINT_URL_SECRETS_MANAGER`
/// points it at an emulator.
#[cfg(feature = "secrets")]
pub async fn match_key(
    sdk: &SdkConfig,
    secret: &str,
) -> Result<crate::match_key::MatchKey, MatchKeySecretError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let answer = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| MatchKeySecretError::Unreadable {
            secret: secret.to_owned(),
            why: explain(&e),
        })?;
    let text = answer
        .secret_string()
        .ok_or_else(|| MatchKeySecretError::Unreadable {
            secret: secret.to_owned(),
            why: "it holds no secret string".into(),
        })?;
    crate::match_key::MatchKey::from_secret_string(text).map_err(|why| {
        MatchKeySecretError::Refused {
            secret: secret.to_owned(),
            why,
        }
    })
}

/// The timeouts for one bound on a whole call: each attempt gets a share,
/// and connecting gets at most a second.
pub fn timeouts(operation_timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(operation_timeout)
        .operation_attempt_timeout(operation_timeout / MAX_ATTEMPTS)
        .connect_timeout(operation_timeout.min(Duration::from_secs(1)))
        .build()
}

/// One line saying why an SDK call failed, for an operator or a log: the
/// service's code and message, or what stopped the call (no connection, no
/// answer in time) with the innermost cause. The SDK's whole error chain,
/// which runs to many lines of its internals, is logged at debug level
/// (`frontdesk --verbose` shows it).
pub fn explain<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    tracing::debug!(
        chain = ?error,
        "AWS SDK error"
    );
    let what = match error {
        SdkError::ServiceError(service) => return service.err().to_string(),
        SdkError::TimeoutError(_) => "no answer in time",
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "no answer in time",
        SdkError::DispatchFailure(failure) if failure.is_io() => "could not connect",
        SdkError::DispatchFailure(_) => "the request could not be sent",
        SdkError::ResponseError(_) => "the answer could not be read",
        SdkError::ConstructionFailure(_) => "the request could not be made",
        _ => "the call failed",
    };
    match innermost(error) {
        Some(cause) => format!("{what} ({cause})"),
        None => what.to_owned(),
    }
}

/// The last error in a chain of sources: the one that says what happened.
fn innermost(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = error.source()?;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Some(
        cause
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    )
}
