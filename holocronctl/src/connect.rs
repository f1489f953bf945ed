//! Connection settings: `--brokers` / `HOLOCRON_BROKERS`, else the named or
//! current profile, else `127.0.0.1:9092`; TLS flags override the profile's.
//!
//! This is the one place connection flags become a client, so every tool
//! shares it: holocron-tui flattens [`GlobalArgs`] into its own command line
//! and calls [`resolve`] then [`connect`] (or [`Settings::client_config`]
//! to build a `holocron_proto` client itself).

use std::time::Duration;

use holocron_proto::client::{Client, ClientConfig, TlsSettings};

use crate::cli::GlobalArgs;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::profile::{self, Profile};

/// The default bootstrap address.
pub const DEFAULT_BROKERS: &str = "127.0.0.1:9092";

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bootstrap addresses.
    pub brokers: Vec<String>,
    /// TLS, if enabled (the files exist).
    pub tls: Option<TlsSettings>,
    /// Connect and request timeout.
    pub timeout: Duration,
}

/// Resolves the settings (reads the profile file if no brokers were given).
pub fn resolve(global: &GlobalArgs) -> CtlResult<Settings> {
    let mut chosen = Profile::default();
    if global.brokers.is_empty() || global.profile.is_some() {
        let path = profile::config_path(global.config.as_deref())?;
        let file = profile::load(&path)?;
        let name = global.profile.clone().or(file.current.clone());
        if let Some(name) = name {
            match file.profiles.get(&name) {
                Some(p) => chosen = p.clone(),
                None => {
                    return Err(CtlError::new(
                        ErrorClass::NotFound,
                        format!("profile {name:?} is not in {}", path.display()),
                    ))
                }
            }
        }
    }
    let brokers = if !global.brokers.is_empty() {
        global.brokers.clone()
    } else if !chosen.brokers.is_empty() {
        chosen.brokers.clone()
    } else {
        vec![DEFAULT_BROKERS.to_owned()]
    };
    let brokers: Vec<String> = brokers
        .iter()
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .collect();
    for b in &brokers {
        let ok = b
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            return Err(CtlError::usage(format!(
                "bad broker address {b:?}: expected HOST:PORT"
            )));
        }
    }
    if brokers.is_empty() {
        return Err(CtlError::usage("--brokers is empty"));
    }
    let t = &global.tls;
    let enabled = t.tls || chosen.tls || t.tls_ca.is_some() || t.tls_cert.is_some();
    let tls = if enabled {
        let ca = t.tls_ca.clone().or(chosen.tls_ca);
        let cert = t.tls_cert.clone().or(chosen.tls_cert);
        let key = t.tls_key.clone().or(chosen.tls_key);
        for f in [&ca, &cert, &key].into_iter().flatten() {
            if !f.is_file() {
                return Err(CtlError::usage(format!(
                    "TLS file {} does not exist",
                    f.display()
                )));
            }
        }
        let identity = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err(CtlError::usage("--tls-cert and --tls-key go together")),
        };
        let Some(ca) = ca else {
            return Err(CtlError::usage(
                "TLS needs the CA that signed the brokers' certificates: --tls-ca FILE \
                 (or tls_ca in the profile); holocronctl does not use a system trust store",
            ));
        };
        Some(TlsSettings {
            ca,
            identity,
            server_name: t.tls_server_name.clone().or(chosen.tls_server_name),
        })
    } else {
        None
    };
    Ok(Settings {
        brokers,
        tls,
        timeout: global.timeout,
    })
}

impl Settings {
    /// A `holocron_proto` client config for these settings (reads the TLS
    /// files).
    pub fn client_config(&self, client_id: &str) -> CtlResult<ClientConfig> {
        let mut config = ClientConfig::new(self.brokers.clone());
        config.client_id = client_id.into();
        config.timeout = self.timeout;
        if let Some(tls) = &self.tls {
            config.connector = Some(tls.connector()?);
        }
        Ok(config)
    }
}

/// Connects to the first bootstrap broker that answers.
pub async fn connect(settings: &Settings) -> CtlResult<Client> {
    Ok(Client::connect(settings.client_config("holocronctl")?).await?)
}
