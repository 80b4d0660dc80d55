//! Passes 3 and 4: each setting plain or secret (a placeholder), hosts renamed, and what the shared
//! services have alike.

use super::*;
use crate::plan::select::select;
use crate::plan::settings::settings;

#[test]
fn secrets_get_placeholders_hosts_are_renamed_and_shared_settings_found() {
    let api = Service {
        environment: env(&[
            ("DB_HOST", "db"),
            ("DB_PASSWORD", "s3cret-value"),
            ("LOG_LEVEL", "info"),
            ("DEBUG_PASSWORD_ENABLED", "true"),
            ("BROKER_URL", "redis://:hunter2-pass@cache:6379/1"),
            ("AMQP_URL", "amqp://guest:guest-default@mq:5672/"),
        ]),
        ..service("api", "example/api:1.0")
    };
    let worker = Service {
        environment: env(&[("DB_HOST", "db"), ("DB_PASSWORD", "s3cret-value"), ("LOG_LEVEL", "debug")]),
        ..service("worker", "example/api:1.0")
    };
    let db = Service { environment: env(&[("POSTGRES_PASSWORD", "s3cret-value")]), ..service("db", "postgres:16") };
    let cache = Service { environment: env(&[("REDIS_PASSWORD", "hunter2-pass")]), ..service("cache", "redis:7") };
    let project = project(vec![api, worker, db, cache]);
    let rules = rules(
        "shared_env: [api, worker]\nservices:\n  db:\n    name: postgres\n  api: {}\n  worker: {}\n  cache: {}\n",
    );
    let mut warnings = Vec::new();
    let sel = select(&project, &rules, &mut warnings).unwrap();
    let s = settings(&project, &rules, &sel, &mut warnings).unwrap();

    let api = &s.each[0];
    // A host name setting follows the renamed workload.
    assert_eq!(api["DB_HOST"].plain, "postgres");
    assert_eq!(api["DB_HOST"].secret, None);
    assert_eq!(api["LOG_LEVEL"].secret, None);
    // A secret-looking name gets its placeholder; the written value never reaches the tree.
    assert_eq!(api["DB_PASSWORD"].secret.as_deref(), Some("CHANGE_ME_DB_PASSWORD"));
    // A switch is no secret, whatever its name says.
    assert_eq!(api["DEBUG_PASSWORD_ENABLED"].secret, None);
    // A URL's password is replaced where it stands by the placeholder of the setting that holds it,
    // and the URL is secret as a whole.
    assert_eq!(api["BROKER_URL"].secret.as_deref(), Some("redis://:CHANGE_ME_REDIS_PASSWORD@cache:6379/1"));
    // A password no service here sets (the server's built-in default) is kept, in the Secret, and said:
    // a generated one would not match the server's.
    assert_eq!(api["AMQP_URL"].secret.as_deref(), Some("amqp://guest:guest-default@mq:5672/"));
    assert!(said(&warnings, "no service here sets the password in `AMQP_URL`"), "{warnings:?}");
    // The database's own password is the same value its clients use: one placeholder for both.
    assert_eq!(s.each[2]["POSTGRES_PASSWORD"].secret.as_deref(), Some("CHANGE_ME_DB_PASSWORD"));
    // Pass 4: api and worker share DB_HOST and DB_PASSWORD, not LOG_LEVEL (their values differ).
    assert_eq!(s.shared_idx, [0, 1]);
    assert_eq!(s.shared_config, BTreeMap::from([("DB_HOST".to_string(), "postgres".to_string())]));
    assert_eq!(s.shared_secrets.keys().collect::<Vec<_>>(), ["DB_PASSWORD"]);
}
