//! The endpoint policy: where requests (and credentials) may go. https anywhere; plain http
//! only to a loopback host, such as a sandbox.

/// `localhost` or a loopback IP (v4 or bracketed v6): where plain http may go (a sandbox).
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL points at a loopback host.
pub fn is_loopback_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(is_loopback_host))
        .unwrap_or(false)
}

pub struct EndpointError {
    pub message: String,
    pub help: String,
}

/// Validate a provider base URL: https, or plain http only to a loopback host (a sandbox).
/// Returns it without a trailing slash.
pub fn check_endpoint(text: &str) -> Result<String, EndpointError> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| EndpointError {
        message: format!("`{text}` is not a URL ({e})"),
        help: "write a base URL such as https://api.jpush.cn".into(),
    })?;
    let host = url.host_str().unwrap_or("");
    let loopback = is_loopback_host(host);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(EndpointError {
                message: format!("plain http:// is refused for `{host}`: credentials would cross the network in clear text"),
                help: "use https://, or http:// only to a loopback address (127.0.0.1, ::1, localhost) such as a sandbox".into(),
            });
        }
        other => {
            return Err(EndpointError {
                message: format!("`{other}://` is not an HTTP endpoint"),
                help: "use an https:// URL".into(),
            });
        }
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(EndpointError {
            message: "an endpoint is a base URL: no user, password, query or fragment".into(),
            help: "credentials go in `provider.credentials`".into(),
        });
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            check_endpoint("https://api.jpush.cn/").ok().unwrap(),
            "https://api.jpush.cn"
        );
        assert!(check_endpoint("http://127.0.0.1:8787").is_ok());
        assert!(check_endpoint("http://[::1]:8787").is_ok());
        assert!(check_endpoint("http://localhost:1").is_ok());
        assert!(
            check_endpoint("http://api.jpush.cn")
                .err()
                .unwrap()
                .message
                .contains("refused")
        );
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("https://u:p@x").is_err());
        assert!(check_endpoint("nope").is_err());
    }
}
