// Face sign-in page script. The page only captures: it checks the IIN's form
// for the citizen's convenience (the server checks again) and sends camera
// frames to the server, which decides everything, including when to show
// which challenge. Served from the same origin; no inline script (CSP).
"use strict";

(function iinForm() {
  const form = document.getElementById("iin-form");
  if (!form) return;
  const input = document.getElementById("iin");
  const error = document.getElementById("iin-error");
  const valid = (s) => {
    if (!/^[0-9]{12}$/.test(s)) return false;
    const d = s.split("").map(Number);
    const weigh = (w) => w.reduce((sum, wi, i) => sum + wi * d[i], 0) % 11;
    let c = weigh([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if (c === 10) c = weigh([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    return c !== 10 && c === d[11];
  };
  const check = () => {
    const ok = valid(input.value.trim());
    error.textContent = ok || input.value.length < 12 ? "" : input.dataset.invalid;
    return ok;
  };
  input.addEventListener("input", check);
  form.addEventListener("submit", (e) => {
    if (!check()) { error.textContent = input.dataset.invalid; e.preventDefault(); }
  });
})();

(function camera() {
  const box = document.getElementById("capture");
  if (!box) return;
  const video = document.getElementById("video");
  const instruction = document.getElementById("instruction");
  const start = document.getElementById("start");
  const frameUrl = `/login/${box.dataset.interaction}/frame`;
  const canvas = document.createElement("canvas");
  let running = false;

  async function capture() {
    if (running) return;
    running = true;
    start.disabled = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      instruction.textContent = box.dataset.denied;
      start.disabled = false;
      running = false;
      return;
    }
    video.srcObject = stream;
    await new Promise((r) => (video.readyState >= 2 ? r() : video.addEventListener("loadeddata", r, { once: true })));
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext("2d");
    for (;;) {
      const began = performance.now();
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85));
      const resp = await fetch(frameUrl, {
        method: "POST",
        headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": box.dataset.csrf },
        body: blob,
        credentials: "same-origin",
      });
      if (!resp.ok) break; // the server has an answer for the verify step
      const state = await resp.json();
      if (state.challenge) instruction.textContent = box.dataset[state.challenge];
      if (state.done) break;
      // About 8 frames a second.
      const wait = 125 - (performance.now() - began);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    instruction.textContent = box.dataset.checking;
    stream.getTracks().forEach((t) => t.stop());
    document.getElementById("verify").submit();
  }
  start.addEventListener("click", capture);
})();
