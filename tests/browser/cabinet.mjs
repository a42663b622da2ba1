// The citizen's cabinet (/me) in Debian Chromium on a phone-sized screen.
//
//   node cabinet.mjs '{"base":…,"lang":"ru","shots":DIR,"act":CLIENT_ID|null}'
//   node cabinet.mjs '{"base":…,"lang":"ru","shots":DIR,"verify":{"code":…,"wrong":…}}'
//
// With `verify`, the verifier page (/me/verify) instead: an organisation
// user opens the QR code's address, signs in with Tanu through the portal's
// sign-in (the Rust test's authenticator signs in the user it names), types
// a wrong code and sees the error, then opens the QR address again (the form
// filled with the code) and presses "Show the document". Screenshots
// `cabinet-LANG-verify-*.png`.
//
// Signs in from the cabinet's own button (the Rust test's authenticator
// signs in whoever it names), screenshots every page into `shots`, and with
// opens access to the identity card (its code and QR code), and with
// `act` revokes that client's consent and withdraws biometric consent by
// clicking. Prints one JSON line of what it saw.
import { chromium } from "playwright-core";

const args = JSON.parse(process.argv[2]);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const out = { pages: [] };
const context = await browser.newContext({ locale: args.lang, viewport: { width: 390, height: 844 }, isMobile: true });
const page = await context.newPage();
async function shot(name) {
  await page.screenshot({ path: `${args.shots}/cabinet-${args.lang}-${name}.png`, fullPage: true });
  out.pages.push(name);
}
async function click(selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}
const clients = async () => page.$$eval("[data-client]", (els) => els.map((e) => e.getAttribute("data-client")));
async function cabinet() {
  await page.goto(`${args.base}/me?lang=${args.lang}`);
  await shot("home");
  await click("[data-signin]");
  out.lang = await page.getAttribute("html", "lang");
  out.consents = await clients();
  await shot("consents");
  await page.goto(`${args.base}/me/history?lang=${args.lang}`);
  out.history = (await page.$$("[data-entry]")).length;
  await shot("history");
  await page.goto(`${args.base}/me/biometrics?lang=${args.lang}`);
  out.template = !!(await page.$("[data-template]"));
  await shot("biometrics");
  await page.goto(`${args.base}/me/documents?lang=${args.lang}`);
  await shot("documents");
  await click("[data-open]");
  out.code = await page.getAttribute("[data-code]", "data-code");
  out.qr = !!(await page.$("[data-qr] svg"));
  await shot("documents-opened");
  if (args.act) {
    await page.goto(`${args.base}/me?lang=${args.lang}`);
    await click(`[data-client="${args.act}"] button`);
    out.after = await clients();
    await shot("revoked");
    await page.goto(`${args.base}/me/biometrics?lang=${args.lang}`);
    await click("form[action^='/me/biometrics/withdraw'] button");
    out.signedOut = !!(await page.$("[data-signin]"));
    await shot("withdrawn");
  }
}

// The verifier page: sign in, a wrong code refused, the right one shown once.
async function verify({ code, wrong }) {
  const at = (c) => `${args.base}/me/verify?code=${c}&lang=${args.lang}`;
  // Signed out, the page sends to the portal's sign-in (through Tanu's /authorize).
  await page.goto(at(wrong));
  if (await page.$("button[name=decision][value=allow]")) {
    await shot("verify-consent");
    await click("button[name=decision][value=allow]");
  }
  out.afterSignin = new URL(page.url()).pathname;
  out.afterSigninCode = new URL(page.url()).searchParams.get("code");
  // The QR code's address fills the form (a GET redeems nothing); here a wrong code.
  await page.goto(at(wrong));
  out.lang = await page.getAttribute("html", "lang");
  out.prefilledWrong = await page.inputValue("input[name=code]");
  await shot("verify-form-wrong");
  await click("form[action^='/me/verify'] button[type=submit]");
  out.wrongError = (await page.$("[data-error]")) ? (await page.textContent("[data-error]")).trim() : null;
  out.documentAfterWrong = !!(await page.$("[data-document]"));
  await shot("verify-wrong");
  // The right code, typed by hand this time, then the press.
  await page.fill("input[name=code]", code);
  await shot("verify-form");
  await click("form[action^='/me/verify'] button[type=submit]");
  out.document = !!(await page.$("[data-document]"));
  out.iin = out.document ? (await page.textContent("[data-iin]")).trim() : null;
  out.name = out.document ? (await page.textContent("[data-name]")).trim() : null;
  out.photo = out.document ? (await page.getAttribute("[data-photo]", "src")).slice(0, 40) : null;
  out.photoWidth = out.document ? await page.$eval("[data-photo]", (img) => img.naturalWidth) : 0;
  out.redemptions = await page.$$eval("[data-redemption]", (els) => els.map((e) => e.getAttribute("data-redemption")));
  await shot("verify-shown");
  // Once: the same code again is refused, nothing shown.
  await page.fill("input[name=code]", code);
  await click("form[action^='/me/verify'] button[type=submit]");
  out.againError = !!(await page.$("[data-error]"));
  out.againDocument = !!(await page.$("[data-document]"));
  await shot("verify-again");
}

try {
  if (args.verify) {
    await verify(args.verify);
  } else {
    await cabinet();
  }
} catch (e) {
  out.error = String(e);
  await page.screenshot({ path: `${args.shots}/cabinet-${args.lang}-error.png`, fullPage: true }).catch(() => {});
}
await browser.close();
console.log(JSON.stringify(out));
