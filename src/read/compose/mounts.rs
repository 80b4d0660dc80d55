//! A service's `volumes`: bind mounts, named and anonymous volumes and tmpfs, in the short syntax
//! (Windows paths included) and the long one.

use yaml_serde::Value;

use super::{problem, Context, Mount, MountSource, Problem, Reader};
use crate::read::yaml::kind_of;

impl<C: Context> Reader<'_, C> {
    /// Mounts; a long-syntax type with no Kubernetes counterpart (`npipe`, `cluster`, `image`) is
    /// left out and listed in `unread`, so it is warned about.
    pub(super) fn volumes(
        &mut self,
        value: &Value,
        path: &str,
        unread: &mut Vec<String>,
    ) -> Result<Vec<Mount>, Problem> {
        let Value::Sequence(items) = value else {
            return Err(problem(path, "volumes", format!("volumes is {}, not a list", kind_of(value))));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(m) = item {
                let kind = m.get("type").map(|t| self.s(t, &at)).transpose()?.unwrap_or_else(|| "volume".into());
                let target = m.get("target").ok_or_else(|| problem(&at, "target", "volume has no `target`"))?;
                let target = self.s(target, &at)?;
                let source = m.get("source").map(|s| self.s(s, &at)).transpose()?;
                let read_only = match m.get("read_only") {
                    Some(r) => self.flag(r, &at)?,
                    None => false,
                };
                let source = match (kind.as_str(), source) {
                    ("bind", Some(s)) => MountSource::Bind(s),
                    ("tmpfs", _) => MountSource::Tmpfs,
                    ("volume", Some(s)) if !s.is_empty() => MountSource::Volume(s),
                    ("volume", _) => MountSource::Anonymous,
                    (other, _) => {
                        unread.push(format!("volumes (type {other} at {target})"));
                        continue;
                    }
                };
                out.push(Mount { source, target, read_only });
                continue;
            }
            let text = self.s(item, &at)?;
            // A Windows host path (`C:\data:/data`, `D:/x:/x:ro`) keeps its drive's colon.
            let drive = windows_drive(&text);
            let mut parts: Vec<&str> = text[drive.len()..].split(':').collect();
            let first = format!("{drive}{}", parts[0]);
            parts[0] = &first;
            // A Windows container path (`C:\data:D:\config:rw`, a Windows container) keeps its too.
            let joined;
            if parts.len() > 2
                && parts[1].len() == 1
                && !windows_drive(&format!("{}:{}", parts[1], parts[2])).is_empty()
            {
                joined = format!("{}:{}", parts[1], parts[2]);
                parts.splice(1..3, [joined.as_str()]);
            }
            let mount = match parts.as_slice() {
                [target] if drive.is_empty() => {
                    Mount { source: MountSource::Anonymous, target: target.to_string(), read_only: false }
                }
                [_] => {
                    return Err(problem(
                        &at,
                        &text,
                        format!("`{text}` names a Windows host path but no container path"),
                    ))
                }
                [source, target, rest @ ..] => {
                    let read_only = rest.iter().any(|m| m.split(',').any(|o| o == "ro"));
                    let source = if is_host_path(source) {
                        MountSource::Bind(source.to_string())
                    } else {
                        MountSource::Volume(source.to_string())
                    };
                    Mount { source, target: target.to_string(), read_only }
                }
                [] => continue,
            };
            out.push(mount);
        }
        Ok(out)
    }
}

fn is_host_path(source: &str) -> bool {
    source.starts_with('.')
        || source.starts_with('/')
        || source.starts_with('~')
        || source.contains('/')
        || !windows_drive(source).is_empty()
}

/// `C:` of a Windows path (`C:\data`, `c:/data`), else empty.
fn windows_drive(text: &str) -> &str {
    let b = text.as_bytes();
    if b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/') {
        &text[..2]
    } else {
        ""
    }
}
