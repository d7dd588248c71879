//! A condition page's rendering: the shipped content compiled from its
//! Markdown, serialised into the answers the content function serves, and
//! the neuroendocrine tumours page answered from a warm cache through the
//! router, as every warm request is.

use criterion::{criterion_group, criterion_main, Criterion};
use frontdesk_content::catalog::Catalog;
use frontdesk_tests::content::{shipped_content, ContentApp};
use frontdesk_tests::Backend;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = shipped_content();
    let content = frontdesk_shared::content::source::load(&dir).expect("the shipped content");
    c.bench_function("content/compile the Markdown", |b| {
        b.iter(|| frontdesk_shared::content::source::load(black_box(&dir)).expect("content"))
    });
    c.bench_function("content/serialise every answer", |b| {
        b.iter(|| Catalog::build(black_box(&content)).expect("a catalog"))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let app = runtime.block_on(ContentApp::spawn(Backend::Embedded));
    let page = "/v1/conditions/neuroendocrine-tumours";
    assert_eq!(runtime.block_on(app.get(page)).status, 200);
    c.bench_function("content/GET the condition page, warm", |b| {
        b.iter(|| runtime.block_on(app.get(black_box(page))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
