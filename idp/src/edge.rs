//! What every request goes through before any handler: the client's address
//! resolved once (trusted proxies' forwarding headers honoured, nobody
//! else's), and a body budget applied before the body is read.
use std::net::IpAddr;

use poem::{
    http::{header, HeaderMap, StatusCode},
    Body, Endpoint, IntoResponse, Request, Response,
};

use crate::{
    app::App,
    config::{Config, ForwardedHeader, ProxyNet},
    i18n::Msg,
};

pub use crate::oidc::ClientAddress;

/// The client's address: the socket's peer, unless the peer is a trusted
/// proxy; then the rightmost hop of its forwarding header that is not itself
/// a trusted proxy (hops to its left were written by whoever sent the
/// request, and may be anything). A hop that does not parse ends the walk at
/// the proxy that reported it.
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[ProxyNet], which: ForwardedHeader) -> Option<IpAddr> {
    let peer = peer.map(unmap)?;
    let is_trusted = |a: &IpAddr| trusted.iter().any(|n| n.contains(a));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<Option<IpAddr>> = match which {
        ForwardedHeader::XForwardedFor => headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("\u{0}").split(',').map(str::to_owned).collect::<Vec<_>>())
            .map(|h| parse_hop(&h))
            .collect(),
        ForwardedHeader::Forwarded => headers
            .get_all(header::FORWARDED)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("\u{0}").split(',').map(str::to_owned).collect::<Vec<_>>())
            .map(|element| {
                element.split(';').filter_map(|pair| pair.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("for")).and_then(|(_, v)| parse_hop(v))
            })
            .collect(),
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            Some(a) => {
                client = a;
                if !is_trusted(&a) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

fn unmap(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}

/// `192.0.2.1`, `2001:db8::1`, `"[2001:db8::1]:4711"`, `192.0.2.1:80`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(unmap(a));
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(unmap(sa.ip()));
    }
    let inner = s.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(unmap)
}

/// The body budget of a route, in bytes: camera frames and the portal's
/// uploads have their own, every other route the default.
pub fn body_budget(config: &Config, path: &str) -> usize {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["", "login", _, "frame"] => config.face.max_frame_bytes,
        ["", "portal", "new"] | ["", "portal", "applications", _, "act", "sign"] | ["", "console", "applications", _, "approval", "sign"] => {
            config.onboarding.max_upload_bytes
        }
        _ => config.max_body_bytes,
    }
}

/// 413 in the form of the route: OAuth JSON for `/token`, `/userinfo`,
/// `/revoke`, `/introspect` and `/par`,
/// problem JSON for the camera's frames, a page in the visitor's language
/// everywhere else.
fn too_large(req: &Request, budget: usize) -> Response {
    let path = req.uri().path();
    let detail = format!("the request body is larger than {budget} bytes");
    if matches!(path, "/token" | "/userinfo" | "/revoke" | "/introspect" | "/par") {
        return crate::oidc::errors::OAuthError::with_status(StatusCode::PAYLOAD_TOO_LARGE, crate::oidc::errors::ErrorCode::InvalidRequest, detail)
            .into_response();
    }
    if path.starts_with("/login/") && path.ends_with("/frame") {
        return crate::oidc::errors::problem(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large", &detail);
    }
    crate::web::error_page(StatusCode::PAYLOAD_TOO_LARGE, crate::i18n::lang_of(req), Msg::error_too_large, None)
}

/// Resolves the client's address, then enforces the body budget: a declared
/// length over it is refused before anything is read; a body of unknown
/// length (chunked) is read up to the budget and refused past it.
pub async fn guard<E: Endpoint>(app: &App, ep: &E, mut req: Request) -> poem::Result<Response> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let client = resolve(peer, req.headers(), &app.config.trusted_proxies, app.config.forwarded_header);
    req.extensions_mut().insert(ClientAddress(client));

    let budget = body_budget(&app.config, req.uri().path());
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > budget as u64 => return Ok(too_large(&req, budget)),
        Some(_) => {}
        None if req.headers().contains_key(header::TRANSFER_ENCODING) => match req.take_body().into_bytes_limit(budget).await {
            Ok(bytes) => req.set_body(Body::from_bytes(bytes)),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large(&req, budget)),
            Err(_) => return Ok(crate::web::error_page(StatusCode::BAD_REQUEST, crate::i18n::lang_of(&req), Msg::error_bad_request, None)),
        },
        None => {}
    }
    let interaction = interaction_of(req.uri().path()).map(str::to_owned);
    let mut resp = ep.call(req).await?.into_response();
    // A sign-in's pages may lead back to its relying party from a form.
    if let Some(id) = interaction {
        if resp.headers().contains_key("content-security-policy") {
            if let Some(uri) = crate::interaction::redirect_uri_of(&app.oidc, &id).await {
                crate::web::allow_form_target(&mut resp, &uri);
            }
        }
    }
    Ok(resp)
}

/// The interaction a page belongs to: `/login/{id}…`, `/consent/{id}`.
fn interaction_of(path: &str) -> Option<&str> {
    let mut segments = path.split('/').skip(1);
    match (segments.next(), segments.next()) {
        (Some("login" | "consent"), Some(id)) if !id.is_empty() && id != "assets" => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(poem::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn nets(s: &[&str]) -> Vec<ProxyNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=1.2.3.4")]);
        assert_eq!(resolve(ip("203.0.113.9"), &h, &[], ForwardedHeader::XForwardedFor), ip("203.0.113.9"));
        assert_eq!(resolve(ip("203.0.113.9"), &h, &nets(&["10.0.0.0/8"]), ForwardedHeader::Forwarded), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_names_the_rightmost_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client prepended a lie; the proxy appended the real peer.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.7"));
        // Forwarded (RFC 7239), with quoting, ports and IPv6.
        let h = headers(&[("forwarded", "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https, For=10.0.0.3")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::Forwarded), ip("2001:db8::7"));
        // The header not configured is not read.
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::XForwardedFor), ip("10.0.0.1"));
        // Garbage stops at the proxy that reported it.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, unknown")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::XForwardedFor), ip("10.0.0.1"));
        // Only proxies: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::XForwardedFor), ip("10.9.9.9"));
        // An IPv4-mapped peer is its IPv4 address.
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(resolve(ip("::ffff:10.0.0.1"), &h, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.7"));
    }

    #[test]
    fn budgets_by_route() {
        let c = Config::default();
        assert_eq!(body_budget(&c, "/login/abc/frame"), c.face.max_frame_bytes);
        assert_eq!(body_budget(&c, "/portal/new"), c.onboarding.max_upload_bytes);
        assert_eq!(body_budget(&c, "/portal/applications/x/act/sign"), c.onboarding.max_upload_bytes);
        assert_eq!(body_budget(&c, "/console/applications/x/approval/sign"), c.onboarding.max_upload_bytes);
        for p in ["/token", "/consent/x", "/login/x", "/login/x/verify", "/portal/applications/x/test", "/login/x/frame/y"] {
            assert_eq!(body_budget(&c, p), c.max_body_bytes, "{p}");
        }
    }
}
