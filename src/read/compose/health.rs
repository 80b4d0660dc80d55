//! A service's `healthcheck`, and compose durations (`1m30s`) in seconds.

use yaml_serde::Value;

use super::{problem, Context, HealthTest, Healthcheck, Problem, Reader};

impl<C: Context> Reader<'_, C> {
    pub(super) fn healthcheck(&mut self, value: &Value, path: &str) -> Result<Healthcheck, Problem> {
        let mut hc = Healthcheck {
            test: None,
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
            disabled: false,
        };
        let Value::Mapping(m) = value else { return Ok(hc) };
        for (k, v) in m {
            let key = k.as_str().unwrap_or_default();
            let at = format!("{path}.{key}");
            match key {
                "test" => {
                    hc.test = match v {
                        Value::Sequence(_) => {
                            let argv = self.list(v, &at)?;
                            match argv.split_first() {
                                Some((first, rest)) if first == "CMD" => Some(HealthTest::Exec(rest.to_vec())),
                                Some((first, rest)) if first == "CMD-SHELL" => Some(HealthTest::Shell(rest.join(" "))),
                                Some((first, _)) if first == "NONE" => {
                                    hc.disabled = true;
                                    None
                                }
                                Some(_) => Some(HealthTest::Exec(argv)),
                                None => None,
                            }
                        }
                        other => Some(HealthTest::Shell(self.s(other, &at)?)),
                    }
                }
                "interval" => hc.interval = Some(duration(&self.s(v, &at)?, &at)?),
                "timeout" => hc.timeout = Some(duration(&self.s(v, &at)?, &at)?),
                "start_period" => hc.start_period = Some(duration(&self.s(v, &at)?, &at)?),
                "retries" => {
                    let text = self.s(v, &at)?;
                    hc.retries = Some(
                        text.parse().map_err(|_| problem(&at, &text, format!("retries `{text}` is not a number")))?,
                    );
                }
                "disable" => hc.disabled = self.flag(v, &at)?,
                _ => {}
            }
        }
        Ok(hc)
    }
}

/// A compose duration (`1m30s`, `500ms`, `30s`) in whole seconds, at least 1.
pub fn duration(text: &str, path: &str) -> Result<u32, Problem> {
    let bad = || problem(path, text, format!("`{text}` is not a duration (like 30s or 1m30s)"));
    let text = text.trim();
    let mut total_ms: u64 = 0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: f64 = number.parse().map_err(|_| bad())?;
        let factor = match unit.as_str() {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            _ => return Err(bad()),
        };
        total_ms += (n * factor) as u64;
        number.clear();
    }
    if !number.is_empty() {
        let n: f64 = number.parse().map_err(|_| bad())?;
        total_ms += (n * 1000.0) as u64;
    }
    Ok(total_ms.div_ceil(1000).clamp(1, u32::MAX as u64) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s", "x").unwrap(), 30);
        assert_eq!(duration("1m30s", "x").unwrap(), 90);
        assert_eq!(duration("500ms", "x").unwrap(), 1);
        assert_eq!(duration("5", "x").unwrap(), 5);
        assert!(duration("soon", "x").is_err());
    }
}
