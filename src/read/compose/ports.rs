//! A service's ports: `ports` (published on the host, short and long syntax) and `expose`.

use yaml_serde::Value;

use super::{problem, Context, Port, Problem, Reader, Service};
use crate::read::yaml::{kind_of, scalar_string};

impl<C: Context> Reader<'_, C> {
    /// `expose`: TCP ports the Service carries; other protocols kept with theirs, so the plan can
    /// tell them apart from TCP.
    pub(super) fn expose(&mut self, v: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        for (i, item) in self.list(v, path)?.into_iter().enumerate() {
            let (number, protocol) = item.split_once('/').unwrap_or((&item, "tcp"));
            let numbers = port_range(number, &format!("{path}[{i}]"))?;
            if protocol.eq_ignore_ascii_case("tcp") {
                svc.expose.extend(numbers);
            } else {
                // Kept with its protocol, so the plan can tell it apart from TCP.
                let port = |container| Port {
                    container,
                    published: None,
                    protocol: protocol.to_string(),
                    publish: false,
                    host_ip: None,
                };
                svc.ports.extend(numbers.into_iter().map(port));
            }
        }
        Ok(())
    }

    pub(super) fn ports(&mut self, value: &Value, path: &str) -> Result<Vec<Port>, Problem> {
        let Value::Sequence(items) = value else {
            return Err(problem(path, "ports", format!("ports is {}, not a list", kind_of(value))));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(m) = item {
                let target = m.get("target").ok_or_else(|| problem(&at, "target", "port has no `target`"))?;
                let raw = scalar_string(target).unwrap_or_default();
                let target = self.s(target, &at)?;
                let published = m.get("published").map(|p| self.s(p, &at)).transpose()?;
                if let Some(host) = published.as_deref().filter(|h| !h.trim().is_empty()) {
                    port_range(host, &at)?;
                }
                let host_ip = m.get("host_ip").map(|p| self.s(p, &at)).transpose()?;
                let protocol = m.get("protocol").map(|p| self.s(p, &at)).transpose()?.unwrap_or_else(|| "tcp".into());
                for container in port_range(&target, &at).map_err(|e| unset_hint(e, &raw))? {
                    out.push(Port {
                        container,
                        published: published.clone(),
                        protocol: protocol.clone(),
                        publish: true,
                        host_ip: host_ip.clone(),
                    });
                }
                continue;
            }
            let raw = scalar_string(item).unwrap_or_default();
            let text = self.s(item, &at)?;
            let (spec, protocol) = match text.rsplit_once('/') {
                Some((spec, proto)) => (spec.to_string(), proto.to_string()),
                None => (text.clone(), "tcp".to_string()),
            };
            // [ip:][host:]container; an IPv6 address is in brackets (`[::1]:8080:80`).
            let (host_ip, rest) = match spec.strip_prefix('[').and_then(|r| r.split_once("]:")) {
                Some((ip, rest)) => (Some(ip.to_string()), rest.to_string()),
                None => (None, spec.clone()),
            };
            let parts: Vec<&str> = rest.split(':').collect();
            let (host_ip, published, container) = match parts.as_slice() {
                [container] => (host_ip, None, *container),
                [host, container] => (host_ip, Some(host.to_string()), *container),
                [ip @ .., host, container] => (Some(ip.join(":")), Some(host.to_string()), *container),
                [] => (host_ip, None, ""),
            };
            if let Some(host) = published.as_deref().filter(|h| !h.is_empty()) {
                port_range(host, &at).map_err(|e| unset_hint(e, &raw))?;
            }
            for port in port_range(container, &at).map_err(|e| unset_hint(e, &raw))? {
                out.push(Port {
                    container: port,
                    published: published.clone(),
                    protocol: protocol.clone(),
                    publish: true,
                    host_ip: host_ip.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// A port problem whose text came from variables (`${APP_PORT}`): name them, since an empty or
/// wrong port is most often an unset variable.
fn unset_hint(mut p: Problem, raw: &str) -> Problem {
    let mut names: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let braced = rest.starts_with('{');
        let body = if braced { &rest[1..] } else { rest };
        let name: String = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    if !names.is_empty() {
        let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        p.message = if p.message.starts_with("invalid port ``") {
            format!("empty port in `{raw}`: {list} is unset or empty")
        } else {
            format!("{} in `{raw}`, from {list}", p.message)
        };
        p.help = format!("set {list} in the env file (.env or --env-file) or with --set, or fix `{raw}`");
        if p.needle.is_empty() {
            p.needle = raw.to_string();
        }
    }
    p
}

/// `8080` or a range `3000-3002`; each number must be a port (1–65535).
fn port_range(text: &str, path: &str) -> Result<Vec<u16>, Problem> {
    let one = |t: &str| -> Result<u16, Problem> {
        let t = t.trim();
        match t.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(Problem {
                path: path.to_string(),
                needle: t.to_string(),
                message: format!("invalid port `{t}` (a port is a number from 1 to 65535)"),
                help: "fix the port, or the variable that sets it".to_string(),
            }),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if b < a || b - a > 1000 {
                return Err(problem(path, text, format!("invalid port range `{text}`")));
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![one(text)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges() {
        assert_eq!(port_range("80", "p").unwrap(), vec![80]);
        assert_eq!(port_range("3000-3002", "p").unwrap(), vec![3000, 3001, 3002]);
        let e = port_range("70000", "p").unwrap_err();
        assert!(e.message.contains("70000"));
        assert!(port_range("0", "p").is_err());
    }
}
