//! The roots of trust of every HTTPS connection a function makes, to AWS's
//! endpoints and to Cloudflare's siteverify: Mozilla's, compiled in
//! (`webpki-root-certs`). A start reads no certificate file, and the same
//! roots are trusted on every machine, from a laptop to Lambda. New roots
//! come with a rebuild; docs/ARCHITECTURE.md ("What a cold start does")
//! says why this, and not the image's bundle, and what it means for a
//! private CA.

use base64::Engine;
use std::sync::LazyLock;

/// Mozilla's roots as one PEM document, encoded once per process.
static PEM: LazyLock<Vec<u8>> = LazyLock::new(|| encode(webpki_root_certs::TLS_SERVER_ROOT_CERTS));

/// The roots as one PEM document: the form the AWS SDK's TLS context takes.
pub fn pem() -> &'static [u8] {
    &PEM
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

/// DER certificates as PEM, 64 characters a line (RFC 7468).
fn encode(certificates: &[rustls::pki_types::CertificateDer<'_>]) -> Vec<u8> {
    let mut pem = Vec::with_capacity(certificates.iter().map(|c| c.len() * 4 / 3 + 80).sum());
    for certificate in certificates {
        let text = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in text.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    pem
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
}
