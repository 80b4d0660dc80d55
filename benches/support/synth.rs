//! Synthetic compose folders shaped like Dify's, of any size, for the scale benchmarks.
//!
//! Every service merges one large env anchor (host references such as `DB_HOST: svc_0`, URLs with
//! credentials, secrets), adds its own settings naming its neighbour, bind-mounts a shared config
//! file, its own config file and a data folder, has a healthcheck and depends on the service
//! before it. Networks: `backend` and `frontend`, and `sandbox`, which is `internal: true`; one
//! service in ten is only on `sandbox` (like Dify's sandbox), another one in ten is on `backend` and
//! `sandbox` (like the SSRF proxy).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Plain settings in the shared anchor besides the named ones, in the default shape (73 in all).
pub const PLAIN_SETTINGS: usize = 60;

/// Write `docker-compose.yaml`, `.env.example` and the bind-mounted files for `services` services
/// into `dir`; returns the compose file's path.
#[allow(dead_code)] // scale.rs uses it, targets.rs does not
pub fn write(dir: &Path, services: usize) -> std::io::Result<PathBuf> {
    write_with(dir, services, PLAIN_SETTINGS)
}

/// The same with `plain` plain settings in the shared anchor (Dify's api has over 700 settings;
/// `plain + 13` in all).
pub fn write_with(dir: &Path, services: usize, plain: usize) -> std::io::Result<PathBuf> {
    fs::create_dir_all(dir.join("conf"))?;
    fs::write(dir.join(".env.example"), env_example(plain))?;
    fs::write(dir.join("conf/app.conf"), "log_format main '$remote_addr $status';\nresolver 127.0.0.11;\n")?;
    for i in 0..services {
        fs::write(dir.join(format!("conf/svc_{i}.conf")), own_conf(i, services))?;
    }
    let compose = dir.join("docker-compose.yaml");
    fs::write(&compose, compose_text(services, plain))?;
    Ok(compose)
}

fn env_example(plain: usize) -> String {
    let mut out = String::from("# synthetic env source\nLOG_LEVEL=INFO\nDB_PASSWORD=synthetic-db-password\n");
    out.push_str("REDIS_PASSWORD=synthetic-redis-password\nSECRET_KEY=sk-synthetic-0123456789abcdef\n");
    for n in (0..plain).step_by(3) {
        let _ = writeln!(out, "SETTING_{n:02}=from-env-{n}");
    }
    out
}

fn compose_text(services: usize, plain: usize) -> String {
    let mut out = String::from("x-shared-env: &shared-env\n");
    out.push_str("  LOG_LEVEL: ${LOG_LEVEL:-INFO}\n");
    out.push_str(
        "  DB_HOST: ${DB_HOST:-svc_0}\n  DB_PORT: ${DB_PORT:-5432}\n  DB_USERNAME: ${DB_USERNAME:-postgres}\n",
    );
    out.push_str("  DB_PASSWORD: ${DB_PASSWORD:-difyai123456}\n");
    out.push_str("  REDIS_HOST: svc_1\n  REDIS_PORT: 6379\n  REDIS_PASSWORD: ${REDIS_PASSWORD:-difyai123456}\n");
    out.push_str("  CELERY_BROKER_URL: redis://:${REDIS_PASSWORD:-difyai123456}@svc_1:6379/1\n");
    out.push_str("  SANDBOX_ENDPOINT: http://svc_9:8194\n  SSRF_PROXY_HTTP_URL: http://svc_4:3128\n");
    out.push_str("  SECRET_KEY: ${SECRET_KEY:-}\n  CONSOLE_API_URL: ${CONSOLE_API_URL:-}\n");
    for n in 0..plain {
        let _ = writeln!(out, "  SETTING_{n:02}: ${{SETTING_{n:02}:-value-{n}}}");
    }
    out.push_str("\nservices:\n");
    for i in 0..services {
        let _ = writeln!(out, "  svc_{i}:\n    image: example/app-{}:1.0.{i}\n    restart: always", i % 7);
        out.push_str("    environment:\n      <<: *shared-env\n");
        let _ = writeln!(out, "      SERVICE_NAME: svc_{i}\n      WORKER_ID: \"{i}\"");
        if i > 0 {
            let _ = writeln!(out, "      UPSTREAM_URL: http://svc_{}:8000/api", i - 1);
        }
        out.push_str("    expose:\n      - \"8000\"\n");
        out.push_str("    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:8000/health\"]\n");
        out.push_str("      interval: 10s\n      timeout: 3s\n      retries: 5\n      start_period: 20s\n");
        if i > 0 {
            let _ = writeln!(out, "    depends_on:\n      svc_{}:\n        condition: service_healthy", i - 1);
        }
        out.push_str("    volumes:\n      - ./conf/app.conf:/etc/app/app.conf:ro\n");
        let _ =
            writeln!(out, "      - ./conf/svc_{i}.conf:/etc/app/local.conf:ro\n      - ./data/svc_{i}:/var/lib/app");
        out.push_str("    networks:\n");
        let nets: &[&str] = match i % 10 {
            9 => &["sandbox"],
            4 => &["backend", "sandbox"],
            n if n % 3 == 0 => &["backend", "frontend"],
            _ => &["backend"],
        };
        for n in nets {
            let _ = writeln!(out, "      - {n}");
        }
    }
    out.push_str("\nnetworks:\n  backend: {}\n  frontend: {}\n  sandbox:\n    driver: bridge\n    internal: true\n");
    out
}

fn own_conf(i: usize, services: usize) -> String {
    let next = (i + 1) % services;
    format!("upstream peer {{\n  server svc_{next}:8000;\n}}\nlisten 8000;\nserver_name svc_{i};\n")
}
