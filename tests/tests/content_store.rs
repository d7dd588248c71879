//! The `ContentStore` contract, run against every adapter: a store holds
//! exactly what was last pushed, and a push writes only what changed.

use frontdesk_shared::booking::Slug;
use frontdesk_shared::content::{self, Content, Kind, PushReport};
use frontdesk_tests::content::{content_copy, edit, fixture, shipped_content, ContentHandle};
use frontdesk_tests::{for_each_backend, Backend};
use time::OffsetDateTime;

for_each_backend!(
    an_empty_store_holds_no_content,
    a_push_stores_exactly_the_folder,
    a_second_push_of_the_same_folder_writes_nothing,
    a_push_replaces_changes_and_removes_deletions,
    a_push_of_more_than_one_transaction_of_documents,
    a_consent_wording_keeps_the_time_it_was_first_pushed,
    each_kind_is_read_alone,
);

fn shipped() -> Content {
    content::source::load(&shipped_content()).expect("the shipped content is valid")
}

/// What the store holds, less the consent wordings' push times (which the
/// folder does not have).
async fn stored(store: &ContentHandle) -> Content {
    let mut content = stamped(store).await;
    for wording in &mut content.consent {
        assert!(
            wording.published_at.is_some(),
            "a pushed wording has its time"
        );
        wording.published_at = None;
    }
    content
}

/// What the store holds, as it holds it.
async fn stamped(store: &ContentHandle) -> Content {
    let documents = store.port().documents().await.expect("documents");
    Content::from_documents(&documents).expect("readable documents")
}

async fn an_empty_store_holds_no_content(backend: Backend) {
    let store = ContentHandle::create(backend).await;
    assert!(store.port().documents().await.unwrap().is_empty());
    assert_eq!(stored(&store).await, Content::default());
}

async fn a_push_stores_exactly_the_folder(backend: Backend) {
    let store = ContentHandle::create(backend).await;
    let report = store.push(&shipped_content()).await;
    assert_eq!(
        report,
        PushReport {
            added: 7,
            ..PushReport::default()
        },
        "a condition, two support services, the prices, the site, a consent wording and the privacy notice"
    );
    assert_eq!(stored(&store).await, shipped());
}

async fn a_second_push_of_the_same_folder_writes_nothing(backend: Backend) {
    let store = ContentHandle::create(backend).await;
    store.push(&shipped_content()).await;
    let before = store.requests();
    let report = store.push(&shipped_content()).await;
    assert_eq!(
        report,
        PushReport {
            unchanged: 7,
            ..PushReport::default()
        }
    );
    if let (Some(before), Some(after)) = (before, store.requests()) {
        assert_eq!(after - before, 1, "one read, and no write");
    }
}

async fn a_push_replaces_changes_and_removes_deletions(backend: Backend) {
    let store = ContentHandle::create(backend).await;
    let folder = content_copy();
    store.push(folder.path()).await;

    edit(
        &folder.path().join("site.md"),
        "hospital: Parkside Hospital",
        "hospital: Parkside Hospital (fixture edit)",
    );
    std::fs::remove_file(folder.path().join("support-services/group-sessions.md")).unwrap();
    std::fs::copy(
        fixture("content-consultant/fixture-consultant.md"),
        folder.path().join("consultants/fixture-consultant.md"),
    )
    .unwrap();
    let report = store.push(folder.path()).await;
    assert_eq!(
        report,
        PushReport {
            added: 1,
            changed: 1,
            removed: 1,
            unchanged: 5,
        }
    );
    let held = stored(&store).await;
    assert_eq!(
        held,
        content::source::load(folder.path()).expect("valid content")
    );
    assert_eq!(
        held.site.unwrap().hospital,
        "Parkside Hospital (fixture edit)"
    );
    assert_eq!(held.support_services.len(), 1);
    assert_eq!(held.consultants[0].slug.as_str(), "fixture-consultant");
}

async fn a_push_of_more_than_one_transaction_of_documents(backend: Backend) {
    let store = ContentHandle::create(backend).await;
    let mut many = shipped();
    let template = many.conditions[0].clone();
    for n in 0..140 {
        let mut condition = template.clone();
        condition.slug = Slug::parse(&format!("fixture-condition-{n:03}")).unwrap();
        condition.title = format!("Fixture condition {n:03}");
        many.conditions.push(condition);
    }
    many.sort();
    let report = content::push(store.port().as_ref(), &many, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(report.added, 147);
    assert_eq!(stored(&store).await, many);

    // And back: 140 removals.
    let report = content::push(store.port().as_ref(), &shipped(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!((report.removed, report.unchanged), (140, 7));
    assert_eq!(stored(&store).await, shipped());
}

async fn a_consent_wording_keeps_the_time_it_was_first_pushed(backend: Backend) {
    use time::macros::datetime;
    let store = ContentHandle::create(backend).await;
    let folder = content_copy();
    let first = datetime!(2026-11-24 09:00 UTC);
    store.push_at(folder.path(), first).await;
    let report = store
        .push_at(folder.path(), datetime!(2026-12-01 09:00 UTC))
        .await;
    assert_eq!(report.unchanged, 7, "pushing again changes nothing");

    std::fs::write(
        folder.path().join("consent/2027-01.md"),
        "---\nversion: 2027-01\nintroduced: 2027-01-04\n\
         contact: Fixture contact wording.\nmarketing_email: Fixture emails.\n\
         marketing_sms: Fixture texts.\n---\n",
    )
    .unwrap();
    let second = datetime!(2027-01-05 12:00 UTC);
    let report = store.push_at(folder.path(), second).await;
    assert_eq!((report.added, report.unchanged), (1, 7));
    let held = stamped(&store).await;
    let times: Vec<(&str, Option<&str>)> = held
        .consent
        .iter()
        .map(|w| (w.version.as_str(), w.published_at.as_deref()))
        .collect();
    assert_eq!(
        times,
        [
            ("2026-11", Some("2026-11-24T09:00:00.000Z")),
            ("2027-01", Some("2027-01-05T12:00:00.000Z")),
        ]
    );
    assert_eq!(held.current_consent().unwrap().version.as_str(), "2027-01");

    // A published wording is never changed or removed: bookings name it.
    let push = |dir: std::path::PathBuf| {
        let port = store.port();
        async move {
            let content = frontdesk_cli::content::check(&dir).expect("valid content");
            content::push(port.as_ref(), &content, second).await
        }
    };
    edit(
        &folder.path().join("consent/2027-01.md"),
        "Fixture contact wording.",
        "Fixture contact wording, reworded.",
    );
    let rewritten = push(folder.path().to_owned()).await.unwrap_err();
    assert!(
        matches!(&rewritten, content::PushError::ConsentRewritten(v) if v == "2027-01"),
        "{rewritten}"
    );
    std::fs::remove_file(folder.path().join("consent/2027-01.md")).unwrap();
    let removed = push(folder.path().to_owned()).await.unwrap_err();
    assert!(
        matches!(&removed, content::PushError::ConsentRemoved(v) if v == "2027-01"),
        "{removed}"
    );
    assert_eq!(stamped(&store).await, held, "nothing was written");
}

async fn each_kind_is_read_alone(backend: Backend) {
    let store = ContentHandle::create(backend).await;
    // A consultant beside the consent wording, so every kind but one is
    // read beside others of its neighbours in key order.
    let folder = content_copy();
    std::fs::copy(
        fixture("content-consultant/fixture-consultant.md"),
        folder.path().join("consultants/fixture-consultant.md"),
    )
    .unwrap();
    store.push(folder.path()).await;
    let all = store.port().documents().await.expect("documents");
    for kind in Kind::ALL {
        let of_kind = store.port().documents_of(kind).await.expect("documents");
        let expected: Vec<_> = all
            .iter()
            .filter(|d| d.key.kind() == Some(kind))
            .cloned()
            .collect();
        assert_eq!(of_kind, expected, "{kind:?}");
    }
    let one = |kind| all.iter().filter(|d| d.key.kind() == Some(kind)).count();
    assert_eq!(one(Kind::Site), 1, "the site's details are one document");
    assert_eq!((one(Kind::Consultant), one(Kind::Consent)), (1, 1));
}
