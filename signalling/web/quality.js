// The call's own connection, watched every 2 s in the browser's statistics: when it is poor for
// a few seconds a line says so (app.js shows it in the connection status region), and it goes
// when the connection recovers; a coarse level with the numbers goes to signalling, which shows
// it to the hosts (PROTOCOL.md `quality`).
//
// Only what measures this browser's own link counts: the loss on the way to the media server,
// the jitter it measures on what we send, the round trip of our ICE candidate pairs, and the
// bitrate our congestion control finds available. The loss is the larger of what the server's
// receiver reports count as lost (remote-inbound-rtp packetsLost) and what it asked us to send
// again (outbound-rtp retransmittedPacketsSent): the server NACKs audio too, so on a link with
// a short round trip nearly every loss is repaired and the reports alone read zero, while the
// link is still losing a tenth of what it carries.
// Loss on what we receive (inbound-rtp) is left out: through a forwarding server it includes
// the loss on the sender's link, and a clinician on a good line must not be told that their
// connection is poor because the patient's is.

const SAMPLE_MS = 2000;
const WINDOW = 2; // intervals summed for the loss: 4 s, about 200 audio packets
const POOR_AFTER = 2; // poor windows in a row before the line shows
const CLEAR_AFTER = 2; // better windows in a row before it goes
const REPORT_MS = 10000; // the same level is reported again this often, with fresh numbers
const MIN_SENT = 40; // fewer packets than this in a window say nothing about loss

// Loss past 5% breaks speech up and freezes the picture; round trips past 700 ms make people
// talk over each other; jitter past 100 ms outgrows the receiver's buffer.
const POOR = { loss: 0.05, rtt: 700, jitter: 100, bitrate: 0 };
const FAIR = { loss: 0.015, rtt: 300, jitter: 40, bitrate: 150000 };

export const POOR_CONNECTION_TEXT = 'Your connection is poor. Video may freeze; sound should continue.';

// rtt and jitter in ms, loss 0..1, bitrate in bit/s (0: unknown).
export function rateSample({ loss, rtt, jitter, bitrate }) {
  if (loss >= POOR.loss || rtt >= POOR.rtt || jitter >= POOR.jitter) return 'poor';
  if (loss >= FAIR.loss || rtt >= FAIR.rtt || jitter >= FAIR.jitter || (bitrate > 0 && bitrate < FAIR.bitrate)) {
    return 'fair';
  }
  return 'good';
}

export class QualityMonitor {
  #session;
  #on;
  #timer = 0;
  #busy = false;
  #prev = null; // the last sample's counters
  #intervals = []; // per interval: Map kind -> { sent, lost }
  #poorRun = 0;
  #goodRun = 0;
  #poor = false;
  #reported = { level: '', at: 0 };
  last = null; // the latest window, for the console and tests: { level, loss, rtt, jitter, bitrate }

  // session(): the current rtc.js Session or null; on: { change(poor), report({ level, loss, rtt }) }
  constructor(session, on) {
    this.#session = session;
    this.#on = on;
  }

  get poor() {
    return this.#poor;
  }

  // From a (new) join: counters start again with the new connections.
  start() {
    this.stop();
    this.#prev = null;
    this.#intervals = [];
    this.#poorRun = this.#goodRun = 0;
    this.#reported = { level: '', at: 0 };
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = 0;
    if (this.#poor) {
      this.#poor = false;
      this.#on.change(false);
    }
  }

  async #sample() {
    const session = this.#session();
    if (!session || this.#busy) return;
    this.#busy = true;
    let cur;
    try {
      cur = await readCall(session);
    } catch {
      return; /* a connection closed during getStats: the next sample sees the new one */
    } finally {
      this.#busy = false;
    }
    if (!this.#timer) return;
    const prev = this.#prev;
    this.#prev = cur;
    if (!prev || prev.session !== cur.session) return;

    const interval = new Map();
    for (const [id, s] of cur.streams) {
      const p = prev.streams.get(id);
      if (!p) continue;
      const k = interval.get(s.kind) || { sent: 0, lost: 0 };
      k.sent += Math.max(0, s.sent - p.sent);
      k.lost += Math.max(0, s.lost - p.lost, s.resent - p.resent);
      interval.set(s.kind, k);
    }
    this.#intervals.push(interval);
    if (this.#intervals.length > WINDOW) this.#intervals.shift();

    // The worst kind over the window: audio alone is steady (50 packets a second, no
    // retransmission), video adds its own view when the camera is on.
    let loss = 0;
    const sums = new Map();
    for (const iv of this.#intervals) {
      for (const [kind, k] of iv) {
        const s = sums.get(kind) || { sent: 0, lost: 0 };
        s.sent += k.sent;
        s.lost += k.lost;
        sums.set(kind, s);
      }
    }
    for (const s of sums.values()) {
      if (s.sent >= MIN_SENT) loss = Math.max(loss, Math.min(1, s.lost / s.sent));
    }
    // The available bitrate says something only while video is sent: with sound alone the
    // browser has no reason to find out how much more the link could carry.
    const video = sums.get('video');
    const bitrate = video && video.sent >= MIN_SENT ? cur.bitrate : 0;
    const window = { loss, rtt: cur.rtt, jitter: cur.jitter, bitrate };
    const level = rateSample(window);
    this.last = { level, ...window };

    if (level === 'poor') {
      this.#goodRun = 0;
      this.#poorRun++;
    } else {
      this.#poorRun = 0;
      this.#goodRun++;
    }
    if (!this.#poor && this.#poorRun >= POOR_AFTER) {
      this.#poor = true;
      this.#on.change(true);
    } else if (this.#poor && this.#goodRun >= CLEAR_AFTER) {
      this.#poor = false;
      this.#on.change(false);
    }

    // What the hosts see follows the line the person sees: "poor" only once it shows.
    const reportLevel = this.#poor ? 'poor' : level === 'poor' ? 'fair' : level;
    const now = Date.now();
    if (reportLevel !== this.#reported.level || now - this.#reported.at >= REPORT_MS) {
      this.#reported = { level: reportLevel, at: now };
      this.#on.report({
        level: reportLevel,
        loss: Math.round(loss * 1000) / 10,
        rtt: Math.min(60000, Math.round(cur.rtt)),
      });
    }
  }
}

// The counters of one moment: what the media server says it lost of each stream we send, the
// round trip and the available bitrate of our candidate pairs, the jitter it measures on what
// we send (ms).
async function readCall(session) {
  const [send, recv] = await Promise.all([session.sendPc.getStats(), session.recvPc.getStats()]);
  const out = { session, streams: new Map(), rtt: 0, jitter: 0, bitrate: 0 };
  const outbound = new Map();
  send.forEach((s) => {
    if (s.type === 'outbound-rtp') outbound.set(s.id, s);
  });
  send.forEach((s) => {
    if (s.type !== 'remote-inbound-rtp') return;
    const o = outbound.get(s.localId);
    if (!o) return;
    // Retransmissions are not new packets: they stand for packets lost.
    const resent = o.retransmittedPacketsSent || 0;
    const sent = (o.packetsSent || 0) - resent;
    out.streams.set(s.id, { kind: s.kind || o.kind, sent, resent, lost: Math.max(0, s.packetsLost || 0) });
    if ((s.kind || o.kind) === 'audio' && typeof s.jitter === 'number') out.jitter = Math.max(out.jitter, s.jitter * 1000);
  });
  for (const report of [send, recv]) {
    const pair = selectedPair(report);
    if (!pair) continue;
    if (typeof pair.currentRoundTripTime === 'number') out.rtt = Math.max(out.rtt, pair.currentRoundTripTime * 1000);
    if (report === send && typeof pair.availableOutgoingBitrate === 'number') out.bitrate = pair.availableOutgoingBitrate;
  }
  return out;
}

function selectedPair(report) {
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
  });
  if (pair) return pair;
  report.forEach((s) => {
    if (s.type === 'candidate-pair' && s.state === 'succeeded' && (s.nominated || s.selected)) pair = s;
  });
  return pair;
}
