//! Tanu's parsers of untrusted request input, kept apart from the server so
//! that they are pure functions of their bytes: the OAuth parameters of a
//! form or query ([`params`]), the browser forms' types ([`forms`]), the
//! onboarding portal's multipart uploads ([`multipart`]) and
//! `private_key_jwt` client assertions ([`assertion`]). The provider
//! (`tanu-idp`) calls these; the fuzz targets in `idp/fuzz` call
//! [`fuzzing`], which calls these.
pub mod assertion;
pub mod forms;
pub mod fuzzing;
pub mod multipart;
pub mod params;

/// Runs a future to completion on this thread, for futures whose every
/// wait is already satisfied (a multipart body held in memory). A future
/// that waits on anything else would spin: use an executor for those.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
