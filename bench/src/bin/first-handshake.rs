//! `first-handshake`: the CPU a fresh process spends on its first TLS
//! handshake and on its second, with the TLS configuration every HTTPS
//! client here uses (`frontdesk_shared::trust`), client and server in
//! memory. A process's first handshake seeds aws-lc's random generator,
//! which a cold function pays before its first answer; bench/FINDINGS.md
//! holds what building aws-lc without its CPU jitter entropy source
//! (`.cargo/config.toml`) changed. Prints the two times in milliseconds:
//!
//!     cargo build --release -p frontdesk-bench --bin first-handshake
//!     for i in $(seq 30); do target/release/first-handshake; done

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::sync::Arc;
use std::time::Instant;

/// Moves records between the two ends until both finish the handshake.
fn shake(client: &mut rustls::ClientConnection, server: &mut rustls::ServerConnection) {
    let mut records = Vec::new();
    while client.is_handshaking() || server.is_handshaking() {
        records.clear();
        while client.wants_write() {
            client.write_tls(&mut records).expect("client records");
        }
        let mut unread = &records[..];
        while !unread.is_empty() {
            server.read_tls(&mut unread).expect("server reads");
        }
        server.process_new_packets().expect("server handshake");
        records.clear();
        while server.wants_write() {
            server.write_tls(&mut records).expect("server records");
        }
        let mut unread = &records[..];
        while !unread.is_empty() {
            client.read_tls(&mut unread).expect("client reads");
        }
        client.process_new_packets().expect("client handshake");
    }
}

fn main() {
    // The server's key is made outside the timing with ring, so that the
    // handshake is aws-lc's first use of its random generator.
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let certificate: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .expect("the server's certificate"),
    );
    let mut client = frontdesk_shared::trust::client_config().expect("the client's TLS");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).expect("the test root");
    client = rustls::ClientConfig::builder_with_provider(client.crypto_provider().clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = Arc::new(client);
    let mut took = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let name = ServerName::try_from("localhost").expect("a name");
        let mut end = rustls::ClientConnection::new(Arc::clone(&client), name).expect("a client");
        let mut other = rustls::ServerConnection::new(Arc::clone(&server)).expect("a server");
        shake(&mut end, &mut other);
        took.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!("{:.3} {:.3}", took[0], took[1]);
}
