//! The security context the rules give a container (`defaults.security`, a service's `security`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub allow_privilege_escalation: Option<bool>,
    pub drop_capabilities: Option<Vec<String>>,
    pub add_capabilities: Option<Vec<String>>,
    pub seccomp: Option<String>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
    pub read_only_root: Option<bool>,
    /// With a read-only root filesystem: paths that get an empty writable directory.
    pub writable_paths: Option<Vec<String>>,
    /// `privileged: true`: only where the compose file asks for it (never from the rules' defaults).
    pub privileged: Option<bool>,
}

impl Security {
    /// Fields of `over` win.
    pub fn layered(&self, over: &Security) -> Security {
        Security {
            allow_privilege_escalation: over.allow_privilege_escalation.or(self.allow_privilege_escalation),
            drop_capabilities: over.drop_capabilities.clone().or_else(|| self.drop_capabilities.clone()),
            add_capabilities: over.add_capabilities.clone().or_else(|| self.add_capabilities.clone()),
            seccomp: over.seccomp.clone().or_else(|| self.seccomp.clone()),
            run_as_non_root: over.run_as_non_root.or(self.run_as_non_root),
            run_as_user: over.run_as_user.or(self.run_as_user),
            run_as_group: over.run_as_group.or(self.run_as_group),
            fs_group: over.fs_group.or(self.fs_group),
            read_only_root: over.read_only_root.or(self.read_only_root),
            writable_paths: over.writable_paths.clone().or_else(|| self.writable_paths.clone()),
            privileged: over.privileged.or(self.privileged),
        }
    }
}
