// Per-track media checks for calls with more than two people, and what to log when one fails.
// lib/browsers.mjs sums what a page receives over all its connections; with three people a sum
// hides one missing stream (two videos from one person look like one from each). These helpers
// read each inbound-rtp on its own, and each remote tile's tracks through their own receivers,
// so that a test can say "the host decodes the patient's video and the guest's video".
import assert from 'node:assert/strict';
import { sleep } from './browsers.mjs';

// In the page: every inbound-rtp of every open connection that __e2ePcs (lib/browsers.mjs)
// recorded, one entry per stream, nothing summed.
async function inboundInPage() {
  const out = [];
  const pcs = window.__e2ePcs || [];
  for (let i = 0; i < pcs.length; i++) {
    const pc = pcs[i];
    if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      out.push({
        key: `${i}/${r.id}`,
        pc: i,
        kind: r.kind,
        mid: r.mid ?? null,
        trackIdentifier: r.trackIdentifier ?? null,
        ssrc: r.ssrc ?? null,
        framesDecoded: r.framesDecoded || 0,
        frameWidth: r.frameWidth || 0,
        bytesReceived: r.bytesReceived || 0,
        packetsReceived: r.packetsReceived || 0,
      });
    });
  }
  return out;
}

// In the page: each remote tile (stage.js), its accessible name, and for each track it plays the
// receiving transceiver's mid and that receiver's own inbound-rtp counters.
async function tilesInPage() {
  const pcs = (window.__e2ePcs || []).filter((pc) => pc.connectionState !== 'closed' && pc.signalingState !== 'closed');
  const tiles = [];
  for (const tile of document.querySelectorAll('.remote-tile')) {
    const video = tile.querySelector('video');
    const label = tile.querySelector('.tile-label');
    const entry = {
      participant: tile.dataset.participant || '',
      name: video ? video.getAttribute('aria-label') || '' : '',
      label: label ? label.textContent : '',
      tracks: [],
    };
    const tracks = video && video.srcObject ? video.srcObject.getTracks() : [];
    for (const track of tracks) {
      const rec = { kind: track.kind, id: track.id, readyState: track.readyState, muted: track.muted, mid: null,
        framesDecoded: 0, bytesReceived: 0, ssrcs: [] };
      let receiver = null;
      for (const pc of pcs) {
        for (const t of pc.getTransceivers()) {
          if (t.receiver && t.receiver.track === track) {
            receiver = t.receiver;
            rec.mid = t.mid;
            rec.direction = t.currentDirection;
          }
        }
      }
      if (receiver) {
        const report = await receiver.getStats();
        report.forEach((r) => {
          if (r.type !== 'inbound-rtp' || r.kind !== track.kind) return;
          rec.framesDecoded += r.framesDecoded || 0;
          rec.bytesReceived += r.bytesReceived || 0;
          rec.ssrcs.push(r.ssrc);
        });
      }
      entry.tracks.push(rec);
    }
    tiles.push(entry);
  }
  const stage = document.getElementById('stage');
  return { count: stage ? stage.dataset.count : null, tiles };
}

export function inbound(person) {
  return person.evaluate(inboundInPage);
}

export function tiles(person) {
  return person.evaluate(tilesInPage);
}

// Per participant (tile): the frames decoded from their video and the bytes of their audio.
function perTile(t) {
  const v = t.tracks.filter((x) => x.kind === 'video');
  const a = t.tracks.filter((x) => x.kind === 'audio');
  return {
    name: t.name,
    video: v.length,
    audio: a.length,
    frames: v.reduce((n, x) => n + x.framesDecoded, 0),
    audioBytes: a.reduce((n, x) => n + x.bytesReceived, 0),
  };
}

// Waits until the page shows exactly the tiles named (accessible names such as "Patient's
// video"), each playing one video track with frames decoded and one audio track with bytes
// received, then checks over `settle` ms that each of those rose on its own, and that exactly
// names.length inbound video streams and as many audio streams rose on the page's connections.
// Returns the per-tile and per-stream readings.
export async function expectFromEach(person, names, { ms = 20000, settle = 2000 } = {}) {
  const want = [...names].sort();
  const deadline = Date.now() + ms;
  let first;
  let firstInbound;
  for (;;) {
    first = await tiles(person);
    firstInbound = await inbound(person);
    const got = first.tiles.map((t) => t.name).sort();
    const ready = JSON.stringify(got) === JSON.stringify(want) &&
      first.tiles.every((t) => {
        const p = perTile(t);
        return p.video === 1 && p.audio === 1 && p.frames > 10 && p.audioBytes > 1000;
      });
    if (ready) break;
    if (Date.now() > deadline) {
      throw new Error(`${person.name}: not decoding video and receiving audio from each of ${want.join(', ')} ` +
        `within ${ms} ms:\n${JSON.stringify(first, null, 1)}\ninbound: ${JSON.stringify(firstInbound)}`);
    }
    await sleep(250);
  }
  await sleep(settle);
  const later = await tiles(person);
  const laterInbound = await inbound(person);
  const result = { tiles: {}, rising: { video: 0, audio: 0 }, inbound: laterInbound };
  for (const name of want) {
    const a = perTile(first.tiles.find((t) => t.name === name));
    const bt = later.tiles.find((t) => t.name === name);
    assert.ok(bt, `${person.name}: the tile "${name}" is still there: ${JSON.stringify(later)}`);
    const b = perTile(bt);
    assert.ok(b.frames > a.frames, `${person.name}: frames from "${name}" keep rising: ${a.frames} then ${b.frames}`);
    assert.ok(b.audioBytes > a.audioBytes,
      `${person.name}: audio from "${name}" keeps arriving: ${a.audioBytes} then ${b.audioBytes} bytes`);
    result.tiles[name] = b;
  }
  // The streams themselves, not the tiles: exactly one rising video and audio stream per person.
  const before = new Map(firstInbound.map((r) => [r.key, r]));
  for (const r of laterInbound) {
    const p = before.get(r.key);
    if (r.kind === 'video' && r.framesDecoded > (p ? p.framesDecoded : 0)) result.rising.video++;
    if (r.kind === 'audio' && r.bytesReceived > (p ? p.bytesReceived : 0)) result.rising.audio++;
  }
  assert.equal(result.rising.video, want.length,
    `${person.name}: ${want.length} video streams rising: ${JSON.stringify({ firstInbound, laterInbound })}`);
  assert.equal(result.rising.audio, want.length,
    `${person.name}: ${want.length} audio streams rising: ${JSON.stringify({ firstInbound, laterInbound })}`);
  return result;
}

// A log of what a page says and sends, for the report when something fails: its console, and
// (Chromium, through playwright) every WebSocket frame both ways with the SDP cut short.
// errors: the `error` messages the server sent the page (Chromium).
export function recordPage(person) {
  const log = [];
  const errors = [];
  const t0 = Date.now();
  const add = (line) => log.push(`${((Date.now() - t0) / 1000).toFixed(3)} ${person.name} ${line}`);
  person.page.on('console', (m) => add(`console.${m.type()}: ${m.text()}`));
  person.page.on('pageerror', (e) => add(`pageerror: ${e.message || e}`));
  if (person.kind === 'chromium') {
    const brief = (payload) => {
      const text = String(payload);
      try {
        const msg = JSON.parse(text);
        if (typeof msg.sdp === 'string') msg.sdp = `<${msg.sdp.length} bytes, ${(msg.sdp.match(/^m=/gm) || []).length} m=, ` +
          `${(msg.sdp.match(/^a=inactive/gm) || []).length} inactive>`;
        if (msg.type === 'join' && msg.token) msg.token = '<token>';
        return JSON.stringify(msg);
      } catch {
        return text.slice(0, 300);
      }
    };
    person.page.on('websocket', (ws) => {
      add(`ws open ${ws.url()}`);
      ws.on('framesent', (f) => add(`ws > ${brief(f.payload)}`));
      ws.on('framereceived', (f) => {
        add(`ws < ${brief(f.payload)}`);
        try {
          const m = JSON.parse(String(f.payload));
          if (m.type === 'error') errors.push(m);
        } catch { /* not JSON */ }
      });
      ws.on('close', () => add('ws closed'));
    });
  }
  return { log, errors, dump: () => console.log(log.join('\n')) };
}
