//! Image tags and release versions.

/// A tag as the end of an object name: `1.14.1` → `1-14-1`.
pub(super) fn name_suffix(tag: &str) -> String {
    let dashed: String =
        tag.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    dashed.trim_matches('-').to_string()
}

/// The tag of an image reference (`langgenius/dify-api:1.14.1` → `1.14.1`, also with an
/// `@sha256:…` digest after it; none for a registry port or a digest alone).
pub fn image_tag(image: &str) -> Option<&str> {
    let image = image.split('@').next().unwrap_or(image);
    image.rsplit_once(':').map(|(_, tag)| tag).filter(|t| !t.contains('/'))
}

/// An image's repository without registry, `library/`, tag and digest: `postgres` for
/// `docker.io/library/postgres:16`, `bitnami/redis` for `bitnami/redis:7`.
pub fn image_repository(image: &str) -> String {
    let image = image.split('@').next().unwrap_or(image);
    let mut parts: Vec<&str> = image.split('/').collect();
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost") {
        parts.remove(0);
    }
    if parts.len() > 1 && parts[0] == "library" {
        parts.remove(0);
    }
    let last = parts.pop().unwrap_or_default();
    parts.push(last.split(':').next().unwrap_or(last));
    parts.join("/")
}

/// An image reference's parts: the name (registry and path), its tag and its digest.
pub fn image_parts(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = image.split_once('@').map_or((image, None), |(r, d)| (r, Some(d)));
    match rest.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((name, tag)) => (name, Some(tag), digest),
        None => (rest, None, digest),
    }
}

/// Whether each start may pull another build: the tag is `latest` or missing, and no digest.
pub fn is_unpinned(image: &str) -> bool {
    let (_, tag, digest) = image_parts(image);
    digest.is_none() && tag.is_none_or(|t| t == "latest")
}

/// The image pulled from `registry` (`HOST[:PORT][/PATH]`) instead: its own registry dropped,
/// Docker Hub's official images (a single name, no registry) as `library/NAME` (as registry
/// mirrors and pull-through caches name them), tag and digest kept.
pub fn with_registry(image: &str, registry: &str) -> String {
    let (name, tag, digest) = image_parts(image);
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost") {
        parts.remove(0);
    } else if parts.len() == 1 {
        parts.insert(0, "library");
    }
    let mut out = format!("{registry}/{}", parts.join("/"));
    if let Some(tag) = tag {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(digest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_from_another_registry() {
        for (image, moved) in [
            ("nginx:latest", "reg.example.com/mirror/library/nginx:latest"),
            ("busybox", "reg.example.com/mirror/library/busybox"),
            ("langgenius/dify-api:1.14.1", "reg.example.com/mirror/langgenius/dify-api:1.14.1"),
            ("ghcr.io/chroma-core/chroma:0.5.20", "reg.example.com/mirror/chroma-core/chroma:0.5.20"),
            ("localhost:5000/app@sha256:abc", "reg.example.com/mirror/app@sha256:abc"),
            ("registry:5000/team/redis:7@sha256:abc", "reg.example.com/mirror/team/redis:7@sha256:abc"),
        ] {
            assert_eq!(with_registry(image, "reg.example.com/mirror"), moved, "{image}");
        }
    }

    #[test]
    fn moving_tags() {
        for (image, unpinned) in [
            ("nginx:latest", true),
            ("busybox", true),
            ("localhost:5000/app", true),
            ("nginx@sha256:abc", false),
            ("nginx:latest@sha256:abc", false),
            ("redis:6-alpine", false),
        ] {
            assert_eq!(is_unpinned(image), unpinned, "{image}");
        }
    }

    #[test]
    fn image_repositories() {
        for (image, repo) in [
            ("postgres", "postgres"),
            ("docker.io/library/postgres:16", "postgres"),
            ("bitnami/redis:7", "bitnami/redis"),
            ("registry:5000/team/redis:7@sha256:abc", "team/redis"),
            ("localhost/app:1", "app"),
            ("harbor.example.com/dockerhub/langgenius/dify-sandbox:0.2.15", "dockerhub/langgenius/dify-sandbox"),
        ] {
            assert_eq!(image_repository(image), repo, "{image}");
        }
        assert_eq!(image_tag("langgenius/dify-api:1.14.1@sha256:0123"), Some("1.14.1"));
        assert_eq!(image_tag("langgenius/dify-api@sha256:0123"), None);
        assert_eq!(image_tag("registry:5000/app"), None);
    }
}
