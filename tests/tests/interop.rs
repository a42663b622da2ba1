//! Interop: independent relying-party libraries in other languages complete
//! code + PKCE, verify the ID token, call userinfo, refresh, introspect and
//! revoke against a real Tanu over HTTP. (The Rust `openidconnect` crate's run is in conformance.rs.)
use std::process::Command;

use tanu_tests::*;

const CB: &str = "http://127.0.0.1:9/callback";

fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

async fn run_rp(program: &str, args: &[&str]) -> serde_json::Value {
    run_rp_with(program, args, &[], |_| {}).await
}

/// Runs the relying party with extra environment, for a client registered with `tweak`.
async fn run_rp_with(program: &str, args: &[&str], env: &[(&str, &str)], tweak: impl FnOnce(&mut tanu_idp::store::NewClient)) -> serde_json::Value {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "Aigerim", "Seitkali").await;
    tanu.sign_in_as(Some(&citizen));
    let (client, secret) = tanu.client(CB, tweak).await;
    tanu.consent(&citizen, &client.id, "profile iin offline_access").await;
    let out = tokio::task::spawn_blocking({
        // A private_key_jwt client has no secret.
        let (program, args, base, id, secret) =
            (program.to_string(), args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), tanu.base.clone(), client.id.to_string(), secret.unwrap_or_default());
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move || {
            Command::new(program)
                .args(args)
                .current_dir(workspace())
                .env("TANU_ISSUER", base)
                .env("CLIENT_ID", id)
                .env("CLIENT_SECRET", secret)
                .env("REDIRECT_URI", CB)
                .envs(env)
                .output()
                .expect("the relying party runs (make test installs node and the Python venv)")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{program} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).expect("a JSON report");
    assert_eq!(report["sub"], tanu.app.subject(&client, &citizen.id), "the pairwise subject for this client");
    assert_eq!(report["amr"], serde_json::json!(["face"]));
    assert_eq!(report["acr"], tanu_idp::face::ACR_FACE_LIVENESS);
    assert_eq!(report["iin"], "900517300124");
    assert_eq!(report["given_name"], "Aigerim");
    // Introspection and revocation through the library.
    let before = &report["introspection_before"];
    assert_eq!(before["active"], true, "{report}");
    assert_eq!(before["sub"], report["sub"]);
    assert_eq!(before["client_id"], client.id.as_str());
    assert_eq!(report["introspection_after_revoke"], serde_json::json!({"active": false}), "revoking the refresh token ended the grant");
    assert_eq!(report["refresh_after_revoke"], "invalid_grant");
    assert_eq!(report["userinfo_after_revoke"], "invalid_token");
    report
}

#[tokio::test]
async fn node_openid_client_v6() {
    run_rp("node", &["tests/interop/node/rp.mjs"]).await;
}

/// The same relying party pushing its request (RFC 9126), for a client that
/// must: the browser carries only client_id and request_uri.
#[tokio::test]
async fn node_openid_client_v6_with_par() {
    let report = run_rp_with("node", &["tests/interop/node/rp.mjs"], &[("USE_PAR", "1")], |c| c.require_pushed_authorization_requests = true).await;
    assert_eq!(report["pushed"], true);
}

/// The same relying party configured for FAPI 2.0 against a `fapi2` client:
/// PAR, private_key_jwt with ES256 (aud = the issuer, as openid-client sends
/// it), an ES256 ID token, userinfo, refresh (not rotated, and usable again),
/// introspection, revocation, DPoP-bound tokens, and RP-initiated logout
/// followed by back-channel logout (the token checked by the party).
#[tokio::test]
async fn node_openid_client_v6_fapi2() {
    let key = ClientKey::es256("rp-es256");
    let private = key.private_jwk.clone().unwrap();
    // The relying party's back-channel logout receiver: a free loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let bcl: tanu_idp::domain::RedirectUri = format!("http://127.0.0.1:{port}/bcl").parse().unwrap();
    let report = run_rp_with("node", &["tests/interop/node/rp.mjs"], &[("FAPI2", "1"), ("CLIENT_PRIVATE_JWK", &private), ("BCL_PORT", &port)], |c| {
        c.profile = tanu_idp::domain::ClientProfile::Fapi2;
        c.auth_method = tanu_idp::domain::TokenAuthMethod::PrivateKeyJwt;
        c.jwks = Some(key.jwks.clone().into());
        c.id_token_alg = tanu_idp::domain::SigningAlg::Es256;
        c.backchannel_logout_uri = Some(bcl);
        c.backchannel_logout_session_required = true;
    })
    .await;
    // Back-Channel Logout 1.0 §2.6, checked by the relying party with `jose`
    // (signature against /jwks, iss, aud, typ, iat, jti, events): after its
    // RP-initiated logout, the logout token names its session and subject.
    let bc = &report["backchannel"];
    assert_eq!(bc["path"], "/bcl", "{report}");
    assert_eq!(bc["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(bc["event"], serde_json::json!(["http://schemas.openid.net/event/backchannel-logout"]));
    assert_eq!(
        (&bc["sid_matches"], &bc["sub_matches"], &bc["has_nonce"]),
        (&serde_json::json!(true), &serde_json::json!(true), &serde_json::json!(false)),
        "{bc}"
    );
    assert_eq!(report["fapi2"], true);
    assert_eq!(report["pushed"], true);
    assert_eq!(report["id_token_alg"], "ES256");
    assert_eq!(report["refresh_rotated"], false);
    // FAPI 2.0 SP §5.3.2.1: sender-constrained (DPoP) tokens, and introspection shows the key.
    assert_eq!(report["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("dpop"), "{report}");
    assert!(report["introspection_before"]["cnf"]["jkt"].is_string(), "{report}");
}

#[tokio::test]
async fn python_authlib() {
    let python = workspace().join("ops/vendor/venv/bin/python");
    run_rp(python.to_str().unwrap(), &["tests/interop/python/rp.py"]).await;
}

/// openid-client v6 as a client registered for encrypted responses: ID
/// tokens encrypted to its key (RSA-OAEP-256 with A256GCM, then ECDH-ES with
/// A128CBC-HS256) and userinfo signed (RS256) then encrypted; the library
/// (panva's `jose`, not the `josekit` Tanu encrypts with) decrypts both and
/// checks the inner signatures against `/jwks` before the claims are used.
#[tokio::test]
async fn node_openid_client_v6_encrypted_responses() {
    use tanu_idp::domain::{ContentEncryption, Encryption, KeyEncryptionAlg, SigningAlg};
    for (alg, enc) in [(KeyEncryptionAlg::RsaOaep256, ContentEncryption::A256Gcm), (KeyEncryptionAlg::EcdhEs, ContentEncryption::A128CbcHs256)] {
        let mut private = match alg {
            KeyEncryptionAlg::RsaOaep256 => josekit::jwk::Jwk::generate_rsa_key(2048).unwrap(),
            KeyEncryptionAlg::EcdhEs => josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap(),
        };
        private.set_key_id("rp-enc");
        private.set_key_use("enc");
        private.set_algorithm(alg.as_str());
        let mut public = private.to_public_key().unwrap();
        public.set_key_id("rp-enc");
        public.set_algorithm(alg.as_str());
        let public = serde_json::Value::Object(public.as_ref().clone());
        let jwks = tanu_idp::store::ClientJwks::parse(serde_json::json!({ "keys": [public] })).unwrap();
        let private_json = serde_json::Value::Object(private.as_ref().clone()).to_string();
        let report = run_rp_with("node", &["tests/interop/node/rp.mjs"], &[("ENC_PRIVATE_JWK", &private_json), ("ENC_ENC", enc.as_str())], |c| {
            c.jwks = Some(jwks);
            c.id_token_encryption = Some(Encryption { alg, enc });
            c.userinfo_alg = Some(SigningAlg::Rs256);
            c.userinfo_encryption = Some(Encryption { alg, enc });
        })
        .await;
        assert_eq!(report["id_token_parts"], 5, "the library received a JWE: {report}");
        assert_eq!(report["id_token_alg"], alg.as_str(), "{report}");
    }
}
