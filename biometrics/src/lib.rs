//! Liveness-checked 1:1 face verification on ONNX Runtime (Rules §4–§11).
//!
//! The crate has one job: given images of a face, say whether they show the
//! same living person. It knows nothing of HTTP, OIDC or storage; the `idp`
//! crate drives it.
//!
//! Layers, from pure to I/O:
//! - [`iin`], [`decision`], [`liveness`], [`geometry`], [`align`]: pure logic
//!   (identifiers, thresholds, fusion, the liveness decision over a capture, the
//!   planarity test, the alignment transform), unit-tested alone.
//! - [`rigid`]: whether a blink is the whole face's or a rigid copy with the
//!   eyes changed (pure; the decision's `no_rigid_copy`).
//! - [`texture`]: spectral test of the face region for screens and prints.
//! - [`attacks`]: presentation attacks made from a photo, for evaluation (PAD).
//! - [`image_input`]: bounded decoding of untrusted JPEG/PNG bytes.
//! - [`models`]: the ONNX models behind one small interface ([`models::ModelSet`]),
//!   each with its input contract; another set can replace them by configuration.
//! - [`pipeline`]: detect → landmarks → align → embed, quality gates, per-frame
//!   observations ([`pipeline::Engine`]).
//! - [`template`]: reference templates sealed with a per-citizen data key.
//! - [`registry`]: the person registry adapter (document photos, §9).
//! - [`eval`]: verification figures on a labelled pair list.

pub mod align;
pub mod attacks;
pub mod decision;
pub mod eval;
pub mod geometry;
/// The IIN, defined once (with its check digit) in `tanu-core`.
pub use tanu_core::iin;
pub mod image_input;
pub mod liveness;
pub mod models;
mod onnx_patch;
pub mod pad;
pub mod pipeline;
pub mod registry;
pub mod replay;
pub mod rigid;
pub mod sequence;
pub mod template;
pub mod texture;

pub use decision::{Challenge, Embedding, MatchDecision, Threshold};
pub use iin::Iin;
pub use image_input::{decode_image, DecodeLimits, ImageError};
pub use liveness::{LivenessPolicy, LivenessReport, Schedule, Step};
pub use models::{ModelError, ModelSet, ModelsConfig};
pub use pipeline::{Engine, FaceError, FaceObservation};
