'use strict';
/*
 * flowtrack dashboard: the trackers list (#/) and one tracker (#/t/<slug>), live over
 * Server-Sent Events. The page state is always a snapshot fetched from the API; events only
 * say "something changed", so a burst of them costs one or two fetches and one render.
 */
(() => {
  // ---------------------------------------------------------------- constants

  const ENTRY_KINDS = ['rule', 'step', 'item', 'symptom', 'hyp', 'result', 'followup', 'note'];
  const EVENT_KINDS = [
    'tracker.create', 'tracker.import', 'tracker.update', 'tracker.edit', 'tracker.delete',
    'run.record', 'item.claim', 'item.release', 'default.set', 'default.clear',
    ...ENTRY_KINDS.flatMap((k) => ['add', 'update', 'move', 'remove'].map((v) => `${k}.${v}`)),
  ];
  /* Display order of the progress groups, and the order of the state menu. */
  const GROUPS = [['done', 'Done'], ['doing', 'Doing'], ['pending', 'Pending'], ['dropped', 'Out of scope']];
  const STATE_MENU = [['pending', 'Pending'], ['doing', 'Doing'], ['done', 'Done'], ['dropped', 'Out of scope']];
  const VERDICTS = [['open', 'Open'], ['ruled-out', 'Ruled out'], ['confirmed', 'Confirmed']];
  const OUTCOMES = ['pass', 'fail', 'hang', 'leak', 'crash', 'interrupted'];
  const STATUSES = ['open', 'waiting', 'resolved'];
  const ACTOR_KEY = 'flowtrack.actor';
  const FLASH_MS = 1500;
  const MIN_FETCH_GAP = 100; // ms between the starts of two snapshot fetches
  const MIN_RENDER_GAP = 100; // ms between two renders
  const HISTORY_LIMIT = 50;
  const LONG_LIST = 60; // entries from which a list is rendered lazily by the browser
  const CONN_TEXT = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    offline: 'Offline',
  };

  // ---------------------------------------------------------------- small helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  /** Escapes any value for HTML text and attribute values (double or single quoted). */
  const esc = (v) => (v == null ? '' : String(v).replace(/[&<>"']/g, (c) => ESC[c]));
  const seg = (v) => encodeURIComponent(String(v));
  const plural = (n, one, many = one + 's') => `${n} ${n === 1 ? one : many}`;

  const ft = (window.__ft = { renders: 0, lastRenderMs: 0, lastEventId: '', firstRenderMs: null });

  function relTime(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return iso ? String(iso) : '';
    let s = (Date.now() - t) / 1000;
    if (s < 0) s = 0;
    if (s < 45) return 'just now';
    const m = Math.round(s / 60);
    if (m < 60) return `${m} min ago`;
    const h = Math.round(s / 3600);
    if (h < 24) return `${h} h ago`;
    const d = Math.round(s / 86400);
    if (d < 31) return d === 1 ? 'yesterday' : `${d} days ago`;
    return new Date(t).toISOString().slice(0, 10);
  }

  /** A <time> showing a relative time, with the ISO time as its title. */
  function timeHTML(iso) {
    if (!iso) return '';
    return `<time class="rel" datetime="${esc(iso)}" title="${esc(iso)}">${esc(relTime(iso))}</time>`;
  }

  function fmtDuration(ms) {
    if (ms == null || Number.isNaN(+ms)) return '';
    ms = +ms;
    if (ms < 1000) return `${ms} ms`;
    const s = ms / 1000;
    if (s < 60) return `${+s.toFixed(s < 10 ? 2 : 1)} s`;
    const m = Math.floor(s / 60);
    const rs = Math.round(s - m * 60);
    if (m < 60) return rs ? `${m} min ${rs} s` : `${m} min`;
    const h = Math.floor(m / 60);
    return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  }

  function clip(s, n) {
    s = s == null ? '' : String(s);
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  /** Header values must be byte strings: send the actor's UTF-8 bytes one per char. */
  function headerBytes(s) {
    let out = '';
    for (const b of new TextEncoder().encode(s)) out += String.fromCharCode(b);
    return out;
  }

  function actorProblem(name) {
    if (!name) return 'Enter a name.';
    if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'The name may not contain control characters.';
    const bytes = new TextEncoder().encode(name).length;
    if (bytes > 64) return 'The name is too long (at most 64 characters).';
    return '';
  }

  // ---------------------------------------------------------------- app state

  const S = {
    session: null, // GET /ui/session
    actor: readActor(),
    view: null, // the current view object (ListView or TrackerView)
    conn: 'connecting',
  };

  function readActor() {
    try {
      const a = localStorage.getItem(ACTOR_KEY);
      return a && !actorProblem(a) ? a : '';
    } catch {
      return '';
    }
  }

  // ---------------------------------------------------------------- HTTP

  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code || '';
    }
  }

  /**
   * One API call. Resolves {data, status, etag}; rejects with ApiError (status 0: no
   * answer). A 401 opens the token dialog.
   */
  async function api(method, url, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.actor) headers['Flowtrack-Actor'] = headerBytes(opts.actor);
    if (opts.etag) headers['If-None-Match'] = opts.etag;
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'The server cannot be reached.', 'network');
    }
    if (res.status === 304) return { data: null, status: 304, etag: opts.etag, notModified: true };
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const e = data && data.error;
      const msg = (e && e.message) || `${res.status} ${res.statusText || 'error'}`.trim();
      const err = new ApiError(res.status, msg, e && e.code);
      if (res.status === 401) needToken();
      throw err;
    }
    return { data, text, status: res.status, etag: res.headers.get('ETag') };
  }

  /** A write as the page's actor; asks for the actor first. Errors go to the toast. */
  async function write(method, url, body) {
    let actor;
    try {
      actor = await ensureActor();
    } catch {
      return null; // the user cancelled the actor dialog
    }
    try {
      const r = await api(method, url, body === undefined ? {} : body, { actor });
      if (S.view && S.view.refresher) S.view.refresher.request();
      return r;
    } catch (err) {
      if (err.status === 401) toast('Sign in to make changes: ' + err.message);
      else toast(err.message);
      return null;
    }
  }

  // ---------------------------------------------------------------- toast

  const toastEl = $('#toast');
  const toastMsg = $('#toast-msg');
  function toast(msg) {
    toastMsg.textContent = msg;
    toastEl.hidden = false;
  }
  function hideToast() {
    toastEl.hidden = true;
    toastMsg.textContent = '';
  }
  $('#toast-close').addEventListener('click', hideToast);

  // ---------------------------------------------------------------- connection indicator

  const connEl = $('#conn');
  function setConn(state, text) {
    S.conn = state;
    connEl.dataset.state = state;
    const label = text || CONN_TEXT[state] || state;
    const t = $('.conn-text', connEl);
    if (t.textContent !== label) t.textContent = label;
    connEl.title = state === 'live' ? 'Receiving changes as they happen' : label;
  }

  // ---------------------------------------------------------------- actor

  const actorDialog = $('#actor-dialog');
  const actorInput = $('#actor-input');
  const actorError = $('#actor-error');
  let actorWaiters = [];

  function showActor() {
    const n = $('#actor-name');
    n.textContent = S.actor || 'not set';
    n.classList.toggle('unset', !S.actor);
    $('#actor-change').textContent = S.actor ? 'Change' : 'Set';
    $('#actor-change').setAttribute('aria-label', S.actor ? 'Change actor' : 'Set actor');
  }

  function openActorDialog() {
    actorInput.value = S.actor || (S.session && S.session.actor) || '';
    actorError.hidden = true;
    actorError.textContent = '';
    if (!actorDialog.open) actorDialog.showModal();
    actorInput.focus();
    actorInput.select();
  }

  /** The page's actor; the first edit asks for it. */
  function ensureActor() {
    if (S.actor) return Promise.resolve(S.actor);
    return new Promise((resolve, reject) => {
      actorWaiters.push({ resolve, reject });
      openActorDialog();
    });
  }

  $('#actor-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = actorInput.value.trim();
    const problem = actorProblem(name);
    if (problem) {
      actorError.textContent = problem;
      actorError.hidden = false;
      actorInput.focus();
      return;
    }
    S.actor = name;
    try {
      localStorage.setItem(ACTOR_KEY, name);
    } catch {
      /* storage may be unavailable: keep it for this page */
    }
    showActor();
    const w = actorWaiters;
    actorWaiters = [];
    actorDialog.close('saved');
    w.forEach((x) => x.resolve(name));
    if (S.view && S.view.onActorChange) S.view.onActorChange();
  });
  $('#actor-cancel').addEventListener('click', () => actorDialog.close('cancel'));
  actorDialog.addEventListener('close', () => {
    const w = actorWaiters;
    actorWaiters = [];
    w.forEach((x) => x.reject(new Error('cancelled')));
  });
  $('#actor-change').addEventListener('click', openActorDialog);

  // ---------------------------------------------------------------- token / session

  const tokenDialog = $('#token-dialog');
  const tokenInput = $('#token-input');
  const tokenError = $('#token-error');
  let tokenBusy = false;

  function needToken() {
    if (S.session) S.session.authenticated = false;
    showAccessButtons();
    if (S.view && S.view.live) S.view.live.pause('offline', 'Sign-in needed');
    if (!tokenDialog.open) {
      tokenInput.value = '';
      tokenError.hidden = true;
      tokenDialog.showModal();
      tokenInput.focus();
    }
  }

  function showAccessButtons() {
    const s = S.session || {};
    $('#logout').hidden = !s.token_required;
    $('#login').hidden = !s.token_required || !!s.authenticated;
  }

  $('#token-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (tokenBusy) return;
    const token = tokenInput.value;
    if (!token) {
      tokenError.textContent = 'Enter the token.';
      tokenError.hidden = false;
      return;
    }
    tokenBusy = true;
    $('#token-save').disabled = true;
    try {
      const res = await fetch('/ui/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (res.status === 200) {
        tokenInput.value = '';
        if (S.session) S.session.authenticated = true;
        tokenDialog.close('ok');
        showAccessButtons();
        hideToast();
        reloadView();
      } else {
        let msg = res.status === 401 ? 'Wrong token.' : `Sign-in failed (${res.status}).`;
        if (res.status !== 401) {
          try {
            const j = await res.json();
            if (j && j.error && j.error.message) msg = j.error.message;
          } catch {
            /* keep the status */
          }
        }
        tokenError.textContent = msg;
        tokenError.hidden = false;
        tokenInput.select();
      }
    } catch {
      tokenError.textContent = 'The server cannot be reached.';
      tokenError.hidden = false;
    } finally {
      tokenBusy = false;
      $('#token-save').disabled = false;
    }
  });
  $('#token-cancel').addEventListener('click', () => tokenDialog.close('cancel'));
  $('#login').addEventListener('click', needToken);
  $('#logout').addEventListener('click', async () => {
    try {
      await fetch('/ui/logout', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
    } catch {
      /* nothing to undo */
    }
    await loadSession();
    if (S.session && S.session.private) needToken();
    else reloadView();
  });

  async function loadSession() {
    try {
      const r = await api('GET', '/ui/session');
      S.session = r.data || {};
    } catch (err) {
      if (!S.session) S.session = { token_required: false, private: false, authenticated: true };
    }
    showAccessButtons();
    return S.session;
  }

  // ---------------------------------------------------------------- live stream

  /**
   * One EventSource with its reconnection. The browser reconnects by itself after a dropped
   * body (state "reconnecting"); when it gives up (readyState CLOSED: a 503, a 401, a 404)
   * we reconnect with backoff and ?last_event_id=.
   */
  class Live {
    constructor(url, handlers) {
      this.url = url;
      this.h = handlers; // {event(ev), open(), probe() -> 'ok'|'retry'|'stop'}
      this.es = null;
      this.timer = 0;
      this.attempt = 0;
      this.stopped = false;
      this.paused = false;
      this.onEvent = (ev) => this.handle(ev);
    }

    start() {
      this.stopped = false;
      this.paused = false;
      this.open(false);
    }

    open(resume) {
      this.closeSource();
      if (this.stopped || this.paused) return;
      let url = this.url;
      if (resume && ft.lastEventId) {
        url += (url.includes('?') ? '&' : '?') + 'last_event_id=' + seg(ft.lastEventId);
      }
      if (S.conn !== 'reconnecting') setConn(this.attempt ? 'reconnecting' : 'connecting');
      let es;
      try {
        es = new EventSource(url, { withCredentials: true });
      } catch {
        this.retry();
        return;
      }
      this.es = es;
      es.onopen = () => {
        if (this.es !== es) return;
        this.attempt = 0;
        setConn('live');
        this.h.open();
      };
      es.onerror = (ev) => {
        if (this.es !== es) return;
        if (ev instanceof MessageEvent) {
          // The server's own "event: error": the store failed; the body ends next.
          setConn('reconnecting');
          return;
        }
        if (es.readyState === EventSource.CLOSED) this.retry();
        else setConn(navigator.onLine === false ? 'offline' : 'reconnecting');
      };
      es.onmessage = this.onEvent;
      for (const k of EVENT_KINDS) es.addEventListener(k, this.onEvent);
      es.addEventListener('shutdown', () => {
        if (this.es === es) setConn('reconnecting', 'Server restarting…');
      });
    }

    handle(ev) {
      if (ev.lastEventId) ft.lastEventId = ev.lastEventId;
      this.h.event(ev);
    }

    retry() {
      this.closeSource();
      if (this.stopped || this.paused) return;
      clearTimeout(this.timer);
      const delay = Math.min(10000, 1000 * 2 ** this.attempt);
      this.attempt++;
      setConn(navigator.onLine === false ? 'offline' : 'reconnecting');
      this.timer = setTimeout(async () => {
        this.timer = 0;
        if (this.stopped || this.paused) return;
        const verdict = await this.h.probe();
        if (this.stopped || this.paused) return;
        if (verdict === 'stop') return;
        if (verdict === 'retry') this.retry();
        else this.open(true);
      }, delay);
    }

    /** Stop until resume() (token needed). */
    pause(state, text) {
      this.paused = true;
      clearTimeout(this.timer);
      this.timer = 0;
      this.closeSource();
      setConn(state, text);
    }

    now() {
      // reconnect at once (the browser came back online)
      if (this.stopped || this.paused) return;
      clearTimeout(this.timer);
      this.timer = 0;
      this.attempt = Math.max(this.attempt, 1);
      this.open(true);
    }

    closeSource() {
      if (this.es) {
        this.es.onopen = this.es.onerror = this.es.onmessage = null;
        for (const k of EVENT_KINDS) this.es.removeEventListener(k, this.onEvent);
        this.es.close();
        this.es = null;
      }
    }

    stop(state, text) {
      this.stopped = true;
      clearTimeout(this.timer);
      this.timer = 0;
      this.closeSource();
      if (state) setConn(state, text);
    }
  }

  window.addEventListener('offline', () => setConn('offline'));
  window.addEventListener('online', () => {
    if (S.view && S.view.live && !S.view.live.stopped) S.view.live.now();
  });

  /** Fetches coalesced: one in flight; events during it make exactly one more. */
  class Refresher {
    constructor(fn) {
      this.fn = fn;
      this.inflight = false;
      this.dirty = false;
      this.timer = 0;
      this.lastStart = -Infinity;
      this.stopped = false;
    }

    request() {
      if (this.stopped) return;
      if (this.inflight) {
        this.dirty = true;
        return;
      }
      if (this.timer) return;
      const wait = this.lastStart + MIN_FETCH_GAP - performance.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = 0;
          this.start();
        }, wait);
      } else {
        this.start();
      }
    }

    async start() {
      if (this.stopped) return;
      this.inflight = true;
      this.dirty = false;
      this.lastStart = performance.now();
      try {
        await this.fn();
      } catch {
        /* fn reports its own errors */
      }
      this.inflight = false;
      if (this.dirty && !this.stopped) {
        this.dirty = false;
        this.request();
      }
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
    }
  }

  /** Renders at most once per frame and per MIN_RENDER_GAP. */
  class Renderer {
    constructor(fn) {
      this.fn = fn;
      this.pending = false;
      this.last = -Infinity;
      this.stopped = false;
    }

    request() {
      if (this.pending || this.stopped) return;
      this.pending = true;
      const go = () =>
        requestAnimationFrame(() => {
          this.pending = false;
          if (this.stopped) return;
          this.last = performance.now();
          this.fn();
        });
      const wait = this.last + MIN_RENDER_GAP - performance.now();
      if (wait > 0) setTimeout(go, wait);
      else go();
    }

    now() {
      this.last = performance.now();
      this.fn();
    }

    stop() {
      this.stopped = true;
    }
  }

  // ---------------------------------------------------------------- DOM updates

  const htmlCache = new WeakMap();
  const parser = document.createElement('template');

  /** Key of the entry an element belongs to: "item:3". */
  function keyOf(el) {
    const li = el && el.closest('[data-kind][data-num]');
    return li ? `${li.dataset.kind}:${li.dataset.num}` : '';
  }

  function findEntry(root, key) {
    const i = key.indexOf(':');
    return root.querySelector(`[data-kind="${key.slice(0, i)}"][data-num="${key.slice(i + 1)}"]`);
  }

  /** Replaces an element's content when its HTML changed. */
  function setHTML(el, html) {
    if (!el || htmlCache.get(el) === html) return false;
    const focus = saveFocus(el);
    // parsing into an inert template and moving the nodes in is faster than innerHTML
    // on a live element
    parser.innerHTML = html;
    el.replaceChildren(parser.content);
    htmlCache.set(el, html);
    restoreFocus(el, focus);
    return true;
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  /** Where the focus is inside root, to put it back on the same control after a re-render. */
  function saveFocus(root) {
    const act = document.activeElement;
    if (!act || act === root || !root.contains(act)) return null;
    const key = keyOf(act);
    if (!key || !act.classList[0]) return null;
    return { el: act, key, sel: `${act.tagName.toLowerCase()}.${act.classList[0]}`, start: act.selectionStart, end: act.selectionEnd };
  }

  function restoreFocus(root, f) {
    if (!f || (f.el.isConnected && document.activeElement === f.el)) return;
    const li = findEntry(root, f.key);
    const el = li && li.querySelector(f.sel);
    if (!el) return;
    el.focus({ preventScroll: true });
    if (f.start != null && typeof el.setSelectionRange === 'function') {
      try {
        el.setSelectionRange(f.start, f.end);
      } catch {
        /* not a text field */
      }
    }
  }

  /** Copies what the user typed but has not saved (hypothesis fields) to a new element. */
  function carryEdits(from, to) {
    for (const f of from.querySelectorAll('input.evidence, select.verdict')) {
      const modified = f.tagName === 'SELECT' ? !f.options[f.selectedIndex]?.defaultSelected : f.value !== f.defaultValue;
      if (!modified) continue;
      const g = to.querySelector(`${f.tagName.toLowerCase()}.${f.classList[0]}`);
      if (g) g.value = f.value;
    }
  }

  const keyed = new WeakMap(); // list element -> Map(entry key -> {sig, el})

  /**
   * Renders entries into a list element, one li each, keyed by kind and number: an entry
   * whose signature did not change keeps its element (and what the user does in it); new
   * and changed ones are parsed together in one go. Returns whether the list changed.
   */
  const entryKey = (e) => `${e.kind}:${e.num}`;

  function renderKeyed(list, entries, sigOf, htmlOf, keyFn = entryKey) {
    // a long list lays out and paints only the entries near the viewport (app.css)
    const long = entries.length > LONG_LIST;
    if (list.classList.contains('long') !== long) list.classList.toggle('long', long);
    const prev = keyed.get(list) || new Map();
    const next = new Map();
    const els = new Array(entries.length);
    const fresh = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const k = keyFn(e);
      const sig = sigOf(e, k);
      const old = prev.get(k);
      if (old && old.sig === sig) {
        els[i] = old.el;
        next.set(k, old);
      } else {
        fresh.push({ i, k, sig });
      }
    }
    keyed.set(list, next);
    if (!fresh.length && els.length === list.childElementCount) {
      let same = true;
      let c = list.firstElementChild;
      for (let i = 0; same && i < els.length; i++, c = c.nextElementSibling) same = c === els[i];
      if (same) return false;
    }
    const focus = saveFocus(list);
    if (fresh.length) {
      parser.innerHTML = fresh.map((f) => htmlOf(entries[f.i])).join('');
      if (fresh.length === entries.length) {
        // all new (the first render): one move of the whole fragment
        const nodes = Array.from(parser.content.children);
        fresh.forEach((f, j) => next.set(f.k, { sig: f.sig, el: nodes[j] }));
        list.replaceChildren(parser.content);
        restoreFocus(list, focus);
        return true;
      }
      const nodes = Array.from(parser.content.children);
      fresh.forEach((f, j) => {
        const old = prev.get(f.k);
        if (old) carryEdits(old.el, nodes[j]);
        els[f.i] = nodes[j];
        next.set(f.k, { sig: f.sig, el: nodes[j] });
      });
    }
    let cur = list.firstElementChild;
    for (const el of els) {
      if (el === cur) cur = cur.nextElementSibling;
      else list.insertBefore(el, cur);
    }
    while (cur) {
      const n = cur.nextElementSibling;
      cur.remove();
      cur = n;
    }
    restoreFocus(list, focus);
    return true;
  }

  // relative times age in place
  setInterval(() => {
    for (const t of document.querySelectorAll('time.rel')) {
      const r = relTime(t.getAttribute('datetime'));
      if (t.textContent !== r) t.textContent = r;
    }
  }, 30000);

  // ---------------------------------------------------------------- shared fragments

  function progressBarHTML(p, label) {
    const parts = GROUPS.map(([g]) => [g, Math.max(0, +(p && p[g]) || 0)]);
    const total = parts.reduce((a, [, n]) => a + n, 0);
    const text = `${label ? label + ': ' : ''}${parts.map(([g, n]) => `${n} ${g === 'dropped' ? 'out of scope' : g}`).join(', ')}`;
    if (!total) {
      return `<svg class="pbar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="${esc(text)}"><rect class="pb-empty" x="0" y="0" width="100" height="6"/></svg>`;
    }
    let x = 0;
    let rects = '';
    for (const [g, n] of parts) {
      if (!n) continue;
      const w = (n / total) * 100;
      rects += `<rect class="pb-${g}" x="${x.toFixed(3)}" y="0" width="${w.toFixed(3)}" height="6"/>`;
      x += w;
    }
    return `<svg class="pbar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="${esc(text)}">${rects}</svg>`;
  }

  function countsHTML(p) {
    return GROUPS.map(
      ([g, label]) =>
        `<span class="pc pc-${g}" title="${esc(label)}"><span class="pc-dot" aria-hidden="true"></span><span class="pc-n">${+(p && p[g]) || 0}</span> <span class="pc-l">${esc(label.toLowerCase())}</span></span>`,
    ).join('');
  }

  function statusHTML(status) {
    const s = status || 'open';
    return `<span class="status badge" data-status="${esc(s)}">${esc(s)}</span>`;
  }

  // ---------------------------------------------------------------- router

  const app = $('#app');
  const crumbs = $('#crumbs');

  function parseHash() {
    const h = location.hash || '#/';
    const m = /^#\/t\/([^/?#]+)(?:\/([^/?#]*))?$/.exec(h);
    if (m) {
      try {
        return { view: 'tracker', slug: decodeURIComponent(m[1]), anchor: m[2] ? decodeURIComponent(m[2]) : '' };
      } catch {
        return { view: 'list' };
      }
    }
    return { view: 'list' };
  }

  function route() {
    const r = parseHash();
    const v = S.view;
    if (r.view === 'tracker' && v && v.name === 'tracker' && (v.slug === r.slug || String(v.id) === r.slug)) {
      if (r.anchor) v.jump(r.anchor);
      return;
    }
    if (r.view === 'list' && v && v.name === 'list') return;
    if (v) v.leave();
    hideToast();
    S.view = r.view === 'tracker' ? new TrackerView(r.slug, r.anchor) : new ListView();
    S.view.enter();
  }

  /** After signing in: the same view fetches again and reopens its stream. */
  function reloadView() {
    if (S.view && S.view.resume) {
      S.view.resume();
      return;
    }
    if (S.view) S.view.leave();
    const r = parseHash();
    S.view = r.view === 'tracker' ? new TrackerView(r.slug, r.anchor) : new ListView();
    S.view.enter();
  }

  window.addEventListener('hashchange', route);

  // ---------------------------------------------------------------- views

  /**
   * What every view shares: a snapshot fetched by a Refresher, drawn by a Renderer, kept
   * fresh by a Live stream that opens once the first snapshot came.
   */
  class View {
    constructor(name, streamUrl, onEvent) {
      this.name = name;
      this.streaming = false;
      this.refresher = new Refresher(() => this.fetch());
      this.renderer = new Renderer(() => this.render());
      this.live = new Live(streamUrl, {
        event: onEvent,
        open: () => this.refresher.request(),
        probe: () => this.probe(),
      });
    }

    /** Whether the view may stream at all (a deleted tracker may not). */
    mayStream() {
      return true;
    }

    /** The stream opens once the first snapshot came (or the server could not be reached). */
    stream() {
      if (this.streaming || !this.mayStream()) return;
      this.streaming = true;
      this.live.start();
    }

    leave() {
      this.live.stop();
      this.refresher.stop();
      this.renderer.stop();
    }
  }

  // ---------------------------------------------------------------- list view

  class ListView extends View {
    constructor() {
      super('list', '/api/events', () => this.refresher.request());
      this.rows = null;
      this.error = null;
      this.filter = 'all';
    }

    enter() {
      document.title = 'Trackers · flowtrack';
      crumbs.innerHTML = '';
      app.innerHTML = `<section class="list-view" aria-labelledby="list-h">
  <div class="page-head">
    <div>
      <h1 id="list-h">Trackers</h1>
      <p class="page-sub" id="list-sub"></p>
    </div>
    <div class="filter">
      <label for="status-filter">Status</label>
      <select id="status-filter">
        <option value="all">All</option>
        ${STATUSES.map((s) => `<option value="${s}">${s[0].toUpperCase() + s.slice(1)}</option>`).join('')}
      </select>
    </div>
  </div>
  <div id="list-body" class="list-body"><p class="loading">Loading trackers…</p></div>
</section>`;
      this.body = $('#list-body');
      this.sub = $('#list-sub');
      const sel = $('#status-filter');
      sel.value = this.filter;
      sel.addEventListener('change', () => {
        this.filter = sel.value;
        this.renderer.now();
      });
      if (S.session && S.session.token_required && S.session.private && !S.session.authenticated) {
        this.live.pause('offline', 'Sign-in needed');
        this.body.innerHTML = signInNeededHTML();
        needToken();
        return;
      }
      this.refresher.request();
    }

    resume() {
      this.streaming = false;
      this.live.stop();
      this.refresher.request();
    }


    async probe() {
      try {
        await api('GET', '/ui/session');
        return 'ok';
      } catch (err) {
        return err.status === 401 ? 'stop' : 'retry';
      }
    }

    async fetch() {
      try {
        const r = await api('GET', '/api/trackers');
        if (S.view !== this) return;
        this.rows = Array.isArray(r.data) ? r.data : [];
        this.error = null;
        this.stream();
      } catch (err) {
        if (S.view !== this) return;
        this.error = err;
        if (err.status !== 401) this.stream(); // its reconnection retries
      }
      if (this.renderedOnce) this.renderer.request();
      else this.renderer.now();
    }

    render() {
      const t0 = performance.now();
      if (!this.rows) {
        if (this.error) {
          setHTML(
            this.body,
            this.error.status === 401
              ? signInNeededHTML()
              : `<div class="empty-state"><p>Could not load the trackers: ${esc(this.error.message)}</p></div>`,
          );
        }
        return;
      }
      const rows = this.filter === 'all' ? this.rows : this.rows.filter((r) => (r.status || 'open') === this.filter);
      setText(
        this.sub,
        this.filter === 'all'
          ? plural(this.rows.length, 'tracker')
          : `${rows.length} of ${plural(this.rows.length, 'tracker')}`,
      );
      let html;
      if (!this.rows.length) {
        html = `<div class="empty-state"><p>No trackers yet.</p><p class="muted">Start one with <code>flowtrack import FILE</code> or <code>flowtrack create</code>.</p></div>`;
      } else if (!rows.length) {
        html = `<div class="empty-state"><p>No ${esc(this.filter)} trackers.</p></div>`;
      } else {
        html = `<ul class="tracker-list">${rows.map(trackerRowHTML).join('')}</ul>`;
      }
      setHTML(this.body, html);
      this.renderedOnce = true;
      ft.renders++;
      ft.lastRenderMs = performance.now() - t0;
    }
  }

  function trackerRowHTML(r) {
    const href = `#/t/${seg(r.slug)}`;
    const p = r.progress || {};
    return `<li class="tracker-row" data-tracker="${esc(r.slug)}" data-status="${esc(r.status || 'open')}">
  <div class="tr-main">
    <a class="tr-title" href="${esc(href)}">${esc(r.title || r.slug)}</a>
    <span class="tr-slug">${esc(r.slug)}${r.default ? ' <span class="tag">default</span>' : ''}</span>
  </div>
  <div class="tr-status">${statusHTML(r.status)}</div>
  <div class="tr-progress">${progressBarHTML(p, 'Progress')}<div class="pcounts">${countsHTML(p)}</div></div>
  <div class="tr-updated">${r.updated_at ? timeHTML(r.updated_at) : '<span class="muted">never</span>'}${r.updated_by ? ` <span class="by">by <span class="who">${esc(r.updated_by)}</span></span>` : ''}${r.last_event ? `<span class="last-event">${esc(r.last_event)}</span>` : ''}</div>
</li>`;
  }

  function signInNeededHTML() {
    return `<div class="empty-state"><p>This server needs its access token to show anything.</p><p><button type="button" class="btn primary" data-action="sign-in">Sign in</button></p></div>`;
  }

  // ---------------------------------------------------------------- tracker view

  const SECTIONS = [
    ['rules', 'Ground rules'],
    ['steps', 'Workflow'],
    ['progress', 'Progress'],
    ['repro', 'Reproduction'],
    ['symptoms', 'Symptoms'],
    ['hypotheses', 'Hypotheses'],
    ['results', 'Results log'],
    ['fix', 'Final fix'],
    ['followups', 'Follow-ups'],
    ['notes', 'Notes'],
    ['history', 'History'],
  ];

  class TrackerView extends View {
    constructor(slug, anchor) {
      super('tracker', `/api/trackers/${seg(slug)}/events?envelope=1`, (ev) => this.onEvent(ev));
      this.slug = slug; // as routed; follows a renamed slug
      this.id = null; // numeric id once known: API calls use it
      this.anchor = anchor;
      this.data = null;
      this.etag = null;
      this.check = null;
      this.history = null;
      this.error = null;
      this.deleted = null; // {actor, at} once deleted
      this.sigs = null; // entry key -> signature at the previous render
      this.flashUntil = new Map();
      this.flashTimer = 0;
      this.runs = new Map(); // run num -> {loading|data|error}
      this.openRuns = new Set();
      this.rendered = false;
    }

    base() {
      return `/api/trackers/${seg(this.id != null ? this.id : this.slug)}`;
    }

    enter() {
      document.title = `${this.slug} · flowtrack`;
      crumbs.innerHTML = `<a href="#/">Trackers</a><span class="sep" aria-hidden="true">/</span><span class="crumb-here" aria-current="page">${esc(this.slug)}</span>`;
      app.innerHTML = this.skeletonHTML();
      this.root = $('#tracker');
      this.el = {};
      for (const id of ['t-head', 'tracker-notice', 'checks', 'progress-sum', 'progress-bar', 'hist-list', 'hist-sub']) {
        this.el[id] = document.getElementById(id);
      }
      for (const [id] of SECTIONS) this.el[id] = document.getElementById(id);
      this.el.body = { repro: $('#repro .sec-body'), fix: $('#fix .sec-body') };
      this.el.lists = {};
      for (const id of ['rules', 'steps', 'symptoms', 'hypotheses', 'results', 'followups', 'notes']) {
        const sec = document.getElementById(id);
        this.el.lists[id] = { list: $('.entries', sec), note: $('.sec-note', sec), empty: $('p.empty', sec) };
      }
      this.el.groups = {};
      for (const [g] of GROUPS) {
        const box = $(`#progress [data-group="${g}"]`);
        this.el.groups[g] = { box, list: $('ul', box), count: $('.count', box), empty: $('.empty', box) };
      }
      this.bind();
      if (S.session && S.session.token_required && S.session.private && !S.session.authenticated) {
        this.live.pause('offline', 'Sign-in needed');
        setHTML(this.el['tracker-notice'], `<div class="notice">${signInNeededHTML()}</div>`);
        needToken();
        return;
      }
      this.refresher.request();
    }

    resume() {
      if (!this.deleted) {
        setHTML(this.el['tracker-notice'], '');
        this.streaming = false;
        this.live.stop();
        this.refresher.request();
      }
    }

    mayStream() {
      return !this.deleted;
    }

    leave() {
      super.leave();
      clearTimeout(this.flashTimer);
    }

    skeletonHTML() {
      const toc = SECTIONS.map(
        ([id, label]) => `<a href="#/t/${esc(seg(this.slug))}/${id}" data-jump="${id}">${label}</a>`,
      ).join('');
      const sec = (id, label, extra = '') =>
        `<section id="${id}" class="card" aria-labelledby="${id}-h"><div class="sec-head"><h2 id="${id}-h">${label}</h2></div>${extra}<div class="sec-body"></div></section>`;
      const list = (id, label, tag, cls, empty, extra = '') =>
        `<section id="${id}" class="card" aria-labelledby="${id}-h"><div class="sec-head"><h2 id="${id}-h">${label}</h2></div>${extra}<p class="sec-note" hidden></p><${tag} class="entries ${cls}"></${tag}><p class="empty muted" hidden>${empty}</p></section>`;
      const groups = GROUPS.map(
        ([g, label]) => `<details class="group" data-group="${g}" open>
  <summary><span class="g-dot" aria-hidden="true"></span><span class="g-label">${label}</span><span class="count">0</span></summary>
  <ul class="entries items"></ul><p class="empty muted" hidden>No items.</p>
</details>`,
      ).join('');
      return `<article id="tracker" data-slug="${esc(this.slug)}" aria-busy="true">
<div id="tracker-notice" class="notice-slot"></div>
<header id="t-head" class="t-head"><p class="loading">Loading tracker…</p></header>
<section id="checks" class="checks" aria-labelledby="checks-h" hidden></section>
<nav class="toc" aria-label="Sections">${toc}</nav>
<div class="t-grid">
<div class="t-side">
${list('rules', 'Ground rules', 'ol', 'simple', 'No ground rules.')}
${list('steps', 'Workflow', 'ol', 'steps', 'No workflow steps.')}
</div>
<div class="t-main">
<section id="progress" class="card" aria-labelledby="progress-h">
  <div class="sec-head"><h2 id="progress-h">Progress</h2><span class="sec-sub" id="progress-sum"></span></div>
  <div id="progress-bar" class="progress-bar"></div>
  <form id="add-item" class="inline-form" autocomplete="off">
    <label for="add-item-text" class="vh">New progress item</label>
    <input id="add-item-text" name="text" placeholder="New progress item…" required>
    <button type="submit" class="btn primary">Add item</button>
  </form>
  <div class="groups">${groups}</div>
</section>
${sec('repro', 'Reproduction')}
${list('symptoms', 'Symptoms', 'ul', 'simple', 'No symptoms recorded.')}
${list('hypotheses', 'Hypotheses', 'ul', 'hyps', 'No hypotheses yet.')}
${list(
  'results',
  'Results log',
  'ol',
  'results',
  'No results logged yet.',
  `<form id="add-result" class="result-form" autocomplete="off">
  <div class="field f-attempt"><label for="add-result-attempt">Attempt</label><input id="add-result-attempt" name="attempt" required placeholder="What was tried"></div>
  <div class="field f-outcome"><label for="add-result-outcome">Outcome</label><select id="add-result-outcome" name="outcome"><option value="">none</option>${OUTCOMES.map((o) => `<option value="${o}">${o}</option>`).join('')}</select></div>
  <div class="field f-notes"><label for="add-result-notes">Notes</label><input id="add-result-notes" name="notes" placeholder="What happened"></div>
  <div class="field f-submit"><button type="submit" class="btn primary">Log result</button></div>
</form>`,
)}
${sec('fix', 'Final fix')}
${list('followups', 'Follow-ups', 'ul', 'simple', 'No follow-ups.')}
${list('notes', 'Notes', 'ul', 'simple', 'No notes.')}
<section id="history" class="card" aria-labelledby="history-h">
  <details id="history-details" open>
    <summary><h2 id="history-h">History</h2><span class="sec-sub" id="hist-sub"></span></summary>
    <ol id="hist-list" class="history-list"></ol>
  </details>
</section>
</div>
</div>
</article>`;
    }

    // ---- events and fetching

    onEvent(ev) {
      if (ev.type === 'tracker.delete') {
        let env = null;
        try {
          env = JSON.parse(ev.data || 'null'); // ?envelope=1: {seq, actor, at, kind, payload}
        } catch {
          env = null;
        }
        this.markDeleted(env && typeof env === 'object' ? env : null);
        return;
      }
      this.refresher.request();
    }

    markDeleted(env) {
      if (this.deleted) return;
      this.deleted = { actor: (env && env.actor) || '', at: (env && env.at) || '' };
      this.live.stop('offline', 'Tracker deleted');
      this.refresher.stop();
      this.renderNotice();
      this.root.classList.add('is-deleted');
      for (const f of this.root.querySelectorAll('form, .groups')) f.setAttribute('inert', '');
    }

    async probe() {
      try {
        await api('GET', `${this.base()}/header`);
        return 'ok';
      } catch (err) {
        if (err.status === 404) {
          this.markDeleted();
          return 'stop';
        }
        return err.status === 401 ? 'stop' : 'retry';
      }
    }

    async fetch() {
      if (this.deleted) return;
      const base = this.base();
      const soft = (p) => p.then((r) => r, (err) => ({ failed: err }));
      const [tr, ck, hi] = await Promise.all([
        soft(api('GET', base, undefined, { etag: this.etag })),
        soft(api('GET', `${base}/check`)),
        soft(api('GET', `${base}/history?limit=${HISTORY_LIMIT}`)),
      ]);
      if (S.view !== this) return;
      if (tr.failed) {
        const err = tr.failed;
        if (err.status !== 401 && err.status !== 404) this.stream(); // its reconnection retries
        if (err.status === 404) {
          if (this.data) this.markDeleted();
          else {
            this.error = err;
            this.live.stop('offline', 'Not found');
            this.renderer.now();
          }
        } else if (!this.data) {
          this.error = err;
          this.renderer.now();
        }
        return;
      }
      this.error = null;
      this.stream();
      // nothing new (the refetch when a stream opens, mostly): no render
      const same =
        tr.notModified &&
        (ck.failed || ck.text === this.checkText) &&
        (hi.failed || hi.text === this.historyText);
      if (!ck.failed) this.checkText = ck.text;
      if (!hi.failed) this.historyText = hi.text;
      if (same && this.rendered) return;
      if (!tr.notModified) {
        this.data = tr.data;
        this.etag = tr.etag;
        if (this.data && this.data.id != null && this.id !== this.data.id) {
          this.id = this.data.id;
          this.live.url = `/api/trackers/${seg(this.id)}/events?envelope=1`;
        }
      }
      if (!ck.failed) this.check = ck.data;
      if (!hi.failed) this.history = hi.data;
      if (this.rendered) this.renderer.request();
      else this.renderer.now();
    }

    onActorChange() {
      this.renderer.request();
    }

    // ---- rendering

    render() {
      if (S.view !== this) return;
      const t0 = performance.now();
      if (!this.data) {
        if (this.error) {
          const nf = this.error.status === 404;
          setHTML(
            this.el['t-head'],
            nf
              ? `<h1>Tracker not found</h1><p>There is no tracker <code>${esc(this.slug)}</code>. <a href="#/">Back to all trackers</a></p>`
              : this.error.status === 401
                ? `<h1>${esc(this.slug)}</h1>${signInNeededHTML()}`
                : `<h1>${esc(this.slug)}</h1><p class="error-text">Could not load the tracker: ${esc(this.error.message)}</p>`,
          );
          this.root.classList.add('is-missing');
        }
        return;
      }
      this.root.classList.remove('is-missing');
      const d = this.data;
      if (d.slug && d.slug !== this.slug) {
        this.slug = d.slug;
        this.root.dataset.slug = d.slug;
        history.replaceState(null, '', `#/t/${seg(d.slug)}`);
        for (const a of this.root.querySelectorAll('.toc a')) a.setAttribute('href', `#/t/${seg(d.slug)}/${a.dataset.jump}`);
      }
      document.title = `${d.title || d.slug} · flowtrack`;
      setText($('.crumb-here', crumbs), d.title || d.slug);

      // what changed since the previous render
      const sigs = new Map();
      const changed = [];
      for (const list of [d.rules, d.steps, d.items, d.symptoms, d.hypotheses, d.results, d.followups, d.notes]) {
        if (!Array.isArray(list)) continue;
        for (const e of list) {
          const k = `${e.kind}:${e.num}`;
          const s = entrySig(e);
          sigs.set(k, s);
          if (this.sigs && this.sigs.get(k) !== s) changed.push(k);
        }
      }
      this.sigs = sigs;
      const now = performance.now();
      for (const k of changed) this.flashUntil.set(k, now + FLASH_MS);

      this.renderHead(d);
      this.renderChecks();
      this.renderList('rules', d.rules, simpleHTML);
      this.renderList('steps', d.steps, stepHTML);
      this.renderProgress(d);
      this.renderRepro(d.reproduction || {});
      this.renderList('symptoms', d.symptoms, simpleHTML, sectionNote(d, 'symptoms'));
      this.renderList('hypotheses', d.hypotheses, hypHTML, sectionNote(d, 'hypotheses'));
      this.renderResults();
      this.renderFix(d.final_fix || {});
      this.renderList('followups', d.followups, simpleHTML);
      this.renderList('notes', d.notes, simpleHTML);
      this.renderHistory();
      this.applyFlash();
      this.root.removeAttribute('aria-busy');

      ft.renders++;
      ft.lastRenderMs = performance.now() - t0;
      if (!this.rendered) {
        this.rendered = true;
        if (ft.firstRenderMs == null) {
          ft.firstRenderMs = performance.now();
          try {
            performance.mark('ft-first-render');
          } catch {
            /* marks are optional */
          }
        }
        if (this.anchor) this.jump(this.anchor);
      }
    }

    renderNotice() {
      if (!this.deleted) return;
      setHTML(
        this.el['tracker-notice'],
        `<div class="notice notice-deleted" role="alert"><strong>This tracker was deleted${this.deleted.actor ? ` by ${esc(this.deleted.actor)}` : ''}${this.deleted.at ? ` ${timeHTML(this.deleted.at)}` : ''}.</strong> What you see is its last state. <a href="#/">Back to all trackers</a></div>`,
      );
    }

    renderHead(d) {
      const meta = [];
      meta.push(['Started', d.started ? esc(d.started) : '<span class="muted">not set</span>']);
      meta.push(['Owner', d.owner ? esc(d.owner) : '<span class="muted">not set</span>']);
      if (d.updated_at) meta.push(['Updated', timeHTML(d.updated_at)]);
      const html = `<div class="t-title-row">
  <div class="t-titles">${d.org ? `<p class="org">${esc(d.org)}</p>` : ''}<h1>${esc(d.title || d.slug)}</h1></div>
  ${statusHTML(d.status)}
</div>
${d.objective ? `<p class="objective"><span class="lbl">Objective</span> <span class="objective-text">${esc(d.objective)}</span></p>` : ''}
<dl class="meta">${meta.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
      setHTML(this.el['t-head'], html);
    }

    renderChecks() {
      const c = this.check;
      const f = c && Array.isArray(c.findings) ? c.findings : [];
      const box = this.el.checks;
      if (!f.length) {
        box.hidden = true;
        setHTML(box, '');
        return;
      }
      box.hidden = false;
      const items = f
        .map((x) => {
          const target =
            x.kind && x.num != null
              ? ` <a class="finding-link" href="#/t/${esc(seg(this.slug))}/${esc(`${x.kind}-${x.num}`)}">${esc(x.kind)} ${esc(x.num)}</a>`
              : '';
          return `<li class="finding" data-rule="${esc(x.rule)}"><span class="rule">${esc(x.rule)}</span> <span class="msg">${esc(x.message)}</span>${target}</li>`;
        })
        .join('');
      setHTML(
        box,
        `<h2 id="checks-h"><span class="warn-icon" aria-hidden="true">!</span> ${plural(f.length, 'check finding')}</h2><ul class="findings">${items}</ul>`,
      );
    }

    /** One section's entries; extra(e) adds what else the entry's markup depends on. */
    renderList(id, entries, htmlOf, note, extra) {
      const L = this.el.lists[id];
      entries = Array.isArray(entries) ? entries : [];
      setText(L.note, note || '');
      L.note.hidden = !note;
      L.empty.hidden = entries.length > 0;
      const sigs = this.sigs;
      return renderKeyed(L.list, entries, (e, k) => (extra ? `${extra(e)}|` : '') + sigs.get(k), htmlOf);
    }

    renderProgress(d) {
      const items = Array.isArray(d.items) ? d.items : [];
      const by = { done: [], doing: [], pending: [], dropped: [] };
      for (const it of items) (by[it.state] || by.pending).push(it);
      const p = { done: by.done.length, doing: by.doing.length, pending: by.pending.length, dropped: by.dropped.length };
      const total = items.length;
      const active = total - p.dropped;
      setText(
        this.el['progress-sum'],
        total ? `${p.done} of ${active} done${p.dropped ? ` · ${p.dropped} out of scope` : ''}` : 'no items yet',
      );
      setHTML(this.el['progress-bar'], `${progressBarHTML(p, 'Progress')}<div class="pcounts">${countsHTML(p)}</div>`);
      const me = S.actor;
      const sigs = this.sigs;
      const lazy = total > LONG_LIST;
      const sigOf = (it, k) => (it.claimed_by && it.claimed_by === me ? 'm|' : '|') + sigs.get(k);
      const htmlOf = (it) => itemHTML(it, me, lazy);
      let changed = false;
      for (const [g] of GROUPS) {
        const G = this.el.groups[g];
        setText(G.count, String(p[g]));
        G.empty.hidden = p[g] > 0;
        changed = renderKeyed(G.list, by[g], sigOf, htmlOf) || changed;
      }
      if (lazy && changed) this.completeMenus();
    }

    /** Completes the state menus rendered lazily, while the page is idle. */
    completeMenus() {
      if (this.menusPending) return;
      this.menusPending = true;
      const step = (deadline) => {
        if (S.view !== this) return;
        const left = this.el.progress.querySelectorAll('select.state.lazy');
        const end = performance.now() + (deadline.didTimeout ? 6 : Math.max(2, deadline.timeRemaining() - 1));
        let i = 0;
        while (i < left.length && (i === 0 || performance.now() < end)) completeMenu(left[i++]);
        if (i < left.length) idle(step);
        else this.menusPending = false;
      };
      idle(step);
    }

    renderRepro(r) {
      const parts = [];
      if (r.command) {
        parts.push(
          `<div class="cmd-box"><pre class="cmd"><code>${esc(r.command)}</code></pre><button type="button" class="btn small copy" data-copy="repro">Copy</button></div>`,
        );
      } else {
        parts.push('<p class="empty muted">No reproduction command recorded.</p>');
      }
      const kv = [];
      if (r.timeout_ms != null) kv.push(['Timeout', esc(fmtDuration(r.timeout_ms))]);
      if (r.expected) kv.push(['Expected', `<span class="badge outcome-badge" data-outcome="${esc(r.expected)}">${esc(r.expected)}</span>`]);
      if (kv.length) parts.push(`<dl class="kv">${kv.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>`);
      if (r.note) parts.push(`<p class="sec-note">${esc(r.note)}</p>`);
      setHTML(this.el.body.repro, parts.join(''));
    }

    renderResults() {
      const d = this.data;
      if (!d) return;
      const runState = (e) => {
        if (e.run == null || !this.openRuns.has(Number(e.run))) return '';
        const st = this.runs.get(Number(e.run));
        return !st || st.loading ? 'o-loading' : st.error ? 'o-error' : 'o-data';
      };
      const htmlOf = (e) => resultHTML(e, this);
      if (this.renderList('results', d.results, htmlOf, sectionNote(d, 'results'), runState)) this.applyFlash();
    }

    renderFix(f) {
      const row = (label, v) =>
        `<div class="fix-row"><dt>${label}</dt><dd>${v ? `<span class="fix-text">${esc(v)}</span>` : '<span class="muted">not recorded</span>'}</dd></div>`;
      const any = f.summary || f.why || f.evidence;
      const html = any
        ? `<dl class="fix">${row('Summary', f.summary)}${row('Why it works', f.why)}${row('Evidence', f.evidence)}</dl>`
        : '<p class="empty muted">No final fix recorded yet.</p>';
      setHTML(this.el.body.fix, html);
    }

    renderHistory() {
      const h = Array.isArray(this.history) ? this.history.slice().reverse() : [];
      setText(this.el['hist-sub'], h.length ? `latest ${h.length}` : '');
      renderKeyed(this.el['hist-list'], h, () => '', historyHTML, (ev) => `#${ev.seq}`);
    }

    /** The element of an entry ("item:3"), from the keyed lists. */
    entryEl(k) {
      if (!this.listEls) {
        this.listEls = [
          ...Object.values(this.el.lists).map((l) => l.list),
          ...Object.values(this.el.groups).map((g) => g.list),
        ];
      }
      for (const l of this.listEls) {
        const m = keyed.get(l);
        const x = m && m.get(k);
        if (x) return x.el;
      }
      return null;
    }

    applyFlash() {
      const now = performance.now();
      let next = Infinity;
      for (const [k, until] of this.flashUntil) {
        if (until <= now) {
          this.flashUntil.delete(k);
          continue;
        }
        next = Math.min(next, until);
        const el = this.entryEl(k);
        if (el && !el.classList.contains('flash')) el.classList.add('flash');
      }
      for (const el of this.root.querySelectorAll('.flash')) {
        if (!this.flashUntil.has(keyOf(el))) el.classList.remove('flash');
      }
      clearTimeout(this.flashTimer);
      if (next !== Infinity) this.flashTimer = setTimeout(() => this.applyFlash(), Math.max(16, next - now + 5));
    }

    jump(anchor) {
      let el = null;
      const m = /^([a-z]+)-(\d+)$/.exec(anchor);
      if (m) el = findEntry(this.root, `${m[1]}:${m[2]}`);
      else if (SECTIONS.some(([id]) => id === anchor) || anchor === 'checks') el = document.getElementById(anchor);
      if (!el) return;
      if (el.closest('details:not([open])')) el.closest('details').open = true;
      el.scrollIntoView({ block: 'start', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
      if (m) {
        this.flashUntil.set(`${m[1]}:${m[2]}`, performance.now() + FLASH_MS);
        this.applyFlash();
      } else {
        const h = el.querySelector('h2');
        if (h) {
          h.setAttribute('tabindex', '-1');
          h.focus({ preventScroll: true });
        }
      }
    }

    // ---- runs

    async toggleRun(num, btn) {
      if (this.openRuns.has(num)) {
        this.openRuns.delete(num);
        this.renderResults();
        return;
      }
      this.openRuns.add(num);
      if (!this.runs.has(num) || this.runs.get(num).error) {
        this.runs.set(num, { loading: true });
        this.renderResults();
        try {
          const r = await api('GET', `${this.base()}/runs/${seg(num)}`);
          this.runs.set(num, { data: r.data });
        } catch (err) {
          this.runs.set(num, { error: err.message });
        }
      }
      if (S.view === this) this.renderResults();
      const again = this.root.querySelector(`button.run-toggle[data-run="${num}"]`);
      if (again && btn && document.activeElement !== again) again.focus({ preventScroll: true });
    }

    // ---- user actions (one listener per kind of event, on the article)

    bind() {
      const root = this.root;
      // a lazy state menu is completed before it opens or takes keys
      const touch = (ev) => {
        if (ev.target instanceof HTMLSelectElement && ev.target.classList.contains('lazy')) completeMenu(ev.target);
      };
      root.addEventListener('pointerdown', touch, true);
      root.addEventListener('focusin', touch, true);
      root.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const form = ev.target;
        if (this.deleted) return;
        if (form.id === 'add-item') this.addItem(form);
        else if (form.id === 'add-result') this.addResult(form);
        else if (form.classList.contains('verdict-form')) this.saveVerdict(form);
      });
      root.addEventListener('change', (ev) => {
        const t = ev.target;
        if (this.deleted) return;
        if (t.matches('select.state')) this.moveItem(t);
      });
      root.addEventListener('click', (ev) => {
        const t = ev.target.closest('button, a');
        if (!t || !root.contains(t)) return;
        if (t.matches('button.claim')) {
          if (!this.deleted) this.claim(t);
        } else if (t.matches('button.run-toggle')) this.toggleRun(Number(t.dataset.run), t);
        else if (t.matches('button.copy')) this.copy(t);
        else if (t.matches('a[data-jump]')) {
          ev.preventDefault();
          history.replaceState(null, '', t.getAttribute('href'));
          this.jump(t.dataset.jump);
        } else if (t.matches('a.finding-link')) {
          ev.preventDefault();
          this.jump(t.getAttribute('href').split('/').pop());
        } else if (t.matches('[data-action="sign-in"]')) needToken();
      });
    }

    async addItem(form) {
      const input = form.elements.text;
      const text = input.value.trim();
      if (!text) {
        input.focus();
        return;
      }
      const btn = form.querySelector('button[type="submit"]');
      btn.disabled = true;
      const r = await write('POST', `${this.base()}/items`, { text });
      btn.disabled = false;
      if (r) {
        input.value = '';
        input.focus();
      }
    }

    async addResult(form) {
      const attempt = form.elements.attempt.value.trim();
      if (!attempt) {
        form.elements.attempt.focus();
        return;
      }
      const body = { attempt, outcome: form.elements.outcome.value };
      const notes = form.elements.notes.value.trim();
      if (notes) body.notes = notes;
      const btn = form.querySelector('button[type="submit"]');
      btn.disabled = true;
      const r = await write('POST', `${this.base()}/results`, body);
      btn.disabled = false;
      if (r) {
        form.reset();
        form.elements.attempt.focus();
      }
    }

    async saveVerdict(form) {
      const li = form.closest('li[data-kind][data-num]');
      if (!li) return;
      const verdict = form.querySelector('select.verdict').value;
      const evidence = form.querySelector('input.evidence').value.trim();
      const btn = form.querySelector('button.save-verdict');
      btn.disabled = true;
      const r = await write('PATCH', `${this.base()}/hypotheses/${seg(li.dataset.num)}`, { verdict, evidence });
      btn.disabled = false;
      if (r) {
        // the fields now hold what is stored: they are no longer edits to keep
        const f = form.querySelector('input.evidence');
        f.defaultValue = f.value = evidence;
        const sel = form.querySelector('select.verdict');
        for (const o of sel.options) o.defaultSelected = o.value === verdict;
      }
    }

    async moveItem(sel) {
      const li = sel.closest('li[data-kind="item"]');
      if (!li) return;
      const before = li.dataset.state;
      const state = sel.value;
      if (state === before) return;
      const r = await write('PATCH', `${this.base()}/items/${seg(li.dataset.num)}`, { state });
      if (!r && sel.isConnected) sel.value = before;
    }

    async claim(btn) {
      const li = btn.closest('li[data-kind="item"]');
      if (!li) return;
      const release = btn.classList.contains('release');
      btn.disabled = true;
      await write('POST', `${this.base()}/items/${seg(li.dataset.num)}/${release ? 'release' : 'claim'}`, {});
      if (btn.isConnected) btn.disabled = false;
    }

    async copy(btn) {
      const cmd = this.data && this.data.reproduction && this.data.reproduction.command;
      if (!cmd) return;
      try {
        await navigator.clipboard.writeText(cmd);
        btn.textContent = 'Copied';
      } catch {
        btn.textContent = 'Copy failed';
      }
      setTimeout(() => {
        if (btn.isConnected) btn.textContent = 'Copy';
      }, 1500);
    }
  }

  /** What an entry's markup shows, as one string: equal strings, equal markup. */
  function entrySig(e) {
    return [
      e.updated_at, e.text, e.title, e.state, e.state_at, e.claimed_by, e.claimed_at,
      e.verdict, e.evidence, e.attempt, e.outcome, e.notes, e.date, e.run,
    ].join('\u0001');
  }

  function simpleHTML(e) {
    return `<li data-kind="${esc(e.kind)}" data-num="${esc(e.num)}"><span class="num">${esc(e.num)}</span><span class="text">${esc(e.text)}</span></li>`;
  }

  function stepHTML(e) {
    return `<li data-kind="${esc(e.kind)}" data-num="${esc(e.num)}"><span class="num">${esc(e.num)}</span><div class="step-body"><span class="title">${esc(e.title)}</span> <span class="text">${esc(e.text || '')}</span></div></li>`;
  }

  function sectionNote(d, which) {
    const n = d.section_notes;
    return n && n[which] ? n[which] : '';
  }

  const STATE_OPTIONS = Object.fromEntries(
    STATE_MENU.map(([s]) => [
      s,
      STATE_MENU.map(([v, label]) => `<option value="${v}"${v === s ? ' selected' : ''}>${label}</option>`).join(''),
    ]),
  );
  const STATE_LABEL = Object.fromEntries(STATE_MENU);

  /*
   * The state menu of an item. In a long list it is first rendered with the current state
   * only, and gets the other states right after the render, in idle slices, or at once when
   * it is touched: a thousand four-option menus would otherwise be most of the first render.
   */
  function stateMenuHTML(state, n, lazy) {
    const s = STATE_LABEL[state] ? state : 'pending';
    const opts = lazy ? `<option value="${s}" selected>${STATE_LABEL[s]}</option>` : STATE_OPTIONS[s];
    return `<select class="state${lazy ? ' lazy' : ''}" aria-label="State of item ${n}">${opts}</select>`;
  }

  function completeMenu(sel) {
    if (!sel.classList.contains('lazy')) return;
    sel.classList.remove('lazy');
    const cur = sel.options[0];
    sel.replaceChildren(...STATE_MENU.map(([v, label]) => (cur && v === cur.value ? cur : new Option(label, v))));
  }

  const idle = window.requestIdleCallback
    ? (fn) => requestIdleCallback(fn, { timeout: 200 })
    : (fn) => setTimeout(() => fn({ didTimeout: true, timeRemaining: () => 0 }), 0);

  /* One item: kept small (its number comes from data-num in CSS), a long list has many. */
  function itemHTML(it, me, lazy) {
    const n = esc(it.num);
    const mine = !!(it.claimed_by && me && it.claimed_by === me);
    const closed = it.state === 'done' || it.state === 'dropped';
    const claim = mine
      ? `<button type="button" class="claim release" aria-label="Release item ${n}">Release</button>`
      : `<button type="button" class="claim${closed ? ' quiet' : ''}" aria-label="Claim item ${n}"${it.claimed_by ? ` title="Held by ${esc(it.claimed_by)}"` : ''}>Claim</button>`;
    let meta = '';
    if (it.claimed_by) {
      meta = `claimed by <span class="claimer${mine ? ' mine' : ''}">${esc(it.claimed_by)}</span>${it.claimed_at ? ` ${timeHTML(it.claimed_at)}` : ''}`;
    }
    if (it.state_at) {
      meta += `${meta ? ' · ' : ''}${it.state === 'dropped' ? 'out of scope' : esc(it.state)} ${timeHTML(it.state_at)}`;
    }
    return `<li class="item" data-kind="item" data-num="${n}" data-state="${esc(it.state)}"><div class="main"><span class="text">${esc(it.text)}</span>${meta ? `<span class="meta">${meta}</span>` : ''}</div>${stateMenuHTML(it.state, n, lazy)}${claim}</li>`;
  }

  function hypHTML(h) {
    const n = esc(h.num);
    const v = h.verdict || 'open';
    const opts = VERDICTS.map(([val, label]) => `<option value="${val}"${val === v ? ' selected' : ''}>${label}</option>`).join('');
    return `<li class="hyp" data-kind="hyp" data-num="${n}" data-verdict="${esc(v)}"><span class="num">${n}</span><div class="main"><div class="hyp-line"><span class="verdict badge" data-verdict="${esc(v)}">${esc(v)}</span> <span class="text">${esc(h.text)}</span></div>${h.evidence ? `<p class="evidence-text"><span class="lbl">Evidence</span> ${esc(h.evidence)}</p>` : ''}<form class="verdict-form" autocomplete="off"><select class="verdict" aria-label="Verdict of hypothesis ${n}">${opts}</select><input class="evidence" value="${esc(h.evidence || '')}" placeholder="Evidence" aria-label="Evidence for hypothesis ${n}"><button type="submit" class="save-verdict btn small">Save</button></form></div></li>`;
  }

  function resultHTML(r, view) {
    const n = esc(r.num);
    const o = r.outcome || '';
    let run = '';
    if (r.run != null) {
      const open = view.openRuns.has(Number(r.run));
      run = `<button type="button" class="run-toggle btn small" data-run="${esc(r.run)}" aria-expanded="${open}" aria-controls="run-${esc(r.run)}-r${n}">${open ? 'Hide' : 'Show'} run ${esc(r.run)}</button>`;
      if (open) run += `<div class="run-detail" id="run-${esc(r.run)}-r${n}">${runHTML(view.runs.get(Number(r.run)))}</div>`;
    }
    return `<li class="result" data-kind="result" data-num="${n}" data-outcome="${esc(o)}"><div class="res-head"><span class="date">${r.date ? esc(r.date) : '<span class="muted">undated</span>'}</span><span class="outcome badge" data-outcome="${esc(o)}">${esc(o)}</span></div><div class="main"><span class="text">${esc(r.attempt)}</span>${r.notes ? `<p class="notes">${esc(r.notes)}</p>` : ''}${run}</div></li>`;
  }

  function runHTML(st) {
    if (!st || st.loading) return '<p class="muted">Loading the run…</p>';
    if (st.error) return `<p class="error-text">Could not load the run: ${esc(st.error)}</p>`;
    const r = st.data || {};
    const kv = [];
    kv.push(['Outcome', `<span class="badge outcome-badge" data-outcome="${esc(r.outcome || '')}">${esc(r.outcome || 'none')}</span>`]);
    if (r.label) kv.push(['Label', esc(r.label)]);
    kv.push(['Command', `<code class="wrap">${esc(r.command)}</code>`]);
    if (r.cwd) kv.push(['Directory', `<code class="wrap">${esc(r.cwd)}</code>`]);
    if (r.started_at) kv.push(['Started', timeHTML(r.started_at)]);
    if (r.duration_ms != null) kv.push(['Duration', esc(fmtDuration(r.duration_ms))]);
    if (r.exit_code != null) kv.push(['Exit code', esc(r.exit_code)]);
    if (r.signal != null) kv.push(['Signal', esc(r.signal)]);
    let html = `<dl class="kv run-kv">${kv.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
    if (r.diagnosis) html += diagnosisHTML(r.diagnosis);
    html += `<h4 class="run-h">Log${r.log_truncated ? ' <span class="muted">(only the newest part was kept)</span>' : ''}</h4>`;
    html += r.log ? `<pre class="log">${esc(r.log)}</pre>` : '<p class="muted">The run wrote nothing.</p>';
    return html;
  }

  function diagnosisHTML(g) {
    let html = '<h4 class="run-h">Diagnosis</h4>';
    const said = g.culprit ? g.reason : [g.reason, g.summary].filter(Boolean).join(': ');
    if (said) html += `<p class="diag-reason">${esc(said)}</p>`;
    if (g.culprit) {
      const c = g.culprit;
      html += `<p class="diag-culprit"><span class="lbl">Likely culprit</span> pid ${esc(c.pid)} (${esc(c.comm)})${c.cmdline ? ` <code class="wrap">${esc(c.cmdline)}</code>` : ''}${c.why ? `: ${esc(c.why)}` : ''}</p>`;
    }
    if (g.end) {
      const e = g.end;
      const bits = [];
      if (e.signal) bits.push(`${esc(e.signal)} to ${esc((e.signalled || []).join(', ') || 'none')}`);
      if (Array.isArray(e.killed) && e.killed.length) bits.push(`SIGKILL to ${esc(e.killed.join(', '))}`);
      bits.push(`survivors: ${esc((e.survivors || []).join(', ') || 'none')}`);
      html += `<p class="diag-end"><span class="lbl">Ended</span> ${bits.join('; ')}</p>`;
    }
    const procs = Array.isArray(g.processes) ? g.processes : [];
    if (procs.length) {
      const lines = [];
      for (const p of procs) {
        lines.push(`pid ${p.pid} ppid ${p.ppid} state ${p.state}${p.main ? ' [main]' : ''}: ${p.cmdline || p.comm || ''}`);
        for (const t of p.threads || []) {
          lines.push(`  thread ${t.tid} (${t.name}) state ${t.state}${t.syscall ? ` in ${t.syscall}` : ''}${t.wchan ? ` wchan ${t.wchan}` : ''}`);
          (t.stack || []).forEach((f, i) => lines.push(`    #${i} ${f}`));
        }
        for (const f of p.fds || []) lines.push(`  fd ${f.fd}: ${f.desc || f.target || ''}`);
      }
      html += `<details class="diag-procs"><summary>${plural(procs.length, 'process', 'processes')} left</summary><pre class="log">${esc(lines.join('\n'))}</pre></details>`;
    }
    html += `<details class="diag-raw"><summary>Diagnosis as JSON</summary><pre class="log">${esc(JSON.stringify(g, null, 2))}</pre></details>`;
    return html;
  }

  function historyHTML(ev) {
    const p = ev.payload || {};
    let what = '';
    if (ev.kind === 'tracker.update' && p.changed && typeof p.changed === 'object') {
      what = `changed ${Object.keys(p.changed).join(', ')}`;
    } else if (ev.kind === 'run.record') {
      what = `run ${p.num != null ? p.num : ''}${p.outcome ? `: ${p.outcome}` : ''}${p.label || p.command ? ` · ${p.label || p.command}` : ''}`;
    } else if (p.kind && p.num != null) {
      const t = p.text || p.attempt || p.title || '';
      const extra = ev.kind.endsWith('.move') && p.position != null ? ` → position ${p.position}` : p.state && p.kind === 'item' ? ` (${p.state === 'dropped' ? 'out of scope' : p.state})` : p.verdict && p.kind === 'hyp' ? ` (${p.verdict})` : '';
      what = `${p.kind} ${p.num}${t ? `: ${t}` : ''}${extra}`;
    } else if (p.title) {
      what = p.title;
    }
    return `<li data-seq="${esc(ev.seq)}"><span class="h-time">${timeHTML(ev.at)}</span><span class="actor">${esc(ev.actor || '')}</span><span class="kind">${esc(ev.kind)}</span><span class="what">${esc(clip(what, 200))}</span></li>`;
  }

  // ---------------------------------------------------------------- start

  document.addEventListener('click', (ev) => {
    const t = ev.target.closest('[data-action="sign-in"]');
    if (t && !t.closest('#tracker')) needToken();
  });
  // the URL fragment is the route: the skip link moves the focus instead
  $('#skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    app.focus();
  });

  /* The session first: a private server without our cookie gets the token dialog and no
     request that it would refuse. */
  async function start() {
    showActor();
    await loadSession();
    route();
  }

  start();
})();
