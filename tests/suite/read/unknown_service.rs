//! A release nobody has seen: a new service on a new internal network still gets a generic
//! translation and a warning naming it; `--strict` refuses.

use std::fs;

use crate::common::*;

fn with_agent_gateway(dir: &std::path::Path) -> std::path::PathBuf {
    let src = compose("1.14.1");
    let upstream = src.parent().unwrap();
    let copy = dir.join("docker");
    let status = std::process::Command::new("cp").arg("-r").arg(upstream).arg(&copy).status().unwrap();
    assert!(status.success());
    let path = copy.join("docker-compose.yaml");
    let mut text = fs::read_to_string(&path).unwrap();
    let service = "  agent_gateway:\n    image: example/agent-gateway:0.1.0\n    ports:\n      - \"7070:7070\"\n    env_file:\n      - path: ./envs/agent/agent.env\n        required: false\n    environment:\n      API_URL: http://api:5001\n    networks:\n      - agent_net\n\n";
    // A new env file, shipped only as its .example, as upstream ships envs/** since 1.14.1.
    fs::create_dir_all(copy.join("envs/agent")).unwrap();
    fs::write(copy.join("envs/agent/agent.env.example"), "AGENT_LOG_LEVEL=info\nAGENT_TOKEN=agent-secret-value-123\n")
        .unwrap();
    text = text.replacen("\nnetworks:\n", &format!("\n{service}networks:\n"), 1);
    text = text.replacen(
        "networks:\n  # create",
        "networks:\n  agent_net:\n    driver: bridge\n    internal: true\n  # create",
        1,
    );
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn unknown_service_is_translated_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let compose = with_agent_gateway(tmp.path());
    let out = tmp.path().join("k8s");
    let o = bin().arg(&compose).arg("-o").arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: service `agent_gateway`"), "{stderr}");
    let deployment = fs::read_to_string(out.join("services/agent-gateway/deployment.yaml")).unwrap();
    assert!(deployment.contains("containerPort: 7070"));
    assert!(out.join("services/agent-gateway/service.yaml").is_file());
    let policies = fs::read_to_string(out.join("base/networkpolicy.yaml")).unwrap();
    assert!(policies.contains("restrict-egress-agent-gateway"), "an internal-only member is fenced in");
    let config = fs::read_to_string(out.join("services/agent-gateway/configmap.yaml")).unwrap();
    assert!(config.contains("AGENT_LOG_LEVEL: info"), "settings of a new env file are carried");
    let secret = fs::read_to_string(out.join("services/agent-gateway/secret.yaml.example")).unwrap();
    assert!(secret.contains("AGENT_TOKEN: CHANGE_ME_AGENT_TOKEN"), "{secret}");
    for (file, text) in read_tree(&out) {
        assert!(!String::from_utf8_lossy(&text).contains("agent-secret-value-123"), "{file} leaks the new secret");
    }
    setup_secrets(&out);
    validate_k8s(&out, &[]); // an unseen release's tree validates

    let strict = bin().arg(&compose).arg("-o").arg(tmp.path().join("strict")).arg("--strict").output().unwrap();
    assert_eq!(strict.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("agent_gateway"));
    assert!(!tmp.path().join("strict").exists());
}
