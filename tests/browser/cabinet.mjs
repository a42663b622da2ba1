// The citizen's cabinet (/me) in Debian Chromium on a phone-sized screen.
//
//   node cabinet.mjs '{"base":…,"lang":"ru","shots":DIR,"act":CLIENT_ID|null}'
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
try {
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
} catch (e) {
  out.error = String(e);
  await page.screenshot({ path: `${args.shots}/cabinet-${args.lang}-error.png`, fullPage: true }).catch(() => {});
}
await browser.close();
console.log(JSON.stringify(out));
