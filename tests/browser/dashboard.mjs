// The dashboard in a real browser: Debian's Chromium driven by playwright-core.
//
//   node dashboard.mjs SCENARIO URL ARGS...
//
// Each scenario prints what it measured and "ok", or "FAIL: ..." and exits 1. The browser is
// closed on every path, and a watchdog ends the process when a scenario outlives its bound.
// The CLI runs as FLOWTRACK_BIN on FLOWTRACK_DB (the harness exports both).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const slow = process.env.FT_SANITIZED === '1' ? 3 : 1; // the sanitizer build's CLI is slower
let browser = null;
const consoleErrors = [];

function fail(msg) {
    throw new Error(msg);
}

function cli(...args) {
    return execFileSync(process.env.FLOWTRACK_BIN, args, { encoding: 'utf8', timeout: 30000 });
}

function cliJson(...args) {
    return JSON.parse(cli(...args, '--json'));
}

async function launch() {
    browser = await chromium.launch({
        executablePath: process.env.FT_CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
        timeout: 60000,
    });
}

async function newPage(width = 1280, height = 900, watchConsole = true) {
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    page.setDefaultTimeout(15000 * slow);
    page.on('console', (m) => {
        if (process.env.FT_BROWSER_DEBUG) console.error(`console ${m.type()} ${page.url()}: ${m.text()}`);
        if (m.type() === 'error' && watchConsole) consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    return page;
}

// Wait (bounded) for a predicate evaluated in node.
async function until(what, fn, ms) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) fail(`${what}: not within ${ms} ms`);
        await sleep(20);
    }
}

async function waitFile(path, ms) {
    await until(`the file ${path}`, () => existsSync(path), ms);
    return readFileSync(path, 'utf8').trim();
}

function itemLi(page, text) {
    return page.locator('#progress li[data-kind="item"]', { hasText: text });
}

async function noSideScroll(page, what) {
    const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
    if (sw > iw) fail(`${what}: the page scrolls sideways (${sw} px wide at ${iw} px)`);
}

// The example tracker in the list, then opened; a CLI write live; edits made on the page; screenshots.
async function basics(url, slug, shots) {
    const t = cliJson('show', '-t', slug);
    await launch();
    const page = await newPage();
    await page.goto(url + '/');
    const row = page.locator(`[data-tracker="${slug}"]`);
    await row.waitFor();
    if (!(await row.locator('.status').innerText()).includes(t.status)) fail('the list does not show the status');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/list-1280.png`, fullPage: true });
    await row.locator(`a[href="#/t/${slug}"]`).click();
    await page.locator(`#tracker[data-slug="${slug}"] #rules li`).first().waitFor();
    const rules = await page.locator('#rules li').count();
    const items = await page.locator('#progress li[data-kind="item"]').count();
    if (rules !== t.rules.length || rules === 0) fail(`ground rules: ${rules} shown, ${t.rules.length} stored`);
    if (items !== t.items.length || items === 0) fail(`items: ${items} shown, ${t.items.length} stored`);
    const h1 = await page.locator('#tracker h1').innerText();
    if (!h1.includes(t.title)) fail(`the title '${h1}' is not '${t.title}'`);
    for (const g of ['done', 'doing', 'pending', 'dropped']) {
        const n = await page.locator(`#progress [data-group="${g}"] li[data-kind="item"]`).count();
        if (n !== t.progress[g]) fail(`progress group ${g}: ${n} shown, ${t.progress[g]} stored`);
    }
    console.log(`list and tracker: ${rules} rules, ${items} items shown`);
    await page.screenshot({ path: `${shots}/tracker-1280.png`, fullPage: true });
    await page.screenshot({ path: `${shots}/tracker-1280-top.png` }); // the first screen, for the docs

    // a CLI write reaches the open page
    await page.locator('#conn[data-state="live"]').waitFor();
    const text = `written by the CLI ${process.pid}`;
    const t0 = Date.now();
    cli('item', 'add', '-t', slug, text);
    await itemLi(page, text).waitFor({ timeout: 5000 * slow });
    const ms = Date.now() - t0;
    console.log(`a CLI write appeared on the page after ${ms} ms`);
    if (ms > 1000 * slow) fail(`the CLI write took ${ms} ms to appear (bound ${1000 * slow} ms)`);

    // edits on the page, attributed to the actor it asks for once
    const mine = `added on the page ${process.pid}`;
    await page.locator('#add-item input[name="text"]').fill(mine);
    await page.locator('#add-item [type="submit"]').click();
    await page.locator('#actor-dialog').waitFor();
    await page.locator('#actor-input').fill('browser-ana');
    await page.locator('#actor-save').click();
    const li = itemLi(page, mine);
    await li.waitFor();
    await li.locator('select.state').selectOption('doing');
    await page.locator(`#progress [data-group="doing"] li[data-kind="item"]`, { hasText: mine }).waitFor();
    await itemLi(page, mine).locator('button.claim').click();
    await itemLi(page, mine).locator('.claimer', { hasText: 'browser-ana' }).waitFor();
    const hyp = page.locator('#hypotheses li').first();
    await hyp.locator('select.verdict').selectOption('confirmed');
    await hyp.locator('input.evidence').fill('seen in the browser');
    await hyp.locator('button.save-verdict').click();
    await page.locator('#hypotheses li[data-verdict="confirmed"]', { hasText: 'seen in the browser' }).first().waitFor();
    await page.locator('#add-result input[name="attempt"]').fill('ran it from the page');
    await page.locator('#add-result select[name="outcome"]').selectOption('pass');
    await page.locator('#add-result input[name="notes"]').fill('all green');
    await page.locator('#add-result [type="submit"]').click();
    await page.locator('#results li', { hasText: 'ran it from the page' }).waitFor();
    const kinds = cli('history', '-t', slug, '--json')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l))
        .filter((e) => e.actor === 'browser-ana')
        .map((e) => e.kind);
    for (const k of ['item.add', 'item.claim', 'result.add']) {
        if (!kinds.includes(k)) fail(`no ${k} by browser-ana in the history (${kinds.join(', ')})`);
    }
    if (kinds.length < 5) fail(`only ${kinds.length} events by browser-ana: ${kinds.join(', ')}`);
    console.log(`page edits in the history as browser-ana: ${kinds.join(', ')}`);

    // by keyboard alone: Tab to the new-item field, type, Enter
    const typed = `typed at the keyboard ${process.pid}`;
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => document.activeElement && document.activeElement.matches('#add-item input[name="text"]'));
    }
    if (!reached) fail('Tab never reaches the new-item field');
    await page.keyboard.type(typed);
    await page.keyboard.press('Enter');
    await itemLi(page, typed).waitFor();
    console.log('an item added by keyboard alone');

    // dark, following the system
    const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    const dpage = await dark.newPage();
    dpage.on('pageerror', (e) => consoleErrors.push(`${dpage.url()}: ${e.message}`));
    await dpage.goto(`${url}/#/t/${slug}`);
    await dpage.locator(`#tracker[data-slug="${slug}"] #rules li`).first().waitFor();
    const bg = await dpage.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const lum = bg.match(/\d+/g).slice(0, 3).reduce((a, v) => a + Number(v), 0) / 3;
    if (lum > 100) fail(`the dark scheme keeps a light background (${bg})`);
    await dpage.screenshot({ path: `${shots}/tracker-1280-dark.png` });
    await dark.close();

    // phone width
    const phone = await newPage(390, 844);
    await phone.goto(url + '/');
    await phone.locator(`[data-tracker="${slug}"]`).waitFor();
    await noSideScroll(phone, 'the list at 390 px');
    await phone.screenshot({ path: `${shots}/list-390.png`, fullPage: true });
    await phone.goto(`${url}/#/t/${slug}`);
    await phone.locator(`#tracker[data-slug="${slug}"]`).waitFor();
    await noSideScroll(phone, 'the tracker at 390 px');
    await phone.screenshot({ path: `${shots}/tracker-390.png`, fullPage: true });
    console.log(`screenshots in ${shots}`);
}

// The server restarts under an open page: it reconnects, catches up, shows no duplicate.
async function restart(url, slug, dir) {
    await launch();
    const page = await newPage();
    await page.goto(`${url}/#/t/${slug}`);
    await page.locator('#conn[data-state="live"]').waitFor();
    const before = await page.locator('#progress li[data-kind="item"]').count();
    writeFileSync(`${dir}/need-restart`, '');
    const text = await waitFile(`${dir}/restarted`, 60000);
    await itemLi(page, text).waitFor({ timeout: 20000 * slow });
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 20000 * slow });
    const after = await page.locator('#progress li[data-kind="item"]').count();
    const copies = await itemLi(page, text).count();
    if (copies !== 1) fail(`the item written during the restart is shown ${copies} times`);
    if (after !== before + 1) fail(`${after} items after the restart, ${before} before and one written`);
    const live = `after the restart ${process.pid}`;
    cli('item', 'add', '-t', slug, live);
    await itemLi(page, live).waitFor({ timeout: 5000 * slow });
    const stored = cliJson('show', '-t', slug).items.length;
    const shown = await page.locator('#progress li[data-kind="item"]').count();
    if (shown !== stored) fail(`${shown} items shown, ${stored} stored`);
    console.log(`caught up after the restart: ${shown} items, each once`);
}

// With a token: nothing without it, everything after entering it once; a cross-origin write fails.
async function token(url, slug, secret) {
    await launch();
    const page = await newPage();
    await page.goto(url + '/');
    await page.locator('#token-dialog').waitFor();
    if (await page.locator(`[data-tracker="${slug}"]`).count()) fail('the list shows before the token');
    const before = consoleErrors.length;
    await page.locator('#token-input').fill('not-the-token');
    await page.locator('#token-save').click();
    await page.locator('#token-dialog', { hasText: /wrong|not/i }).waitFor();
    // the browser logs the refused login itself (a 401, reported a moment later): that one
    // is expected, and only that one
    const is401 = (e) => /status of 401/.test(e);
    await until('the refused login in the console', () => consoleErrors.slice(before).some(is401), 3000);
    await sleep(300);
    consoleErrors.push(...consoleErrors.splice(before).filter((e) => !is401(e)));
    await page.locator('#token-input').fill(secret);
    await page.locator('#token-save').click();
    await page.locator(`[data-tracker="${slug}"]`).waitFor();
    const cookies = await page.context().cookies();
    const c = cookies.find((k) => k.name === 'flowtrack_token');
    if (!c || !c.httpOnly || c.sameSite !== 'Strict') fail(`the cookie is not HttpOnly, SameSite=Strict: ${JSON.stringify(c)}`);
    if (await page.evaluate(() => document.cookie.includes('flowtrack_token'))) fail('the page script can read the token');
    // the stream is authorised by the cookie: a CLI write appears
    await page.goto(`${url}/#/t/${slug}`);
    await page.locator('#conn[data-state="live"]').waitFor();
    cli('item', 'add', '-t', slug, 'seen through the cookie');
    await itemLi(page, 'seen through the cookie').waitFor({ timeout: 5000 * slow });
    // another origin (localhost is not 127.0.0.1 to the browser) tries to write with the cookie
    const other = url.replace('127.0.0.1', 'localhost');
    const evil = await newPage(1280, 900, false); // the browser logs the refusals there
    await evil.goto(other + '/healthz'); // a page of another origin, without the dashboard's CSP
    const n0 = cliJson('show', '-t', slug).items.length;
    const got = await evil.evaluate(async (target) => {
        const out = [];
        for (const [ct, mode] of [['text/plain', 'no-cors'], ['application/json', 'cors']]) {
            try {
                const r = await fetch(target, { method: 'POST', mode, credentials: 'include', headers: { 'Content-Type': ct }, body: '{"text":"cross-origin"}' });
                out.push(`${mode}:${r.type}:${r.status}`);
            } catch (e) {
                out.push(`${mode}:refused`);
            }
        }
        return out;
    }, `${url}/api/trackers/${slug}/items`);
    const n1 = cliJson('show', '-t', slug).items.length;
    if (n1 !== n0) fail(`a cross-origin POST wrote an item (${got.join(', ')})`);
    console.log(`cross-origin POSTs wrote nothing (${got.join(', ')})`);
    // and the same write from the page's own origin works
    const ok = await page.evaluate(async (target) => {
        const r = await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Flowtrack-Actor': 'page' }, body: '{"text":"same-origin"}' });
        return r.status;
    }, `${url}/api/trackers/${slug}/items`);
    if (ok !== 201) fail(`a same-origin write with the cookie answered ${ok}`);
    console.log('token: refused without it, accepted once entered, kept in an HttpOnly SameSite=Strict cookie');
}

// A large tracker: the first render's time; 100 events a second keep the page responsive.
async function load(url, slug, seconds) {
    await launch();
    const page = await newPage();
    await page.goto(`${url}/#/t/${slug}`);
    await page.locator(`#tracker[data-slug="${slug}"]`).waitFor({ timeout: 30000 * slow });
    await page.locator('#conn[data-state="live"]').waitFor();
    const first = await page.evaluate(() => {
        const m = performance.getEntriesByName('ft-first-render')[0];
        return { mark: m ? m.startTime : null, render: window.__ft && window.__ft.lastRenderMs };
    });
    const n = await page.locator('#progress li[data-kind="item"]').count();
    console.log(`first render of ${n} items, new browser context: ${first.mark === null ? '?' : first.mark.toFixed(1)} ms from navigation start, ${first.render} ms rendering`);
    // the same page loaded again (a reload: the browser and its files warm), 5 times
    const warm = [];
    for (let i = 0; i < 5; i++) {
        await page.reload();
        await page.waitForFunction(() => performance.getEntriesByName('ft-first-render').length > 0);
        warm.push(await page.evaluate(() => [performance.getEntriesByName('ft-first-render')[0].startTime, window.__ft.lastRenderMs]));
    }
    const med = (v) => v.slice().sort((a, b) => a - b)[v.length >> 1];
    console.log(`first render of ${n} items after a reload, median of 5: ${med(warm.map((w) => w[0])).toFixed(1)} ms from navigation start, ${med(warm.map((w) => w[1])).toFixed(1)} ms rendering`);
    await page.locator('#conn[data-state="live"]').waitFor();
    // a frame-gap probe in the page, then 100 writes a second through the API
    await page.evaluate(() => {
        window.__gap = 0;
        let last = performance.now();
        const tick = (t) => {
            window.__gap = Math.max(window.__gap, t - last);
            last = t;
            window.__probe = requestAnimationFrame(tick);
        };
        window.__probe = requestAnimationFrame(tick);
    });
    const r0 = await page.evaluate(() => window.__ft.renders);
    const total = 100 * seconds;
    const start = Date.now();
    const writes = [];
    for (let i = 0; i < total; i++) {
        const due = start + i * 10;
        if (due > Date.now()) await sleep(due - Date.now());
        writes.push(
            fetch(`${url}/api/trackers/${slug}/items`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', 'Flowtrack-Actor': 'load' },
                body: JSON.stringify({ text: `burst ${i}` }),
            }).then((r) => r.status),
        );
    }
    const codes = await Promise.all(writes);
    const bad = codes.filter((c) => c !== 201);
    if (bad.length) fail(`${bad.length} writes failed: ${bad.slice(0, 5).join(', ')}`);
    const rate = total / ((Date.now() - start) / 1000);
    await itemLi(page, `burst ${total - 1}`).waitFor({ timeout: 30000 * slow });
    const res = await page.evaluate(() => ({ gap: window.__gap, renders: window.__ft.renders }));
    const t0 = Date.now();
    await page.locator('#add-item input[name="text"]').fill('still responsive');
    const inputMs = Date.now() - t0;
    console.log(`${total} writes at ${rate.toFixed(0)}/s: ${res.renders - r0} renders, longest frame gap ${res.gap.toFixed(0)} ms, typing answered in ${inputMs} ms`);
    if (res.renders - r0 >= total) fail('renders were not coalesced');
    if (res.gap > 1000 * slow) fail(`the page froze for ${res.gap.toFixed(0)} ms`);
}

// N open pages cost N streams; all closed, the harness checks the server's baseline.
async function pages(url, slug, countArg) {
    const count = Number(countArg);
    await launch();
    // one context per page: a browser profile holds at most 6 connections per host, and each
    // open page keeps one for its stream (as 50 people's browsers would)
    const contexts = [];
    const open = [];
    for (let i = 0; i < count; i++) {
        const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
        contexts.push(context);
        const p = await context.newPage();
        p.on('pageerror', (e) => consoleErrors.push(e.message));
        await p.goto(`${url}/#/t/${slug}`);
        open.push(p);
    }
    for (const p of open) await p.locator('#conn[data-state="live"]').waitFor({ timeout: 30000 * slow });
    const streams = async () => {
        const m = await (await fetch(`${url}/metrics`)).text();
        return Number((m.match(/^flowtrack_streams_open (\d+)/m) || [])[1]);
    };
    let last = 0;
    await until(`${count} streams open (${last} open)`, async () => (last = await streams()) === count, 10000 * slow).catch(() =>
        fail(`${last} streams open for ${count} pages`),
    );
    const n = last;
    console.log(`${count} pages open: ${n} streams on the server`);
    for (const c of contexts) await c.close();
}

const scenarios = { basics, restart, token, load, pages };
const [name, url, ...args] = process.argv.slice(2);
const bound = Number(process.env.FT_BROWSER_BOUND_S || 240) * 1000;
const watchdog = setTimeout(() => {
    console.error(`FAIL: the scenario '${name}' ran past ${bound / 1000} s`);
    process.exit(1); // the harness kills a browser left behind
}, bound);
let rc = 0;
try {
    if (!scenarios[name]) fail(`no scenario '${name}': ${Object.keys(scenarios).join(', ')}`);
    await scenarios[name](url, ...args);
    if (consoleErrors.length) fail(`console errors:\n  ${consoleErrors.join('\n  ')}`);
    console.log('ok');
} catch (e) {
    console.error(`FAIL: ${e.message}`);
    rc = 1;
} finally {
    if (browser) await browser.close().catch(() => {});
    clearTimeout(watchdog);
}
process.exit(rc);
