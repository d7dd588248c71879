//! Writes Mozilla's compiled-in roots (`webpki-root-certs`) as one PEM
//! document into the build's output, so that `shared::trust` hands the AWS
//! SDK's TLS context the form it takes without encoding it at every start.

use base64::Engine;
use std::io::Write;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for a build script");
    let path = std::path::Path::new(&out).join("roots.pem");
    let mut pem = Vec::new();
    for certificate in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let text = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in text.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(&pem))
        .expect("the roots' PEM is written to OUT_DIR");
    println!("cargo::rerun-if-changed=build.rs");
}
