//! Kubernetes names and file names derived from strings found in code.
//! Everything here is total: any input, however hostile, gives a valid name.

/// Longest DNS-1123 label (metadata.name of most resources, label values).
pub const MAX_LABEL: usize = 63;
/// Longest DNS-1123 subdomain (a Kubernetes host name).
const MAX_SUBDOMAIN: usize = 253;
/// Longest host kept verbatim in a file name; file systems stop at 255 bytes
/// and the name still needs its `.yaml`.
const MAX_FILE_STEM: usize = 200;

/// The placeholder written where the destination could not be read.
pub const PLACEHOLDER_HOST: &str = "REPLACE-ME.svc.cluster.local";
/// `metadata.name` of a resource for the placeholder host.
pub const PLACEHOLDER_NAME: &str = "replace-me";
/// The placeholder written where a workload label is not known.
pub const PLACEHOLDER_LABEL: &str = "REPLACE-ME";

/// Normalises a host read from code to the form Istio accepts in `hosts` and
/// `destination.host`: lower case, no trailing dot, a valid DNS-1123
/// subdomain. `None` when the text is not a host at all (`../etc`, `/abs`,
/// `http://x`, an empty string), which the caller treats like an unknown host
/// rather than writing it into a manifest.
pub fn normalize_host(raw: &str) -> Option<String> {
    let host = raw.trim().to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    if host.is_empty() || host.len() > MAX_SUBDOMAIN {
        return None;
    }
    let valid = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    valid.then(|| host.to_string())
}

/// The host written for a destination whose resources go to `namespace`.
/// `x`, `x.<ns>`, `x.<ns>.svc` and `x.<ns>.svc.cluster.local` all name the
/// Service `x` of the target namespace and become its short name `x`: Istio
/// reads a short name in the namespace of the resource, which is always
/// `namespace` here, and the short name holds whatever DNS domain the
/// cluster uses. Any other host (another namespace, an external name) is
/// returned unchanged. `host` is already normalised ([`normalize_host`]).
pub fn mesh_host(host: &str, namespace: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let same_service = match labels.as_slice() {
        [_] => true,
        [_, ns] | [_, ns, "svc"] | [_, ns, "svc", "cluster", "local"] => *ns == namespace,
        _ => false,
    };
    if same_service {
        labels[0].to_string()
    } else {
        host.to_string()
    }
}

/// `metadata.name` for the resources of one destination. A Kubernetes Service
/// host (`pricing`, `pricing.shop`, `pricing.shop.svc`,
/// `pricing.shop.svc.cluster.local`) is named after the Service; any other
/// host after all of its labels, so `api.stripe.com` and `api.github.com`
/// cannot collide.
pub fn resource_name_for_host(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let service_like = match labels.as_slice() {
        [_] | [_, _] => true,
        [_, _, "svc"] => true,
        [_, _, "svc", rest @ ..] => rest == ["cluster", "local"],
        _ => false,
    };
    if service_like {
        dns_label(labels[0], host)
    } else {
        dns_label(host, host)
    }
}

/// The name used when two hosts would otherwise share a `metadata.name`.
pub fn full_resource_name_for_host(host: &str) -> String {
    dns_label(host, host)
}

/// A valid DNS-1123 label made from `text`. `identity` is what the result has
/// to stay unique for: when `text` has to be cut, a hash of `identity` is
/// appended so that two long names differing only at the end stay apart.
pub fn dns_label(text: &str, identity: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_LABEL));
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    let changed_or_long = out.len() > MAX_LABEL;
    if out.is_empty() {
        out = format!("x-{:08x}", fnv1a(identity));
    } else if changed_or_long {
        let hash = format!("{:08x}", fnv1a(identity));
        out.truncate(MAX_LABEL - hash.len() - 1);
        while out.ends_with('-') {
            out.pop();
        }
        out.push('-');
        out.push_str(&hash);
    }
    out
}

/// File stem for a destination's manifest file. The host is already
/// normalised (only `[a-z0-9.-]`, no empty label), so it can hold neither a
/// separator nor `..`; very long hosts fall back to a label plus hash.
pub fn file_stem_for_host(host: &str) -> String {
    match normalize_host(host) {
        Some(h) if h.len() <= MAX_FILE_STEM => h,
        _ => dns_label(host, host),
    }
}

/// True when `name` is one plain file name that stays inside its directory.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Stable 32-bit FNV-1a; a cryptographic hash would be overkill for keeping
/// truncated names apart, and this one needs no dependency.
fn fnv1a(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_dns_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= MAX_LABEL
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn hosts_are_normalised_or_refused() {
        assert_eq!(normalize_host("Inventory").as_deref(), Some("inventory"));
        assert_eq!(
            normalize_host("pricing.shop.svc.cluster.local.").as_deref(),
            Some("pricing.shop.svc.cluster.local")
        );
        for bad in [
            "",
            "../etc",
            "/abs/path",
            "a/b",
            "http://x",
            "-x",
            "a..b",
            "*",
            "x y",
            "ünïcode",
        ] {
            assert_eq!(normalize_host(bad), None, "{bad}");
        }
        assert_eq!(normalize_host(&"a".repeat(64)), None);
    }

    #[test]
    fn hosts_of_the_target_namespace_become_the_service_name() {
        for host in [
            "pricing",
            "pricing.shop",
            "pricing.shop.svc",
            "pricing.shop.svc.cluster.local",
        ] {
            assert_eq!(mesh_host(host, "shop"), "pricing", "{host}");
        }
        for host in [
            "pricing.other",
            "pricing.other.svc",
            "pricing.other.svc.cluster.local",
            "pricing.shop.svc.example.org",
            "pricing.shop.cluster.local",
            "api.stripe.com",
            "shop.svc",
        ] {
            assert_eq!(mesh_host(host, "shop"), host, "{host}");
        }
    }

    #[test]
    fn service_hosts_are_named_after_the_service() {
        assert_eq!(
            resource_name_for_host("pricing.shop.svc.cluster.local"),
            "pricing"
        );
        assert_eq!(resource_name_for_host("pricing.shop.svc"), "pricing");
        assert_eq!(resource_name_for_host("pricing.shop"), "pricing");
        assert_eq!(resource_name_for_host("inventory"), "inventory");
        assert_eq!(resource_name_for_host("api.stripe.com"), "api-stripe-com");
    }

    #[test]
    fn labels_are_valid_for_hostile_input() {
        let long = "x".repeat(300);
        let inputs = [
            "../etc",
            "/abs",
            "UPPER.Case",
            "a.b.c",
            "...",
            "",
            "-",
            "日本語",
            long.as_str(),
            "a-------b",
            "\n\0",
        ];
        for input in inputs {
            let label = dns_label(input, input);
            assert!(is_dns_label(&label), "{input:?} -> {label:?}");
        }
        assert_eq!(dns_label("../etc", "../etc"), "etc");
        assert_eq!(dns_label("/abs", "/abs"), "abs");
        assert_eq!(dns_label("UPPER.Case", "x"), "upper-case");
    }

    #[test]
    fn long_labels_keep_distinct_hashes() {
        let a = format!("{}a", "s".repeat(100));
        let b = format!("{}b", "s".repeat(100));
        let la = dns_label(&a, &a);
        let lb = dns_label(&b, &b);
        assert_eq!(la.len(), MAX_LABEL);
        assert_ne!(la, lb);
        let host = format!("{}.{}.svc.cluster.local", "s".repeat(63), "n".repeat(63));
        let name = resource_name_for_host(&host);
        assert!(is_dns_label(&name), "{name}");
    }

    #[test]
    fn file_stems_never_escape() {
        let long = format!("{}.example.com", vec!["a".repeat(60); 4].join("."));
        for host in [
            "../etc",
            "/abs",
            "..",
            ".",
            "a/../../b",
            "C:\\x",
            long.as_str(),
            "pricing.shop.svc.cluster.local",
        ] {
            let stem = file_stem_for_host(host);
            let name = format!("{stem}.yaml");
            assert!(is_safe_file_name(&name), "{host} -> {name}");
        }
        assert_eq!(
            file_stem_for_host("pricing.shop.svc.cluster.local"),
            "pricing.shop.svc.cluster.local"
        );
    }

    #[test]
    fn safe_file_names() {
        assert!(is_safe_file_name("inventory.yaml"));
        assert!(is_safe_file_name("my_crate.peerauthentication.yaml"));
        for bad in ["", "..", ".hidden", "a/b", "../x", "/abs", "a\\b", "a\0"] {
            assert!(!is_safe_file_name(bad), "{bad:?}");
        }
    }
}
