//! sea-orm entities, one module per table of `migrations/`.
#![allow(missing_docs)]

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}
pub(crate) use no_relations;

pub mod client {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        pub secret_hash: Option<String>,
        pub name: String,
        pub organisation_name: String,
        pub system_name: String,
        pub logo_uri: Option<String>,
        pub policy_uri: Option<String>,
        pub tos_uri: Option<String>,
        /// JSON array of strings.
        pub redirect_uris: String,
        /// JSON array of strings.
        pub post_logout_redirect_uris: String,
        /// A JWK Set, for `private_key_jwt`.
        pub jwks: Option<String>,
        pub token_endpoint_auth_method: String,
        pub subject_type: String,
        pub sector_identifier: String,
        pub id_token_signed_response_alg: String,
        /// `domain::KeyEncryptionAlg` and `ContentEncryption`: both or neither.
        pub id_token_encrypted_response_alg: Option<String>,
        pub id_token_encrypted_response_enc: Option<String>,
        /// `domain::SigningAlg`: userinfo as a signed JWT.
        pub userinfo_signed_response_alg: Option<String>,
        pub userinfo_encrypted_response_alg: Option<String>,
        pub userinfo_encrypted_response_enc: Option<String>,
        pub environment: String,
        pub disabled: bool,
        pub created_at: DateTimeUtc,
        /// Where §10 outcome events (Security Event Tokens) are pushed.
        pub notification_endpoint: Option<String>,
        /// Where logout tokens are posted (Back-Channel Logout 1.0).
        pub backchannel_logout_uri: Option<String>,
        /// The client needs `sid` in its logout tokens.
        pub backchannel_logout_session_required: bool,
        /// The client's authorization requests must come through `/par` (RFC 9126).
        pub require_pushed_authorization_requests: bool,
        /// `standard` or `fapi2` (`domain::ClientProfile`).
        pub profile: String,
        /// RFC 9449 §5.2: the client's token requests must carry a DPoP proof.
        pub dpop_bound_access_tokens: bool,
    }
    no_relations!();
}

pub mod signing_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub alg: String,
        pub public_jwk: String,
        pub sealed_private_key: String,
        pub created_at: DateTimeUtc,
        pub activates_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod citizen {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "citizens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `production` (a citizen of the person registry) or `sandbox` (a
        /// test person of the sandbox registry); the IIN is unique per environment.
        pub environment: String,
        pub iin: String,
        pub given_name: String,
        pub family_name: String,
        pub birthdate: Option<String>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod browser_session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "browser_sessions")]
    pub struct Model {
        /// The `sid` claim.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub cookie_hash: String,
        pub citizen_id: String,
        pub auth_time: DateTimeUtc,
        pub acr: String,
        /// JSON array of strings.
        pub amr: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub ended_at: Option<DateTimeUtc>,
        /// The environment of its citizen: only clients of it reuse the session.
        pub environment: String,
    }
    no_relations!();
}

pub mod login_request {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub browser_binding_hash: String,
        pub client_id: String,
        /// The validated authorization request, JSON.
        pub request: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub authenticated_session_id: Option<String>,
        pub completed_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod grant {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub citizen_id: String,
        pub session_id: String,
        pub scope: String,
        pub auth_time: DateTimeUtc,
        pub acr: String,
        pub amr: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        pub revoked_reason: Option<String>,
    }
    no_relations!();
}

pub mod authorization_code {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authorization_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub grant_id: String,
        pub client_id: String,
        pub redirect_uri: String,
        pub pkce_challenge: String,
        pub nonce: Option<String>,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        /// RFC 9449 §10: the `dpop_jkt` of the authorization request; the
        /// token request must bring a proof with that key.
        pub dpop_jkt: Option<String>,
    }
    no_relations!();
}

pub mod access_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "access_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub grant_id: String,
        pub expires_at: DateTimeUtc,
        /// The scope this token was issued with (a refresh may narrow it);
        /// `None`: the grant's.
        pub scope: Option<String>,
        /// The DPoP key thumbprint the token is bound to (`cnf.jkt`); `None`: a bearer token.
        pub dpop_jkt: Option<String>,
    }
    no_relations!();
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub grant_id: String,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        /// The DPoP key a refresh must prove (RFC 9449 §5); `None`: unbound.
        pub dpop_jkt: Option<String>,
    }
    no_relations!();
}

pub mod client_assertion {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_assertions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub client_id: String,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod consent {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub citizen_id: String,
        pub client_id: String,
        pub scopes: String,
        pub granted_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod audit_record {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_journal")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub at: DateTimeUtc,
        pub client_id: Option<String>,
        /// The citizen's IIN, pseudonymised (HMAC under a key derived from the master key).
        pub subject: Option<String>,
        pub step: String,
        pub outcome: String,
        pub reason: Option<String>,
        pub prev_hash: String,
        pub hash: String,
    }
    no_relations!();
}

pub mod event_delivery {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub client_id: String,
        pub endpoint: String,
        pub set_jwt: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        /// `secevent` (a §10 event) or `backchannel_logout` (a logout token).
        pub kind: String,
    }
    no_relations!();
}

pub mod biometric_consent {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "biometric_consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub citizen_id: String,
        pub text_version: String,
        pub accepted_at: DateTimeUtc,
        pub withdrawn_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod reference_template {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reference_templates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub citizen_id: String,
        pub sealed_embedding: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

/// Each citizen's template data key, sealed under the master key: a table of
/// its own, so that deleting it does not depend on the templates' rows or
/// backups (crypto-shredding).
pub mod template_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "template_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub citizen_id: String,
        pub wrapped_key: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod face_failure {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "face_failures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub iin_hash: String,
        pub client_address: String,
        pub reason: String,
        pub at: DateTimeUtc,
    }
    no_relations!();
}

pub mod pushed_request {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pushed_requests")]
    pub struct Model {
        /// SHA-256 of the `request_uri`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_uri_hash: String,
        pub client_id: String,
        /// The pushed parameters, form-encoded.
        pub params: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

/// DPoP proofs seen (RFC 9449 §11.1): each `jti` once per key, kept for the
/// proof's lifetime.
pub mod dpop_proof {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dpop_proofs")]
    pub struct Model {
        /// SHA-256 of `jkt:jti`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

/// A face sign-in's state between requests (sealed by the face module).
pub mod face_sign_in {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "face_sign_ins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub state: String,
        pub version: i64,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

/// One analysed camera frame of a face sign-in's capture (sealed measurements).
pub mod face_frame {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "face_frames")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub sign_in_id: String,
        pub capture: i64,
        pub at_ms: i64,
        pub analysis: String,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

/// A recent capture's frame signatures, for the replay check of every instance.
pub mod face_capture_seen {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "face_captures_seen")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub at: DateTimeUtc,
        pub signatures: String,
    }
    no_relations!();
}

/// A `tanu serve` process's last heartbeat.
pub mod serving_instance {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "serving_instances")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub seen_at: DateTimeUtc,
    }
    no_relations!();
}
