// Drives one face sign-in in Debian Chromium with a fake camera.
//
//   node face.mjs '{"url":…,"iin":…,"camera":"F.y4m","lang":"en","tag":"en","redirect":"http://127.0.0.1:9/cb","shots":"DIR"}'
//
// The Rust test (tests/tests/browser.rs) builds the authorization URL with the
// openidconnect crate, runs this script, and redeems the code it prints. The
// script clicks through the pages as a citizen would, screenshots each page
// into `shots` as `<tag>-<n>-<page>.png`, and prints one JSON line:
// {"redirect": "<where the browser was sent back>", "pages": [...], "reason": code}
import { chromium } from "playwright-core";

const args = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${args.camera}`,
  ],
});
const origin = new URL(args.url).origin;
// A phone-sized window: the pages are phone-first.
const context = await browser.newContext({ locale: args.lang, viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
await context.grantPermissions(["camera"], { origin });
const page = await context.newPage();
let redirect = null;
await page.route(`${args.redirect}**`, async (route) => {
  redirect = route.request().url();
  await route.fulfill({ status: 200, contentType: "text/plain", body: "relying party" });
});

const pages = [];
let n = 0;
async function shot(name) {
  n += 1;
  pages.push(name);
  await page.screenshot({ path: `${args.shots}/${args.tag}-${n}-${name}.png`, fullPage: true });
}

try {
  await page.goto(args.url);
  await shot("iin");
  // The page checks the IIN's check digit before sending it.
  await page.fill("#iin", args.iin.slice(0, 11) + String((Number(args.iin[11]) + 1) % 10));
  await page.click("#iin-form button[type=submit]");
  const inline = await page.textContent("#iin-error");
  if (!inline) throw new Error("the page accepted a wrong check digit");
  await shot("iin-invalid");
  await page.fill("#iin", args.iin);
  await Promise.all([page.waitForNavigation(), page.click("#iin-form button[type=submit]")]);
  if (page.url().endsWith("/biometric-consent")) {
    await shot("biometric-consent");
    await Promise.all([page.waitForNavigation(), page.click("button[value=accept]")]);
  }
  if (!page.url().endsWith("/camera")) throw new Error(`expected the camera page, got ${page.url()}`);
  await shot("camera");
  await page.click("#start");
  // The instruction changes when the server reveals the challenge.
  await page.waitForFunction(() => document.getElementById("instruction").textContent.length > 0 && document.getElementById("capture"), null, { timeout: 10000 });
  await page.waitForTimeout(1500);
  await shot("challenge");
  await page.waitForURL((u) => !u.pathname.endsWith("/camera"), { timeout: 60000 });
  await page.waitForLoadState();
  let reason = null;
  if (redirect === null && page.url().includes("/consent/")) {
    await shot("consent");
    await page.click("button[value=allow]");
  } else if (redirect === null && page.url().endsWith("/verify")) {
    reason = await page.getAttribute("#reason", "data-code");
    await shot("refused");
    await page.click("form[action$=give-up] button");
  }
  for (let i = 0; i < 100 && redirect === null; i++) await page.waitForTimeout(100);
  console.log(JSON.stringify({ redirect, pages, reason }));
} catch (e) {
  await page.screenshot({ path: `${args.shots}/${args.tag}-error.png`, fullPage: true }).catch(() => {});
  console.log(JSON.stringify({ error: String(e), url: page.url(), pages }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
