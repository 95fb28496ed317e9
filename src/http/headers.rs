//! Security headers on every answer, and on pages a Content-Security-Policy that allows exactly
//! the page's own inline scripts and style sheets by their SHA-256 hashes (no `unsafe-inline`
//! for scripts): an injected script, should one ever slip through escaping, does not run.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Pages are small; a larger HTML answer is passed on with a policy that allows no inline code.
const MAX_PAGE: usize = 4 * 1024 * 1024;

pub async fn security_headers(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let (mut parts, body) = res.into_parts();
    let h = &mut parts.headers;
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, MAX_PAGE).await {
        Ok(b) => b,
        Err(_) => {
            parts.headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
            );
            return Response::from_parts(parts, Body::empty());
        }
    };
    let html = String::from_utf8_lossy(&bytes);
    let policy = policy(&html);
    if let Ok(v) = HeaderValue::from_str(&policy) {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The policy for one page: its inline `<script>` and `<style>` elements allowed by hash.
pub fn policy(html: &str) -> String {
    let scripts = inline_hashes(html, "script");
    let styles = inline_hashes(html, "style");
    format!(
        "default-src 'self'; script-src 'self'{scripts}; style-src-elem 'self'{styles}; \
         style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// ` 'sha256-…'` for each inline element `tag` (those with a `src` are not inline).
fn inline_hashes(html: &str, tag: &str) -> String {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<scripts…` or `<style-x…` are other tags.
        if !after.starts_with(['>', ' ', '\t', '\n', '\r']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let attrs = &after[..gt];
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        if !attrs.contains("src=") {
            let hash = base64::engine::general_purpose::STANDARD
                .encode(Sha256::digest(&body.as_bytes()[..end]));
            if seen.insert(hash.clone()) {
                out.push_str(&format!(" 'sha256-{hash}'"));
            }
        }
        rest = &body[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_inline_script_and_style_is_allowed_by_its_hash_only() {
        let html = "<style>a{b:c}</style><script>alert(1)</script><script src=\"/x.js\"></script>\
                    <scripts>no</scripts><script type=\"module\">x()</script><script>alert(1)</script>";
        let p = policy(html);
        let h = |s: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
        };
        assert!(
            p.contains(&format!(
                "script-src 'self' 'sha256-{}' 'sha256-{}';",
                h("alert(1)"),
                h("x()")
            )),
            "{p}"
        );
        assert!(
            p.contains(&format!("style-src-elem 'self' 'sha256-{}';", h("a{b:c}"))),
            "{p}"
        );
        let script_src = p
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!script_src.contains("unsafe"), "{p}");
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains(&h("no")));
    }
}
