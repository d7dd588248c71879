//! AWS SDK configuration, loaded once in `main`: explicit timeouts, the
//! standard retry policy, and one HTTPS client for every SDK client of the
//! process, over the compiled-in roots of `crate::trust`.

pub mod connector;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// Loads the SDK's standard environment (region, credentials, and endpoint
/// overrides such as `AWS_ENDPOINT_URL_DYNAMODB`) with `operation_timeout`
/// as the bound on a whole call, retries included: for the operator
/// commands and the local server, which may take credentials from a
/// profile or single sign-on.
pub async fn load(operation_timeout: Duration) -> SdkConfig {
    loader(operation_timeout, Https::new()).load().await
}

/// `load` for a Lambda function. The runtime sets the region and the
/// credentials in the environment, so they are read there alone: no
/// profile file is read and no instance metadata is asked, at start or
/// when the first request signs.
pub async fn load_in_lambda(operation_timeout: Duration) -> SdkConfig {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    loader(operation_timeout, Https::new())
        .region(EnvironmentVariableRegionProvider::new())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .profile_files(
            EnvConfigFiles::builder()
                .with_contents(EnvConfigFileKind::Config, "")
                .build(),
        )
        .load()
        .await
}

/// What both loads share: the bounds, the retries, and the process's HTTPS
/// client with the connector for these bounds already built, so that the
/// first request finds it ready.
fn loader(operation_timeout: Duration, https: Https) -> ConfigLoader {
    let timeouts = timeouts(operation_timeout);
    https.connector(&connector_settings(&timeouts));
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

/// The HTTPS client every SDK client of a configuration shares: hyper and
/// rustls with aws-lc-rs (the SDK's own choice) over `crate::trust`'s
/// roots, and one connector ([`connector::Pool`]), with its one connection
/// pool, for each connect and read timeout asked for. The SDK's default
/// client builds a connector, parsing every root again, at each service
/// client's construction (to throw it away) and again at each one's first
/// request; this one builds each connector once, and parses no root.
#[derive(Clone)]
pub struct Https {
    tls: Result<rustls::ClientConfig, String>,
    connectors: Arc<Mutex<HashMap<ConnectorKey, SharedHttpConnector>>>,
}

/// What makes one connector differ from another.
type ConnectorKey = (Option<Duration>, Option<Duration>);

impl Https {
    /// A client trusting `crate::trust`'s roots, with no connector built yet.
    pub fn new() -> Self {
        let tls = crate::trust::client_config().map_err(|e| {
            tracing::error!(error = %e, "no TLS configuration: every AWS call will fail");
            e.to_string()
        });
        Self {
            tls,
            connectors: Arc::default(),
        }
    }

    /// A client trusting what `tls` trusts, for a test's own server.
    #[cfg(test)]
    fn with_tls(tls: rustls::ClientConfig) -> Self {
        Self {
            tls: Ok(tls),
            connectors: Arc::default(),
        }
    }

    /// The connector for `settings`' timeouts, built on the first call.
    pub fn connector(&self, settings: &HttpConnectorSettings) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| match &self.tls {
                Ok(tls) => connector::Pool::new(tls.clone(), settings).into_shared(),
                Err(why) => connector::Unconfigured(why.clone()).into_shared(),
            })
            .clone()
    }

    /// How many connectors have been built: one per distinct timeouts.
    pub fn connectors_built(&self) -> usize {
        self.connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Names the connectors built, not the roots: the SDK logs its runtime
/// components at trace level on every request.
impl std::fmt::Debug for Https {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Https")
            .field("connectors_built", &self.connectors_built())
            .finish_non_exhaustive()
    }
}

impl Default for Https {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient for Https {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector(settings)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new(
            "hyper",
            Some(std::borrow::Cow::Borrowed("1.x")),
        ))
    }
}

/// The connector settings the SDK derives from `timeouts` for each request.
fn connector_settings(timeouts: &TimeoutConfig) -> HttpConnectorSettings {
    let mut settings = HttpConnectorSettings::builder();
    settings.set_connect_timeout(timeouts.connect_timeout());
    settings.set_read_timeout(timeouts.read_timeout());
    settings.build()
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

/// Why the match key could not be read from its secret.
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
/// current version), for `MatchKeyOnce` to keep;
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` points it at an emulator.
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

#[cfg(all(test, feature = "dynamodb", feature = "ses"))]
mod tests {
    use super::*;

    /// A configuration on `https`, its calls bounded at 2 s, whose
    /// requests go to the discard port: nothing listens there, so each
    /// fails fast, after asking for its connector.
    async fn config_on(https: &Https) -> SdkConfig {
        loader(Duration::from_secs(2), https.clone())
            .region(aws_config::Region::new("eu-west-2"))
            .test_credentials()
            .endpoint_url("http://127.0.0.1:9")
            .load()
            .await
    }

    #[tokio::test]
    async fn every_client_and_request_of_a_configuration_uses_the_one_connector_built_at_load() {
        let https = Https::new();
        let sdk = config_on(&https).await;
        assert_eq!(
            https.connectors_built(),
            1,
            "built while the configuration loads"
        );
        let dynamodb = dynamodb_client_on(&sdk);
        let ses = sesv2_client_on(&sdk, Duration::from_secs(5));
        assert_eq!(
            https.connectors_built(),
            1,
            "none built for a client's construction"
        );
        let listed = dynamodb.list_tables().send().await;
        assert!(listed.is_err(), "nothing answers on the discard port");
        let account = ses.get_account().send().await;
        assert!(account.is_err(), "nothing answers on the discard port");
        assert_eq!(
            https.connectors_built(),
            1,
            "both services' requests share it: their connect timeouts are the same second"
        );
    }

    #[tokio::test]
    async fn a_shorter_connect_timeout_gets_a_connector_of_its_own() {
        let https = Https::new();
        let sdk = config_on(&https).await;
        // The SDK asks `Https` for each request's connector: a bound of its
        // own gets one of its own.
        let ses = sesv2_client_on(&sdk, Duration::from_millis(300));
        assert!(ses.get_account().send().await.is_err());
        assert_eq!(https.connectors_built(), 2);
    }

    /// A configuration on `https` whose requests go to the test TLS
    /// `server`: one attempt, with a bound far past a loopback handshake (a
    /// refused handshake is retried, and on a busy machine a short bound
    /// could end the retries first, with a timeout instead of the refusal).
    async fn config_at(server: &crate::trust::untrusted_server::Server, https: Https) -> SdkConfig {
        loader(Duration::from_secs(30), https)
            .retry_config(RetryConfig::disabled())
            .region(aws_config::Region::new("eu-west-2"))
            .test_credentials()
            .endpoint_url(format!("https://localhost:{}", server.port))
            .load()
            .await
    }

    #[tokio::test]
    async fn a_server_whose_certificate_a_root_signed_answers_the_sdk_over_tls() {
        // The control for the refusal below: the same server, trusted.
        let mut server = crate::trust::untrusted_server::start().await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(server.certificate.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let sdk = config_at(&server, Https::with_tls(tls)).await;
        let listed = dynamodb_client_on(&sdk)
            .list_tables()
            .send()
            .await
            .map_err(|e| explain(&e))
            .expect("the trusted server's answer");
        assert!(listed.table_names().is_empty());
        let handshake = server.handshakes.recv().await.expect("a handshake");
        assert_eq!(handshake, Ok(()));
    }

    #[tokio::test]
    async fn a_server_whose_certificate_no_root_signed_is_refused() {
        let mut server = crate::trust::untrusted_server::start().await;
        let sdk = config_at(&server, Https::new()).await;
        let error = dynamodb_client_on(&sdk)
            .list_tables()
            .send()
            .await
            .expect_err("no table listed by an untrusted server");
        assert!(
            explain(&error).contains("certificate"),
            "{}",
            explain(&error)
        );
        server.refused().await;
    }
}
