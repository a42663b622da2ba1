//! The capture and the decision: each camera frame analysed as it arrives,
//! then liveness and the 1:1 match decided on what the frames left, and the
//! sign-in completed or failed (journalled either way).
use super::*;
use crate::config::FaceConfig;
use logins::Login;
use tanu_biometrics::liveness::FrameAnalysis;

fn problem(status: StatusCode, detail: &str) -> Response {
    crate::oidc::errors::problem(status, status.canonical_reason().unwrap_or("error"), detail)
}

/// One camera frame: `image/jpeg` or `image/png` bytes, CSRF token in `X-CSRF-Token`.
#[handler]
pub(super) async fn frame(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    body: Body,
    Data(ctx): Data<&Arc<Face>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let i = match pending(&ctx.oidc, &id, cookies).await {
        Ok(i) => i,
        Err(_) => return problem(StatusCode::GONE, "the sign-in has expired or belongs to another browser"),
    };
    let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !i.check_csrf(&ctx.oidc, token) {
        return problem(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token");
    }
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !matches!(content_type, "image/jpeg" | "image/png") {
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "a frame is image/jpeg or image/png");
    }
    let limit = ctx.config.face.max_frame_bytes;
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(b) => b,
        Err(_) => return problem(StatusCode::PAYLOAD_TOO_LARGE, &format!("a frame is at most {limit} bytes")),
    };
    let (face, fixed, now) = (&ctx.config.face, state.fixed_challenge, ctx.oidc.clock.now());
    let logins = Logins::of(ctx);
    let admitted = logins.update(&i.id, |l| admit(l, face, fixed, now)).await;
    let (number, at_ms, revealed_step, answer) = match admitted {
        Ok(Some(Ok(x))) => x,
        Ok(Some(Err((status, detail)))) => return problem(status, detail),
        Ok(None) => return problem(StatusCode::CONFLICT, "no sign-in in progress: enter the IIN first"),
        Err(e) => return e.problem(),
    };
    // Decode and analyse now, keep the measurements, drop the pixels. An
    // undecodable frame is dropped, not fatal: the checks count frames.
    let Ok(_permit) = state.analysing.acquire().await else { return problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down") };
    let analysed = analyse(ctx, state, bytes, at_ms).await;
    if let Some(analysis) = analysed {
        if let Err(e) = logins.add_frame(&i.id, number, &analysis, ctx.login_request_ttl).await {
            return e.problem();
        }
    }
    // The challenge is shown by this answer: frames after it can perform it.
    if let Some(step) = revealed_step {
        let shown = ctx.oidc.clock.now();
        let set = logins
            .update(&i.id, |l| {
                if let Some(c) = l.capture.as_mut().filter(|c| c.number == number) {
                    let at = c.elapsed_ms(shown);
                    if let Some(s) = c.revealed.get_mut(step) {
                        s.revealed_at_ms = at;
                    }
                }
            })
            .await;
        if let Err(e) = set {
            return e.problem();
        }
    }
    Json(answer).into_response()
}

/// What admitting a frame to the capture gives: the capture's number, the
/// frame's time in it, the step this frame's answer reveals, the answer.
type Admitted = (u32, u32, Option<usize>, serde_json::Value);

/// Admits one frame to the sign-in's capture (planning the capture on its
/// first frame), or refuses it with the status and reason to answer.
fn admit(l: &mut Login, face: &FaceConfig, fixed: Option<Challenge>, now: chrono::DateTime<chrono::Utc>) -> Result<Admitted, (StatusCode, &'static str)> {
    if !l.consents() {
        return Err((StatusCode::CONFLICT, "consent first"));
    }
    // The retry link disappears after the last try; the server holds the line too.
    if l.tries >= face.max_tries {
        return Err((StatusCode::CONFLICT, "no attempts left in this sign-in"));
    }
    // More than one challenge when the risk is high: any try after a
    // failed one. Not the first comparison against the registry photo:
    // the number of steps would tell whoever typed the IIN whether the
    // person has signed in before.
    let high_risk = l.tries > 0;
    let capture = l.capture.get_or_insert_with(|| Capture::plan(face, fixed, high_risk, now));
    let at_ms = capture.elapsed_ms(now);
    if capture.received >= face.max_frames || u64::from(at_ms) / 1000 > face.capture_timeout {
        return Err((StatusCode::CONFLICT, "the capture is complete"));
    }
    capture.received += 1;
    // Each challenge is revealed in the answer to the frame that
    // completes its count; only frames arriving after that answer can
    // perform it. Until the answer leaves (below) no frame can: a
    // verification racing this request finds the step not yet shown.
    let reveals = capture.plan.get(capture.revealed.len()).filter(|(_, n)| capture.received >= *n).map(|(c, _)| *c);
    if let Some(challenge) = reveals {
        capture.revealed.push(Step { challenge, revealed_at_ms: u32::MAX });
    }
    let all_revealed = capture.revealed.len() == capture.plan.len();
    let since_last = capture.plan.last().map_or(0, |(_, n)| capture.received.saturating_sub(*n));
    let done = (all_revealed && since_last >= face.frames_after_challenge) || capture.received >= face.max_frames;
    let revealed_step = reveals.map(|_| capture.revealed.len() - 1);
    Ok((
        capture.number,
        at_ms,
        revealed_step,
        serde_json::json!({
            "frames": capture.received,
            "challenge": capture.revealed.last().map(|s| s.challenge.as_str()),
            "step": capture.revealed.len(),
            "steps": capture.plan.len(),
            "done": done,
        }),
    ))
}

/// Decodes and analyses one frame on a blocking thread (spans `frame` and
/// `decode`: the stage timings and traces, telemetry.rs); `None` when it
/// does not decode or analyse.
async fn analyse(ctx: &Face, state: &FaceState, bytes: bytes::Bytes, at_ms: u32) -> Option<FrameAnalysis> {
    let limits = frame_limits(ctx);
    let engine = state.engine.clone();
    let policy = ctx.config.biometrics.liveness.clone();
    let request = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _frame = tracing::info_span!(target: crate::telemetry::TARGET, parent: &request, "frame").entered();
        let image = tracing::info_span!(target: crate::telemetry::TARGET, "decode").in_scope(|| decode_image(&bytes, &limits)).ok()?;
        engine.analyse_frame(&Frame { at_ms, image }, &policy).map_err(|e| tracing::warn!(error = %e, "frame analysis")).ok()
    })
    .await
    .ok()
    .flatten()
}

impl LoginsError {
    /// The frame API's answer (problem JSON).
    fn problem(&self) -> Response {
        match self {
            LoginsError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "face sign-in state: database unavailable");
                problem(StatusCode::SERVICE_UNAVAILABLE, "the sign-in cannot be read now; try again")
            }
            LoginsError::Store(e) => {
                tracing::error!(error = %e, "face sign-in state");
                problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error; it has been logged")
            }
            LoginsError::Busy => problem(StatusCode::CONFLICT, "one frame at a time"),
        }
    }
}

/// What a camera sends: bounded in bytes and in pixels (a portrait 1080p frame at most).
fn frame_limits(ctx: &Face) -> DecodeLimits {
    DecodeLimits { max_bytes: ctx.config.face.max_frame_bytes, max_width: 1920, max_height: 1920, max_alloc: 64 << 20 }
}

/// What the verification concluded.
enum Verdict {
    Proven { embedding: Embedding, first_time: bool },
    Failed(FaceFailure),
}

#[handler]
pub(super) async fn verify(
    PendingForm(i, _): PendingForm<CsrfForm>,
    cookies: &CookieJar,
    req: &Request,
    Data(ctx): Data<&Arc<Face>>,
    Data(state): Data<&Arc<FaceState>>,
) -> PageResult {
    let (logins, lang) = (Logins::of(ctx), i.lang());
    let taken = logins.update(&i.id, |l| (l.iin.clone(), l.citizen_id.clone(), l.consents(), l.capture.take())).await.in_lang(lang)?;
    let Some((iin, citizen_id, consented, capture)) = taken else { return Ok(see_other(format!("/login/{}", i.id))) };
    if !consented {
        return Ok(see_other(format!("/login/{}/biometric-consent", i.id)));
    }
    let addr = address(req);
    if locked(ctx, i.environment(), &iin, &addr).await.in_lang(lang)? {
        return fail(ctx, &i, &iin, &addr, FaceFailure::TooManyAttempts).await;
    }
    // Too late, or not every challenge shown yet.
    let now = ctx.oidc.clock.now();
    let unfinished = |c: &Capture| u64::from(c.elapsed_ms(now)) / 1000 > ctx.config.face.capture_timeout + 10 || c.revealed.len() < c.plan.len();
    let verdict = match capture {
        None => Verdict::Failed(FaceFailure::NoFace),
        Some(c) if unfinished(&c) => {
            // Decided without its frames: none are left behind.
            logins.take_frames(&i.id, c.number).await.in_lang(lang)?;
            Verdict::Failed(FaceFailure::Timeout)
        }
        Some(c) => match judge(ctx, state, &i, &iin, citizen_id.as_deref(), c).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "face verification");
                return Ok(html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    FaceResultPage {
                        lang: i.lang(),
                        interaction: i.id.clone(),
                        csrf: i.csrf(&ctx.oidc),
                        code: "engine_error",
                        reason: Msg::fail_engine,
                        tries_left: 0,
                    },
                ));
            }
        },
    };
    match verdict {
        Verdict::Failed(failure) => fail(ctx, &i, &iin, &addr, failure).await,
        Verdict::Proven { embedding, first_time } => succeed(ctx, cookies, &i, &iin, embedding, first_time).await,
    }
}

/// Liveness over the frames' measurements, the replay check, then the
/// comparison.
#[tracing::instrument(target = "tanu_trace", name = "face verification", skip_all)]
async fn judge(ctx: &Face, state: &Arc<FaceState>, i: &Interaction, iin: &Iin, citizen_id: Option<&str>, capture: Capture) -> anyhow::Result<Verdict> {
    let schedule = capture.schedule();
    let frames = Logins::of(ctx).take_frames(&i.id, capture.number).await?;
    let outcome = SequenceOutcome::new(frames, &schedule, &ctx.config.biometrics.liveness);
    let replayed = state.replayed(ctx, FrameSignature::of_capture(&outcome.frames)).await?;
    if replayed {
        crate::metrics::liveness_check_failed("replayed_capture");
        journal(ctx, i, Some(iin), "liveness", Outcome::Failure, Some("replayed_capture")).await?;
        return Ok(Verdict::Failed(FaceFailure::LivenessFailed));
    }
    if !outcome.report.live {
        let failed = outcome.report.failed();
        for check in &failed {
            crate::metrics::liveness_check_failed(check);
        }
        let detail = failed.join(",");
        journal(ctx, i, Some(iin), "liveness", Outcome::Failure, Some(&detail)).await?;
        let failure = if outcome.frames.iter().all(|f| f.faces == 0) {
            FaceFailure::NoFace
        } else if failed.contains(&"single_face") {
            FaceFailure::SeveralFaces
        } else {
            FaceFailure::LivenessFailed
        };
        return Ok(Verdict::Failed(failure));
    }
    let challenge = schedule.names();
    journal(ctx, i, Some(iin), "liveness", Outcome::Success, Some(challenge.as_str())).await?;
    let Some(probe) = outcome.probe else {
        journal(ctx, i, Some(iin), "match", Outcome::Failure, Some("no_usable_frame")).await?;
        return Ok(Verdict::Failed(FaceFailure::NoFace));
    };
    // §9: the reference template when there is one, else the document photo.
    let master = TemplateMasterKey::from_bytes(ctx.config.template_key);
    let stored = match citizen_id {
        Some(c) => ctx.oidc.store.reference_template(c).await?,
        None => None,
    };
    let (reference, first_time) = match stored.map(|s| template::open(&master, citizen_id.unwrap_or_default(), &s)) {
        Some(Ok(e)) => (e, false),
        Some(Err(e)) => {
            // Unreadable (key changed or tampered): fall back to the document photo and re-form it.
            tracing::warn!(error = %e, "reference template unreadable; verifying against the registry photo");
            (document_embedding(ctx, state, i, iin).await?, true)
        }
        None => (document_embedding(ctx, state, i, iin).await?, true),
    };
    let decision = MatchDecision::decide(&probe, &reference, Threshold(ctx.config.biometrics.threshold));
    let against = if first_time { "document_photo" } else { "reference_template" };
    if !decision.is_match {
        journal(ctx, i, Some(iin), "match", Outcome::Failure, Some(against)).await?;
        return Ok(Verdict::Failed(FaceFailure::NoMatch));
    }
    journal(ctx, i, Some(iin), "match", Outcome::Success, Some(against)).await?;
    Ok(Verdict::Proven { embedding: probe, first_time })
}

async fn document_embedding(ctx: &Face, state: &Arc<FaceState>, i: &Interaction, iin: &Iin) -> anyhow::Result<Embedding> {
    let person = state.registries.of(i.environment()).lookup(iin).await?.ok_or(RegistryError::InvalidRecord("the person left the registry".into()))?;
    let limits = ctx.config.biometrics.decode;
    let engine = state.engine.clone();
    let span = tracing::info_span!(target: crate::telemetry::TARGET, "registry photo");
    let observed = tokio::task::spawn_blocking(move || -> anyhow::Result<Embedding> {
        let _in = span.enter();
        let img = decode_image(&person.photo, &limits)?;
        Ok(engine.observe(&img)?.embedding)
    })
    .await??;
    Ok(observed)
}

async fn succeed(ctx: &Face, cookies: &CookieJar, i: &Interaction, iin: &Iin, embedding: Embedding, first_time: bool) -> PageResult {
    // A consent is recorded when none is in force (the page is shown to everyone).
    let (logins, lang) = (Logins::of(ctx), i.lang());
    let Some(login) = logins.get(&i.id).await.in_lang(lang)? else { return Ok(see_other(format!("/login/{}", i.id))) };
    let (name, consent_now) = (login.name, login.consent_given_now && !login.consented);
    let (family, given) = split_name(&name);
    let result: Result<crate::store::Citizen, crate::store::StoreError> = async {
        let citizen = ctx.oidc.store.upsert_citizen(i.environment(), iin.as_str(), &given, &family, birth_date(iin).as_deref()).await?;
        if consent_now {
            ctx.oidc.store.record_biometric_consent(&citizen.id, CONSENT_TEXT_VERSION).await?;
        }
        if first_time {
            let master = TemplateMasterKey::from_bytes(ctx.config.template_key);
            ctx.oidc.store.save_reference_template(&citizen.id, &template::seal(&master, &citizen.id, &embedding)).await?;
        }
        Ok(citizen)
    }
    .await;
    let citizen = result.in_lang(lang)?;
    let journalled = async {
        if consent_now {
            journal(ctx, i, Some(iin), "biometric_consent", Outcome::Success, Some(CONSENT_TEXT_VERSION)).await?;
        }
        if first_time {
            journal(ctx, i, Some(iin), "reference_formed", Outcome::Success, None).await?;
        }
        Ok::<(), crate::store::StoreError>(())
    };
    journalled.await.in_lang(lang)?;
    logins.take(&i.id).await.in_lang(lang)?;
    let amr = vec![AMR_FACE.to_owned(), AMR_LIVENESS.to_owned()];
    Ok(complete_login(&ctx.oidc, cookies, i, Authenticated { citizen: &citizen, amr, acr: crate::face::ACR_FACE_LIVENESS.into() }).await)
}

async fn fail(ctx: &Face, i: &Interaction, iin: &Iin, addr: &str, failure: FaceFailure) -> PageResult {
    let lang = i.lang();
    if lockout::recorded(failure) {
        ctx.oidc.store.record_face_failure(&ctx.oidc.journal.person(i.environment(), iin.as_str()), addr, failure.code()).await.in_lang(lang)?;
    }
    let max = ctx.config.face.max_tries;
    let locked_now = locked(ctx, i.environment(), iin, addr).await.unwrap_or(true);
    let counted = Logins::of(ctx)
        .update(&i.id, |l| {
            l.tries += 1;
            l.last_failure = Some(failure);
            l.tries
        })
        .await;
    let tries = counted.in_lang(lang)?.unwrap_or(max);
    let tries_left = if locked_now || failure == FaceFailure::TooManyAttempts { 0 } else { max.saturating_sub(tries) };
    let reason = failure.message();
    Ok(html(
        StatusCode::UNPROCESSABLE_ENTITY,
        FaceResultPage { lang, interaction: i.id.clone(), csrf: i.csrf(&ctx.oidc), code: failure.code(), reason, tries_left },
    ))
}

/// The citizen stops after a failure: the relying party gets `access_denied`
/// with the (non-revealing) reason of the last failure.
#[handler]
pub(super) async fn give_up(PendingForm(i, _): PendingForm<CsrfForm>, Data(ctx): Data<&Arc<Face>>) -> PageResult {
    end(ctx, &i, true).await
}

/// The citizen cancels: `access_denied`, reason `cancelled`.
#[handler]
pub(super) async fn cancel(PendingForm(i, _): PendingForm<CsrfForm>, Data(ctx): Data<&Arc<Face>>) -> PageResult {
    end(ctx, &i, false).await
}

/// Ends the sign-in at the citizen's request, with the last failure's reason or as cancelled.
async fn end(ctx: &Face, i: &Interaction, with_last_failure: bool) -> PageResult {
    let last = Logins::of(ctx).take(&i.id).await.in_lang(i.lang())?.and_then(|l| l.last_failure);
    let failure = if with_last_failure { last.map_or(Failure::Cancelled, Failure::from) } else { Failure::Cancelled };
    Ok(deny(&ctx.oidc, i, failure).await)
}
