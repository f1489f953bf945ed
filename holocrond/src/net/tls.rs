//! TLS for client listeners: the rustls server config built from the
//! certificate files, reloaded without a restart when the files change
//! (checked every few seconds) or on SIGHUP. A reload that fails keeps the
//! previous config and says why.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use holocron_certs::tls::server_config;
use parking_lot::{Mutex, RwLock};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// How often the certificate files are checked for changes.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The material is unusable.
    #[error(transparent)]
    Cert(#[from] holocron_certs::CertError),
}

/// The live server config of the TLS listeners.
#[derive(Debug)]
pub struct TlsState {
    files: TlsFiles,
    config: RwLock<Arc<ServerConfig>>,
    stamps: Mutex<Vec<Option<SystemTime>>>,
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

impl TlsState {
    /// Loads the files once; errors here stop the broker from starting.
    pub fn load(files: TlsFiles) -> Result<TlsState, TlsError> {
        let config = build(&files)?;
        let stamps = stamps(&files);
        Ok(TlsState {
            files,
            config: RwLock::new(config),
            stamps: Mutex::new(stamps),
        })
    }

    /// An acceptor with the current config.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.read().clone())
    }

    /// Reloads if the files changed (or always, when `force`). Returns
    /// whether a new config is in use.
    pub fn reload(&self, force: bool) -> Result<bool, TlsError> {
        let now = stamps(&self.files);
        if !force && *self.stamps.lock() == now {
            return Ok(false);
        }
        *self.stamps.lock() = now;
        let config = build(&self.files)?;
        *self.config.write() = config;
        Ok(true)
    }

    /// Watches the files and SIGHUP until shutdown.
    pub async fn watch(self: Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            let force = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
                () = shutdown.cancelled() => return,
            };
            match self.reload(force) {
                Ok(true) => {
                    tracing::info!(cert = %self.files.cert.display(), "reloaded TLS certificates")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificates not reloaded; keeping the previous ones")
                }
            }
        }
    }
}

fn stamps(files: &TlsFiles) -> Vec<Option<SystemTime>> {
    [Some(&files.cert), Some(&files.key), files.ca.as_ref()]
        .into_iter()
        .flatten()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

fn build(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let cert = read(&files.cert)?;
    let key = read(&files.key)?;
    let ca = files.ca.as_deref().map(read).transpose()?;
    Ok(server_config(
        &cert,
        &key,
        ca.as_deref(),
        files.client_auth,
    )?)
}
