// One person's turn in the connection procedure, in Debian Chromium.
//
//   node onboarding.mjs '{"base":…,"phase":…,"id":…,"pki":DIR,"lang":"ru","shots":DIR}'
//
// The Rust test (tests/tests/browser.rs) decides who the test authenticator
// signs in, runs one phase per person's turn, and checks the result. Each
// phase signs in through Tanu from the portal's own button, clicks through
// the pages as that person would, screenshots them into `shots`, and prints
// one JSON line: {"id": application id, "step": the step shown at the end}.
// Signatures are made with ops/demo/pki.sh (the OpenSSL command line), as an
// EDS tool would, over the document the page offers for download.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const args = JSON.parse(process.argv[2]);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const context = await browser.newContext({ locale: args.lang, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
let n = 0;
async function shot(name) {
  n += 1;
  await page.screenshot({ path: `${args.shots}/onboarding-${args.phase}-${n}-${name}.png`, fullPage: true });
}
const step = async () => page.getAttribute("#summary", "data-step");
async function click(selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function signIn() {
  await page.goto(`${args.base}/onboarding?lang=${args.lang}`);
  await shot("home");
  await click("#signin");
  if (await page.$("button[name=decision][value=allow]")) {
    await shot("consent");
    await click("button[name=decision][value=allow]");
  }
}

async function openApplication(area) {
  await page.goto(`${args.base}/${area}/applications/${args.id}?lang=${args.lang}`);
}

// Downloads the document the page offers, signs it as `signer`, uploads the signature.
async function signAndUpload(signer) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const file = path.join(args.pki, `${args.phase}-${download.suggestedFilename()}`);
  await download.saveAs(file);
  execFileSync("bash", [path.join(root, "ops/demo/pki.sh"), args.pki, "sign", signer, file]);
  await page.setInputFiles("#signature", `${file}.p7s`);
  await shot("signed");
  await click("#sign-form button[type=submit]");
}

const phases = {
  // The initiator files the Appendix 1 form (first with a wrong BIN).
  async file() {
    await signIn();
    await shot("portal");
    await click("#new-application");
    const form = {
      organisation_name: "АО «Пример Банк»",
      bin: "010140000144",
      responsible_official: "Sadykova Aigerim, CTO",
      contact_email: "cto@bank.example.kz",
      system_name: "Internet banking",
      redirect_uri: "https://bank.example.kz/oidc/callback",
      sandbox_redirect_uri: "http://127.0.0.1:8400/callback",
      tos_uri: "https://bank.example.kz/terms",
      policy_uri: "https://bank.example.kz/privacy",
      authorised_person: "Sadykova Aigerim",
    };
    for (const [k, v] of Object.entries(form)) await page.fill(`#${k}`, v);
    await page.setInputFiles("#logo", path.join(root, "tests/browser/logo.svg"));
    await click("#application-form button[type=submit]");
    if (!(await page.$("p.error[data-field=bin]"))) throw new Error("a wrong BIN was accepted");
    await shot("form-error");
    await page.fill("#bin", "010140000143");
    await page.setInputFiles("#logo", path.join(root, "tests/browser/logo.svg"));
    await click("#application-form button[type=submit]");
    await shot("filed");
    return { id: page.url().split("/").pop().split("?")[0], step: await step() };
  },
  // The reviewer finds it in the queue, approves it, grants the sandbox.
  async review() {
    await signIn();
    await page.goto(`${args.base}/console?lang=${args.lang}`);
    await shot("queue");
    await click(`tr[data-id="${args.id}"] a`);
    await click("#approve");
    await click("#grant-sandbox");
    await shot("sandbox-granted");
    return { id: args.id, step: await step() };
  },
  // The initiator takes the sandbox secret, records the tests, signs the act.
  async test() {
    await signIn();
    await openApplication("portal");
    await click("#reveal-sandbox");
    const secret = await page.textContent("#client-secret");
    await shot("secret");
    await openApplication("portal");
    await page.check("input[name=result][value=positive]");
    await page.fill("#note", "All scenarios pass");
    await click("#record-test");
    await page.fill("#conclusion", "Sign-in through Tanu works in the sandbox.");
    await page.fill("#scenario", "1. Sign-in with face.\n2. Refusal of a photo.");
    await page.fill("#decision", "Ready for commissioning.");
    await page.fill("#commissioning_date", "2026-12-15");
    await click("#prepare-act");
    await shot("act");
    await signAndUpload("initiator");
    await shot("act-sent");
    return { id: args.id, step: await step(), secret_length: secret.length };
  },
  // The reviewer approves the act by EDS and sends the draft contract.
  async approve() {
    await signIn();
    await openApplication("console");
    await click("#approve-act");
    await signAndUpload("reviewer");
    await click("#send-draft-contract");
    await shot("draft-contract");
    return { id: args.id, step: await step() };
  },
  async contract() {
    await signIn();
    await openApplication("portal");
    await click("#conclude-contract");
    return { id: args.id, step: await step() };
  },
  async production() {
    await signIn();
    await openApplication("console");
    await click("#grant-production");
    await shot("connected");
    const timeline = await page.textContent("#timeline");
    return { id: args.id, step: await step(), timeline_rows: (await page.$$("#timeline tbody tr")).length, timeline };
  },
};

try {
  const result = await phases[args.phase]();
  console.log(JSON.stringify(result));
} catch (e) {
  await page.screenshot({ path: `${args.shots}/onboarding-${args.phase}-error.png`, fullPage: true }).catch(() => {});
  console.log(JSON.stringify({ error: String(e && e.stack || e), url: page.url() }));
} finally {
  await browser.close();
}
