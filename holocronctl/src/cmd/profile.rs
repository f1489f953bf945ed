//! `profile create|use|list|delete`: named connection settings in the config
//! file (see [`crate::profile`]).

use serde::{Deserialize, Serialize};

use crate::cli::{GlobalArgs, ProfileCmd};
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};
use crate::profile::{self as file, Profile};

/// `holocron.profile.list/v1`: every profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileList {
    /// The config file.
    pub path: String,
    /// The current profile, if any.
    pub current: Option<String>,
    /// Profiles by name.
    pub profiles: Vec<ProfileEntry>,
}

/// One profile in `profile list`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileEntry {
    /// Name.
    pub name: String,
    /// Whether it is the current one.
    pub current: bool,
    /// Its settings.
    #[serde(flatten)]
    pub profile: Profile,
}

/// `holocron.profile.create/v1`, `holocron.profile.use/v1`,
/// `holocron.profile.delete/v1`: what changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileChange {
    /// `created`, `used` or `deleted`.
    pub action: String,
    /// The profile.
    pub name: String,
    /// The current profile afterwards.
    pub current: Option<String>,
    /// The config file.
    pub path: String,
}

impl Document for ProfileList {
    fn schema(&self) -> &'static str {
        "holocron.profile.list/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["name", "current", "brokers", "tls"]);
        for p in &self.profiles {
            t.add_row(vec![
                p.name.clone(),
                if p.current { "*".into() } else { String::new() },
                p.profile.brokers.join(","),
                p.profile.tls.to_string(),
            ]);
        }
        format!("{}(file: {})\n", output::render(&t), self.path)
    }
}

impl Document for ProfileChange {
    fn schema(&self) -> &'static str {
        match self.action.as_str() {
            "created" => "holocron.profile.create/v1",
            "used" => "holocron.profile.use/v1",
            _ => "holocron.profile.delete/v1",
        }
    }
    fn human(&self, _out: &Out) -> String {
        format!(
            "profile {:?} {} (current: {})\n",
            self.name,
            self.action,
            self.current.as_deref().unwrap_or("none")
        )
    }
}

fn not_found(name: &str, path: &std::path::Path) -> CtlError {
    CtlError::new(
        ErrorClass::NotFound,
        format!("profile {name:?} is not in {}", path.display()),
    )
}

/// Runs a profile command (no network).
pub fn run(cmd: ProfileCmd, global: &GlobalArgs, out: &Out) -> CtlResult {
    let path = file::config_path(global.config.as_deref())?;
    let mut config = file::load(&path)?;
    let shown = path.display().to_string();
    let change = |action: &str, name: String, current: Option<String>| ProfileChange {
        action: action.into(),
        name,
        current,
        path: shown.clone(),
    };
    match cmd {
        ProfileCmd::List => out.emit(&ProfileList {
            path: shown.clone(),
            current: config.current.clone(),
            profiles: config
                .profiles
                .iter()
                .map(|(name, p)| ProfileEntry {
                    name: name.clone(),
                    current: config.current.as_ref() == Some(name),
                    profile: p.clone(),
                })
                .collect(),
        }),
        ProfileCmd::Create {
            name,
            make_current,
            force,
        } => {
            if name.is_empty() {
                return Err(CtlError::usage("a profile needs a name"));
            }
            if global.brokers.is_empty() {
                return Err(CtlError::usage("give the profile's brokers with --brokers"));
            }
            if config.profiles.contains_key(&name) && !force {
                return Err(CtlError::new(
                    ErrorClass::AlreadyExists,
                    format!("profile {name:?} already exists (use --force to replace it)"),
                ));
            }
            let t = &global.tls;
            let profile = Profile {
                brokers: global.brokers.clone(),
                tls: t.tls || t.tls_ca.is_some() || t.tls_cert.is_some(),
                tls_ca: t.tls_ca.clone(),
                tls_cert: t.tls_cert.clone(),
                tls_key: t.tls_key.clone(),
                tls_server_name: t.tls_server_name.clone(),
            };
            config.profiles.insert(name.clone(), profile);
            if make_current || config.current.is_none() {
                config.current = Some(name.clone());
            }
            file::save(&path, &config)?;
            out.emit(&change("created", name, config.current.clone()))
        }
        ProfileCmd::Use { name } => {
            if !config.profiles.contains_key(&name) {
                return Err(not_found(&name, &path));
            }
            config.current = Some(name.clone());
            file::save(&path, &config)?;
            out.emit(&change("used", name, config.current.clone()))
        }
        ProfileCmd::Delete { name } => {
            if config.profiles.remove(&name).is_none() {
                return Err(not_found(&name, &path));
            }
            if config.current.as_ref() == Some(&name) {
                config.current = None;
            }
            file::save(&path, &config)?;
            out.emit(&change("deleted", name, config.current.clone()))
        }
    }
}
