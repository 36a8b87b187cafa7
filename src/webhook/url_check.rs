//! Validation of webhook URLs at submission time.

use reqwest::Url;

/// Checks that `text` is an absolute `http` or `https` URL with a host and no
/// embedded credentials. Returns the parsed URL or an error message that names
/// the value and what to change.
pub fn parse_webhook_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|error| {
        format!(
            "invalid webhook_url {text:?}: {error}; expected an absolute http:// or https:// URL"
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "invalid webhook_url {text:?}: scheme {:?} is not supported; use http or https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("invalid webhook_url {text:?}: the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "invalid webhook_url {text:?}: credentials in the URL are not allowed; \
             authenticate the receiver through the webhook signature instead"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_url_table() {
        let cases = [
            ("http://127.0.0.1:8080/hook", true),
            ("https://example.com/webhook?x=1", true),
            ("  https://example.com/padded  ", true),
            ("ftp://example.com/hook", false),
            ("file:///etc/passwd", false),
            ("not a url", false),
            ("/relative/path", false),
            ("http://user:pass@example.com/", false),
            ("http://user@example.com/", false),
            ("javascript:alert(1)", false),
        ];
        for (url, valid) in cases {
            assert_eq!(parse_webhook_url(url).is_ok(), valid, "url {url}");
        }
    }
}
