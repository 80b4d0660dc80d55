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

#[cfg(test)]
mod tests {
    use super::*;

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
