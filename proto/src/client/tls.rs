//! TLS to brokers: a [`Connector`] that opens TCP and does a rustls
//! handshake, and [`TlsSettings`], the file-based settings every tool
//! (holocronctl, the TUI) turns into one.
//!
//! Trust is explicit: the broker's certificate must chain to the given CA
//! (there is no system trust store), and its name must match the host the
//! client dials unless a server name is given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig as RustlsConfig;

use super::cluster::{ConnectFuture, Connector};
use super::error::ClientError;

/// TLS settings by file: a CA to trust and, for mTLS, a client identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// CA certificate (PEM) the broker's certificate must chain to.
    pub ca: PathBuf,
    /// Client certificate and key (PEM), for brokers that require mTLS.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// Name to verify the broker's certificate against, instead of the
    /// host part of the address dialled.
    pub server_name: Option<String>,
}

impl TlsSettings {
    /// Reads the files and builds a connector.
    pub fn connector(&self) -> Result<Arc<dyn Connector>, ClientError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| ClientError::TlsSetup(format!("{}: {e}", p.display())))
        };
        let ca = read(&self.ca)?;
        let identity = match &self.identity {
            Some((cert, key)) => Some((read(cert)?, read(key)?)),
            None => None,
        };
        let config = holocron_certs::tls::client_config(
            &ca,
            identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str())),
        )
        .map_err(|e| ClientError::TlsSetup(e.to_string()))?;
        Ok(Arc::new(TlsConnector::new(
            config,
            self.server_name.clone(),
        )?))
    }
}

/// Opens TCP connections and wraps them in TLS.
#[derive(Debug, Clone)]
pub struct TlsConnector {
    config: Arc<RustlsConfig>,
    server_name: Option<ServerName<'static>>,
}

fn server_name(name: &str) -> Result<ServerName<'static>, ClientError> {
    ServerName::try_from(name.to_owned())
        .map_err(|_| ClientError::TlsSetup(format!("{name:?} is not a valid TLS server name")))
}

/// The host of `HOST:PORT` (`[::1]:9093` gives `::1`).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

impl TlsConnector {
    /// A connector with a rustls client config (see
    /// `holocron_certs::tls::client_config`); `server_name` overrides the
    /// dialled host in certificate verification.
    pub fn new(
        config: Arc<RustlsConfig>,
        server_name: Option<String>,
    ) -> Result<TlsConnector, ClientError> {
        Ok(TlsConnector {
            config,
            server_name: server_name.as_deref().map(self::server_name).transpose()?,
        })
    }
}

impl Connector for TlsConnector {
    fn connect(&self, addr: &str) -> ConnectFuture {
        let addr = addr.to_owned();
        let name = match &self.server_name {
            Some(n) => Ok(n.clone()),
            None => server_name(host_of(&addr)),
        };
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        Box::pin(async move {
            let name = name.map_err(std::io::Error::other)?;
            let tcp = TcpStream::connect(&addr).await?;
            let _ = tcp.set_nodelay(true);
            let tls = connector.connect(name, tcp).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof && tls_error(&e).is_none() {
                    std::io::Error::new(
                        e.kind(),
                        tokio_rustls::rustls::Error::General(
                            "the broker closed the connection during the handshake \
                             (is this a TLS listener?)"
                                .into(),
                        ),
                    )
                } else {
                    e
                }
            })?;
            Ok(Box::new(tls) as Box<dyn super::Stream>)
        })
    }
}

/// Whether an I/O error carries a TLS error, and which.
pub(crate) fn tls_error(e: &std::io::Error) -> Option<&tokio_rustls::rustls::Error> {
    e.get_ref()?.downcast_ref()
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_come_from_addresses() {
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("broker-1.example:9093"), "broker-1.example");
    }
}
