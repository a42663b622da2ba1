//! Why a face sign-in failed: face sign-in's own failures, which the
//! interaction carries only by their stable code (`interaction::Failure::Method`).
use crate::{i18n::Msg, interaction::Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FaceFailure {
    NoFace,
    SeveralFaces,
    LivenessFailed,
    NoMatch,
    Timeout,
    TooManyAttempts,
}

impl FaceFailure {
    /// The stable code, for the journal, the §10 event and the page.
    pub fn code(self) -> &'static str {
        match self {
            FaceFailure::NoFace => "no_face",
            FaceFailure::SeveralFaces => "several_faces",
            FaceFailure::LivenessFailed => "liveness_failed",
            FaceFailure::NoMatch => "no_match",
            FaceFailure::Timeout => "timeout",
            FaceFailure::TooManyAttempts => "too_many_attempts",
        }
    }

    /// What the citizen is told.
    pub fn message(self) -> Msg {
        match self {
            FaceFailure::NoFace => Msg::fail_no_face,
            FaceFailure::SeveralFaces => Msg::fail_several_faces,
            FaceFailure::LivenessFailed => Msg::fail_liveness,
            FaceFailure::NoMatch => Msg::fail_no_match,
            FaceFailure::Timeout => Msg::fail_timeout,
            FaceFailure::TooManyAttempts => Msg::face_locked,
        }
    }
}

impl From<FaceFailure> for Failure {
    fn from(f: FaceFailure) -> Failure {
        Failure::Method(f.code())
    }
}
