//! The SAM template's promises, read from `infra/template.yaml` itself:
//! least privilege (each role allows exactly its function's actions, on
//! resources of this template, and no SAM-made role with managed
//! policies), every route served by its function, the functions as Lambda
//! runs them, and the notifier's stream settings. Each rule is a function
//! that lists what breaks it, and each is shown to refuse templates
//! mutated to break it, so that no rule passes by reading nothing.

use frontdesk_cli::tables::TEMPLATE;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Value {
    serde_norway::from_str(TEMPLATE).expect("the template parses")
}

/// A YAML value, tags and all (`!Sub "..."`), for a mutated template.
fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).expect("a YAML value")
}

fn resources_of(template: &Value, kind: &str) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().expect("an id").to_owned(), r.clone()))
        .collect()
}

/// A value as a list of strings, untagged (`!Ref X` is not a string).
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// A value as the texts CloudFormation would make of it, with every
/// reference left as `${...}`: `!Ref X` is `${X}`, `!GetAtt X.Arn` (or
/// `[X, Arn]`) is `${X.Arn}`, `!Sub` is its string, `!Join` its parts
/// joined; a list is each of its items. Anything else (a number, a
/// mapping, an unknown tag) is shown as `?`, which no rule accepts.
fn resolved(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(resolved).collect(),
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            match (tag.trim_start_matches('!'), &tagged.value) {
                ("Ref", Value::String(id)) => vec![format!("${{{id}}}")],
                ("GetAtt", Value::String(path)) => vec![format!("${{{path}}}")],
                ("GetAtt", Value::Sequence(parts)) => vec![format!(
                    "${{{}}}",
                    strings(&Value::Sequence(parts.clone())).join(".")
                )],
                ("Sub", Value::String(text)) => vec![text.clone()],
                ("Sub", Value::Sequence(parts)) => parts.first().map(resolved).unwrap_or_default(),
                ("Join", Value::Sequence(parts)) if parts.len() == 2 => {
                    let separator = parts[0].as_str().unwrap_or_default();
                    vec![resolved(&parts[1]).join(separator)]
                }
                // Either branch may be what is deployed.
                ("If", Value::Sequence(parts)) if parts.len() == 3 => {
                    parts[1..].iter().flat_map(resolved).collect()
                }
                _ => vec!["?".into()],
            }
        }
        _ => vec!["?".into()],
    }
}

/// The ids a resolved text refers to (`${X}`, `${X.Arn}`), pseudo
/// parameters (`AWS::...`) left out.
fn references(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .map(|reference| reference.split('.').next().unwrap_or_default().to_owned())
        .filter(|id| !id.starts_with("AWS::"))
        .collect()
}

/// Every statement of every inline policy of a role.
fn statements(role: &Value) -> Vec<Value> {
    role["Properties"]["Policies"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// The logical id a `!GetAtt X.Arn` (or `!Ref X`) names.
fn target(value: &Value) -> String {
    resolved(value)
        .first()
        .map(|text| references(text).join(","))
        .unwrap_or_default()
}

/// What each role may do: exactly these actions, each on exactly these
/// resources and parameters of the template (a table's streams included).
/// Pairs, not two lists, so that an action moved onto another of the
/// role's resources (`PutItem` on the content table) is refused.
const ROLES: &[(&str, &[(&str, &str)])] = &[
    (
        "BookingRole",
        &[
            ("dynamodb:PutItem", "BookingsTable"),
            ("dynamodb:PutItem", "GuardsTable"),
            ("dynamodb:PutItem", "MarketingTable"),
            ("dynamodb:Query", "ContentTable"),
            ("dynamodb:UpdateItem", "BookingsTable"),
            ("dynamodb:UpdateItem", "GuardsTable"),
            ("logs:CreateLogStream", "BookingLogs"),
            ("logs:PutLogEvents", "BookingLogs"),
            ("secretsmanager:GetSecretValue", "MatchKeySecret"),
        ],
    ),
    (
        "ContentRole",
        &[
            ("dynamodb:Query", "ContentTable"),
            ("logs:CreateLogStream", "ContentLogs"),
            ("logs:PutLogEvents", "ContentLogs"),
        ],
    ),
    (
        "NotifierRole",
        &[
            ("dynamodb:DescribeStream", "BookingsTable"),
            ("dynamodb:GetItem", "BookingsTable"),
            ("dynamodb:GetRecords", "BookingsTable"),
            ("dynamodb:GetShardIterator", "BookingsTable"),
            ("dynamodb:ListStreams", "BookingsTable"),
            ("dynamodb:Query", "ContentTable"),
            ("dynamodb:Scan", "BookingsTable"),
            ("dynamodb:UpdateItem", "BookingsTable"),
            ("dynamodb:UpdateItem", "GuardsTable"),
            ("logs:CreateLogStream", "NotifierLogs"),
            ("logs:PutLogEvents", "NotifierLogs"),
            ("ses:SendEmail", "MailConfigurationSet"),
            ("ses:SendEmail", "SenderDomain"),
            ("ses:SendEmail", "StaffMailConfigurationSet"),
            ("sqs:SendMessage", "NotifierFailures"),
        ],
    ),
    (
        "MailEventsRole",
        &[
            ("dynamodb:UpdateItem", "BookingsTable"),
            ("logs:CreateLogStream", "MailEventsLogs"),
            ("logs:PutLogEvents", "MailEventsLogs"),
            ("sqs:SendMessage", "MailEventsFailures"),
        ],
    ),
    (
        "OwedEmailSweepRole",
        &[("lambda:InvokeFunction", "NotifierFunction")],
    ),
    (
        // No UpdateItem or DeleteItem on the audit table, no Scan, and
        // nothing of a person's data rights.
        "DeskRole",
        &[
            ("dynamodb:GetItem", "BookingsTable"),
            ("dynamodb:PutItem", "AuditTable"),
            ("dynamodb:Query", "AuditTable"),
            ("dynamodb:Query", "BookingsTable"),
            ("dynamodb:Query", "ContentTable"),
            ("dynamodb:UpdateItem", "BookingsTable"),
            ("logs:CreateLogStream", "DeskLogs"),
            ("logs:PutLogEvents", "DeskLogs"),
        ],
    ),
    (
        // An admin's search, export and erasure: no UpdateItem, no Scan,
        // and the audit table only added to.
        "DeskRightsRole",
        &[
            ("dynamodb:DeleteItem", "BookingsTable"),
            ("dynamodb:DeleteItem", "GuardsTable"),
            ("dynamodb:DeleteItem", "MarketingTable"),
            ("dynamodb:GetItem", "BookingsTable"),
            ("dynamodb:GetItem", "MarketingTable"),
            ("dynamodb:PutItem", "AuditTable"),
            ("dynamodb:Query", "AuditTable"),
            ("dynamodb:Query", "BookingsTable"),
            ("dynamodb:Query", "ContentTable"),
            ("logs:CreateLogStream", "DeskRightsLogs"),
            ("logs:PutLogEvents", "DeskRightsLogs"),
            ("secretsmanager:GetSecretValue", "MatchKeySecret"),
        ],
    ),
];

/// Where the template grants more than each function's own work: a role
/// missing or unknown, an action outside its list, a `*` action, a
/// resource that names nothing of this template or has a `*` other than
/// a stream of one of its tables, `NotAction`/`NotResource`, managed
/// policies, or a function without a role of its own.
fn privilege_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let defined = |id: &str| {
        template["Resources"].get(id).is_some() || template["Parameters"].get(id).is_some()
    };
    let roles = resources_of(template, "AWS::IAM::Role");
    let expected: BTreeMap<&str, BTreeSet<(String, String)>> = ROLES
        .iter()
        .map(|(id, grants)| {
            let grants = grants
                .iter()
                .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
                .collect();
            (*id, grants)
        })
        .collect();
    for (id, role) in &roles {
        let Some(needed) = expected.get(id.as_str()) else {
            problems.push(format!("{id} is a role no rule here describes"));
            continue;
        };
        if role["Properties"].get("ManagedPolicyArns").is_some() {
            problems.push(format!("{id} has managed policies"));
        }
        let mut granted = BTreeSet::new();
        for statement in statements(role) {
            if statement["Effect"].as_str() != Some("Allow") {
                problems.push(format!("{id} has a statement that is not Allow"));
            }
            if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
                problems.push(format!("{id} uses NotAction or NotResource"));
            }
            let actions = resolved(&statement["Action"]);
            if actions.is_empty() || actions.iter().any(|a| a.contains('*') || a == "?") {
                problems.push(format!("{id} allows {actions:?}"));
            }
            let resources = resolved(&statement["Resource"]);
            if statement["Resource"].is_null() || resources.is_empty() {
                problems.push(format!("{id} has a statement without Resource"));
            }
            for resource in &resources {
                let refs = references(resource);
                if refs.is_empty() || refs.iter().any(|r| !defined(r)) {
                    problems.push(format!(
                        "{id} allows {resource}, which names nothing of this template"
                    ));
                }
                // The one wildcard allowed: every stream of one of its tables.
                let stream_of_ours = refs.first().is_some_and(|r| {
                    resource.strip_prefix(&format!("${{{r}.Arn}}/stream/")) == Some("*")
                });
                if resource.contains('*') && !stream_of_ours {
                    problems.push(format!("{id} allows {resource}"));
                }
                for action in &actions {
                    granted.extend(refs.iter().map(|r| (action.clone(), r.clone())));
                }
            }
        }
        for (action, resource) in granted.difference(needed) {
            problems.push(format!(
                "{id} allows {action} on {resource}, which its function does not need"
            ));
        }
        for (action, resource) in needed.difference(&granted) {
            problems.push(format!(
                "{id} lacks {action} on {resource}, which its function needs"
            ));
        }
    }
    for id in expected.keys() {
        if !roles.iter().any(|(role, _)| role == id) {
            problems.push(format!("{id} is missing"));
        }
    }
    // A function without its own role would get SAM's, with managed
    // policies that allow `*`.
    for (id, function) in resources_of(template, "AWS::Serverless::Function") {
        let role = target(&function["Properties"]["Role"]);
        if !roles.iter().any(|(r, _)| *r == role) {
            problems.push(format!("{id} has no role of its own"));
        }
        if function["Properties"].get("Policies").is_some() {
            problems.push(format!("{id} has SAM policies"));
        }
    }
    problems
}

#[test]
fn each_role_allows_exactly_its_functions_work_on_this_templates_resources() {
    let template = template();
    assert_eq!(privilege_problems(&template), Vec::<String>::new());

    let statement = |role: &str, n: usize| {
        format!("/Resources/{role}/Properties/Policies/0/PolicyDocument/Statement/{n}")
    };
    let with = |path: &str, key: &str, value: Value| {
        let mut mutated = template.clone();
        let mut at = &mut mutated;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = match part.parse::<usize>() {
                Ok(n) => &mut at[n],
                Err(_) => &mut at[part],
            };
        }
        at[key] = value;
        privilege_problems(&mutated)
    };
    let refused = |problems: Vec<String>, what: &str| {
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "a mutated template must be refused for {what:?}: {problems:?}"
        );
    };
    let bookings = statement("BookingRole", 0);
    // Every table of the account, written as a Sub, a Join, or plainly.
    refused(
        with(
            &bookings,
            "Resource",
            yaml(
                "!Sub \"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*\"",
            ),
        ),
        "names nothing of this template",
    );
    refused(
        with(
            &bookings,
            "Resource",
            yaml("!Join [\":\", [arn, aws, dynamodb, \"*\"]]"),
        ),
        "allows arn:aws:dynamodb:*",
    );
    refused(with(&bookings, "Resource", Value::from("*")), "allows *");
    refused(
        with(
            &bookings,
            "Resource",
            yaml("!Sub \"${BookingsTable.Arn}/*\""),
        ),
        "allows ${BookingsTable.Arn}/*",
    );
    refused(
        with(&bookings, "Resource", yaml("!GetAtt ContentTable.Arn")),
        "BookingRole allows dynamodb:PutItem on ContentTable",
    );
    // Each resource the role needs, but writes on the one it only reads.
    refused(
        with(
            &bookings,
            "Resource",
            yaml("[!GetAtt BookingsTable.Arn, !GetAtt GuardsTable.Arn, !GetAtt ContentTable.Arn]"),
        ),
        "BookingRole allows dynamodb:UpdateItem on ContentTable",
    );
    refused(
        with(
            &bookings,
            "Action",
            yaml("[dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem]"),
        ),
        "BookingRole allows dynamodb:DeleteItem on BookingsTable",
    );
    refused(
        with(&bookings, "Action", Value::from("dynamodb:PutItem")),
        "BookingRole lacks dynamodb:UpdateItem on GuardsTable",
    );
    refused(
        with(&bookings, "Action", Value::from("dynamodb:*")),
        "allows [\"dynamodb:*\"]",
    );
    refused(
        with(&bookings, "NotResource", Value::from("x")),
        "NotResource",
    );
    refused(with(&bookings, "Effect", Value::from("Deny")), "not Allow");
    refused(
        with(
            "/Resources/ContentRole/Properties",
            "ManagedPolicyArns",
            yaml("[arn:aws:iam::aws:policy/AdministratorAccess]"),
        ),
        "ContentRole has managed policies",
    );
    refused(
        with(
            &statement("OwedEmailSweepRole", 0),
            "Resource",
            yaml("!GetAtt BookingFunction.Arn"),
        ),
        "OwedEmailSweepRole allows lambda:InvokeFunction on BookingFunction",
    );
    refused(
        with("/Resources/BookingFunction/Properties", "Role", Value::Null),
        "BookingFunction has no role of its own",
    );
    refused(
        with(
            "/Resources/NotifierFunction/Properties",
            "Policies",
            yaml("[AmazonDynamoDBFullAccess]"),
        ),
        "NotifierFunction has SAM policies",
    );
}

#[test]
fn the_mail_roles_touch_only_their_own_attributes_and_addresses() {
    let template = template();
    let role = |id: &str| template["Resources"][id].clone();
    // Mail events may only update a booking's email-state attributes.
    let events = statements(&role("MailEventsRole"));
    let update = events
        .iter()
        .find(|s| strings(&s["Action"]) == ["dynamodb:UpdateItem"])
        .expect("an UpdateItem statement");
    assert_eq!(target(&update["Resource"]), "BookingsTable");
    let mut allowed =
        strings(&update["Condition"]["ForAllValues:StringLike"]["dynamodb:Attributes"]);
    allowed.sort();
    // Every write to a booking takes down the mark of a confirmation owed.
    let mut expected = vec![
        "reference".to_owned(),
        frontdesk_shared::store::dynamodb::CONFIRMATION_OWED.to_owned(),
    ];
    // Every kind of email is tagged, the fallback and each numbered
    // confirmation included, so each has events to record.
    let kinds = frontdesk_shared::notify::Notice::KINDS
        .iter()
        .map(ToString::to_string)
        .chain(["confirmation-*".to_owned()]);
    for notice in kinds {
        for suffix in [
            "message_id",
            "delivery",
            "delivery_rank",
            "delivery_at",
            "delivery_detail",
        ] {
            expected.push(format!("{notice}_email_{suffix}"));
        }
    }
    expected.sort();
    assert_eq!(
        allowed, expected,
        "the attributes the ledger's record_delivery names"
    );
    let send = statements(&role("NotifierRole"))
        .into_iter()
        .find(|s| strings(&s["Action"]) == ["ses:SendEmail"])
        .expect("a send statement");
    assert!(
        !send["Condition"]["StringEquals"]["ses:FromAddress"].is_null(),
        "sends only from the one address"
    );
    // Through either configuration set, both named by the function's settings.
    let sends_through = resolved(&send["Resource"]);
    for set in ["${MailConfigurationSet}", "${StaffMailConfigurationSet}"] {
        assert!(
            sends_through
                .iter()
                .any(|r| r.ends_with(&format!("configuration-set/{set}"))),
            "{sends_through:?}"
        );
    }
    let variables = &role("NotifierFunction")["Properties"]["Environment"]["Variables"];
    assert_eq!(
        target(&variables["SES_CONFIGURATION_SET"]),
        "MailConfigurationSet"
    );
    assert_eq!(
        target(&variables["SES_STAFF_CONFIGURATION_SET"]),
        "StaffMailConfigurationSet"
    );
}

#[test]
fn the_functions_run_as_lambda_builds_them_and_keep_their_logs() {
    let template = template();
    let functions = resources_of(&template, "AWS::Serverless::Function");
    let mut binaries: Vec<String> = Vec::new();
    for (id, function) in &functions {
        let p = &function["Properties"];
        assert_eq!(p["Runtime"].as_str(), Some("provided.al2023"), "{id}");
        assert_eq!(strings(&p["Architectures"]), ["arm64"], "{id}");
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("a binary");
        assert_eq!(
            p["CodeUri"].as_str(),
            Some(format!("../functions/{binary}").as_str()),
            "{id} builds from its own package"
        );
        binaries.push(binary.to_owned());
        let logs = target(&p["LoggingConfig"]["LogGroup"]);
        let group = &template["Resources"][logs.as_str()];
        assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{id}");
        assert!(!group["Properties"]["RetentionInDays"].is_null(), "{id}");
    }
    binaries.sort();
    // The desk's binary runs twice: its staff routes, and a person's data
    // rights under a role of their own, with the same settings.
    assert_eq!(
        binaries,
        [
            "booking",
            "content",
            "desk",
            "desk",
            "mail-events",
            "notifier"
        ]
    );
    let resources = &template["Resources"];
    assert_eq!(
        resources["DeskRightsFunction"]["Properties"]["Environment"],
        resources["DeskFunction"]["Properties"]["Environment"],
        "one binary, one configuration"
    );
}

/// A function's settings as the template sets them: its plain-string
/// environment variables, with stand-ins for the addresses that come from
/// parameters, and the code's defaults for the rest.
fn environment(function: &Value) -> impl Fn(&str) -> Option<String> {
    let variables = function["Properties"]["Environment"]["Variables"].clone();
    move |name: &str| match (&variables[name], name) {
        (Value::String(value), _) => Some(value.clone()),
        (Value::Number(value), _) => Some(value.to_string()),
        (_, "MAIL_FROM") => Some("frontdesk@clinic.example".into()),
        (_, "STAFF_INBOX") => Some("staff@clinic.example".into()),
        (_, "DESK_URL") => Some("https://desk.clinic.example".into()),
        _ => None,
    }
}

fn timeout(function: &Value) -> std::time::Duration {
    std::time::Duration::from_secs(
        function["Properties"]["Timeout"]
            .as_u64()
            .expect("a timeout in seconds"),
    )
}

/// Where a function's `Timeout` falls short of its slowest path, or the
/// notifier's claim does not fit its timeout, computed from the same
/// settings and defaults the code reads.
fn timeout_problems(template: &Value) -> Vec<String> {
    use frontdesk_shared::{BookingConfig, ContentConfig, NotifierConfig};
    use std::time::Duration;
    let function = |id: &str| template["Resources"][id].clone();
    // Room for a cold start on the CPU share of a small function.
    let init = Duration::from_secs(2);
    let mut problems = Vec::new();
    let mut at_least = |id: &str, timeout: Duration, needed: Duration, path: &str| {
        if timeout < needed {
            problems.push(format!(
                "{id}'s Timeout {timeout:?} is under its slowest path, {path}: {needed:?}"
            ));
        }
    };

    // A booking's whole store call (every conflict and reference retry) is
    // bounded by one deadline, the store timeout; a container's first
    // booking also reads the content (its bookable conditions).
    let booking = function("BookingFunction");
    let config = BookingConfig::from_lookup(environment(&booking)).unwrap();
    let variables = environment(&booking);
    let human_check = BookingConfig::from_lookup(|name| match name {
        "TURNSTILE_SECRET" => Some("a-secret".into()),
        _ => variables(name),
    })
    .unwrap()
    .human_check
    .expect("the human check, on")
    .timeout;
    at_least(
        "BookingFunction",
        timeout(&booking),
        config.store_timeout * 3 + human_check + init + Duration::from_secs(1),
        "a content Query, the match key's read, the human check and one store call, with a second to write the answer",
    );

    // A content request is at most one Query.
    let content = function("ContentFunction");
    let config = ContentConfig::from_lookup(environment(&content)).unwrap();
    at_least(
        "ContentFunction",
        timeout(&content),
        config.store_timeout + init,
        "one Query",
    );

    // An SES event is at most two UpdateItem calls.
    let events = function("MailEventsFunction");
    let config = frontdesk_shared::MailEventsConfig::from_lookup(environment(&events)).unwrap();
    at_least(
        "MailEventsFunction",
        timeout(&events),
        config.store_timeout * 2 + init,
        "two UpdateItem calls",
    );

    // A staff member's desk request is at most two store calls: a page's
    // put and read, or a move's read and transaction. An admin's export or
    // erasure makes a call or a transaction per booking and opt-in, each
    // usually milliseconds: the HTTP API's 30 s bounds it, and one cut off
    // is repeated (each booking's erasure is one transaction, and what was
    // erased is no longer found).
    let desk = function("DeskFunction");
    let config = frontdesk_shared::DeskConfig::from_lookup(environment(&desk)).unwrap();
    at_least(
        "DeskFunction",
        timeout(&desk),
        config.store_timeout * 2 + init,
        "two store calls",
    );

    // A batch's records and each booking's two emails run at once; an email
    // is a claim, the clinic's details (a content Query, when not held), a
    // send and a mark. A sweep starts no booking it could not finish in the
    // same time.
    let notifier = function("NotifierFunction");
    let config = NotifierConfig::from_lookup(environment(&notifier)).unwrap();
    let timeout = timeout(&notifier);
    at_least(
        "NotifierFunction",
        timeout,
        config.store_timeout * 4 + config.mail_timeout + init,
        "a claim, the hourly ceiling's count, a content Query, a send and a mark",
    );
    // A claim must outlive the invocation that holds it, or a slow send
    // could be claimed and sent again by a retry while it is still going;
    // and lapse soon after, or a crashed invocation's retries are spent
    // finding it "in progress" before it lapses.
    if config.claim_for <= timeout {
        problems.push(format!(
            "NOTIFY_CLAIM_SECONDS ({:?}) must exceed the notifier's Timeout ({timeout:?})",
            config.claim_for
        ));
    }
    if config.claim_for > timeout * 2 {
        problems.push(format!(
            "NOTIFY_CLAIM_SECONDS ({:?}) holds a crashed invocation's emails for more than twice the notifier's Timeout ({timeout:?})",
            config.claim_for
        ));
    }
    problems
}

#[test]
fn each_timeout_covers_its_slowest_path_and_the_claim_fits_the_notifiers() {
    let template = template();
    assert_eq!(timeout_problems(&template), Vec::<String>::new());

    let with = |id: &str, edit: &dyn Fn(&mut Value)| {
        let mut mutated = template.clone();
        edit(&mut mutated["Resources"][id]["Properties"]);
        timeout_problems(&mutated)
    };
    let short = |seconds: u64| move |p: &mut Value| p["Timeout"] = Value::from(seconds);
    assert_eq!(with("BookingFunction", &short(4)).len(), 1);
    assert_eq!(with("ContentFunction", &short(4)).len(), 1);
    assert_eq!(with("DeskFunction", &short(7)).len(), 1);
    // Under its slowest path, and now less than half the claim.
    assert_eq!(with("NotifierFunction", &short(12)).len(), 2);
    // A longer store timeout on the booking function needs a longer Timeout.
    let slow_store = |p: &mut Value| {
        p["Environment"]["Variables"]["STORE_TIMEOUT_MS"] = Value::from("9000");
    };
    assert_eq!(with("BookingFunction", &slow_store).len(), 1);
    // A claim shorter than the notifier's Timeout, and one far longer.
    let claim = |seconds: &'static str| {
        move |p: &mut Value| {
            p["Environment"]["Variables"]["NOTIFY_CLAIM_SECONDS"] = Value::from(seconds);
        }
    };
    assert_eq!(with("NotifierFunction", &claim("25")).len(), 1);
    assert_eq!(with("NotifierFunction", &claim("120")).len(), 1);
}

/// Every `HttpApi` event of the template's functions: the function's id
/// and the event.
fn http_events(template: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (id, function) in resources_of(template, "AWS::Serverless::Function") {
        let events = function["Properties"]["Events"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                found.push((id.clone(), event));
            }
        }
    }
    found
}

/// Where the API's routes and the functions' routers disagree: a route no
/// function serves, a function's route the API lacks, or one served by
/// the wrong function or method.
fn route_problems(template: &Value) -> Vec<String> {
    let routes: Vec<String> = http_events(template)
        .iter()
        .map(|(id, event)| {
            let p = &event["Properties"];
            format!(
                "{id} {} {}",
                p["Method"].as_str().unwrap_or_default(),
                p["Path"].as_str().unwrap_or_default()
            )
        })
        .collect();
    // Exactly the routes each function's router is built from, each by
    // ANY so that the function answers its CORS preflights, HEAD and 405
    // itself; the bookings route's POST also has its own route, for its
    // route-level 5xx alarm.
    let expected: Vec<String> = frontdesk_booking::ROUTES
        .iter()
        .flat_map(|path| {
            [
                format!("BookingFunction POST {path}"),
                format!("BookingFunction ANY {path}"),
            ]
        })
        .chain(
            frontdesk_content::ROUTES
                .iter()
                .map(|path| format!("ContentFunction ANY {path}")),
        )
        .chain(
            frontdesk_desk::ROUTES
                .iter()
                .map(|path| format!("DeskFunction ANY {path}")),
        )
        .chain(std::iter::once(format!(
            "DeskRightsFunction ANY {}",
            frontdesk_desk::DESK_RIGHTS_ROUTE
        )))
        .collect();
    let mut problems: Vec<String> = routes
        .iter()
        .filter(|r| !expected.contains(r))
        .map(|r| format!("the API routes {r}, which that function does not serve"))
        .collect();
    problems.extend(
        expected
            .iter()
            .filter(|r| !routes.contains(r))
            .map(|r| format!("the API does not route {r}")),
    );
    problems
}

#[test]
fn the_api_routes_exactly_the_booking_and_content_functions_routes() {
    let template = template();
    assert_eq!(route_problems(&template), Vec::<String>::new());

    let with = |function: &str, edit: &dyn Fn(&mut serde_norway::Mapping)| {
        let mut mutated = template.clone();
        let events = mutated["Resources"][function]["Properties"]["Events"]
            .as_mapping_mut()
            .expect("events");
        edit(events);
        route_problems(&mutated)
    };
    let first_http = |events: &serde_norway::Mapping| {
        events
            .iter()
            .find(|(_, e)| e["Type"].as_str() == Some("HttpApi"))
            .map(|(k, _)| k.clone())
            .expect("an HttpApi event")
    };
    // A content route dropped from the API.
    let dropped = with("ContentFunction", &|events| {
        let key = first_http(events);
        events.remove(&key);
    });
    assert!(
        dropped
            .iter()
            .any(|p| p.starts_with("the API does not route ContentFunction ANY")),
        "{dropped:?}"
    );
    // A route the function does not serve.
    let extra = with("BookingFunction", &|events| {
        events.insert(
            Value::from("Extra"),
            yaml("{Type: HttpApi, Properties: {Method: POST, Path: /v1/extra, ApiId: !Ref Api}}"),
        );
    });
    assert_eq!(
        extra,
        ["the API routes BookingFunction POST /v1/extra, which that function does not serve"]
    );
    // The bookings route sent to a function with the wrong method.
    let wrong_method = with("BookingFunction", &|events| {
        let key = first_http(events);
        events[&key]["Properties"]["Method"] = Value::from("GET");
    });
    assert_eq!(wrong_method.len(), 2, "{wrong_method:?}");
}

/// Where a route's sign-in is wrong: a desk API route without the desk's
/// JWT authorizer, a public route (or a desk page) with any authorizer, or
/// an authorizer that is not the desk's user pool and app client.
fn authorizer_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, event) in http_events(template) {
        let path = event["Properties"]["Path"].as_str().unwrap_or_default();
        let authorizer = event["Properties"]["Auth"]["Authorizer"].as_str();
        let desk_api =
            path == frontdesk_desk::DESK_API_ROUTE || path == frontdesk_desk::DESK_RIGHTS_ROUTE;
        match (desk_api, authorizer) {
            (true, Some("DeskSignIn")) | (false, None | Some("NONE")) => {}
            (true, other) => problems.push(format!(
                "{id} routes {path} with authorizer {other:?}, not DeskSignIn"
            )),
            (false, Some(other)) => problems.push(format!(
                "{id} routes {path}, a public route, with authorizer {other}"
            )),
        }
    }
    for (id, api) in resources_of(template, "AWS::Serverless::HttpApi") {
        if api["Properties"]["Auth"].get("DefaultAuthorizer").is_some() {
            problems.push(format!(
                "{id} has a default authorizer, which public routes would get"
            ));
        }
        let jwt = &api["Properties"]["Auth"]["Authorizers"]["DeskSignIn"]["JwtConfiguration"];
        let issuer = resolved(&jwt["issuer"]).join(" ");
        if !references(&issuer).contains(&"DeskUserPool".to_owned()) {
            problems.push(format!(
                "{id}'s DeskSignIn trusts {issuer:?}, not the desk's user pool"
            ));
        }
        if target(&jwt["audience"][0]) != "DeskUserPoolClient"
            || strings(&jwt["audience"]).len() > 1
        {
            problems.push(format!(
                "{id}'s DeskSignIn does not take only the desk's app client"
            ));
        }
    }
    problems
}

#[test]
fn every_desk_api_route_needs_the_desk_sign_in_and_no_public_route_has_it() {
    let template = template();
    assert_eq!(authorizer_problems(&template), Vec::<String>::new());
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut mutated = template.clone();
        edit(&mut mutated["Resources"]);
        authorizer_problems(&mutated)
    };
    let open_desk = with(&|r| {
        r["DeskFunction"]["Properties"]["Events"]["DeskApi"]["Properties"]
            .as_mapping_mut()
            .unwrap()
            .remove("Auth");
    });
    assert_eq!(open_desk.len(), 1, "{open_desk:?}");
    let open_rights = with(&|r| {
        r["DeskRightsFunction"]["Properties"]["Events"]["DeskRightsApi"]["Properties"]
            .as_mapping_mut()
            .unwrap()
            .remove("Auth");
    });
    assert_eq!(open_rights.len(), 1, "{open_rights:?}");
    let signed_in_form = with(&|r| {
        let events = r["BookingFunction"]["Properties"]["Events"]
            .as_mapping_mut()
            .unwrap();
        let (_, first) = events.iter_mut().next().unwrap();
        first["Properties"]["Auth"] = yaml("{Authorizer: DeskSignIn}");
    });
    assert_eq!(signed_in_form.len(), 1, "{signed_in_form:?}");
    let signed_in_page = with(&|r| {
        r["DeskFunction"]["Properties"]["Events"]["DeskPages"]["Properties"]["Auth"] =
            yaml("{Authorizer: DeskSignIn}");
    });
    assert_eq!(signed_in_page.len(), 1, "{signed_in_page:?}");
    let default = with(&|r| {
        r["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"] = Value::from("DeskSignIn");
    });
    assert_eq!(default.len(), 1, "{default:?}");
    let other_pool = with(&|r| {
        r["HttpApi"]["Properties"]["Auth"]["Authorizers"]["DeskSignIn"]["JwtConfiguration"]
            ["issuer"] = Value::from("https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_other");
    });
    assert_eq!(other_pool.len(), 1, "{other_pool:?}");
}

#[test]
fn only_the_rights_function_finds_a_person() {
    let template = template();
    let indexes = |role: &str| -> Vec<String> {
        statements(&template["Resources"][role])
            .iter()
            .flat_map(|s| {
                let resources = &s["Resource"];
                match resources.as_sequence() {
                    Some(list) => list.iter().flat_map(resolved).collect::<Vec<_>>(),
                    None => resolved(resources),
                }
            })
            .filter(|r| r.contains("/index/by_subject"))
            .collect()
    };
    assert_eq!(indexes("DeskRole"), Vec::<String>::new());
    assert_eq!(indexes("DeskRightsRole").len(), 2);
    assert_eq!(indexes("BookingRole"), Vec::<String>::new());
}

#[test]
fn the_desk_may_only_add_to_the_audit_trail() {
    let template = template();
    for action in [
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    ] {
        let mut mutated = template.clone();
        let statements = mutated["Resources"]["DeskRole"]["Properties"]["Policies"][0]
            ["PolicyDocument"]["Statement"]
            .as_sequence_mut()
            .unwrap();
        statements.push(yaml(&format!(
            "{{Effect: Allow, Action: {action}, Resource: !GetAtt AuditTable.Arn}}"
        )));
        assert_eq!(
            privilege_problems(&mutated),
            [format!(
                "DeskRole allows {action} on AuditTable, which its function does not need"
            )]
        );
    }
    // And the table refuses those to every principal, whatever a role says.
    let policy = &template["Resources"]["AuditTable"]["Properties"]["ResourcePolicy"]
        ["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Effect"].as_str(), Some("Deny"));
    assert_eq!(policy["Principal"].as_str(), Some("*"));
    let denied = strings(&policy["Action"]);
    for action in [
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ] {
        assert!(denied.iter().any(|d| d == action), "{action} is not denied");
    }
}

/// Where API Gateway would answer CORS in the functions' place, or the
/// booking function's origins are not the template's one list.
fn cors_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, api) in resources_of(template, "AWS::Serverless::HttpApi") {
        if api["Properties"].get("CorsConfiguration").is_some() {
            problems.push(format!(
                "{id} has a CorsConfiguration, which replaces the functions' CORS on every route"
            ));
        }
    }
    let origins = &template["Resources"]["BookingFunction"]["Properties"]["Environment"]
        ["Variables"]["ALLOWED_ORIGINS"];
    if resolved(origins) != ["${AllowedOrigins}"] || target(origins) != "AllowedOrigins" {
        problems.push(
            "the booking function's ALLOWED_ORIGINS is not the AllowedOrigins parameter".into(),
        );
    }
    problems
}

#[test]
fn the_functions_answer_cors_as_deployed_with_the_templates_origins() {
    let template = template();
    assert_eq!(cors_problems(&template), Vec::<String>::new());
    let mut mutated = template.clone();
    mutated["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"] =
        yaml("{AllowOrigins: ['*']}");
    assert_eq!(cors_problems(&mutated).len(), 1);
    let mut mutated = template.clone();
    mutated["Resources"]["BookingFunction"]["Properties"]["Environment"]["Variables"]
        ["ALLOWED_ORIGINS"] = Value::from("*");
    assert_eq!(cors_problems(&mutated).len(), 1);
}

#[test]
fn the_notifier_reads_new_bookings_with_partial_failures_and_a_failure_queue() {
    let template = template();
    let event = &template["Resources"]["NotifierFunction"]["Properties"]["Events"]["NewBookings"];
    assert_eq!(event["Type"].as_str(), Some("DynamoDB"));
    let p = &event["Properties"];
    assert_eq!(
        strings(&p["FunctionResponseTypes"]),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(p["BisectBatchOnFunctionError"].as_bool(), Some(true));
    let retries = p["MaximumRetryAttempts"].as_u64().expect("finite retries");
    assert!((1..=100).contains(&retries));
    assert!(p["MaximumRecordAgeInSeconds"].as_u64().is_some());
    assert!(p["BatchSize"].as_u64().is_some());
    // New bookings, and the changes that mark a confirmation owed: what
    // these pass of real stream records is tested on DynamoDB Local
    // (tests/tests/confirmations.rs).
    let filters: Vec<serde_json::Value> = p["FilterCriteria"]["Filters"]
        .as_sequence()
        .expect("filters")
        .iter()
        .map(|f| serde_json::from_str(&strings(&f["Pattern"]).join("")).expect("a JSON pattern"))
        .collect();
    assert_eq!(
        filters,
        [
            serde_json::json!({ "eventName": ["INSERT"] }),
            serde_json::json!({
                "eventName": ["MODIFY"],
                "dynamodb": { "NewImage": {
                    frontdesk_shared::store::dynamodb::CONFIRMATION_OWED: { "N": [{ "exists": true }] }
                } }
            }),
        ]
    );
    let on_failure = &p["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"].as_str(), Some("SQS"));
    let queue = target(&on_failure["Destination"]);
    let queue = &template["Resources"][queue.as_str()];
    assert_eq!(queue["Type"].as_str(), Some("AWS::SQS::Queue"));
    // Encrypted: by SQS's managed key, or under the clinic's own.
    let managed = &queue["Properties"]["SqsManagedSseEnabled"];
    let own = resolved(&queue["Properties"]["KmsMasterKeyId"]);
    assert!(
        managed.as_bool() == Some(true) || own.iter().any(|k| k == "${DataKey}"),
        "encrypted: {managed:?} {own:?}"
    );
}

/// What keeps an alarm from reaching the topic's subscribers: the topic's key
/// must be the template's own, and its policy must let CloudWatch use it.
fn alarm_delivery_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let resources = &template["Resources"];
    // Each key the topic may be deployed with (the stack's alarm key, or
    // the clinic's own with CustomerManagedKey).
    for text in resolved(&resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"]) {
        let key = references(&text).join(",");
        if resources[key.as_str()]["Type"].as_str() != Some("AWS::KMS::Key") {
            problems.push(format!(
                "AlarmTopic is encrypted with {text}, not a key of this template"
            ));
            continue;
        }
        let statements = key_statements(resources, &key);
        let cloudwatch_may = |action: &str| {
            statements.iter().any(|s| {
                s["Effect"].as_str() == Some("Allow")
                    && strings(&s["Principal"]["Service"])
                        .contains(&"cloudwatch.amazonaws.com".into())
                    && strings(&s["Action"]).iter().any(|a| a == action)
            })
        };
        for action in ["kms:Decrypt", "kms:GenerateDataKey*"] {
            if !cloudwatch_may(action) {
                problems.push(format!("{key}'s policy does not let CloudWatch {action}"));
            }
        }
    }
    for (id, alarm) in resources_of(template, "AWS::CloudWatch::Alarm") {
        let actions = alarm["Properties"]["AlarmActions"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        if !actions.iter().any(|a| target(a) == "AlarmTopic") {
            problems.push(format!("{id} does not notify AlarmTopic"));
        }
    }
    problems
}

/// A key's policy statements, a conditional one (`!If`) as its statement.
fn key_statements(resources: &Value, key: &str) -> Vec<Value> {
    resources[key]["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| match &s {
            Value::Tagged(tagged) if tagged.tag.to_string().trim_start_matches('!') == "If" => {
                tagged.value[1].clone()
            }
            _ => s,
        })
        .collect()
}

#[test]
fn every_alarm_reaches_a_topic_whose_key_lets_cloudwatch_publish() {
    let template = template();
    assert_eq!(alarm_delivery_problems(&template), Vec::<String>::new());

    // The AWS-managed SNS key: alarms would fire into nothing.
    let mut managed = template.clone();
    managed["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"] =
        Value::String("alias/aws/sns".into());
    assert!(!alarm_delivery_problems(&managed).is_empty());

    // Our keys, but CloudWatch left out of a policy.
    for key in ["AlarmKey", "DataKey"] {
        let mut closed = template.clone();
        let policy = &mut closed["Resources"][key]["Properties"]["KeyPolicy"]["Statement"];
        let kept: Vec<Value> = policy
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|s| s["Sid"].as_str() != Some("CloudWatchAlarmsPublish"))
            .cloned()
            .collect();
        *policy = Value::Sequence(kept);
        assert_eq!(alarm_delivery_problems(&closed).len(), 2, "{key}");
    }

    // An alarm that tells nobody.
    let mut silent = template.clone();
    silent["Resources"]["EmailsHeldAlarm"]["Properties"]["AlarmActions"] =
        Value::Sequence(Vec::new());
    assert_eq!(
        alarm_delivery_problems(&silent),
        ["EmailsHeldAlarm does not notify AlarmTopic"]
    );
}

/// The custom metrics some alarm watches, by name.
fn watched_metrics(template: &Value) -> Vec<String> {
    resources_of(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .flat_map(|(_, alarm)| {
            let props = &alarm["Properties"];
            let mut names = Vec::new();
            if props["Namespace"].as_str() == Some(frontdesk_shared::metric::NAMESPACE) {
                names.extend(strings(&props["MetricName"]));
            }
            for query in props["Metrics"].as_sequence().cloned().unwrap_or_default() {
                let metric = &query["MetricStat"]["Metric"];
                if metric["Namespace"].as_str() == Some(frontdesk_shared::metric::NAMESPACE) {
                    names.extend(strings(&metric["MetricName"]));
                }
            }
            names
        })
        .collect()
}

#[test]
fn every_metric_the_code_emits_has_an_alarm_and_the_bookings_route_its_5xx() {
    use frontdesk_shared::metric::{
        BOOKINGS_NOT_STORED, BOOKINGS_REFUSED, BOOKINGS_UNREADABLE, HELD, PERMANENT_FAILURES,
        STAFF_UNDELIVERED,
    };
    let template = template();
    let watched = watched_metrics(&template);
    for metric in [
        frontdesk_shared::metric::ACKNOWLEDGEMENTS_WITHHELD,
        BOOKINGS_REFUSED,
        PERMANENT_FAILURES,
        HELD,
        BOOKINGS_NOT_STORED,
        STAFF_UNDELIVERED,
        BOOKINGS_UNREADABLE,
    ] {
        assert!(watched.iter().any(|m| m == metric), "no alarm on {metric}");
    }
    let route_5xx = resources_of(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(_, a)| a["Properties"]["MetricName"].as_str() == Some("5xx"))
        .expect("an alarm on the API's 5xx");
    let dimensions: Vec<(String, String)> = route_5xx.1["Properties"]["Dimensions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["Name"].as_str().unwrap_or_default().to_owned(),
                d["Value"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| target(&d["Value"])),
            )
        })
        .collect();
    for expected in [
        ("ApiId", "HttpApi"),
        ("Method", "POST"),
        ("Resource", "/v1/bookings"),
    ] {
        assert!(
            dimensions.contains(&(expected.0.into(), expected.1.into())),
            "{dimensions:?}"
        );
    }
    assert_eq!(
        template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
            ["DetailedMetricsEnabled"]
            .as_bool(),
        Some(true),
        "route-level metrics are off, so the route's 5xx metric never exists"
    );
}

#[test]
fn the_smoke_test_names_the_alarm_as_deployed() {
    let steps = frontdesk_cli::alarms::smoke_test("frontdesk", "prod").unwrap();
    assert!(
        steps.contains("aws cloudwatch set-alarm-state --alarm-name frontdesk-prod-emails-held")
    );
    assert!(steps.contains("--stack-name frontdesk"));
    assert!(steps.contains("AlarmTopicArn"));
    let outputs = &template()["Outputs"];
    assert_eq!(target(&outputs["AlarmTopicArn"]["Value"]), "AlarmTopic");
}

#[test]
fn the_sender_domain_gets_aligned_spf_and_the_records_to_publish() {
    let template = template();
    let identity = &template["Resources"]["MailIdentity"]["Properties"];
    let mail_from = &identity["MailFromAttributes"];
    assert!(
        matches!(&mail_from["MailFromDomain"], Value::Tagged(t) if t.value.as_str() == Some("${MailFromSubdomain}.${SenderDomain}")),
        "{mail_from:?}"
    );
    assert_eq!(
        mail_from["BehaviorOnMxFailure"].as_str(),
        Some("USE_DEFAULT_VALUE"),
        "a missing MX record must not stop the emails"
    );
    let outputs = &template["Outputs"];
    let text = |id: &str| match &outputs[id]["Value"] {
        Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_owned(),
        other => panic!("{id}: {other:?}"),
    };
    let mail_from_records = text("MailFromRecords");
    assert!(mail_from_records.contains("MX 10 feedback-smtp.${AWS::Region}.amazonses.com"));
    assert!(mail_from_records.contains("v=spf1 include:amazonses.com ~all"));
    assert!(text("DmarcRecord").starts_with("_dmarc.${SenderDomain} TXT \"v=DMARC1;"));
    assert!(!outputs["DkimRecords"].is_null());
}

/// The values of dimension `dimension` that the alarms on `metric` watch.
fn alarmed_values(template: &Value, metric: &str, dimension: &str) -> Vec<String> {
    let mut values: Vec<String> = resources_of(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .flat_map(|(_, alarm)| {
            alarm["Properties"]["Metrics"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|query| query["MetricStat"]["Metric"]["MetricName"].as_str() == Some(metric))
        .flat_map(|query| {
            query["MetricStat"]["Metric"]["Dimensions"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|d| d["Name"].as_str() == Some(dimension))
        .filter_map(|d| d["Value"].as_str().map(str::to_owned))
        .collect();
    values.sort();
    values.dedup();
    values
}

#[test]
fn each_alarm_watches_every_dimension_value_its_metric_is_written_with() {
    use frontdesk_shared::metric::{
        BOOKINGS_NOT_STORED, HELD, NOT_STORED_OUTCOMES, PERMANENT_FAILURES, STAFF_UNDELIVERED,
        UNDELIVERED_REASONS,
    };
    use frontdesk_shared::notify::Notice;
    let template = template();
    let sorted = |values: &[&str]| {
        let mut values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        values.sort();
        values
    };
    let kinds: Vec<&str> = Notice::KIND_NAMES.to_vec();
    for metric in [PERMANENT_FAILURES, HELD] {
        assert_eq!(
            alarmed_values(&template, metric, "Email"),
            sorted(&kinds),
            "{metric}"
        );
    }
    assert_eq!(
        alarmed_values(&template, BOOKINGS_NOT_STORED, "Outcome"),
        sorted(&NOT_STORED_OUTCOMES)
    );
    assert_eq!(
        alarmed_values(&template, STAFF_UNDELIVERED, "Why"),
        sorted(&UNDELIVERED_REASONS)
    );
    let refusals: Vec<&str> = frontdesk_shared::metric::Refusal::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(
        alarmed_values(
            &template,
            frontdesk_shared::metric::BOOKINGS_REFUSED,
            "Kind"
        ),
        sorted(&refusals)
    );
    let withheld: Vec<&str> = frontdesk_shared::booking::Withheld::ALL
        .iter()
        .map(|w| w.as_str())
        .collect();
    assert_eq!(
        alarmed_values(
            &template,
            frontdesk_shared::metric::ACKNOWLEDGEMENTS_WITHHELD,
            "Why"
        ),
        sorted(&withheld)
    );

    // The verifier's failures are alarmed; a form without a token is not
    // (a patient without script), but its withheld acknowledgement is.
    let unchecked: Vec<&str> = frontdesk_shared::turnstile::Unchecked::ALL
        .iter()
        .filter(|u| **u != frontdesk_shared::turnstile::Unchecked::NoToken)
        .map(|u| u.as_str())
        .collect();
    assert_eq!(
        alarmed_values(
            &template,
            frontdesk_shared::metric::BOOKINGS_UNVERIFIED,
            "Why"
        ),
        sorted(&unchecked)
    );

    // A value left out of its alarm is caught.
    let mut partial = template.clone();
    let queries = &mut partial["Resources"]["BookingsNotStoredAlarm"]["Properties"]["Metrics"];
    let kept: Vec<Value> = queries
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|q| q["Id"].as_str() != Some("unconfirmed"))
        .cloned()
        .collect();
    *queries = Value::Sequence(kept);
    assert_ne!(
        alarmed_values(&partial, BOOKINGS_NOT_STORED, "Outcome"),
        sorted(&NOT_STORED_OUTCOMES)
    );
}

#[test]
fn the_match_key_is_kept_and_made_in_the_shape_the_booking_function_reads() {
    use frontdesk_shared::match_key::{MatchKey, MIN_SECRET_BYTES};
    let template = template();
    let secret = &template["Resources"]["MatchKeySecret"];
    // Deleting the stack must not take the key: a new one would leave
    // every guard of the day unmatched.
    assert_eq!(secret["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(secret["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let generate = &secret["Properties"]["GenerateSecretString"];
    let length = generate["PasswordLength"].as_u64().expect("a length");
    assert!(length >= MIN_SECRET_BYTES as u64, "{length}");
    // What Secrets Manager makes: its template with the generated string
    // added under GenerateStringKey.
    let mut made: serde_json::Value = serde_json::from_str(
        generate["SecretStringTemplate"]
            .as_str()
            .expect("a template"),
    )
    .expect("JSON");
    made[generate["GenerateStringKey"].as_str().expect("a key name")] =
        "x".repeat(usize::try_from(length).unwrap()).into();
    let key = MatchKey::from_secret_string(&made.to_string()).expect("the function reads it");
    assert_eq!(key.version(), 1);
    let variables =
        &template["Resources"]["BookingFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&variables["MATCH_KEY_SECRET"]), "MatchKeySecret");
}

#[test]
fn the_notifier_may_update_only_the_hourly_ceilings_counters_among_the_guards() {
    let template = template();
    let statements = statements(&template["Resources"]["NotifierRole"]);
    let guards: Vec<&Value> = statements
        .iter()
        .filter(|s| target(&s["Resource"]) == "GuardsTable")
        .collect();
    assert_eq!(guards.len(), 1, "{guards:?}");
    let keys = &guards[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    assert_eq!(
        strings(keys),
        [format!(
            "{}*",
            frontdesk_shared::notify::ceiling::HOUR_KEY_PREFIX
        )]
    );
}

/// What keeps the clinic's own key (`CustomerManagedKey`) from covering
/// what it should, or from naming exactly who may use it: every table,
/// failure queue and log group takes it when it is on; its policy lets the
/// functions' roles (by their fixed names) use it only through DynamoDB and
/// SQS, names its administrators, and cannot be deployed without one.
fn customer_key_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let resources = &template["Resources"];
    let takes_key = |value: &Value| {
        resolved(&when_on(value))
            .iter()
            .any(|t| t.starts_with("${DataKey"))
    };
    for (kind, property) in [
        (
            "AWS::DynamoDB::Table",
            &["SSESpecification", "KMSMasterKeyId"][..],
        ),
        ("AWS::SQS::Queue", &["KmsMasterKeyId"][..]),
        ("AWS::Logs::LogGroup", &["KmsKeyId"][..]),
        ("AWS::SNS::Topic", &["KmsMasterKeyId"][..]),
    ] {
        for (id, resource) in resources_of(template, kind) {
            let properties = &resource["Properties"];
            let value = property.iter().fold(properties, |v, key| &v[*key]);
            if !takes_key(value) {
                problems.push(format!("{id} is not encrypted under DataKey when it is on"));
            }
            let wrong = match kind {
                "AWS::DynamoDB::Table" => {
                    when_on(&properties["SSESpecification"]["SSEType"]).as_str() != Some("KMS")
                }
                "AWS::SQS::Queue" => {
                    when_on(&properties["SqsManagedSseEnabled"]).as_bool() != Some(false)
                }
                _ => false,
            };
            if wrong {
                problems.push(format!(
                    "{id} does not take a customer key's settings when it is on"
                ));
            }
        }
    }
    let policy = key_statements(resources, "DataKey");
    let sid = |name: &str| policy.iter().find(|s| s["Sid"].as_str() == Some(name));
    // CloudWatch Logs may use the key for every log group of the stage.
    let logs = policy
        .iter()
        .find(|s| {
            resolved(&s["Principal"]["Service"])
                .iter()
                .any(|p| p.starts_with("logs."))
        })
        .map(|s| resolved(&s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]))
        .unwrap_or_default();
    for (id, group) in resources_of(template, "AWS::Logs::LogGroup") {
        let name = resolved(&group["Properties"]["LogGroupName"]).join("");
        let covered = logs.iter().any(|pattern| {
            pattern
                .rsplit_once(":log-group:")
                .and_then(|(_, glob)| glob.strip_suffix('*'))
                .is_some_and(|prefix| name.starts_with(prefix))
        });
        if !covered {
            problems.push(format!(
                "{id} ({name}) is not a log group CloudWatch Logs may encrypt under DataKey"
            ));
        }
    }
    // The roles the key names, and the roles whose functions use it.
    let named: BTreeSet<String> = sid("FunctionsThroughTheirServices")
        .map(|s| resolved(&s["Condition"]["ArnEquals"]["aws:PrincipalArn"]))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|arn| arn.rsplit(":role/").next().map(str::to_owned))
        .collect();
    let roles: BTreeSet<String> = resources_of(template, "AWS::IAM::Role")
        .into_iter()
        .filter(|(_, role)| {
            statements(role).iter().any(|s| {
                strings(&s["Action"])
                    .iter()
                    .any(|a| a.starts_with("dynamodb:") || a.starts_with("sqs:"))
            })
        })
        .filter_map(
            |(id, role)| match resolved(&role["Properties"]["RoleName"]).first() {
                Some(name) if name != "?" => Some(name.clone()),
                _ => {
                    problems.push(format!(
                        "{id} uses DataKey's data but has no fixed RoleName"
                    ));
                    None
                }
            },
        )
        .collect();
    if named != roles {
        problems.push(format!(
            "DataKey names the roles {named:?}, but the roles using its data are {roles:?}"
        ));
    }
    match sid("FunctionsThroughTheirServices") {
        Some(s) => {
            let via = resolved(&s["Condition"]["StringEquals"]["kms:ViaService"]);
            if via.is_empty()
                || via
                    .iter()
                    .any(|v| !(v.starts_with("dynamodb.") || v.starts_with("sqs.")))
            {
                problems.push(format!("the functions may use DataKey through {via:?}"));
            }
        }
        None => problems.push("DataKey's policy does not name the functions' roles".into()),
    }
    match sid("Administrators") {
        Some(s)
            if resolved(&s["Condition"]["ArnLike"]["aws:PrincipalArn"])
                == ["${KeyAdministrators}"] =>
        {
            let uses_data = strings(&s["Action"]).iter().any(|a| {
                a == "kms:*"
                    || (a.starts_with("kms:Create") && a != "kms:CreateAlias")
                    || [
                        "kms:Decrypt",
                        "kms:Encrypt",
                        "kms:GenerateDataKey*",
                        "kms:ReEncrypt*",
                    ]
                    .contains(&a.as_str())
            });
            if uses_data {
                problems.push("DataKey's administrators may use its data directly".into());
            }
        }
        _ => problems.push("DataKey's policy does not name KeyAdministrators".into()),
    }
    // Only this stage's SES events rule may put failed events on the queue.
    let rule = resolved(
        &resources["MailEventsFunction"]["Properties"]["Events"]["SesEvents"]["Properties"]
            ["RuleName"],
    )
    .join("");
    let events = sid("EventBridgeFailedEvents")
        .map(|s| resolved(&s["Condition"]["ArnEquals"]["aws:SourceArn"]).join(""))
        .unwrap_or_default();
    if rule.is_empty() || rule == "?" || !events.ends_with(&format!(":rule/{rule}")) {
        problems.push(format!(
            "EventBridge may use DataKey for {events:?}, not the rule {rule:?}"
        ));
    }
    // The deploy refuses a customer key whose administrators list is empty.
    let assertion = format!(
        "{:?}",
        template["Rules"]["CustomerKeyHasAdministrators"]["Assertions"]
    );
    if !(assertion.contains("Fn::Not")
        && assertion.contains("Fn::Contains")
        && assertion.contains("KeyAdministrators"))
    {
        problems.push("nothing stops a customer key without administrators".into());
    }
    problems
}

/// What a value is with `CustomerManagedKey` on: an `!If [WithCustomerKey,
/// a, b]` is `a`; anything else is itself.
fn when_on(value: &Value) -> Value {
    match value {
        Value::Tagged(tagged) if tagged.tag.to_string().trim_start_matches('!') == "If" => {
            match tagged.value.as_sequence() {
                Some(parts) if parts.len() == 3 && parts[0].as_str() == Some("WithCustomerKey") => {
                    parts[1].clone()
                }
                _ => value.clone(),
            }
        }
        _ => value.clone(),
    }
}

/// The statement of DataKey's policy with this `Sid`, to mutate.
fn data_key_statement<'a>(template: &'a mut Value, sid: &str) -> &'a mut Value {
    template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence_mut()
        .expect("statements")
        .iter_mut()
        .find(|s| s["Sid"].as_str() == Some(sid))
        .expect("a statement with that Sid")
}

/// The role ARNs DataKey's policy lets use it, to mutate.
fn function_arns(template: &mut Value) -> &mut Vec<Value> {
    data_key_statement(template, "FunctionsThroughTheirServices")["Condition"]["ArnEquals"]
        ["aws:PrincipalArn"]
        .as_sequence_mut()
        .expect("a list of ARNs")
}

#[test]
fn the_clinics_own_key_covers_every_store_of_data_and_names_exactly_who_uses_it() {
    let template = template();
    assert_eq!(customer_key_problems(&template), Vec::<String>::new());

    // A table whose condition is the wrong way round.
    let mut inverted = template.clone();
    inverted["Resources"]["AuditTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] =
        yaml("!If [WithCustomerKey, !Ref AWS::NoValue, !Ref DataKey]");
    assert_eq!(
        customer_key_problems(&inverted),
        ["AuditTable is not encrypted under DataKey when it is on"]
    );

    // A queue that keeps SQS's own encryption beside the key.
    let mut both = template.clone();
    both["Resources"]["NotifierFailures"]["Properties"]["SqsManagedSseEnabled"] = yaml("true");
    assert_eq!(
        customer_key_problems(&both),
        ["NotifierFailures does not take a customer key's settings when it is on"]
    );

    // A log group outside the stage's prefix.
    let mut elsewhere = template.clone();
    elsewhere["Resources"]["DeskLogs"]["Properties"]["LogGroupName"] =
        yaml("!Sub /elsewhere/${Stage}/desk");
    assert_eq!(customer_key_problems(&elsewhere).len(), 1);

    // A table left on the AWS managed key.
    let mut managed = template.clone();
    managed["Resources"]["GuardsTable"]["Properties"]["SSESpecification"]
        .as_mapping_mut()
        .unwrap()
        .remove("KMSMasterKeyId");
    assert_eq!(
        customer_key_problems(&managed),
        ["GuardsTable is not encrypted under DataKey when it is on"]
    );

    // A role left out of the key's policy, or one that no function has.
    let mut missing = template.clone();
    function_arns(&mut missing).pop();
    assert_eq!(customer_key_problems(&missing).len(), 1);
    let mut extra = template.clone();
    function_arns(&mut extra).push(yaml(
        "!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/anyone",
    ));
    assert_eq!(customer_key_problems(&extra).len(), 1);

    // A role that uses the tables without a fixed name.
    let mut unnamed = template.clone();
    unnamed["Resources"]["ContentRole"]["Properties"]
        .as_mapping_mut()
        .unwrap()
        .remove("RoleName");
    assert!(customer_key_problems(&unnamed)
        .iter()
        .any(|p| p.starts_with("ContentRole uses DataKey's data")));

    // Administrators who may decrypt, or no rule requiring one.
    let mut reading = template.clone();
    data_key_statement(&mut reading, "Administrators")["Action"] = yaml("[kms:*]");
    assert_eq!(
        customer_key_problems(&reading),
        ["DataKey's administrators may use its data directly"]
    );
    let mut unruled = template.clone();
    unruled.as_mapping_mut().unwrap().remove("Rules");
    assert_eq!(
        customer_key_problems(&unruled),
        ["nothing stops a customer key without administrators"]
    );
    let mut granting = template.clone();
    data_key_statement(&mut granting, "Administrators")["Action"] =
        yaml("[kms:Create*, kms:Describe*]");
    assert_eq!(
        customer_key_problems(&granting),
        ["DataKey's administrators may use its data directly"]
    );

    // EventBridge allowed for any rule of the account.
    let mut any_rule = template.clone();
    data_key_statement(&mut any_rule, "EventBridgeFailedEvents")["Condition"]
        .as_mapping_mut()
        .unwrap()
        .remove("ArnEquals");
    assert_eq!(customer_key_problems(&any_rule).len(), 1);
}
