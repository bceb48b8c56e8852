//! Who may do what: roles from config, checked in front of every handler.

use std::fmt;

use sentinel_bot::Actor;
use sentinel_bot::chat::Directory;

use super::config::{EVERYONE, Roles};

/// A role, lowest first; each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Anyone: may read (list, show, timeline, help).
    Anyone,
    /// Works an incident.
    Responder,
    /// Leads one.
    Commander,
    /// Runs the process.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Anyone => "anyone",
            Role::Responder => "responder",
            Role::Commander => "commander",
            Role::Admin => "admin",
        })
    }
}

/// The highest role `actor` holds under `roles`. With no role configured everybody is an admin.
pub fn role_of(roles: &Roles, directory: &Directory, actor: &Actor) -> Role {
    if !roles.enforced() {
        return Role::Admin;
    }
    let person = directory.person_of(actor);
    let groups = directory.groups_of(actor);
    let holds = |members: &[String]| {
        members
            .iter()
            .any(|m| m == EVERYONE || Some(m.as_str()) == person || groups.iter().any(|g| g == m))
    };
    if holds(&roles.admin) {
        Role::Admin
    } else if holds(&roles.commander) {
        Role::Commander
    } else if holds(&roles.responder) {
        Role::Responder
    } else {
        Role::Anyone
    }
}

/// The explanation a refused caller reads.
pub fn refusal(what: &str, needed: Role, held: Role) -> String {
    let needed = match needed {
        Role::Commander => "the commander or admin role".to_owned(),
        Role::Responder => "the responder, commander or admin role".to_owned(),
        other => format!("the {other} role"),
    };
    let held = match held {
        Role::Anyone => "no incident role".to_owned(),
        other => format!("the {other} role"),
    };
    format!("You are not allowed to {what}: it needs {needed}, and you have {held}. Ask an incident commander.")
}
