//! The roots of trust of every HTTPS connection a function makes, to AWS's
//! endpoints and to Cloudflare's siteverify: Mozilla's, compiled in
//! (`webpki-root-certs`). A start reads no certificate file, and the same
//! roots are trusted on every machine, from a laptop to Lambda. New roots
//! come with a rebuild; docs/ARCHITECTURE.md ("What a cold start does")
//! says why this, and not the image's bundle, and what it means for a
//! private CA.

/// The roots as one PEM document: the form the AWS SDK's TLS context
/// takes, written from the same list by the build (build.rs).
pub fn pem() -> &'static [u8] {
    include_bytes!(concat!(env!("OUT_DIR"), "/roots.pem"))
}

/// The roots as a rustls store, for an HTTPS client of our own (the human
/// check's).
pub fn root_store() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let (_added, ignored) =
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "some compiled-in root certificates could not be parsed"
        );
    }
    roots
}

/// A loopback TLS server whose certificate is self-signed, for the tests
/// that show every HTTPS client here verifies the server it talks to.
#[cfg(test)]
pub(crate) mod untrusted_server {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::sync::Arc;
    use tokio::sync::mpsc;

    /// The server: its port, its certificate, and how each handshake ended
    /// (`Err` with the server's reason, such as the client's alert).
    pub(crate) struct Server {
        pub(crate) port: u16,
        pub(crate) certificate: CertificateDer<'static>,
        pub(crate) handshakes: mpsc::UnboundedReceiver<Result<(), String>>,
    }

    /// Starts a server for `localhost` with a certificate no root signed.
    pub(crate) async fn start() -> Server {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let certificate = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tell, handshakes) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let outcome = acceptor
                    .accept(stream)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                if tell.send(outcome).is_err() {
                    return;
                }
            }
        });
        Server {
            port,
            certificate,
            handshakes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    #[test]
    fn the_pem_document_holds_every_compiled_in_root_and_each_decodes_to_its_der() {
        let decoded = CertificateDer::pem_slice_iter(pem())
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        assert!(
            decoded.len() > 100,
            "Mozilla's list has well over 100 roots"
        );
        assert_eq!(decoded, webpki_root_certs::TLS_SERVER_ROOT_CERTS);
    }

    #[test]
    fn the_store_trusts_the_roots_of_amazon_and_cloudflares_issuers() {
        let roots = root_store();
        assert_eq!(roots.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        let names: Vec<String> = roots
            .roots
            .iter()
            .map(|anchor| String::from_utf8_lossy(anchor.subject.as_ref()).into_owned())
            .collect();
        // AWS's endpoints chain to Amazon's roots (and to Starfield's, for
        // older clients); siteverify's certificates are issued by Google
        // Trust Services and others under public roots.
        for expected in ["Amazon Root CA 1", "Starfield Services Root", "GTS Root R1"] {
            assert!(
                names.iter().any(|n| n.contains(expected)),
                "{expected} is among the roots"
            );
        }
    }

    #[tokio::test]
    async fn the_test_server_completes_a_handshake_with_a_client_that_trusts_its_certificate() {
        // The control for the refusals elsewhere: they fail for the
        // certificate, not for a server that cannot shake hands.
        let mut server = untrusted_server::start().await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(server.certificate.clone()).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        connector
            .connect(name, tcp)
            .await
            .expect("a trusted handshake");
        assert_eq!(server.handshakes.recv().await, Some(Ok(())));
    }
}
