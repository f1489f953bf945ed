//! PEM files: keys are created 0600 and certificates 0644, and nothing is
//! overwritten unless the caller says so.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::CertError;

/// Whether a file may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse if the file exists.
    Refuse,
    /// Replace it.
    Allow,
}

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_MODE: u32 = 0o644;

/// Writes `contents` to `path` with `mode`, atomically (temp file + rename).
pub fn write_pem(
    path: &Path,
    contents: &str,
    mode: u32,
    overwrite: Overwrite,
) -> Result<(), CertError> {
    let io = |source| CertError::Io {
        path: path.to_owned(),
        source,
    };
    if overwrite == Overwrite::Refuse && path.exists() {
        return Err(CertError::Exists(path.to_owned()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp-write");
    let _ = std::fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(contents.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a PEM file.
pub fn read_pem(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|source| CertError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_private_and_files_are_not_clobbered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("sub/node.key");
        write_pem(&key, "KEY", KEY_MODE, Overwrite::Refuse).expect("write");
        let mode = std::fs::metadata(&key).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            write_pem(&key, "OTHER", KEY_MODE, Overwrite::Refuse),
            Err(CertError::Exists(_))
        ));
        write_pem(&key, "NEW", KEY_MODE, Overwrite::Allow).expect("overwrite");
        assert_eq!(read_pem(&key).expect("read"), "NEW");
    }
}
