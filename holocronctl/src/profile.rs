//! Named connection profiles in a TOML file.
//!
//! The file is `--config-file`, else `$HOLOCRON_CONFIG`, else
//! `$XDG_CONFIG_HOME/holocron/holocronctl.toml`, else
//! `~/.config/holocron/holocronctl.toml`:
//!
//! ```toml
//! current = "prod"
//! [profiles.prod]
//! brokers = ["10.0.0.1:9092", "10.0.0.2:9092"]
//! tls = true
//! tls_ca = "/etc/holocron/ca.pem"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::{CtlError, CtlResult, ErrorClass};

/// The whole config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    /// The profile used when none is named.
    pub current: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile: how to reach one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Bootstrap brokers, `HOST:PORT`.
    #[serde(default)]
    pub brokers: Vec<String>,
    /// Connect with TLS.
    #[serde(default)]
    pub tls: bool,
    /// CA certificate (PEM).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mTLS.
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mTLS.
    pub tls_key: Option<PathBuf>,
    /// Server name to verify.
    pub tls_server_name: Option<String>,
}

/// Where the config file is.
pub fn config_path(explicit: Option<&Path>) -> CtlResult<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_owned());
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".config"),
            None => {
                return Err(CtlError::usage(
                    "cannot find a config directory: set --config-file or HOLOCRON_CONFIG",
                ))
            }
        },
    };
    Ok(base.join("holocron").join("holocronctl.toml"))
}

/// Reads the file; a missing file is an empty config.
pub fn load(path: &Path) -> CtlResult<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            CtlError::new(
                ErrorClass::Failure,
                format!("{}: {}", path.display(), e.message()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(CtlError::from(e).context(path.display())),
    }
}

/// Writes the file atomically (temp file + rename), creating its directory.
pub fn save(path: &Path, config: &ConfigFile) -> CtlResult {
    let text = toml::to_string_pretty(config)
        .map_err(|e| CtlError::new(ErrorClass::Failure, format!("encoding config: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CtlError::from(e).context(dir.display()))?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(|e| CtlError::from(e).context(tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| CtlError::from(e).context(path.display()))
}
