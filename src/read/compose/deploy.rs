//! How a service runs: `restart`, and `deploy` (replicas, mode, resources, restart policy,
//! placement, update order), with the compose sizes and CPUs as Kubernetes quantities.

use yaml_serde::Value;

use super::{problem, Context, Problem, Reader, Service};

impl<C: Context> Reader<'_, C> {
    /// `restart`: `no`, `always`, `on-failure[:N]` or `unless-stopped`.
    pub(super) fn restart(&mut self, v: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        let text = self.s(v, path)?;
        let (word, attempts) = text.split_once(':').unwrap_or((&text, ""));
        let word = word.trim();
        if !matches!(word, "no" | "always" | "on-failure" | "unless-stopped") {
            return Err(problem(
                path,
                &text,
                format!("restart `{text}` is not one of no, always, on-failure[:N], unless-stopped"),
            ));
        }
        if !attempts.is_empty() {
            let n = attempts.trim().parse::<i32>().ok().filter(|n| *n >= 0 && word == "on-failure");
            let n = n.ok_or_else(|| {
                problem(path, &text, format!("restart `{text}`: only on-failure takes a count, like on-failure:3"))
            })?;
            svc.max_attempts.get_or_insert(n);
        }
        svc.restart.get_or_insert(word.to_string());
        Ok(())
    }

    /// `deploy`: replicas, resources, mode, restart policy, placement and update order. Keys with no
    /// Kubernetes counterpart go to `unread` as `deploy.<key>`, so they are ignored with a reason
    /// or warned about by name.
    pub(super) fn deploy(&mut self, value: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        self.check_strings(value, path)?;
        let Value::Mapping(map) = value else { return Ok(()) };
        for (key, v) in map {
            let Some(key) = key.as_str() else { continue };
            let at = format!("{path}.{key}");
            match key {
                "mode" => match self.s(v, &at)?.as_str() {
                    "global" => svc.global = true,
                    "replicated" => {}
                    other => svc.unread.push(format!("deploy.mode: {other}")),
                },
                "replicas" => svc.replicas = Some(self.count(v, &at, "replicas")?),
                "resources" => self.resources(v, &at, svc)?,
                "restart_policy" => self.restart_policy(v, &at, svc)?,
                "placement" => self.placement(v, &at, svc)?,
                "update_config" => self.update_config(v, &at, svc)?,
                other => svc.unread.push(format!("deploy.{other}")),
            }
        }
        Ok(())
    }

    /// `deploy.restart_policy`: its condition in `restart`'s words, and its attempts.
    fn restart_policy(&mut self, v: &Value, at: &str, svc: &mut Service) -> Result<(), Problem> {
        let Value::Mapping(m) = v else { return Ok(()) };
        for (k, x) in m {
            let k = k.as_str().unwrap_or_default();
            let at = format!("{at}.{k}");
            match k {
                "condition" => {
                    let text = self.s(x, &at)?;
                    let word = match text.as_str() {
                        "none" => "no",
                        "on-failure" => "on-failure",
                        "any" => "always",
                        _ => {
                            return Err(problem(
                                &at,
                                &text,
                                format!("restart condition `{text}` is not one of none, on-failure, any"),
                            ))
                        }
                    };
                    svc.restart = Some(word.to_string());
                }
                "max_attempts" => svc.max_attempts = Some(self.count(x, &at, "max_attempts")?),
                other => svc.unread.push(format!("deploy.restart_policy.{other}")),
            }
        }
        Ok(())
    }

    /// `deploy.placement`: constraints as written, and the labels spread over.
    fn placement(&mut self, v: &Value, at: &str, svc: &mut Service) -> Result<(), Problem> {
        let Value::Mapping(m) = v else { return Ok(()) };
        for (k, x) in m {
            let k = k.as_str().unwrap_or_default();
            let at = format!("{at}.{k}");
            match k {
                "constraints" => svc.constraints = self.list(x, &at)?,
                "preferences" => {
                    for (i, p) in x.as_sequence().into_iter().flatten().enumerate() {
                        match p.get("spread") {
                            Some(spread) => svc.spread.push(self.s(spread, &format!("{at}[{i}]"))?),
                            None => svc.unread.push("deploy.placement.preferences".into()),
                        }
                    }
                }
                other => svc.unread.push(format!("deploy.placement.{other}")),
            }
        }
        Ok(())
    }

    /// `deploy.update_config`: how many pods change at once, and in which order.
    fn update_config(&mut self, v: &Value, at: &str, svc: &mut Service) -> Result<(), Problem> {
        let Value::Mapping(m) = v else { return Ok(()) };
        for (k, x) in m {
            let k = k.as_str().unwrap_or_default();
            let at = format!("{at}.{k}");
            match k {
                "parallelism" => svc.update_parallelism = Some(self.count(x, &at, "parallelism")?),
                "order" => {
                    let text = self.s(x, &at)?;
                    if !matches!(text.as_str(), "stop-first" | "start-first") {
                        return Err(problem(
                            &at,
                            &text,
                            format!("update order `{text}` is not stop-first or start-first"),
                        ));
                    }
                    svc.update_order = Some(text);
                }
                other => svc.unread.push(format!("deploy.update_config.{other}")),
            }
        }
        Ok(())
    }

    /// `deploy.resources`: reservations are requests, limits are limits.
    fn resources(&mut self, resources: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        for (section, out) in [("limits", &mut svc.limits), ("reservations", &mut svc.requests)] {
            let Some(block) = resources.get(section) else { continue };
            let at = format!("{path}.{section}");
            if let Some(c) = block.get("cpus") {
                out.insert("cpu".into(), cpu(&self.s(c, &at)?, &at)?);
            }
            if let Some(m) = block.get("memory") {
                out.insert("memory".into(), memory(&self.s(m, &at)?, &at)?);
            }
            if let Value::Mapping(m) = block {
                for k in m.keys().filter_map(Value::as_str).filter(|k| !matches!(*k, "cpus" | "memory")) {
                    svc.unread.push(format!("deploy.resources.{section}.{k}"));
                }
            }
        }
        Ok(())
    }
}

/// Compose CPUs (`0.5`, `2`) as a Kubernetes quantity (`500m`, `2`).
pub(super) fn cpu(text: &str, path: &str) -> Result<String, Problem> {
    let n: f64 = text.trim().parse().map_err(|_| problem(path, text, format!("cpus `{text}` is not a number")))?;
    if !n.is_finite() || n <= 0.0 || n > 1e6 {
        return Err(problem(path, text, format!("cpus `{text}` is not a positive number")));
    }
    let milli = (n * 1000.0).round().max(1.0) as u64;
    Ok(if milli.is_multiple_of(1000) { (milli / 1000).to_string() } else { format!("{milli}m") })
}

/// A compose byte size (`512m`, `1g`, `256MB`, `1024`) as a Kubernetes quantity (`512Mi`, `1Gi`).
pub(super) fn memory(text: &str, path: &str) -> Result<String, Problem> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || problem(path, text, format!("`{text}` is not a size (like 512m or 1g)"));
    let digits = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let suffix = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => "",
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        "t" => "Ti",
        _ => return Err(bad()),
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(format!("{n}{suffix}")),
        _ => {
            // Fractions (`1.5g`) in the next unit down.
            let f: f64 = number.parse().map_err(|_| bad())?;
            let (lower, factor) = match suffix {
                "Ti" => ("Gi", 1024.0),
                "Gi" => ("Mi", 1024.0),
                "Mi" => ("Ki", 1024.0),
                _ => ("", 1024.0),
            };
            let n = (f * factor).round() as u64;
            if !f.is_finite() || f <= 0.0 || n == 0 {
                return Err(bad());
            }
            Ok(format!("{n}{lower}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_quantities() {
        assert_eq!(cpu("0.5", "p").unwrap(), "500m");
        assert_eq!(cpu("2", "p").unwrap(), "2");
        assert!(cpu("-1", "p").is_err());
        assert_eq!(memory("512M", "p").unwrap(), "512Mi");
        assert_eq!(memory("1g", "p").unwrap(), "1Gi");
        assert_eq!(memory("256mb", "p").unwrap(), "256Mi");
        assert_eq!(memory("1.5g", "p").unwrap(), "1536Mi");
        assert_eq!(memory("1048576", "p").unwrap(), "1048576");
        assert!(memory("lots", "p").is_err());
    }
}
