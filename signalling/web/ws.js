// The signalling socket (PROTOCOL.md): JSON messages over one WebSocket, a ping every 20 s, and
// reconnection with backoff when the socket drops. The caller sends `join` again from onOpen;
// the server treats that as a reload, so nothing else needs restoring here.

const PROTOCOL = 'gpsfu-v1';
const PING_MS = 20000;
// Phones can lose a connection without the browser noticing for minutes. Two pings without
// anything heard back means the socket is dead, whatever its readyState says.
const SILENCE_MS = 2 * PING_MS + 5000;
// Capped at 5 s: a patient back on the network should not wait long to be back in the call, and
// an attempt every 5 s from each browser costs the service nothing.
const BACKOFF_MS = [500, 1000, 2000, 4000, 5000];
// A socket still connecting after this long is given up and tried again: a handshake whose
// packets were lost (a network change, a stalled proxy) can otherwise hang for minutes, and the
// browser lets one handshake to a server run at a time.
const CONNECT_MS = 8000;

export function socketUrl() {
  return (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws';
}

export class Signalling {
  #url;
  #on;
  #ws = null;
  #nextId = 1;
  #attempt = 0;
  #retryTimer = 0;
  #pingTimer = 0;
  #lastHeard = 0;
  #probeTimer = 0;
  #connectTimer = 0;
  #stopped = false;

  // on: { open(), message(msg), down({ attempt, delay }) }
  constructor(url, on) {
    this.#url = url;
    this.#on = on;
    // Coming back online is a good moment to try at once rather than wait out the backoff.
    window.addEventListener('online', () => this.retryNow());
  }

  get isOpen() {
    return Boolean(this.#ws) && this.#ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
    if (this.#stopped || this.#ws) return;
    let ws;
    try {
      ws = new WebSocket(this.#url, PROTOCOL);
    } catch (err) {
      console.warn('WebSocket could not be created:', err);
      this.#dropped();
      return;
    }
    this.#ws = ws;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = 0;
      if (ws === this.#ws && ws.readyState === WebSocket.CONNECTING) {
        console.warn('signalling: the socket did not open in time, trying again');
        this.#dropped();
      }
    }, CONNECT_MS);
    // Every handler checks that its socket is still the current one: a late event from a socket
    // we gave up on must not disturb the new one.
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      clearTimeout(this.#connectTimer);
      this.#connectTimer = 0;
      this.#lastHeard = Date.now();
      this.#startPing();
      this.#on.open();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.#ws) return;
      this.#lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn('signalling: a message that is not JSON was ignored');
        return;
      }
      if (msg && typeof msg === 'object' && typeof msg.type === 'string') this.#on.message(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.#ws) return;
      console.info('signalling: socket closed', ev.code, ev.reason);
      this.#dropped();
    };
    ws.onerror = () => {}; // a close event always follows, and is handled there
  }

  // Called once the server has accepted `join`: only then is the connection known to work, so
  // only then does the backoff start again from the shortest delay.
  joined() {
    this.#attempt = 0;
  }

  // Sends a message with a fresh id (answers and errors about it carry it back as `re`).
  // Returns the id, or 0 when the socket is not open (the message is not queued: after a
  // reconnect the state is rebuilt from `joined`, and stale messages would only confuse it).
  send(msg) {
    if (!this.isOpen) return 0;
    const id = this.#nextId++;
    this.#ws.send(JSON.stringify({ ...msg, id }));
    return id;
  }

  // For good: after `ended`, after Leave, after a link error.
  stop() {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#stopPing();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      // close() sends what was queued (a `leave`) before the close frame.
      try {
        ws.close(1000);
      } catch {
        /* already closing */
      }
    }
  }

  retryNow() {
    if (!this.#stopped && !this.#ws) this.connect();
  }

  // Checks now that the socket still carries messages: a ping, and a reconnect unless
  // something is heard within ms. For when the media path just broke: a network change kills
  // the socket's TCP connection too, and waiting for the regular pings would take 45 s.
  probe(ms = 2000) {
    if (!this.isOpen || this.#probeTimer) return;
    const asked = Date.now();
    const ws = this.#ws;
    this.send({ type: 'ping' });
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = 0;
      // Only about the socket it pinged: a newer one is still connecting, not silent.
      if (this.#lastHeard < asked && this.#ws === ws) {
        console.warn('signalling: no answer to a ping, reconnecting');
        this.#dropped();
      }
    }, ms);
  }

  // Gives up on the current socket and drops it, so that a reconnect follows.
  restart() {
    if (this.#ws) this.#dropped();
  }

  #dropped() {
    this.#stopPing();
    clearTimeout(this.#connectTimer);
    this.#connectTimer = 0;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
    if (this.#stopped) return;
    const base = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)];
    // Jitter, so that every browser of a consultation does not come back in the same instant
    // after a server restart.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.#attempt++;
    this.#on.down({ attempt: this.#attempt, delay });
    this.#retryTimer = setTimeout(() => this.connect(), delay);
  }

  #startPing() {
    this.#stopPing();
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastHeard > SILENCE_MS) {
        console.warn('signalling: nothing heard for too long, reconnecting');
        this.#dropped();
        return;
      }
      this.send({ type: 'ping' });
    }, PING_MS);
  }

  #stopPing() {
    clearInterval(this.#pingTimer);
    this.#pingTimer = 0;
  }
}
