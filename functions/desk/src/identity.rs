//! Who is calling: the identity the edge vouches for, as a [`Caller`]
//! extension every desk route requires.
//!
//! In AWS the HTTP API's JWT authorizer has checked the Cognito ID token
//! (signature, expiry, issuer, and audience: the desk's app client) before
//! the function runs, and passes its claims as strings: `sub`, `email`,
//! `token_use` and `cognito:groups`, an array that arrives as one string
//! such as `"[admin staff]"`. The ID token is the one used because it
//! carries the email the audit trail names; an access token carries none.
//! Locally, `frontdesk serve`'s one-time sign-in link stands in for
//! Cognito ([`crate::local`]) and inserts the same extension.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use frontdesk_shared::booking::Email;
use frontdesk_shared::desk::{DeskError, Staff};
use std::collections::HashMap;

/// The Cognito group of staff: the inbox, request pages and the workflow.
pub const STAFF_GROUP: &str = "staff";
/// The Cognito group of admins: also the audit trail.
pub const ADMIN_GROUP: &str = "admin";

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The inbox, request pages and the workflow.
    Staff,
    /// All of that, and the audit trail.
    Admin,
}

/// The signed-in person a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who, as the trail names them.
    pub staff: Staff,
    /// What they may do.
    pub role: Role,
}

impl Caller {
    /// The caller, if they are an admin.
    pub fn admin(&self) -> Result<&Self, DeskError> {
        if self.role == Role::Admin {
            Ok(self)
        } else {
            Err(DeskError::Forbidden)
        }
    }

    /// Reads the claims of a Cognito ID token as API Gateway passes them.
    /// Missing or malformed identity claims are `Unauthenticated`; a valid
    /// identity in neither desk group is `Forbidden`. `client_id`, when
    /// given, must be the token's audience.
    pub fn from_claims(
        claims: &HashMap<String, String>,
        client_id: Option<&str>,
    ) -> Result<Self, DeskError> {
        let claim = |name: &str| {
            claims
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        if claim("token_use") != Some("id") {
            return Err(DeskError::Unauthenticated);
        }
        if let Some(client_id) = client_id {
            if claim("aud") != Some(client_id) {
                return Err(DeskError::Unauthenticated);
            }
        }
        let subject = claim("sub").ok_or(DeskError::Unauthenticated)?;
        // An address the pool has not verified could be anyone's: a user
        // who changed theirs is not named by it until it is verified again.
        if claim("email_verified") != Some("true") {
            return Err(DeskError::Unauthenticated);
        }
        let email = claim("email")
            .and_then(|e| Email::parse(e).ok())
            .ok_or(DeskError::Unauthenticated)?;
        let groups = groups(claim("cognito:groups").unwrap_or(""));
        let role = if groups.iter().any(|g| g == ADMIN_GROUP) {
            Role::Admin
        } else if groups.iter().any(|g| g == STAFF_GROUP) {
            Role::Staff
        } else {
            return Err(DeskError::Forbidden);
        };
        Ok(Self {
            staff: Staff {
                subject: subject.to_owned(),
                email,
            },
            role,
        })
    }
}

/// The groups of a `cognito:groups` claim as API Gateway flattens it
/// (`[admin staff]`: group names hold no spaces), or as a JSON array
/// (`["admin","staff"]`) should it ever arrive whole.
fn groups(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list;
    }
    raw.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or("")
        .split(' ')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The edge in Lambda: the caller the JWT authorizer vouched for, from its
/// claims as API Gateway passes them (`requestContext.authorizer.jwt`);
/// none is `Unauthenticated`. `client_id` is the app client the token
/// must have been issued to.
#[cfg(feature = "lambda")]
pub async fn from_authorizer(
    client_id: Option<String>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use lambda_http::request::RequestContext;
    let claims = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| jwt.claims.clone()),
        _ => None,
    };
    let caller = match claims {
        Some(claims) => Caller::from_claims(&claims, client_id.as_deref()),
        None => Err(DeskError::Unauthenticated),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = DeskError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, DeskError> {
        match parts.extensions.get::<Result<Caller, DeskError>>() {
            Some(Ok(caller)) => Ok(caller.clone()),
            Some(Err(refusal)) => Err(refusal.clone()),
            None => Err(DeskError::Unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const NURSE: [(&str, &str); 6] = [
        ("token_use", "id"),
        ("email_verified", "true"),
        ("aud", "client1"),
        ("sub", "7d1c2e0a"),
        ("email", "nurse@clinic.example"),
        ("cognito:groups", "[staff]"),
    ];

    #[test]
    fn an_id_token_of_a_desk_group_is_a_caller() {
        let caller = Caller::from_claims(&claims(&NURSE), Some("client1")).unwrap();
        assert_eq!(caller.role, Role::Staff);
        assert_eq!(caller.staff.subject, "7d1c2e0a");
        assert_eq!(caller.admin(), Err(DeskError::Forbidden));
        let mut admin = claims(&NURSE);
        admin.insert("cognito:groups".into(), "[admin staff]".into());
        assert_eq!(
            Caller::from_claims(&admin, Some("client1")).unwrap().role,
            Role::Admin
        );
        admin.insert("cognito:groups".into(), r#"["staff","admin"]"#.into());
        assert_eq!(Caller::from_claims(&admin, None).unwrap().role, Role::Admin);
    }

    #[test]
    fn anything_short_of_that_is_refused() {
        for (name, value, refusal) in [
            ("token_use", "access", DeskError::Unauthenticated),
            ("aud", "another-client", DeskError::Unauthenticated),
            ("sub", "", DeskError::Unauthenticated),
            ("email", "not-an-address", DeskError::Unauthenticated),
            ("email_verified", "false", DeskError::Unauthenticated),
            ("cognito:groups", "[x,admin]", DeskError::Forbidden),
            ("cognito:groups", "admin", DeskError::Forbidden),
            ("cognito:groups", "[]", DeskError::Forbidden),
            (
                "cognito:groups",
                "[staffers administrators]",
                DeskError::Forbidden,
            ),
        ] {
            let mut c = claims(&NURSE);
            c.insert(name.into(), value.into());
            assert_eq!(
                Caller::from_claims(&c, Some("client1")),
                Err(refusal),
                "{name}={value}"
            );
        }
        assert_eq!(
            Caller::from_claims(&HashMap::new(), None),
            Err(DeskError::Unauthenticated)
        );
    }
}
