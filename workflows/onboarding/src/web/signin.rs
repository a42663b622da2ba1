//! Signing in to the portal and the console: through this provider, as its relying party.
use super::*;

// ----------------------------------------------------------------- sign-in

pub fn auth_routes() -> impl poem::Endpoint {
    render_errors(
        Route::new()
            .at("/", poem::get(home))
            .at("/signin", poem::get(signin))
            .at("/callback", poem::get(callback))
            .at("/signout", poem::post(signout))
            .at("/logo/:id", poem::get(logo)),
    )
}

#[handler]
async fn home(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let lang = lang_of(req);
    match principal(app, cookies, "/onboarding").await {
        Ok(p) if p.is_staff() => Ok(tanu_ui::web::see_other("/console")),
        Ok(_) => Ok(tanu_ui::web::see_other("/portal")),
        Err(PageError::SignIn(_)) => Ok(html(StatusCode::OK, HomePage { lang })),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct SigninQuery {
    next: Option<String>,
}

/// Where to go after sign-in: only one of the pages that send people to
/// sign in (`principal`'s `here`), matched segment by segment; anything else
/// (`/\t/evil.example`, `//evil`, `/\\evil`, `https://…`) goes to the portal.
/// Never an open redirect.
fn safe_next(next: Option<&str>) -> String {
    let id_ok = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    // One query is allowed: the verifier page's code from a QR code (eight digits).
    let code_ok = |q: &str| q.strip_prefix("code=").is_some_and(|c| c.len() == 8 && c.bytes().all(|b| b.is_ascii_digit()));
    let ok = next.is_some_and(|n| {
        let (path, query) = n.split_once('?').map_or((n, None), |(p, q)| (p, Some(q)));
        match (path.split('/').collect::<Vec<_>>().as_slice(), query) {
            (["", "me", "verify"], Some(q)) => code_ok(q),
            (_, Some(_)) => false,
            (["", "onboarding"] | ["", "portal"] | ["", "portal", "new"] | ["", "console"] | ["", "me", "verify"], None) => true,
            (["", "portal" | "console", "applications", id], None) => id_ok(id),
            _ => false,
        }
    });
    match next {
        Some(n) if ok => n.to_owned(),
        _ => "/portal".into(),
    }
}

#[handler]
async fn signin(req: &Request, cookies: &CookieJar, Query(q): Query<SigninQuery>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let lang = lang_of(req);
    if app.limiter.check(tanu_ui::web::client_ip(req)).is_err() {
        return Err(PageError::TooMany);
    }
    let (state, nonce, verifier, binding) = (random_token(24), random_token(24), random_token(48), random_token(24));
    app.store
        .insert_portal_login(crate::store::onboarding::PortalLogin {
            state: state.clone(),
            verifier: verifier.clone(),
            nonce: nonce.clone(),
            next: safe_next(q.next.as_deref()),
            binding_hash: token_hash(&binding),
            created_at: Utc::now(),
        })
        .await?;
    cookies.add(app.cookies.make(LOGIN_COOKIE, &binding, Some(600)));
    let url = tanu_core::first_party::AuthorizationRequest {
        client_id: PORTAL_CLIENT_ID,
        redirect_uri: &callback_uri(app),
        scope: "openid profile iin",
        state: &state,
        nonce: &nonce,
        code_verifier: &verifier,
        lang,
    }
    .url(&app.endpoint("/authorize"));
    Ok(tanu_ui::web::see_other(url))
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[handler]
async fn callback(req: &Request, cookies: &CookieJar, Query(q): Query<CallbackQuery>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let lang = lang_of(req);
    let login = match &q.state {
        Some(state) => app.store.take_portal_login(state).await?,
        None => None,
    };
    let bound = app.cookies.value(cookies, LOGIN_COOKIE).map(|c| token_hash(&c));
    let Some(login) = login.filter(|l| bound.as_deref().is_some_and(|b| ct_eq(b, &l.binding_hash))) else {
        return Err(PageError::BadRequest(Msg::error_expired));
    };
    cookies.add(app.cookies.make(LOGIN_COOKIE, "", Some(0)));
    if q.error.is_some() || q.code.is_none() || Utc::now() - login.created_at > chrono::Duration::minutes(10) {
        return Ok(html(StatusCode::OK, HomePage { lang }));
    }
    let person = redeem(app, q.code.as_deref().unwrap_or_default(), &login).await.map_err(|e| {
        tracing::warn!(error = %e, "portal sign-in: code redemption failed");
        PageError::BadRequest(Msg::error_expired)
    })?;
    let token = random_token(32);
    let ttl = chrono::Duration::seconds(app.onboarding.config.session_ttl as i64);
    app.store.insert_portal_session(&token_hash(&token), &person.0, &person.1, ttl).await?;
    cookies.add(app.cookies.make(SESSION_COOKIE, &token, Some(ttl.num_seconds())));
    Ok(tanu_ui::web::see_other(login.next))
}

/// Redeems the code as any relying party would: discovery, token request
/// with PKCE and client authentication, ID token verification, userinfo.
async fn redeem(app: &OnboardingState, code: &str, login: &crate::store::onboarding::PortalLogin) -> anyhow::Result<(String, String)> {
    use openidconnect::core::{CoreClient, CoreProviderMetadata};
    use openidconnect::{AuthorizationCode, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl, TokenResponse};
    let http = openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).build()?;
    let md = CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone())?, &http).await?;
    let rp = CoreClient::from_provider_metadata(md, openidconnect::ClientId::new(PORTAL_CLIENT_ID.into()), Some(ClientSecret::new(portal_secret(app))))
        .set_redirect_uri(RedirectUrl::new(callback_uri(app))?);
    let tokens =
        rp.exchange_code(AuthorizationCode::new(code.into()))?.set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone())).request_async(&http).await?;
    let id_token = tokens.id_token().ok_or_else(|| anyhow::anyhow!("no ID token"))?;
    id_token.claims(&rp.id_token_verifier(), &Nonce::new(login.nonce.clone()))?;
    #[derive(Debug, Clone, Deserialize, serde::Serialize)]
    struct Iin {
        iin: Option<String>,
    }
    impl openidconnect::AdditionalClaims for Iin {}
    let info: openidconnect::UserInfoClaims<Iin, openidconnect::core::CoreGenderClaim> =
        rp.user_info(tokens.access_token().clone(), None)?.request_async(&http).await?;
    let iin = info.additional_claims().iin.clone().ok_or_else(|| anyhow::anyhow!("userinfo has no iin"))?;
    let family = info.family_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let given = info.given_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let name = [family, given].into_iter().flatten().collect::<Vec<_>>().join(" ");
    Ok((iin, if name.is_empty() { "—".into() } else { name }))
}

pub(super) use tanu_parse::forms::CsrfForm;

#[handler]
async fn signout(cookies: &CookieJar, SignedForm(who, _): SignedForm<CsrfForm>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    app.store.end_portal_session(&who.session_hash).await?;
    cookies.add(app.cookies.make(SESSION_COOKIE, "", Some(0)));
    Ok(tanu_ui::web::see_other("/onboarding"))
}

/// The sanitised logo (always PNG), for the consent screen of the client.
#[handler]
async fn logo(Path(id): Path<String>, Data(app): Data<&Arc<OnboardingState>>) -> Response {
    let logo = match app.store.application(&id).await {
        Ok(Some(a)) => a.row.logo,
        _ => None,
    };
    match logo.and_then(|b| STANDARD.decode(b).ok()) {
        Some(png) => png
            .with_content_type("image/png")
            .with_header("Cache-Control", "public, max-age=3600")
            .with_header("Content-Security-Policy", "default-src 'none'")
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_one_of_our_pages_only() {
        for ok in [
            "/portal",
            "/portal/new",
            "/console",
            "/onboarding",
            "/portal/applications/ab12-cd_3",
            "/console/applications/x1",
            "/me/verify",
            "/me/verify?code=12345678",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "/\t/evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example/portal",
            "/portal/../../evil",
            "/portal/applications/a/b",
            "/portal/applications/",
            "/portal?x=//evil",
            "/portal\n",
            "/ /evil",
            "/%2F/evil",
            "portal",
            "",
            "/token",
            "/portal/applications/a%2f..",
            "/me/verify?code=1234567",
            "/me/verify?code=123456789",
            "/me/verify?code=1234567a",
            "/me/verify?next=//evil",
            "/me/verify?code=12345678&x=//evil",
            "/me/verify?code=12345678?",
            "/portal?code=12345678",
        ] {
            assert_eq!(safe_next(Some(bad)), "/portal", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/portal");
    }
}
