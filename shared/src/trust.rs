//! The roots of trust of every HTTPS connection a function makes, to AWS's
//! endpoints and to Cloudflare's siteverify: Mozilla's, compiled in as
//! ready trust anchors (`webpki-roots`), so a start reads no certificate
//! file and parses no certificate, and the same roots are trusted on every
//! machine, from a laptop to Lambda. New roots come with a rebuild;
//! docs/ARCHITECTURE.md ("What a cold start does") says why this, and not
//! the image's bundle, and what it means for a private CA.

use std::sync::Arc;

/// The roots as a rustls store.
pub fn root_store() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The TLS configuration of every HTTPS client here (the AWS SDK's and the
/// human check's): rustls with aws-lc-rs, TLS 1.2 and 1.3, these roots.
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(root_store())
        .with_no_client_auth())
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

    impl Server {
        /// Waits for the next handshake and checks that the client refused
        /// the certificate (the server sees the client's UnknownCA alert).
        pub(crate) async fn refused(&mut self) {
            let handshake = self.handshakes.recv().await.expect("a handshake");
            assert!(
                handshake
                    .as_ref()
                    .is_err_and(|why| why.contains("UnknownCA")),
                "the client refused the certificate: {handshake:?}"
            );
        }
    }

    /// Answers one request on a connection whose handshake completed, as
    /// DynamoDB answers a `ListTables` of an account without tables.
    async fn answer(mut stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut head = Vec::new();
        let mut buffer = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => head.extend_from_slice(&buffer[..read]),
            }
        }
        let body = r#"{"TableNames":[]}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
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
                let outcome = match acceptor.accept(stream).await {
                    Ok(stream) => {
                        tokio::spawn(answer(stream));
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                };
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

    #[test]
    fn the_store_trusts_the_roots_of_amazon_and_cloudflares_issuers() {
        let roots = root_store();
        assert!(roots.len() > 100, "Mozilla's list has well over 100 roots");
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
