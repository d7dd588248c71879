//! The repository holds what it cites and nothing it builds: no build
//! output (`target/`, `.aws-sam/`, executables) is tracked, and the
//! documents the README links to exist.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn no_build_output_is_tracked() {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git ls-files failed");
    let files: Vec<String> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert!(files.iter().any(|f| f == "Cargo.toml"), "{files:?}");
    for file in &files {
        for built in ["target/", ".aws-sam/", ".frontdesk/", "node_modules/"] {
            assert!(
                !file.starts_with(built) && !file.contains(&format!("/{built}")),
                "{file} is build output"
            );
        }
        let Ok(bytes) = std::fs::read(root().join(file)) else {
            continue;
        };
        // ELF (Linux), Mach-O and PE executables, and zip archives.
        let executable = bytes.starts_with(b"\x7fELF")
            || bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
            || bytes.starts_with(b"MZ")
            || bytes.starts_with(b"PK\x03\x04");
        assert!(!executable, "{file} is a built binary or archive");
    }
    let ignored = std::fs::read_to_string(root().join(".gitignore")).expect(".gitignore");
    for built in ["target", ".aws-sam"] {
        assert!(
            ignored.contains(built),
            ".gitignore does not ignore {built}"
        );
    }
}

#[test]
fn every_document_the_readme_links_to_exists() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut linked = 0;
    for part in readme.split("](").skip(1) {
        let target = part.split(')').next().unwrap_or_default();
        if target.starts_with("http") || target.starts_with('#') || target.starts_with("mailto:") {
            continue;
        }
        let path = target.split('#').next().unwrap_or_default();
        assert!(
            root().join(path).exists(),
            "README.md links to {path}, which is missing"
        );
        linked += 1;
    }
    assert!(linked > 0, "README.md links to no document");
    assert!(root().join("docs/ARCHITECTURE.md").exists());
}
