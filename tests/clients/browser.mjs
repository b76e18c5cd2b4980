// A person at a browser, for the end-to-end tests: headless Chromium (the system's, through the
// DevTools protocol with puppeteer-core) doing what a person does on Quarry's pages: open a
// link, type into fields, tick and untick boxes, press buttons, read what the page says.
//
// It takes one command per line on stdin, as JSON, and answers each with one JSON line on stdout,
// so that the test in between can do what a person's app does (exchange the code, call MCP) and
// then tell the person what to do next, in the same browser with the same session.
//
// usage: node browser.mjs CHROMIUM SITE_URL SCREENSHOT_DIR
//   SITE_URL        the sidecar: every other address the browser is sent to is taken for the app
//                   the person came from, and answered here with a small page of our own (so a
//                   redirect_uri needs no server), without any connection being made
//   SCREENSHOT_DIR  where `shot` writes NAME-desktop.png and NAME-phone.png
//
// Commands ({"do": ..., ...}); every answer has "ok" and the page the browser is on
// ({"url", "title", "heading"}), or "ok": false and "error":
//   open     {url}                         go to a URL, as if a link was followed
//   sign_in  {email, password}             fill the sign-in form and press "Sign in"
//   consent  {untick: [scope], shot}       on the consent page, untick these, take screenshots
//                                          (if named) and press "Allow"; answers the scopes the
//                                          page offered and the ones left ticked
//   apps     {}                            what the settings page lists under "Connected apps"
//   expand   {app}                         open the list of an app's registrations
//   revoke   {app}                         press the app's revoke button
//   shot     {name}                        screenshots at desktop and phone widths; answers
//                                          whether the page is wider than the phone's screen
//   close    {}                            close the browser and exit
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [CHROMIUM, SITE_URL, SCREENSHOT_DIR] = process.argv.slice(2);
if (!CHROMIUM || !SITE_URL || !SCREENSHOT_DIR) {
  console.error('usage: node browser.mjs CHROMIUM SITE_URL SCREENSHOT_DIR');
  process.exit(2);
}
const SITE = new URL(SITE_URL).origin;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
// How long to wait for a page or an element. A bound, not a measurement: on a busy machine a
// page can take seconds, and a failure says what it was waiting for.
const WAIT_MS = 60_000;

mkdirSync(SCREENSHOT_DIR, { recursive: true });

const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  timeout: WAIT_MS,
  protocolTimeout: WAIT_MS * 2,
  args: [
    '--headless=new',
    // Chromium's sandbox cannot start as root (CI runs as root) nor in many containers; this
    // browser only ever loads Quarry's own pages from the loopback address.
    '--no-sandbox',
    '--disable-dev-shm-usage',
    '--disable-gpu',
    // No traffic beyond this machine: no background services, and nothing resolves but localhost
    // and the loopback addresses (the rule catches IP literals too, hence their exclusions).
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-domain-reliability',
    '--disable-sync',
    '--no-pings',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
    `--window-size=${DESKTOP.width},${DESKTOP.height}`,
  ],
  defaultViewport: DESKTOP,
});
const page = await browser.newPage();
page.setDefaultTimeout(WAIT_MS);
page.setDefaultNavigationTimeout(WAIT_MS);

// Requests to the sidecar go through; anything else is the app the person is sent back to:
// recorded and answered with a page that says so.
await page.setRequestInterception(true);
page.on('request', (request) => {
  const url = request.url();
  if (!/^https?:/.test(url) || new URL(url).origin === SITE) {
    request.continue();
  } else if (request.isNavigationRequest()) {
    request.respond({
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: '<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1">'
        + '<title>Back in the app</title><h1>Back in the app</h1><p>The app received the authorization response.</p>',
    });
  } else {
    request.abort();
  }
});

/** Where the browser is and what the page's title and first heading say. */
async function where() {
  return {
    url: page.url(),
    title: await page.title(),
    heading: await page.$eval('h1', (h) => h.textContent.trim()).catch(() => null),
  };
}

/** An element the page must show, waited for; a failure names it and the page it was not on. */
async function element(selector, what) {
  try {
    return await page.waitForSelector(selector, { visible: true });
  } catch (e) {
    throw new Error(`no ${what} (${selector}) on ${page.url()} (waited at most ${WAIT_MS / 1000} s): ${e.message}`);
  }
}

/** Presses a button that submits a form, and waits for the page it leads to. */
async function press(button, what) {
  try {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
  } catch (e) {
    throw new Error(`no page came after pressing ${what} on ${page.url()} (waited at most ${WAIT_MS / 1000} s): ${e.message}`);
  }
}

/** The entry of the settings page's app list with this name, exactly one. */
async function appEntry(name) {
  await element('ul.apps', 'the list of connected apps');
  const entries = [];
  for (const entry of await page.$$('ul.apps > li.app')) {
    if ((await entry.$eval('.app-name', (n) => n.textContent.trim())) === name) entries.push(entry);
  }
  if (entries.length !== 1) throw new Error(`the settings page lists ${entries.length} apps named ${JSON.stringify(name)}`);
  return entries[0];
}

const commands = {
  async open({ url }) {
    try {
      await page.goto(url, { waitUntil: 'load' });
    } catch (e) {
      throw new Error(`${url} did not load (waiting at most ${WAIT_MS / 1000} s): ${e.message}`);
    }
    return {};
  },

  async sign_in({ email, password }) {
    const emailField = await element('input#email', 'the sign-in form\'s email field');
    // Typed as a person types, key by key, into an emptied field.
    await emailField.evaluate((field) => { field.value = ''; });
    await emailField.type(email);
    const passwordField = await element('input#password', 'the sign-in form\'s password field');
    await passwordField.type(password);
    const button = await element('form:has(input[name=step][value=signin]) button[type=submit]', 'the "Sign in" button');
    await press(button, '"Sign in"');
    return {};
  },

  async consent({ untick = [], shot }) {
    await element('form input[type=checkbox][name=grant]', 'the consent page\'s permissions');
    const offered = await page.$$eval('input[type=checkbox][name=grant]', (boxes) => boxes.map((b) => b.value));
    for (const scope of untick) {
      if (!offered.includes(scope)) throw new Error(`the consent page does not offer ${scope}: ${offered}`);
      // The label is what a person clicks: the whole row toggles its box.
      const label = await element(`label.scope:has(input[value="${scope}"])`, `the permission ${scope}`);
      await label.click();
    }
    const left = await page.$$eval('input[type=checkbox][name=grant]:checked', (boxes) => boxes.map((b) => b.value));
    // The page as the person leaves it, boxes unticked.
    const shown = shot ? await this.shot({ name: shot }) : null;
    const allow = await element('button[name=step][value=approve]', 'the "Allow" button');
    await press(allow, '"Allow"');
    return { offered, left, shot: shown };
  },

  async apps() {
    await element('h1', 'the settings page');
    const none = await page.$eval('main', (m) => m.textContent.includes('No app is connected to your account.'));
    const apps = await page.$$eval('ul.apps > li.app', (entries) =>
      entries.map((entry) => ({
        name: entry.querySelector('.app-name').textContent.trim(),
        count: entry.querySelector('.app-count')?.textContent.trim() ?? null,
        scopes: [...entry.querySelectorAll('.app-scopes .tag')].map((t) => t.textContent.trim()),
        revoke: entry.querySelector('.app-head button').textContent.trim(),
        registrations: [...entry.querySelectorAll('li.registration')].map((r) => ({
          scopes: [...r.querySelectorAll('.tag')].map((t) => t.textContent.trim()),
          visible: r.checkVisibility(),
        })),
      })));
    const notice = await page.$eval('[role=status]', (n) => n.textContent.trim()).catch(() => null);
    return { none, apps, notice };
  },

  async expand({ app }) {
    const entry = await appEntry(app);
    const summary = await entry.$('details.registrations > summary');
    if (!summary) throw new Error(`${app} has no list of registrations to open`);
    await summary.click();
    try {
      await page.waitForFunction((d) => d.open, {}, await entry.$('details.registrations'));
    } catch (e) {
      throw new Error(`the registrations of ${app} did not open (waited at most ${WAIT_MS / 1000} s): ${e.message}`);
    }
    return {};
  },

  async revoke({ app }) {
    const entry = await appEntry(app);
    const button = await entry.$('.app-head button');
    await press(button, `the revoke button of ${app}`);
    return {};
  },

  async shot({ name }) {
    const files = {};
    let phoneOverflow = 0;
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      await page.setViewport(viewport);
      const file = path.join(SCREENSHOT_DIR, `${name}-${size}.png`);
      await page.screenshot({ path: file, fullPage: true });
      files[size] = file;
      if (size === 'phone') {
        // A page a phone shows without scrolling sideways: nothing wider than its screen.
        phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      }
    }
    await page.setViewport(DESKTOP);
    return { files, phone_overflow_px: phoneOverflow };
  },

  async close() {
    await browser.close();
    return {};
  },
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
let failed = 0;
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  const command = JSON.parse(line);
  try {
    const run = commands[command.do];
    if (!run) throw new Error(`no such command: ${command.do}`);
    const result = await run.call(commands, command);
    answer = { ok: true, ...result, page: await where().catch(() => null) };
  } catch (e) {
    failed += 1;
    // What the browser showed when it failed, for whoever reads the test's output.
    const file = path.join(SCREENSHOT_DIR, `failure-${failed}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    answer = { ok: false, error: e.message, screenshot: file, page: await where().catch(() => null) };
  }
  console.log(JSON.stringify(answer));
  if (command.do === 'close') break;
}
// Also the way out when the input ends without "close" (the test failed midway): no Chromium
// is left behind, and nothing keeps the process alive.
await browser.close().catch(() => {});
process.exit(0);
