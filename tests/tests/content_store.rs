//! The `ContentStore` contract, run against every adapter: a store holds
//! exactly what was last pushed, and a push writes only what changed.

use frontdesk_shared::booking::Slug;
use frontdesk_shared::content::{self, Content, PushReport};
use frontdesk_tests::content::{content_copy, edit, fixture, shipped_content, ContentHandle};
use frontdesk_tests::{for_each_backend, Backend};

for_each_backend!(
    an_empty_store_holds_no_content,
    a_push_stores_exactly_the_folder,
    a_second_push_of_the_same_folder_writes_nothing,
    a_push_replaces_changes_and_removes_deletions,
    a_push_of_more_than_one_transaction_of_documents,
);

fn shipped() -> Content {
    content::source::load(&shipped_content()).expect("the shipped content is valid")
}

async fn stored(store: &ContentHandle) -> Content {
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
            added: 5,
            ..PushReport::default()
        },
        "a condition, two support services, the prices and the site"
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
            unchanged: 5,
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
            unchanged: 3,
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
    let report = content::push(store.port().as_ref(), &many).await.unwrap();
    assert_eq!(report.added, 145);
    assert_eq!(stored(&store).await, many);

    // And back: 140 removals.
    let report = content::push(store.port().as_ref(), &shipped())
        .await
        .unwrap();
    assert_eq!((report.removed, report.unchanged), (140, 5));
    assert_eq!(stored(&store).await, shipped());
}
