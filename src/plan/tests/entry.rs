//! Ports and entry points: which ports a Service carries, which are published entry points.

use super::*;
use crate::plan::entry::ports;
use crate::rules::ServiceRule;

#[test]
fn tcp_and_udp_ports_and_the_published_entry_points() {
    let svc = Service {
        ports: vec![
            port(443, "tcp", Some("8443")),
            port(80, "tcp", Some("8080")),
            port(53, "udp", None),
            port(9000, "sctp", None),
        ],
        expose: vec![80, 9090],
        ..service("proxy", "nginx:1.27")
    };
    let mut warnings = Vec::new();
    // The generic preset: a published port is an entry point of the stack.
    let generic = rules("");
    assert!(generic.published_ports_are_entry_points);
    let (tcp, udp, published) = ports(&svc, &ServiceRule::default(), &generic, &mut warnings);
    assert_eq!(tcp, [80, 443, 9090], "compose's TCP ports and `expose`, sorted, once each");
    assert_eq!(udp, [53]);
    assert!(
        published.contains(&(80, Some(8080), "TCP")) && published.contains(&(443, Some(8443), "TCP")),
        "{published:?}"
    );
    assert!(!published.iter().any(|(p, _, _)| *p == 9090 || *p == 53), "exposed or unpublished: no entry point");
    // A protocol a Service cannot carry is left out, and said.
    assert!(said(&warnings, "port 9000/sctp is left out"), "{warnings:?}");

    // The rules' ports replace compose's, and make no entry point.
    let rule = ServiceRule { ports: Some(vec![8000]), ..ServiceRule::default() };
    let (tcp, udp, published) = ports(&svc, &rule, &generic, &mut Vec::new());
    assert_eq!((tcp, udp, published), (vec![8000], vec![], vec![]));
}
