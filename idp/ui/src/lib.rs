//! What every page of Tanu shares: the three languages (`i18n`: Kazakh,
//! Russian, English, one table of every text) and the page machinery
//! (`web`: templates, the error page, the one redirect, the content security
//! policy, the client's address and its rate limits). The protocol, face sign-in, the cabinet and onboarding each
//! declare their own pages on it; it knows none of them.
pub mod csrf;
pub mod i18n;
pub mod ratelimit;
pub mod web;
