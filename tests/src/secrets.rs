//! Secrets in moto's Secrets Manager, as the template's `MatchKeySecret`
//! holds the booking function's match key.

use aws_sdk_secretsmanager::Client;

/// A client on the test environment (`AWS_ENDPOINT_URL_SECRETS_MANAGER` is moto).
pub async fn client() -> Client {
    Client::new(&frontdesk_shared::aws::load(std::time::Duration::from_secs(10)).await)
}

/// A new secret holding the tests' match key as the template's
/// `GenerateSecretString` shapes it; returns its name.
pub async fn match_key_secret() -> String {
    let name = format!("frontdesk-test-match-key-{}", crate::fresh_key());
    create_match_key_secret(&name).await;
    name
}

/// Creates the secret `name` holding the tests' match key, as
/// [`match_key_secret`] does under a name of its own.
pub async fn create_match_key_secret(name: &str) {
    client()
        .await
        .create_secret()
        .name(name)
        .secret_string(MATCH_KEY_SECRET_STRING)
        .send()
        .await
        .expect("moto takes the secret");
}

/// The tests' match key ([`crate::match_key`]) as its secret stores it.
pub const MATCH_KEY_SECRET_STRING: &str =
    r#"{"version":"1","key":"frontdesk-tests-match-key-0123456789"}"#;
