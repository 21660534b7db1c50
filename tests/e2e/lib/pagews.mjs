// A raw signalling WebSocket opened by the test inside a browser page (so that it carries that
// page's origin and session cookie), beside whatever the product's own client does in the page.
// Every frame the server sends is recorded in the page; the test reads them in order. Used to
// play a broken or hostile client (tests/e2e/badinput.test.mjs).
import { sleep } from './browsers.mjs';

let counter = 0;

export class PageSocket {
  constructor(page, label) {
    this.page = page;
    this.label = label;
    this.key = `s${++counter}`;
    this.read = 0; // how many recorded frames the test has consumed
    this.frames = []; // every frame read so far, for the report on a failure
  }

  // Opens the socket; resolves with the negotiated subprotocol.
  async open(ms = 15000) {
    return this.page.evaluate(
      ({ key, ms }) =>
        new Promise((ok, fail) => {
          const url = location.origin.replace('http', 'ws') + '/ws';
          const ws = new WebSocket(url, 'gpsfu-v1');
          ws.binaryType = 'arraybuffer';
          window.__e2eRaw = window.__e2eRaw || {};
          const rec = { ws, frames: [], closed: null };
          window.__e2eRaw[key] = rec;
          const timer = setTimeout(() => fail(new Error(`${url}: not open within ${ms} ms`)), ms);
          ws.onopen = () => {
            clearTimeout(timer);
            ok(ws.protocol);
          };
          ws.onmessage = (ev) => rec.frames.push(typeof ev.data === 'string' ? ev.data : `[binary ${ev.data.byteLength}]`);
          ws.onerror = () => {};
          ws.onclose = (ev) => {
            clearTimeout(timer);
            rec.closed = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
            fail(new Error(`${url}: closed before it opened (${ev.code})`));
          };
        }),
      { key: this.key, ms },
    );
  }

  // Sends a text frame (a string as is, anything else as JSON), or a binary frame of n bytes.
  send(data) {
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    return this.page.evaluate(({ key, text }) => window.__e2eRaw[key].ws.send(text), { key: this.key, text });
  }

  sendBinary(bytes) {
    return this.page.evaluate(
      ({ key, bytes }) => window.__e2eRaw[key].ws.send(new Uint8Array(bytes)),
      { key: this.key, bytes },
    );
  }

  // The socket's state in the page: { readyState, closed: {code, reason, wasClean} | null, buffered }.
  state() {
    return this.page.evaluate((key) => {
      const r = window.__e2eRaw[key];
      return { readyState: r.ws.readyState, closed: r.closed, buffered: r.ws.bufferedAmount, count: r.frames.length };
    }, this.key);
  }

  // The next frame not yet read, parsed when it is JSON ({ raw, msg }); throws after ms.
  async next(ms = 15000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = await this.page.evaluate(({ key, i }) => {
        const r = window.__e2eRaw[key];
        return { frame: r.frames.length > i ? r.frames[i] : null, closed: r.closed };
      }, { key: this.key, i: this.read });
      if (got.frame !== null) {
        this.read++;
        let msg = null;
        try {
          msg = JSON.parse(got.frame);
        } catch {
          /* left null: the test says what it expected */
        }
        this.frames.push(got.frame);
        return { raw: got.frame, msg };
      }
      if (got.closed) return { raw: null, msg: null, closed: got.closed };
      if (Date.now() > deadline) return { raw: null, msg: null, timeout: true };
      await sleep(50);
    }
  }

  // Reads frames until one whose type is in types (an array), skipping the others (the roster,
  // offers and the like that a joined socket gets unasked); returns it with what was skipped.
  async nextOf(types, ms = 15000) {
    const skipped = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.next(Math.max(0, deadline - Date.now()));
      if (!f.raw) return { ...f, skipped };
      if (f.msg && types.includes(f.msg.type)) return { ...f, skipped };
      skipped.push(f.msg ? f.msg : f.raw);
    }
  }

  // Waits until the socket is closed; resolves with the close event's details or null.
  async waitClosed(ms = 15000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const st = await this.state();
      if (st.closed) return st.closed;
      if (Date.now() > deadline) return null;
      await sleep(100);
    }
  }

  close() {
    return this.page.evaluate((key) => {
      const r = window.__e2eRaw && window.__e2eRaw[key];
      if (r && r.ws.readyState <= 1) r.ws.close(1000);
    }, this.key);
  }
}
