//! Local files that hold patients' data (the database, the outbox, the
//! match key) are made readable by their owner alone, whatever the umask:
//! a laptop's other accounts and services must not read them.

use std::path::Path;

/// The mode of a folder only its owner may list or enter.
pub const DIR_MODE: u32 = 0o700;

/// The mode of a file only its owner may read or write.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parents, each new one owner-only, and
/// makes `dir` itself owner-only if it was there already (a folder made
/// by an earlier version, or by hand, with the umask's mode).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    restrict(dir, DIR_MODE)
}

/// Makes an existing file owner-only, or creates it empty and owner-only.
pub fn touch_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)?;
    restrict(path, FILE_MODE)
}

/// Options that create a new file owner-only.
pub fn new_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_their_owners_alone_new_or_already_there() {
        let root = std::env::temp_dir().join(format!("owner-only-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let nested = root.join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!((mode(&root), mode(&nested)), (0o700, 0o700));

        let open = root.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);

        let file = root.join("db");
        touch_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&file, b"kept").unwrap();
        touch_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"kept",
            "an existing file keeps its bytes"
        );

        let written = root.join("written");
        std::io::Write::write_all(&mut new_file().open(&written).unwrap(), b"x").unwrap();
        assert_eq!(mode(&written), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
