//! `frontdesk staff add` and `remove` against moto's Cognito server: the
//! user made without a password or an invitation, the groups of each role,
//! and the global sign-out on removal.

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use aws_sdk_cognitoidentityprovider::Client;
use frontdesk_tests::logs;
use std::process::Command;

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER").expect(
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER is not set: run the tests with scripts/test, which starts moto",
    )
}

async fn client() -> Client {
    let sdk = frontdesk_shared::aws::load(std::time::Duration::from_secs(10)).await;
    Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&sdk)
            .endpoint_url(endpoint())
            .build(),
    )
}

/// A user pool with the template's two groups, and an app client that
/// lets the test sign a user in by password (the desk's never does).
async fn pool(client: &Client) -> (String, String) {
    let pool = client
        .create_user_pool()
        .pool_name(format!("desk-{}", frontdesk_tests::random_tag()))
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    for group in ["staff", "admin"] {
        client
            .create_group()
            .user_pool_id(&pool)
            .group_name(group)
            .send()
            .await
            .unwrap();
    }
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("test")
        .explicit_auth_flows(aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    (pool, app)
}

/// Runs `frontdesk staff ARGS` on `pool`: whether it succeeded, and its output.
fn staff(pool: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("staff")
        .args(args)
        .env("DESK_USER_POOL_ID", pool)
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", endpoint())
        .output()
        .expect("frontdesk runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    logs::check_output("frontdesk staff", &stderr);
    (output.status.success(), stdout, stderr)
}

async fn groups(client: &Client, pool: &str, user: &str) -> Vec<String> {
    let mut names: Vec<String> = client
        .admin_list_groups_for_user()
        .user_pool_id(pool)
        .username(user)
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn staff_are_added_to_their_groups_and_removed_signed_out_everywhere() {
    let client = client().await;
    let (pool, app) = pool(&client).await;
    let nurse = "nurse@clinic.example";

    let (ok, stdout, stderr) = staff(&pool, &["add", nurse, "--role", "staff"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("nurse@clinic.example added to staff"),
        "{stdout}"
    );
    let user = client
        .admin_get_user()
        .user_pool_id(&pool)
        .username(nurse)
        .send()
        .await
        .unwrap();
    let email = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "email")
        .and_then(|a| a.value());
    assert_eq!(email, Some(nurse));
    assert_eq!(groups(&client, &pool, nurse).await, ["staff"]);

    // Made an admin, then back to staff: the groups follow.
    let (ok, stdout, _) = staff(&pool, &["add", nurse, "--role", "admin"]);
    assert!(ok && stdout.contains("already a user"), "{stdout}");
    assert_eq!(groups(&client, &pool, nurse).await, ["admin", "staff"]);
    let (ok, _, _) = staff(&pool, &["add", nurse, "--role", "staff"]);
    assert!(ok);
    assert_eq!(groups(&client, &pool, nurse).await, ["staff"]);

    // Signed in somewhere (a password only this test sets), then removed:
    // that session's tokens no longer work, and the user is gone.
    client
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(nurse)
        .password("Test-only password 1!")
        .permanent(true)
        .send()
        .await
        .unwrap();
    let session = client
        .admin_initiate_auth()
        .user_pool_id(&pool)
        .client_id(&app)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", nurse)
        .auth_parameters("PASSWORD", "Test-only password 1!")
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    let access = session.access_token().unwrap().to_owned();
    assert!(client.get_user().access_token(&access).send().await.is_ok());

    let (ok, stdout, stderr) = staff(&pool, &["remove", nurse]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("signed out everywhere and removed"),
        "{stdout}"
    );
    assert!(
        client
            .get_user()
            .access_token(&access)
            .send()
            .await
            .is_err(),
        "signed out"
    );
    let gone = client
        .admin_get_user()
        .user_pool_id(&pool)
        .username(nurse)
        .send()
        .await;
    assert!(gone.is_err(), "the user is removed");

    // Removing someone who is not a user, or adding a non-address, says so.
    let (ok, _, stderr) = staff(&pool, &["remove", nurse]);
    assert!(
        !ok && stderr.contains("is not a user of the desk"),
        "{stderr}"
    );
    let (ok, _, stderr) = staff(&pool, &["add", "not-an-address", "--role", "staff"]);
    assert!(
        !ok && stderr.contains("is not an email address"),
        "{stderr}"
    );
}
