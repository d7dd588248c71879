//! `frontdesk staff add` and `remove`: who may sign in to the desk, managed
//! through Cognito's API on the desk's user pool (`DESK_USER_POOL_ID`).
//!
//! A user is made with their email as their name, verified, and no
//! password, and no invitation is sent: their first sign-in is an emailed
//! one-time code, after which they add a passkey. Removing a user signs
//! them out everywhere (their refresh tokens revoked) and deletes them;
//! an ID token already issued lasts its 15 minutes.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use aws_sdk_cognitoidentityprovider::Client;
use frontdesk_desk::identity::{ADMIN_GROUP, STAFF_GROUP};
use frontdesk_shared::booking::Email;

/// What a person may do at the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The inbox, request pages and the workflow.
    Staff,
    /// All of that, and the audit trail.
    Admin,
}

impl Role {
    /// The groups a person of this role is in: an admin is staff too.
    fn groups(self) -> &'static [&'static str] {
        match self {
            Self::Staff => &[STAFF_GROUP],
            Self::Admin => &[STAFF_GROUP, ADMIN_GROUP],
        }
    }
}

/// Why a staff command did nothing, or stopped part way.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// Not an email address.
    #[error("{0:?} is not an email address")]
    NotAnEmail(String),
    /// No such user in the pool.
    #[error("{0} is not a user of the desk")]
    NoSuchUser(String),
    /// Cognito refused or could not be reached.
    #[error("{action}: {reason}\n  (is DESK_USER_POOL_ID the stack's DeskUserPoolId output, with AWS_REGION and credentials set? --verbose shows the SDK's error)")]
    Cognito {
        /// What was being done.
        action: &'static str,
        /// Why, in one line.
        reason: String,
    },
}

fn cognito<E: ProvideErrorMetadata>(action: &'static str) -> impl Fn(E) -> StaffError {
    move |e| StaffError::Cognito {
        action,
        reason: format!(
            "{}: {}",
            e.code().unwrap_or("Unknown"),
            e.message().unwrap_or("no message")
        ),
    }
}

/// The desk's user pool, through Cognito's API.
pub struct Staff {
    client: Client,
    pool: String,
}

impl Staff {
    /// The pool `pool` through the SDK's standard environment
    /// (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` points it elsewhere).
    pub async fn new(pool: &str) -> Self {
        let sdk = frontdesk_shared::aws::load(std::time::Duration::from_secs(30)).await;
        Self {
            client: Client::new(&sdk),
            pool: pool.to_owned(),
        }
    }

    /// Adds `email` with `role`, or gives an existing user that role;
    /// answers what was done.
    pub async fn add(&self, email: &str, role: Role) -> Result<String, StaffError> {
        let email = Email::parse(email).map_err(|_| StaffError::NotAnEmail(email.to_owned()))?;
        let attribute =
            |name: &str, value: &str| AttributeType::builder().name(name).value(value).build();
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool)
            .username(email.as_str())
            .user_attributes(attribute("email", email.as_str()).map_err(build)?)
            .user_attributes(attribute("email_verified", "true").map_err(build)?)
            // No invitation, and so no temporary password, ever goes out.
            .message_action(MessageActionType::Suppress)
            .send()
            .await;
        let new = match created {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_username_exists_exception()) =>
            {
                false
            }
            Err(e) => return Err(cognito("adding the user")(e.into_service_error())),
        };
        for group in role.groups() {
            self.client
                .admin_add_user_to_group()
                .user_pool_id(&self.pool)
                .username(email.as_str())
                .group_name(*group)
                .send()
                .await
                .map_err(|e| cognito("adding the user to a group")(e.into_service_error()))?;
        }
        // A staff member who was an admin is one no longer.
        if role == Role::Staff && !new {
            self.client
                .admin_remove_user_from_group()
                .user_pool_id(&self.pool)
                .username(email.as_str())
                .group_name(ADMIN_GROUP)
                .send()
                .await
                .map_err(|e| cognito("leaving the admin group")(e.into_service_error()))?;
        }
        let (email, groups) = (email.as_str(), role.groups().join(" and "));
        Ok(if new {
            format!(
                "{email} added to {groups}: they sign in with an emailed code, then add a passkey"
            )
        } else {
            format!("{email} was already a user, now in {groups} only")
        })
    }

    /// Signs `email` out everywhere, then deletes them.
    pub async fn remove(&self, email: &str) -> Result<String, StaffError> {
        let email = Email::parse(email).map_err(|_| StaffError::NotAnEmail(email.to_owned()))?;
        let not_found = |e: &aws_sdk_cognitoidentityprovider::operation::admin_user_global_sign_out::AdminUserGlobalSignOutError| {
            e.is_user_not_found_exception()
        };
        match self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool)
            .username(email.as_str())
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(not_found) => {
                return Err(StaffError::NoSuchUser(email.as_str().to_owned()))
            }
            Err(e) => return Err(cognito("signing the user out")(e.into_service_error())),
        }
        self.client
            .admin_delete_user()
            .user_pool_id(&self.pool)
            .username(email.as_str())
            .send()
            .await
            .map_err(|e| cognito("deleting the user")(e.into_service_error()))?;
        Ok(format!(
            "{} signed out everywhere and removed",
            email.as_str()
        ))
    }
}

fn build(e: aws_sdk_cognitoidentityprovider::error::BuildError) -> StaffError {
    StaffError::Cognito {
        action: "building the request",
        reason: e.to_string(),
    }
}
