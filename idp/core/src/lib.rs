//! Tanu's core: the domain types every other crate speaks, each built once
//! at the edge by parsing (an `Iin` or a `RedirectUri` in hand is valid),
//! and the cryptographic primitives they share. No I/O, no HTTP, no SQL;
//! depended on by every crate, depending on none of them.
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod first_party;
pub mod ids;
pub mod iin;
pub mod lang;
pub mod pkce;

pub use clock::Clock;
pub use ids::{kz_check_digit, kz_check_digit_valid, Bin, BinError};
pub use iin::{Iin, IinError};
pub use lang::Lang;
