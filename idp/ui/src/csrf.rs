//! The one key every page's CSRF token is a MAC under. The composition root
//! derives it once from the master key and hands it to each area (the
//! provider's interaction pages, the cabinet, the portal and console); each
//! binds its tokens to its own purpose and session, so a token of one page
//! is never one of another.
use tanu_core::crypto::{mac, MasterKey};

#[derive(Clone)]
pub struct Csrf([u8; 32]);

impl Csrf {
    /// The key derived from the master key (the same on every instance sharing it).
    pub fn derive(master: &MasterKey) -> Self {
        Csrf(master.derive("tanu csrf v1"))
    }

    /// The token of `purpose` (an interaction, a page's area) bound to
    /// `binding` (the browser's session or binding).
    pub fn token(&self, purpose: &str, binding: &str) -> String {
        mac(&self.0, &["csrf", purpose, binding])
    }
}
