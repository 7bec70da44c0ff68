#!/usr/bin/env node
// The agent console in Chromium, against a running switchboard daemon that serves it at /console/.
// Exit code 0 when every scenario passed, 1 otherwise (each failure is printed with a screenshot).
//
// Environment:
//   SB_URL               the daemon's base URL, e.g. http://127.0.0.1:8080 (required)
//   SB_ADMIN_LOGIN       a person with role admin, and SB_ADMIN_PASSWORD (required)
//   SB_AGENT_LOGIN       a person with role agent who sees conversations in no queue, and
//                        SB_AGENT_PASSWORD (required)
//   SB_SHOP_TOKEN        a token of an API channel account, to post customers' messages with
//                        POST /api/v1/inbound (required); the account should have a callback
//   SB_ADMIN_TOKEN       a config admin token (required): sets tags, checks state
//   SB_ARTIFACTS         a folder for screenshots (default: ./artifacts)
//   SB_GRAPH_URL         the Meta Graph fake (tests/fakes/graph_fake.py); with SB_WA_PHONE_ID,
//   SB_WA_PHONE_ID       a WhatsApp phone_number_id the daemon sends from through the fake,
//   SB_WA_TOKEN          the access token the daemon uses for it, and
//   SB_META_APP_SECRET   the Meta app secret the daemon verifies webhooks with, the WhatsApp
//                        scenario runs (otherwise it is skipped and says so)
//   SB_PUBLIC_URL        the daemon's public_url, with SB_TWILIO_ACCOUNT_SID, SB_TWILIO_AUTH_TOKEN
//                        and SB_TWILIO_FROM of a Twilio account in its config: the SMS scenario
//                        signs the Twilio webhook with them (otherwise it is skipped and says so)
//   SB_LOCKOUT_LOGIN     a login whose sign-ins this script fails until 429 (default zofia; it
//                        stays locked for the daemon's auth.login_failures window)
//   SB_CHROMIUM          the browser (default /usr/bin/chromium)
//   SB_HEADFUL=1         show the browser
//
// Scenarios: sign-in (wrong password, then right; Polish by the browser's language); a message
// posted to the API shows in the inbox within 1 s without reload; XSS and bidi payloads in a
// customer's name, text and tags stay text; the keyboard flow (/, j/k, Enter, a, r, Ctrl+Enter, ?);
// search finds other Polish forms of a word and words typed without diacritics, a customer by
// e-mail address, shows the API's reason for a query of punctuation only and marks words without
// HTML; a canned reply is chosen from the rules' templates, its rendered text previewed and sent;
// an SMS reply shows GSM-7 or UCS-2 and its segments as one types; a WhatsApp reply leaves through the Graph fake and shows `read` when the fake's status webhooks
// come back; an agent gets "forbidden" on the admin page; an admin creates and revokes a token;
// axe-core finds no serious or critical violation; revoking the agent's session (password reset)
// brings the sign-in page back. No inline script or style may be refused by the CSP.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback !== undefined) return fallback;
    console.error(`browser.mjs: ${name} is not set (see the top of this file)`);
    process.exit(2);
  }
  return v;
}

const BASE = env('SB_URL').replace(/\/$/, '');
const ADMIN = { login: env('SB_ADMIN_LOGIN'), password: env('SB_ADMIN_PASSWORD') };
const AGENT = { login: env('SB_AGENT_LOGIN'), password: env('SB_AGENT_PASSWORD') };
const SHOP_TOKEN = env('SB_SHOP_TOKEN');
const ADMIN_TOKEN = env('SB_ADMIN_TOKEN');
const ARTIFACTS = resolve(env('SB_ARTIFACTS', 'artifacts'));
const GRAPH = env('SB_GRAPH_URL', '').replace(/\/$/, '');
const WA_PHONE = env('SB_WA_PHONE_ID', '');
const WA_TOKEN = env('SB_WA_TOKEN', '');
const META_SECRET = env('SB_META_APP_SECRET', '');
const TWILIO = {
  publicUrl: env('SB_PUBLIC_URL', '').replace(/\/$/, ''),
  sid: env('SB_TWILIO_ACCOUNT_SID', ''),
  token: env('SB_TWILIO_AUTH_TOKEN', ''),
  from: env('SB_TWILIO_FROM', ''),
};
const CHROMIUM = env('SB_CHROMIUM', '/usr/bin/chromium');
mkdirSync(ARTIFACTS, { recursive: true });

const rand = () => randomBytes(4).toString('hex');
const letters = () => Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- HTTP helpers (Node's fetch) ---

async function call(method, path, { token, session, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  if (session) {
    headers.Cookie = session.cookie;
    if (method !== 'GET') headers['X-CSRF-Token'] = session.csrf;
  }
  const res = await fetch(BASE + '/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

async function apiSession(who) {
  const res = await fetch(BASE + '/api/v1/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: who.login, password: who.password }),
  });
  assert.equal(res.status, 200, `API sign-in of ${who.login}`);
  const json = await res.json();
  const cookie = (res.headers.get('set-cookie') || '').split(';')[0];
  return { cookie, csrf: json.csrf_token };
}

async function inbound(name, text, extra = {}) {
  const body = { external_id: 'console-' + rand(), from: { address: `klient-${rand()}@example.pl`, name }, text, ...extra };
  const r = await call('POST', '/inbound', { token: SHOP_TOKEN, body });
  assert.equal(r.status, 200, 'inbound: ' + JSON.stringify(r.json));
  return r.json;
}

// An SMS from a customer through Twilio's webhook, signed as Twilio signs it; the sender's number.
async function smsInbound(text) {
  const phone = '+48600' + String(100000 + Math.floor(Math.random() * 899999));
  const params = {
    AccountSid: TWILIO.sid, MessageSid: 'SM' + rand() + rand() + rand() + rand(), From: phone, To: TWILIO.from, Body: text,
    NumMedia: '0', ApiVersion: '2010-04-01',
  };
  const path = '/webhooks/twilio/sms';
  const signed = TWILIO.publicUrl + path + Object.keys(params).sort().map((k) => k + params[k]).join('');
  const signature = createHmac('sha1', TWILIO.token).update(signed, 'utf8').digest('base64');
  const res = await fetch(BASE + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
    body: new URLSearchParams(params).toString(),
  });
  assert.equal(res.status, 200, 'the Twilio webhook: ' + (await res.text()));
  return phone;
}

async function graph(method, path, body) {
  const res = await fetch(GRAPH + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `Graph fake ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// --- the runner ---

let failures = 0;
const pages = new Set();
const problems = []; // page errors, refused inline code, alert dialogs

async function shot(page, name) {
  try {
    await page.screenshot({ path: join(ARTIFACTS, name + '.png'), fullPage: false });
  } catch {
    // the page may be gone
  }
}

async function step(name, fn, { skip } = {}) {
  if (skip) {
    // Under CTest (console_browser) every scenario must run: a skip is a failure there.
    if (process.env.SB_REQUIRE_ALL === '1') {
      failures++;
      console.log(`FAIL ${name}: cannot run: ${skip}`);
      return;
    }
    console.log(`skip ${name}: ${skip}`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    let i = 0;
    for (const p of pages) await shot(p, `fail-${name.replace(/[^a-z0-9]+/gi, '-')}-${i++}`);
  }
}

function watch(page, label) {
  pages.add(page);
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to (execute|apply|load)/i.test(text)) problems.push(`${label}: CSP: ${text}`);
  });
  page.on('dialog', async (d) => {
    if (d.type() === 'confirm') {
      await d.accept();
      return;
    }
    problems.push(`${label}: a ${d.type()} dialog fired: ${d.message()}`);
    await d.dismiss();
  });
}

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: process.env.SB_HEADFUL !== '1' });
const agentContext = await browser.newContext({ locale: 'pl-PL', viewport: { width: 1440, height: 900 } });
const agent = await agentContext.newPage();
watch(agent, 'agent');
const rowOf = (page, text) => page.locator('#inbox-rows .row', { hasText: text });

async function signInPage(page, who) {
  await page.fill('#login-login', who.login);
  await page.fill('#login-password', who.password);
  await page.click('.login-form button[type=submit]');
  await page.waitForSelector('#tab-all', { timeout: 10000 });
}

async function waitLive(page) {
  await page.waitForSelector('#stream-status[data-status=live]', { timeout: 10000 });
}

try {
  await step('the daemon serves the console with its CSP', async () => {
    const res = await fetch(BASE + '/console/');
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/console\/assets\/console-[^"]+\.js">/);
    assert.doesNotMatch(html, /<script>|<style|style=/, 'no inline script or style');
  });

  await step('sign in: wrong password, then the right one (Polish by default)', async () => {
    await agent.goto(BASE + '/console/');
    await agent.waitForSelector('.login-form');
    assert.equal((await agent.textContent('.login-form button[type=submit]')).trim(), 'Zaloguj się');
    await shot(agent, 'login');
    await agent.fill('#login-login', AGENT.login);
    await agent.fill('#login-password', 'not-the-password');
    await agent.click('.login-form button[type=submit]');
    await agent.waitForSelector('#login-error');
    assert.equal((await agent.textContent('#login-error')).trim(), 'Nieprawidłowy login lub hasło.');
    await signInPage(agent, AGENT);
    await waitLive(agent);
    assert.equal(await agent.locator('a[href="#/admin"]').count(), 0, 'an agent has no admin link');
  });

  let liveConversation = null;
  await step('a message posted to the API shows in the inbox within 1 s', async () => {
    await agent.click('#tab-all');
    await agent.waitForFunction(() => !document.querySelector('.inbox [role=status].empty'));
    await waitLive(agent);
    const name = 'Klient Na Żywo ' + rand();
    const address = `klient-${rand()}@example.pl`;
    const posted = await inbound(name, 'Dzień dobry, nie działa logowanie', { from: { address, name } });
    const t0 = Date.now();
    await rowOf(agent, name).waitFor({ timeout: 5000 });
    const elapsed = Date.now() - t0;
    console.log(`     the row appeared ${elapsed} ms after the API answered`);
    assert.ok(elapsed <= 1000, `the row took ${elapsed} ms`);
    // a second message from the same customer: the row's unread count goes to 2, live
    await inbound(name, 'Halo, czy ktoś jest?', { from: { address, name } });
    await agent.waitForFunction(
      (n) => [...document.querySelectorAll('#inbox-rows .row')].some(
        (r) => r.textContent.includes(n) && r.querySelector('.badge.unread [aria-hidden]')?.textContent === '2'),
      name, { timeout: 3000 });
    liveConversation = posted.conversation_id;
    // and a second message of that customer reaches the open conversation live
    await rowOf(agent, name).click();
    await agent.waitForSelector(`.conversation[data-id="${liveConversation}"] #timeline .msg`);
  });

  const XSS_NAME = '<img src=x onerror=alert(1)>\u202Eevil';
  const XSS_TEXT =
    '<script>alert(1)</script> <img src=x onerror=alert(1)> javascript:alert(1) [x](javascript:alert(1)) ' +
    'https://example.com/ok \u202Eexe.txt';
  const XSS_TAGS = ['<img src=x onerror=alert(1)>', '\u202Egnp.exe', '<script>alert(1)</script>'];
  let xssConversation = null;
  await step('customer-supplied HTML, links and RTL overrides stay text', async () => {
    const posted = await inbound(XSS_NAME, XSS_TEXT, {
      attachments: [
        { url: 'javascript:alert(1)', name: '<img src=x onerror=alert(1)>.pdf', mime_type: 'application/pdf' },
        { url: 'https://example.com/faktura.pdf', name: 'faktura\u202Efdp.exe', mime_type: 'application/pdf' },
      ],
    });
    xssConversation = posted.conversation_id;
    const r = await call('PATCH', '/conversations/' + xssConversation, { token: ADMIN_TOKEN, body: { tags: XSS_TAGS } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await agent.goto(BASE + '/console/#/c/' + xssConversation);
    await agent.waitForSelector(`.conversation[data-id="${xssConversation}"] #timeline .msg.in`);
    await agent.waitForFunction((n) => document.querySelectorAll('.conv-head .tag').length === n, XSS_TAGS.length);
    const dom = await agent.evaluate(() => ({
      imgs: document.querySelectorAll('img').length,
      foreignScripts: Array.from(document.scripts).filter((s) => !s.src.includes('/console/assets/')).length,
      jsLinks: Array.from(document.querySelectorAll('a[href]')).filter((a) => !/^https?:$/.test(new URL(a.href).protocol)).length,
      title: document.querySelector('#conv-title')?.textContent,
      text: document.querySelector('#timeline .msg.in .text')?.textContent,
      tags: Array.from(document.querySelectorAll('.conv-head .tag')).map((t) => t.textContent),
      rowName: Array.from(document.querySelectorAll('#inbox-rows .name')).map((n) => n.textContent),
      isolated: Array.from(document.querySelectorAll('#conv-title .u, .conv-head .tag, #timeline .msg.in .text')).every(
        (el) => getComputedStyle(el).unicodeBidi === 'isolate' && el.getAttribute('dir') === 'auto',
      ),
      files: Array.from(document.querySelectorAll('#timeline .attachments .file')).map((f) => f.textContent),
      fileLinks: Array.from(document.querySelectorAll('#timeline .attachments a')).map((x) => x.getAttribute('href')),
      link: (() => {
        const a = document.querySelector('#timeline .msg.in .text a');
        return a ? { href: a.getAttribute('href'), rel: a.rel, target: a.target } : null;
      })(),
    }));
    assert.equal(dom.imgs, 0, 'no <img> element');
    assert.equal(dom.foreignScripts, 0, 'no injected <script>');
    assert.equal(dom.jsLinks, 0, 'no javascript: or other non-web link');
    assert.equal(dom.title, XSS_NAME);
    assert.equal(dom.text, XSS_TEXT);
    assert.deepEqual(dom.tags, XSS_TAGS);
    assert.ok(dom.isolated, 'customer strings are bidi-isolated');
    assert.deepEqual(dom.files, ['<img src=x onerror=alert(1)>.pdf', 'faktura\u202Efdp.exe']);
    assert.deepEqual(dom.fileLinks, ['https://example.com/faktura.pdf'], 'only the web link is a link');
    assert.deepEqual(dom.link, { href: 'https://example.com/ok', rel: 'noopener noreferrer', target: '_blank' });
    await sleep(300);
    assert.deepEqual(problems.filter((p) => /dialog/.test(p)), [], 'no dialog fired');
  });

  await step('keyboard: /, j/k, Enter, a, r, Ctrl+Enter, ?', async () => {
    const prefix = 'Klawiatura ' + rand();
    const first = await inbound(prefix + ' A', 'pierwsza');
    const second = await inbound(prefix + ' B', 'druga');
    await agent.goto(BASE + '/console/#/');
    await agent.reload(); // nothing selected yet
    await waitLive(agent);
    await rowOf(agent, prefix + ' B').waitFor();
    await agent.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : null));
    // "/" goes to the search box, Esc leaves it
    await agent.keyboard.press('/');
    assert.equal(await agent.evaluate(() => document.activeElement?.id), 'search-box');
    await agent.keyboard.press('Escape');
    assert.notEqual(await agent.evaluate(() => document.activeElement?.id), 'search-box');
    // the filter box keeps only these two in the list
    await agent.fill('#inbox-filter', prefix);
    await agent.keyboard.press('Escape');
    await agent.waitForFunction(() => document.querySelectorAll('#inbox-rows .row').length === 2);
    const ids = await agent.$$eval('#inbox-rows .row', (rows) => rows.map((r) => r.dataset.id));
    assert.deepEqual(ids, [first.conversation_id, second.conversation_id], 'the longest waiting first');
    const focused = () => agent.evaluate(() => document.activeElement?.dataset?.id ?? null);
    await agent.keyboard.press('j');
    assert.equal(await focused(), ids[0]);
    await agent.keyboard.press('j');
    assert.equal(await focused(), ids[1]);
    await agent.keyboard.press('k');
    assert.equal(await focused(), ids[0]);
    await agent.keyboard.press('Enter');
    await agent.waitForSelector(`.conversation[data-id="${ids[0]}"] #reply-text`);
    assert.equal(new URL(agent.url()).hash, '#/c/' + ids[0]);
    await agent.keyboard.press('a');
    await agent.waitForFunction((me) => document.querySelector('#conv-assignee')?.value === me, AGENT.login);
    const row = await call('GET', '/conversations/' + ids[0], { token: ADMIN_TOKEN });
    assert.equal(row.json.assignee, AGENT.login, 'assigned on the server');
    await agent.keyboard.press('r');
    assert.equal(await agent.evaluate(() => document.activeElement?.id), 'reply-text');
    // typing j/k/a in the reply box types them, it does not move or assign
    const reply = 'Dziękuję, już sprawdzam (jak, kiedy) ' + rand();
    await agent.keyboard.type(reply);
    assert.equal(new URL(agent.url()).hash, '#/c/' + ids[0]);
    await agent.waitForSelector('#reply-verdict[data-allowed=true]');
    await agent.keyboard.press('Control+Enter');
    await agent.locator('#timeline .msg.out', { hasText: reply }).waitFor({ timeout: 5000 });
    assert.equal(await agent.inputValue('#reply-text'), '', 'the box is emptied');
    await agent.keyboard.press('Escape');
    await agent.keyboard.press('?');
    await agent.waitForSelector('#shortcuts');
    await agent.keyboard.press('Escape');
    await agent.waitForSelector('#shortcuts', { state: 'detached' });
    await agent.fill('#inbox-filter', '');
  });

  await step('an internal note and resolving show on screen', async () => {
    await agent.click('#mode-note');
    const note = 'Notatka ' + rand();
    await agent.fill('#reply-text', note);
    await agent.click('#reply-send');
    await agent.locator('#timeline .note', { hasText: note }).waitFor({ timeout: 5000 });
    await agent.click('#mode-reply');
    await agent.fill('#conv-tags', 'vip, <b>pilne</b>');
    await agent.click('.tags-form button[type=submit]');
    await agent.waitForFunction(() =>
      Array.from(document.querySelectorAll('.conv-head .tag')).map((t) => t.textContent).join('|') === 'vip|<b>pilne</b>');
    await agent.selectOption('#conv-priority', 'urgent');
    await agent.waitForSelector('.conv-head .prio-urgent');
    await agent.click('#conv-resolve');
    await agent.waitForSelector('#conv-reopen');
    await agent.click('#conv-reopen');
    await agent.waitForSelector('#conv-resolve');
  });

  // Messages become searchable about a second after they are stored: the query is typed again
  // until `shows` appears, for up to `ms`.
  async function searchFor(q, shows, ms = 5000) {
    const t0 = Date.now();
    for (;;) {
      await agent.fill('#search-box', '');
      await agent.fill('#search-box', q);
      try {
        await shows.waitFor({ timeout: 1000 });
        return;
      } catch (e) {
        if (Date.now() - t0 > ms) throw e;
      }
    }
  }
  const hitOf = (text) => agent.locator('#search-hits .hit', { hasText: text });

  const searchTag = rand();
  await step('search: Polish word forms, no diacritics, a customer by e-mail, an error, text only', async () => {
    const address = `szukany-${searchTag}@example.pl`;
    const name = 'Szukany Klient ' + searchTag;
    const failure = `Mamy awarię sieci w biurze ${searchTag}`;
    const order = `Status zamówienia 123 ${searchTag}`;
    const first = await inbound(name, failure, { from: { address, name } });
    const second = await inbound(name, order, { from: { address, name } });
    const xssWord = 'xss' + letters();
    const xssText = `<img src=x onerror=alert(1)> <b>${xssWord}</b> <script>alert(1)</script> \u202Eevil`;
    const xss = await inbound('Ktoś ' + searchTag, xssText);
    await agent.goto(BASE + '/console/#/');
    await waitLive(agent);
    await agent.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : null));
    await agent.keyboard.press('/');
    assert.equal(await agent.evaluate(() => document.activeElement?.id), 'search-box');

    // another form of the word ("awarii" finds "awarię"), which is marked
    await searchFor('awarii', hitOf(failure));
    assert.equal(await agent.locator('#inbox-rows').count(), 0, 'the results are in the inbox\'s place');
    assert.deepEqual(await hitOf(failure).locator('mark').allTextContents(), ['awarię']);
    await hitOf(failure).click();
    await agent.waitForSelector(`.conversation[data-id="${first.conversation_id}"] #timeline .msg`);
    assert.equal(await hitOf(failure).getAttribute('aria-current'), 'true', 'the results stay, the open one marked');

    // no diacritics; ↓ from the box goes to the results, Enter opens one
    await agent.goto(BASE + '/console/#/');
    await searchFor('zamowienia', hitOf(order));
    assert.deepEqual(await hitOf(order).locator('mark').allTextContents(), ['zamówienia']);
    await agent.focus('#search-box');
    await agent.keyboard.press('ArrowDown');
    assert.equal(await agent.evaluate(() => document.activeElement?.classList.contains('hit')), true);
    await agent.keyboard.press('Enter');
    await agent.waitForFunction((id) => location.hash === '#/c/' + id, second.conversation_id);
    await agent.waitForSelector(`.conversation[data-id="${second.conversation_id}"]`);

    // a customer by e-mail address, opened in the customer panel
    const customer = agent.locator('#search-customers .cust-hit', { hasText: name });
    await searchFor(address, customer);
    assert.match(await customer.textContent(), new RegExp(address.replace(/[.]/g, '\\.')));
    await customer.click();
    await agent.waitForSelector(`#customer-page[data-id="${first.customer_id}"] .identities`);
    assert.match(await agent.textContent('#customer-page .identities'), new RegExp(address.replace(/[.]/g, '\\.')));
    await shot(agent, 'search-customer');
    await agent.locator('#customer-page .cust-convs a', { hasText: '#' + first.conversation_id }).click();
    await agent.waitForSelector(`.conversation[data-id="${first.conversation_id}"]`);

    // nothing to search for: the API's reason is shown
    await agent.fill('#search-box', '?!… ...');
    await agent.waitForSelector('#search-error');
    assert.match(await agent.textContent('#search-error'), /^Tego nie da się wyszukać: .+/);

    // a message with HTML in it: text in the results, the word marked, nothing injected
    await searchFor(xssWord, hitOf(xssWord));
    const dom = await agent.evaluate(() => ({
      imgs: document.querySelectorAll('img').length,
      bold: document.querySelectorAll('#search-hits b, #search-hits script').length,
      foreignScripts: Array.from(document.scripts).filter((s) => !s.src.includes('/console/assets/')).length,
      text: document.querySelector('#search-hits .hit .snippet .u')?.textContent,
      marks: Array.from(document.querySelectorAll('#search-hits mark')).map((m) => m.textContent),
      isolated: Array.from(document.querySelectorAll('#search-hits .u')).every(
        (el) => getComputedStyle(el).unicodeBidi === 'isolate' && el.getAttribute('dir') === 'auto',
      ),
    }));
    assert.equal(dom.imgs, 0, 'no <img> element');
    assert.equal(dom.bold, 0, 'no <b> or <script> element in the results');
    assert.equal(dom.foreignScripts, 0, 'no injected <script>');
    assert.equal(dom.text, xssText);
    assert.deepEqual(dom.marks, [xssWord]);
    assert.ok(dom.isolated, 'customer strings are bidi-isolated');
    await shot(agent, 'search');
    assert.equal(await hitOf(xssWord).getAttribute('href'), '#/c/' + xss.conversation_id);

    // Enter in the box goes to the first result; Esc there closes the results: the inbox is back
    await agent.focus('#search-box');
    await agent.keyboard.press('Enter');
    await agent.waitForFunction((id) => document.activeElement?.dataset?.id === id, xss.conversation_id);
    await agent.keyboard.press('Escape');
    await agent.waitForSelector('#search-results', { state: 'detached' });
    await agent.waitForSelector('#inbox-rows');
    assert.equal(await agent.inputValue('#search-box'), '');
    await sleep(300);
    assert.deepEqual(problems.filter((p) => /dialog/.test(p)), [], 'no dialog fired');
  });

  await step('a canned reply: chosen from the list, its rendered text shown, then sent', async () => {
    const posted = await inbound('Jan Szablonowy ' + rand(), 'Kiedy wyślecie towar?');
    const id = posted.conversation_id;
    await agent.goto(BASE + '/console/#/c/' + id);
    await agent.waitForSelector(`.conversation[data-id="${id}"] #reply-template`);
    assert.deepEqual(await agent.$$eval('#reply-template option', (o) => o.map((x) => x.value)), ['', 'greeting', 'thanks']);
    const shown = (text) =>
      agent.waitForFunction((x) => document.querySelector('#template-preview .text')?.textContent === x, text);
    // rendered for this customer and conversation, not the template's source
    await agent.selectOption('#reply-template', 'greeting');
    await shown(`Dzień dobry Jan, piszemy przez api w sprawie #${id}.`);
    await shot(agent, 'canned-reply');
    assert.equal(await agent.locator('#reply-text').count(), 0, 'no free text while a template is chosen');
    const THANKS = 'Dziękujemy za pytanie, odpowiemy wkrótce.';
    await agent.selectOption('#reply-template', 'thanks');
    await shown(THANKS);
    await agent.waitForSelector('#reply-verdict[data-allowed=true]');
    await agent.focus('#reply-template');
    await agent.keyboard.press('Control+Enter');
    await agent.locator('#timeline .msg.out', { hasText: THANKS }).waitFor({ timeout: 5000 });
    assert.equal(await agent.inputValue('#reply-template'), '', 'back to free text');
    await agent.waitForSelector('#reply-text');
    const r = await call('GET', '/conversations/' + id + '/messages', { token: ADMIN_TOKEN });
    assert.deepEqual(
      r.json.messages.filter((m) => m.direction === 'out').map((m) => m.text),
      [THANKS],
      'one reply, the rendered template',
    );
  });

  await step(
    'SMS: the reply box shows GSM-7 or UCS-2 and the segments as one types',
    async () => {
      const phone = await smsInbound('Dzień dobry, mam pytanie o dostawę ' + rand());
      const found = await call('GET', '/search?q=' + encodeURIComponent(phone), { token: ADMIN_TOKEN });
      assert.equal(found.status, 200, JSON.stringify(found.json));
      const customerId = found.json.customers[0]?.id;
      assert.ok(customerId, 'the SMS customer is found by the number: ' + JSON.stringify(found.json));
      const customer = await call('GET', '/customers/' + customerId, { token: ADMIN_TOKEN });
      const id = customer.json.conversations[0].id;
      await agent.goto(BASE + '/console/#/c/' + id);
      await agent.waitForSelector(`.conversation[data-id="${id}"] #reply-text`);
      const sms = (re) => agent.waitForFunction((src) => new RegExp(src).test(document.querySelector('#reply-sms')?.textContent ?? ''), re.source);
      await agent.focus('#reply-text');
      await agent.keyboard.type('abc');
      await sms(/^SMS: GSM-7, części: 1$/);
      await agent.keyboard.type(' ą');
      await sms(/^SMS: UCS-2, części: 1$/);
      await agent.fill('#reply-text', 'a'.repeat(161));
      await sms(/^SMS: GSM-7, części: 2$/);
      await agent.fill('#reply-text', 'ą'.repeat(71));
      await sms(/^SMS: UCS-2, części: 2$/);
      await agent.fill('#reply-text', '');
    },
    { skip: TWILIO.publicUrl && TWILIO.sid && TWILIO.token && TWILIO.from ? undefined : 'SB_PUBLIC_URL or the SB_TWILIO_* settings are not set' },
  );

  const waReady = GRAPH && WA_PHONE && WA_TOKEN && META_SECRET;
  async function whatsappInbound(name, text, sentAt = Date.now()) {
    const waId = '4860' + String(1000000 + Math.floor(Math.random() * 8999999));
    const payload = {
      object: 'whatsapp_business_account',
      entry: [{ id: '1022' + WA_PHONE.slice(4), changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '48221234567', phone_number_id: WA_PHONE },
        contacts: [{ profile: { name }, wa_id: waId }],
        messages: [{ from: waId, id: 'wamid.console' + rand() + rand(), timestamp: String(Math.floor(sentAt / 1000)),
          type: 'text', text: { body: text } }],
      } }] }],
    };
    const hook = await graph('POST', '/_fake/webhook', { url: BASE + '/webhooks/meta', app_secret: META_SECRET, json: payload });
    assert.equal(hook.status, 200, 'the daemon took the webhook: ' + JSON.stringify(hook));
    return waId;
  }
  await step(
    'a WhatsApp reply leaves through the Graph fake and shows read',
    async () => {
      await graph('POST', '/_fake/reset', { id: WA_PHONE });
      await graph('POST', '/_fake/tokens', { id: WA_PHONE, token: WA_TOKEN, kind: 'whatsapp' });
      await graph('POST', '/_fake/statuses', {
        id: WA_PHONE, url: BASE + '/webhooks/meta', app_secret: META_SECRET,
        sequence: ['sent', 'delivered', 'read'], interval_ms: 300,
      });
      const name = 'Wiktoria WhatsApp ' + rand();
      await whatsappInbound(name, 'Gdzie jest moja paczka?');
      await agent.goto(BASE + '/console/#/');
      await rowOf(agent, name).click();
      await agent.waitForSelector('#reply-window');
      assert.match(await agent.textContent('#reply-window'), /otwarte/);
      const text = 'Paczka jest w drodze ' + rand();
      await agent.fill('#reply-text', text);
      await agent.click('#reply-send');
      const sent = agent.locator('#timeline .msg.out', { hasText: text });
      await sent.waitFor({ timeout: 5000 });
      await agent.locator('#timeline .msg.out[data-delivery=read]', { hasText: text }).waitFor({ timeout: 20000 });
      assert.equal((await sent.locator('.delivery').textContent()).trim(), 'przeczytana');
      const seen = await graph('GET', '/_fake/requests?id=' + encodeURIComponent(WA_PHONE) + '&method=POST');
      assert.ok(
        seen.requests.some((r) => r.json && r.json.type === 'text' && r.json.text && r.json.text.body === text),
        'the fake got the reply',
      );
      await shot(agent, 'conversation-whatsapp');
    },
    { skip: waReady ? undefined : 'SB_GRAPH_URL, SB_WA_PHONE_ID, SB_WA_TOKEN or SB_META_APP_SECRET is not set' },
  );

  await step(
    'WhatsApp outside its window: 422 shown, then an approved template goes',
    async () => {
      const name = 'Stary Klient ' + rand();
      const waId = await whatsappInbound(name, 'Wiadomość sprzed dwóch dni', Date.now() - 48 * 3600 * 1000);
      await agent.goto(BASE + '/console/#/');
      await rowOf(agent, name).click();
      await agent.waitForSelector('#wa-name');
      assert.match(await agent.textContent('#reply-window'), /zamknięte/);
      await agent.fill('#reply-text', 'Czy paczka dotarła?');
      await agent.waitForFunction(() => /okno rozmowy jest zamknięte/.test(document.querySelector('#reply-verdict')?.textContent ?? ''));
      assert.equal(await agent.getAttribute('#reply-verdict', 'data-allowed'), 'false');
      await agent.click('#reply-send');
      await agent.waitForSelector('#reply-error');
      assert.match(await agent.textContent('#reply-error'), /okno rozmowy jest zamknięte/);
      await agent.fill('#wa-name', 'order_update');
      await agent.fill('#wa-lang', 'pl');
      await agent.fill('#wa-params', 'Wiktoria');
      await agent.waitForSelector('#reply-verdict[data-allowed=true]');
      await agent.click('#reply-send');
      await agent.locator('#timeline .msg.out', { hasText: 'Czy paczka dotarła?' }).waitFor({ timeout: 5000 });
      await agent.locator('#timeline .msg.out[data-delivery=read]').waitFor({ timeout: 20000 });
      const seen = await graph('GET', '/_fake/requests?id=' + encodeURIComponent(WA_PHONE) + '&recipient=' + waId);
      assert.ok(
        seen.requests.some((r) => r.json && r.json.type === 'template' && r.json.template.name === 'order_update'),
        'the fake got the template: ' + JSON.stringify(seen.requests.map((r) => r.json)),
      );
    },
    { skip: waReady ? undefined : 'the WhatsApp settings are not set' },
  );

  await step('reopening while the customer has another open conversation: the reason is shown', async () => {
    const address = `wraca-${rand()}@example.pl`;
    const name = 'Wracający ' + rand();
    const old = await inbound(name, 'pierwsza sprawa', { from: { address, name } });
    const r = await call('PATCH', '/conversations/' + old.conversation_id, { token: ADMIN_TOKEN, body: { state: 'resolved' } });
    assert.equal(r.status, 200);
    const fresh = await inbound(name, 'druga sprawa', { from: { address, name } });
    assert.notEqual(fresh.conversation_id, old.conversation_id);
    await agent.goto(BASE + '/console/#/c/' + old.conversation_id);
    await agent.click('#conv-reopen');
    await agent.waitForSelector('#action-error');
    assert.match(await agent.textContent('#action-error'), /inną aktywną rozmowę/);
    assert.equal((await agent.textContent('#conv-state')).trim(), 'rozwiązana');
  });

  await step('older messages page in; merge and split a customer', async () => {
    const address = `staly-${rand()}@example.pl`;
    const name = 'Stały Klient ' + rand();
    for (let i = 1; i <= 105; i++) await inbound(name, `wiadomość ${i}`, { from: { address, name } });
    const other = await inbound('Drugie Konto ' + rand(), 'inne konto', { from: { address: `inne-${rand()}@example.pl` } });
    await agent.goto(BASE + '/console/#/');
    await rowOf(agent, name).click();
    await agent.locator('#timeline .msg.in', { hasText: 'wiadomość 105' }).waitFor();
    assert.equal(await agent.locator('#timeline .msg.in').count(), 100);
    await agent.click('.timeline button.more');
    await agent.locator('#timeline .msg.in .text', { hasText: /^wiadomość 1$/ }).waitFor();
    assert.equal(await agent.locator('#timeline .msg.in').count(), 105);
    assert.equal(await agent.locator('.timeline button.more').count(), 0);
    await agent.fill('#merge-id', other.customer_id);
    await agent.click('.merge button[type=submit]');
    await agent.waitForFunction(() => document.querySelectorAll('.identities li').length === 2);
    await agent.locator('.identities li', { hasText: 'inne-' }).locator('button').click();
    await agent.waitForFunction(() => document.querySelectorAll('.identities li').length === 1);
  });

  await step('the stream resumes with ?since=<last id> after a close and misses nothing', async () => {
    const ctx = await browser.newContext({ locale: 'pl-PL', viewport: { width: 1280, height: 800 } });
    const sockets = [];
    let lastId = null;
    // Every stream connection goes through here, so this test can see and cut it.
    await ctx.routeWebSocket(/\/api\/v1\/stream/, (ws) => {
      const server = ws.connectToServer();
      server.onMessage((m) => {
        try {
          const e = JSON.parse(m);
          if (typeof e.id === 'string') lastId = e.id;
        } catch {
          // not JSON: passed on as it is
        }
        ws.send(m);
      });
      sockets.push({ ws, server, url: ws.url() });
    });
    const page = await ctx.newPage();
    watch(page, 'resume');
    try {
      await page.goto(BASE + '/console/');
      await signInPage(page, AGENT);
      await page.click('#tab-all');
      await waitLive(page);
      const before = 'Przed Przerwą ' + rand();
      await inbound(before, 'przed');
      await rowOf(page, before).waitFor({ timeout: 5000 });
      assert.ok(lastId !== null && /^[0-9]+$/.test(lastId), 'events came with ids');
      const seen = lastId;
      assert.equal(sockets.length, 1);
      await sockets[0].ws.close({ code: 4000, reason: 'cut by the test' });
      await sockets[0].server.close();
      const during = 'W Przerwie ' + rand();
      await inbound(during, 'w trakcie');
      await rowOf(page, during).waitFor({ timeout: 10000 });
      assert.ok(sockets.length >= 2, 'it connected again');
      assert.equal(new URL(sockets[1].url).searchParams.get('since'), seen, 'resumed from the last id seen');
      await waitLive(page);
    } finally {
      await ctx.close();
      pages.delete(page);
    }
  });

  await step('an agent on the admin page sees "forbidden" only', async () => {
    await agent.goto(BASE + '/console/#/admin');
    await agent.waitForSelector('#forbidden');
    assert.equal(await agent.locator('.admin, .people, .person').count(), 0);
  });

  await step('screenshots of the inbox and a conversation', async () => {
    await agent.goto(BASE + '/console/#/');
    await agent.waitForSelector('#inbox-rows .row');
    await shot(agent, 'inbox');
    await agent.goto(BASE + '/console/#/c/' + (liveConversation ?? xssConversation));
    await agent.waitForSelector('#timeline .msg');
    await shot(agent, 'conversation');
  });

  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  async function axe(page, what) {
    // evaluate() is not subject to the page's CSP (an injected <script> would be).
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    });
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of violations) console.log(`     axe ${what}: ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(', ')}`);
    assert.deepEqual(bad, [], `serious or critical accessibility violations on ${what}`);
  }

  await step('axe-core: no serious or critical violation', async () => {
    await agent.goto(BASE + '/console/#/');
    await agent.waitForSelector('#inbox-rows .row');
    await axe(agent, 'the inbox');
    await agent.goto(BASE + '/console/#/c/' + (xssConversation ?? liveConversation));
    await agent.waitForSelector('#timeline .msg');
    await agent.waitForSelector('#customer-title');
    await axe(agent, 'a conversation');
    await agent.keyboard.press('?');
    await agent.waitForSelector('#shortcuts');
    await axe(agent, 'the shortcuts dialog');
    await agent.keyboard.press('Escape');
    await agent.fill('#search-box', searchTag);
    await agent.waitForSelector('#search-customers .cust-hit');
    await agent.waitForSelector('#search-hits .hit mark');
    await axe(agent, 'the search results');
    await agent.click('#search-customers .cust-hit');
    await agent.waitForSelector('#customer-page .identities');
    await axe(agent, 'a customer');
    await agent.click('#search-close');
    await agent.waitForSelector('#inbox-rows');
    const anon = await browser.newPage({ locale: 'en-GB' });
    watch(anon, 'anonymous');
    await anon.goto(BASE + '/console/');
    await anon.waitForSelector('.login-form');
    assert.equal((await anon.textContent('.login-form button[type=submit]')).trim(), 'Sign in', 'English by the browser');
    await axe(anon, 'the sign-in page');
    await anon.close();
    pages.delete(anon);
  });

  await step('an admin lists people, creates and revokes a token (English)', async () => {
    const ctx = await browser.newContext({ locale: 'en-GB', viewport: { width: 1440, height: 900 } });
    const admin = await ctx.newPage();
    watch(admin, 'admin');
    await admin.goto(BASE + '/console/');
    await signInPage(admin, ADMIN);
    await admin.click('a[href="#/admin"]');
    const card = admin.locator('#person-' + AGENT.login);
    await card.waitFor();
    await card.locator('button', { hasText: 'Show tokens' }).click();
    const tokenName = 'browser test ' + rand();
    await card.locator('input[id$="-token"]').fill(tokenName);
    await card.locator('button', { hasText: 'Create token' }).click();
    await card.locator('code.token').waitFor();
    assert.match(await card.locator('code.token').textContent(), /^sbp_/);
    await shot(admin, 'admin');
    await axe(admin, 'the admin page');
    await card.locator('.tokens li', { hasText: tokenName }).locator('button', { hasText: 'Revoke' }).click();
    await card.locator('.tokens li', { hasText: tokenName }).waitFor({ state: 'detached' });
    await ctx.close();
    pages.delete(admin);
  });

  await step('a revoked session brings the sign-in page back', async () => {
    await agent.goto(BASE + '/console/#/');
    await waitLive(agent);
    // An admin resets the agent's password (to the same one): every session of theirs ends.
    const boss = await apiSession(ADMIN);
    const r = await call('PUT', '/people/' + encodeURIComponent(AGENT.login) + '/password', { session: boss, body: { password: AGENT.password } });
    assert.equal(r.status, 204, JSON.stringify(r.json));
    await agent.waitForSelector('.login-form', { timeout: 10000 });
    assert.match(await agent.textContent('.login-form .notice'), /Sesja wygasła/);
    // Signing in again works and the inbox comes back.
    await signInPage(agent, AGENT);
    await waitLive(agent);
  });

  await step('too many failed sign-ins: the wait is shown', async () => {
    // Another person's login, so the agent's and the admin's stay usable.
    const login = process.env.SB_LOCKOUT_LOGIN || 'zofia';
    for (let i = 0; i < 12; i++) {
      const res = await fetch(BASE + '/api/v1/session', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login, password: 'wrong-' + i }),
      });
      if (res.status === 429) break;
    }
    const page = await browser.newPage({ locale: 'pl-PL' });
    watch(page, 'lockout');
    await page.goto(BASE + '/console/');
    await page.fill('#login-login', login);
    await page.fill('#login-password', 'wrong-again');
    await page.click('.login-form button[type=submit]');
    await page.waitForSelector('#login-error');
    assert.match(await page.textContent('#login-error'), /^Zbyt wiele prób\. Spróbuj ponownie za [0-9]+ s\.$/);
    await page.close();
    pages.delete(page);
  });

  await step('no page error, no refused inline code, no dialog', async () => {
    assert.deepEqual(problems, []);
  });
} finally {
  await browser.close();
}

console.log(failures ? `${failures} scenario(s) failed; screenshots in ${ARTIFACTS}` : `all scenarios passed; screenshots in ${ARTIFACTS}`);
process.exit(failures ? 1 : 0);
