//! Literal secrets in a playbook: which byte ranges must never be quoted back in a
//! diagnostic, and what looks like a secret where a name belongs.

use std::ops::Range;

use crate::yaml::{Node, Value};

/// Byte ranges of every value under `provider.credentials` (the whole subtree: misspelled keys
/// and literal values included) and of the user:password part of `provider.endpoint`.
pub(super) fn secret_ranges(root: &Node) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let Value::Map(top) = &root.value else {
        return out;
    };
    let Some((_, provider)) = top.iter().find(|(k, _)| k.name == "provider") else {
        return out;
    };
    let Value::Map(p) = &provider.value else {
        return out;
    };
    // Template variables named like secrets are not credentials, but never quote them either.
    if let Some((
        _,
        Node {
            value: Value::Map(vars),
            ..
        },
    )) = top.iter().find(|(k, _)| k.name == "vars")
    {
        for (k, v) in vars {
            if secret_like_name(&k.name) {
                collect_secret_scalars(v, &mut out);
            }
        }
    }
    for (k, v) in p {
        match k.name.as_str() {
            "credentials" => collect_secret_scalars(v, &mut out),
            "endpoint" => {
                if let Value::Str(url) = &v.value
                    && let (Some(scheme_end), Some(at)) = (url.find("://"), url.find('@'))
                    && at > scheme_end
                {
                    // The scalar may be quoted: find the userinfo in the raw text.
                    let user = &url[scheme_end + 3..at];
                    let skip = usize::from(v.len > url.len());
                    let start = v.offset + skip + scheme_end + 3;
                    out.push(start..start + user.len());
                }
            }
            _ => {}
        }
    }
    out
}

pub(super) fn collect_secret_scalars(node: &Node, out: &mut Vec<Range<usize>>) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                // `env: NAME` names a variable; only values that look like secrets are hidden.
                if k.name == "env" && matches!(&v.value, Value::Str(n) if !looks_like_secret(n)) {
                    continue;
                }
                collect_secret_scalars(v, out);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| collect_secret_scalars(i, out)),
        _ if node.len > 0 => out.push(node.offset..node.offset + node.len),
        _ => {}
    }
}

pub(super) fn secret_like_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "token",
        "master_key",
        "private_key",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Environment variable names are conventionally upper case; a long mixed-case or hex-looking
/// string where a name belongs is most likely a pasted secret.
pub(super) fn looks_like_secret(s: &str) -> bool {
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_digit = s.bytes().any(|b| b.is_ascii_digit());
    s.len() >= 16 && has_lower && has_digit
}
