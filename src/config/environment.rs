//! The deployment environment (`environment`): what kind of installation this is. Today it
//! decides one thing: demo data (users with known passwords) is never loaded in production.

use serde::{Deserialize, Serialize};

/// `production` (the default: a configuration that says nothing is treated as the real thing),
/// `test` or `development`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    Test,
    Development,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Test => "test",
            Environment::Development => "development",
        }
    }

    /// Demo data may be loaded here (into an empty database only; see `service::demo`).
    pub fn allows_demo_data(self) -> bool {
        self != Environment::Production
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};
    use std::path::Path;

    #[test]
    fn production_is_the_default_and_the_only_environment_without_demo_data() {
        assert_eq!(Config::default().environment, Environment::Production);
        assert!(!Environment::Production.allows_demo_data());
        assert!(Environment::Test.allows_demo_data());
        assert!(Environment::Development.allows_demo_data());
    }

    #[test]
    fn environment_is_read_from_the_file_and_the_environment_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("k.toml", "environment = \"test\"\n")?;
            let c = Config::load(Some(Path::new("k.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(c.environment, Environment::Test);
            jail.set_env("KONSIGN_ENVIRONMENT", "development");
            let c = Config::load(Some(Path::new("k.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(c.environment, Environment::Development);
            // Printed first, before the tables, so the TOML stays valid.
            assert!(c
                .to_masked_toml()
                .unwrap()
                .starts_with("environment = \"development\""));
            jail.set_env("KONSIGN_ENVIRONMENT", "prod");
            let e = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("environment") && e.contains("production"), "{e}");
            Ok(())
        });
    }
}
