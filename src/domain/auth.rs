//! Who may do what: roles, password policy and the login lockout rule.

use super::Invalid;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Lead,
    Picker,
    Packer,
    /// Hulklip operator at a cutting station.
    Operator,
    Finance,
    /// A machine client such as the ordering web system.
    Integration,
    /// A wall screen: reads the lead's dashboard and nothing else (an API token of this role is
    /// a wall screen's key).
    Dashboard,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Lead,
        Role::Picker,
        Role::Packer,
        Role::Operator,
        Role::Finance,
        Role::Integration,
        Role::Dashboard,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Lead => "lead",
            Role::Picker => "picker",
            Role::Packer => "packer",
            Role::Operator => "operator",
            Role::Finance => "finance",
            Role::Integration => "integration",
            Role::Dashboard => "dashboard",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|r| r.as_str()).collect();
                Invalid::new("role", format!("must be one of {}", names.join(", ")))
            })
    }
}

/// Groups of roles used by the API's access rules.
pub mod allow {
    use super::Role::{self, *};
    pub const ANY_STAFF: &[Role] = &[Admin, Lead, Picker, Packer, Operator, Finance];
    pub const CATALOG_READ: &[Role] =
        &[Admin, Lead, Picker, Packer, Operator, Finance, Integration];
    pub const CATALOG_WRITE: &[Role] = &[Admin, Lead];
    pub const STOCK_READ: &[Role] = &[Admin, Lead, Picker, Packer, Operator, Finance];
    /// Receiving and moving are floor work.
    pub const STOCK_FLOOR: &[Role] = &[Admin, Lead, Picker, Packer];
    /// Corrections, quarantine, scrap and ownership changes need a lead.
    pub const STOCK_CONTROL: &[Role] = &[Admin, Lead];
    pub const STATEMENTS: &[Role] = &[Admin, Lead, Finance];
    pub const EVENTS: &[Role] = &[Admin, Lead, Integration];
    pub const ADMIN: &[Role] = &[Admin];
    /// Hand over, change and cancel orders; follow their status and change feed.
    pub const ORDERS: &[Role] = &[Admin, Lead, Integration];
    /// Read an order with the citizen's name and address (audit-logged).
    pub const ORDER_PERSONAL: &[Role] = &[Admin, Lead, Packer, Integration];
    /// Release a backordered order partially; make and assign waves.
    pub const LEAD: &[Role] = &[Admin, Lead];
    /// Read the lead's dashboard: leads, and wall screens with a dashboard key.
    pub const DASHBOARD: &[Role] = &[Admin, Lead, Dashboard];
    /// Take waves and pick.
    pub const PICKING: &[Role] = &[Admin, Lead, Picker];
    /// See waves and their progress.
    pub const WAVES_READ: &[Role] = &[Admin, Lead, Picker, Packer, Operator];
    /// Print labels and follow print jobs; see printers and their queues.
    pub const PRINTING: &[Role] = &[Admin, Lead, Packer, Operator, Integration];
    /// Read a printed label (it may hold a name and address; audit-logged).
    pub const PRINT_LABEL_READ: &[Role] = &[Admin, Lead, Packer];
    /// Pack orders into parcels, close, void and reprint them.
    pub const PACKING: &[Role] = &[Admin, Lead, Packer];
    /// See parcels (no personal data).
    pub const PARCELS_READ: &[Role] = &[Admin, Lead, Packer, Finance, Integration];
    /// See cutting stations and their jobs (a packer waits for an order's cut box).
    pub const CUTTING_READ: &[Role] = &[Admin, Lead, Operator, Packer];
    /// Work at a cutting station: start jobs, report problems, command the station, reprint stickers.
    pub const CUTTING: &[Role] = &[Admin, Lead, Operator];
    /// See the replacement picks of damaged plates (pickers pick them, operators wait for them).
    pub const CUT_REPLACEMENTS_READ: &[Role] = &[Admin, Lead, Operator, Picker];
    /// See the serial scanners and their connection.
    pub const SCANNERS_READ: &[Role] = &[Admin, Lead];
}

pub fn username(s: &str) -> Result<String, Invalid> {
    let v = s.trim();
    if v.len() < 2 || v.len() > 64 {
        return Err(Invalid::new("username", "must be 2 to 64 characters"));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
    {
        return Err(Invalid::new(
            "username",
            "may contain only letters, digits, '-', '_', '.' and '@'",
        ));
    }
    Ok(v.to_ascii_lowercase())
}

pub const MIN_PASSWORD_LEN: usize = 10;

pub fn password_policy(p: &str) -> Result<(), Invalid> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(Invalid::new(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if p.len() > 1024 {
        return Err(Invalid::new("password", "must be at most 1024 bytes"));
    }
    Ok(())
}

/// The lockout rule: after `threshold` failed logins in a row the account is locked for `lock_for`.
#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    pub threshold: i64,
    pub lock_for: Duration,
}

impl Lockout {
    /// The failure count and lock time after one more failed login.
    pub fn after_failure(
        &self,
        failures_before: i64,
        now: DateTime<Utc>,
    ) -> (i64, Option<DateTime<Utc>>) {
        let failures = failures_before + 1;
        if failures >= self.threshold {
            (0, Some(now + self.lock_for))
        } else {
            (failures, None)
        }
    }

    pub fn is_locked(locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        locked_until.is_some_and(|t| t > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifth_failure_locks_for_fifteen_minutes() {
        let rule = Lockout {
            threshold: 5,
            lock_for: Duration::minutes(15),
        };
        let now = Utc::now();
        let mut failures = 0;
        for _ in 0..4 {
            let (f, lock) = rule.after_failure(failures, now);
            assert!(lock.is_none());
            failures = f;
        }
        let (_, lock) = rule.after_failure(failures, now);
        assert_eq!(lock, Some(now + Duration::minutes(15)));
        assert!(Lockout::is_locked(lock, now + Duration::minutes(14)));
        assert!(!Lockout::is_locked(lock, now + Duration::minutes(16)));
    }

    #[test]
    fn unknown_role_lists_the_known_ones() {
        assert!(Role::parse("boss")
            .unwrap_err()
            .message
            .contains("integration"));
        assert_eq!(Role::parse("picker").unwrap(), Role::Picker);
    }
}
