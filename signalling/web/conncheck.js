// The pre-call connection test (PROTOCOL.md `probe`): on the device-check screen, a real
// connection to the video service's media server, measured for a few seconds, and plain advice.
// It runs on a socket of its own, so that Join never waits for it: pressing Join stops it.
//
// First a direct connection (UDP, as the call will try first). If that does not connect within
// CONNECT_MS and the service gave TURN servers, the test tries again through them only
// (iceTransportPolicy 'relay'), as the call would fall back to; with no TURN servers, or when that
// fails too, the network is blocking the service. Connected, it sends silence (a disabled copy
// of the microphone track: the media server receives no voice) for MEASURE_MS and reads:
//  - the round-trip time, from the ICE candidate pair (currentRoundTripTime: the consent checks'
//    round trips), or from the RTCP receiver reports when the pair has none;
//  - the packets lost on the way to the server: the larger of the share its receiver reports
//    say was lost (remote-inbound-rtp fractionLost, one report a second) and the share it asked
//    to have sent again (outbound-rtp retransmittedPacketsSent: the server NACKs audio, and a
//    repaired loss is not in its reports); with no microphone, the ICE checks left unanswered.

import { $ } from './ui.js';
import { socketUrl } from './ws.js';
import { connectionAdvice } from './text.js';

const PROTOCOL = 'gpsfu-v1';
const OPEN_MS = 5000; // the socket
const ANSWER_MS = 5000; // the server's answer to the probe
const CONNECT_MS = 6000; // ICE and DTLS; a direct path that needs longer is as good as none
const MEASURE_MS = 5000;
const SAMPLE_MS = 1000;

// Thresholds for the advice. Round trips under 300 ms and loss under 2% make a call that
// feels normal; past 600 ms or 6% the picture freezes and speech breaks up.
const FAIR = { rtt: 300, loss: 0.02 };
const POOR = { rtt: 600, loss: 0.06 };

export function rateConnection(rttMs, loss) {
  if (rttMs >= POOR.rtt || loss >= POOR.loss) return 'poor';
  if (rttMs >= FAIR.rtt || loss >= FAIR.loss) return 'fair';
  return 'good';
}

export class ConnCheck {
  #run = 0; // each run's number: a stopped or replaced run drops whatever comes late
  #ws = null;
  #pc = null;
  #track = null;
  #stopped = false;
  #token = '';
  #sourceTrack = null;
  result = null; // { outcome: 'good'|'fair'|'poor'|'blocked'|'unchecked', rttMs, lossPct, relay }

  constructor() {
    $('conncheck-again').addEventListener('click', () => this.#begin());
  }

  // token: the join link's; audioTrack: the microphone's, or null (the test then sends no
  // media and measures with the ICE checks alone).
  start(token, audioTrack) {
    if (this.#stopped) return;
    this.#token = token;
    this.#sourceTrack = audioTrack;
    this.#begin();
  }

  // For good: the person pressed Join (the call makes its own connections).
  stop() {
    this.#stopped = true;
    this.#run++;
    this.#cleanup();
    $('conncheck-again').hidden = true;
  }

  #begin() {
    if (this.#stopped) return;
    const run = ++this.#run;
    this.#cleanup();
    this.result = null;
    $('conncheck-again').hidden = true;
    $('conncheck').dataset.outcome = 'checking';
    this.#show('Checking your connection to the video service...', '');
    this.#test(run).then(
      (result) => this.#done(run, result),
      (err) => {
        console.warn('connection test:', err && err.message ? err.message : err);
        this.#done(run, { outcome: 'unchecked' });
      },
    );
  }

  #live(run) {
    return run === this.#run && !this.#stopped;
  }

  #done(run, result) {
    if (!this.#live(run)) return;
    this.#cleanup();
    this.result = result;
    console.info('connection test:', JSON.stringify(result));
    const { title, detail } = connectionAdvice(result);
    $('conncheck').dataset.outcome = result.outcome;
    this.#show(title, detail);
    $('conncheck-again').hidden = false;
  }

  // One status region holds both lines, so that a screen reader reads the result as one.
  #show(title, detail) {
    $('conncheck-title').textContent = title;
    $('conncheck-detail').textContent = detail;
  }

  async #test(run) {
    const ws = await this.#open(run);
    let attempt = await this.#attempt(run, ws, { iceServers: [] });
    if (!attempt.connected && attempt.iceServers.length > 0 && this.#live(run)) {
      attempt = await this.#attempt(run, ws, { iceServers: attempt.iceServers, iceTransportPolicy: 'relay' });
    }
    if (!this.#live(run)) return { outcome: 'unchecked' };
    if (!attempt.connected) return { outcome: 'blocked' };
    const m = await this.#measure(run, attempt.pc);
    return {
      outcome: rateConnection(m.rttMs, m.loss),
      rttMs: Math.round(m.rttMs),
      lossPct: Math.round(m.loss * 1000) / 10,
      relay: m.relay,
      packets: m.sent,
    };
  }

  #open(run) {
    return new Promise((ok, fail) => {
      const ws = new WebSocket(socketUrl(), PROTOCOL);
      this.#ws = ws;
      const timer = setTimeout(() => fail(new Error('the socket did not open')), OPEN_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        if (this.#live(run)) ok(ws);
        else fail(new Error('stopped'));
      };
      ws.onclose = () => {
        clearTimeout(timer);
        fail(new Error('the socket closed'));
      };
    });
  }

  // Sends one probe on a new peer connection and waits until it connects, fails, or CONNECT_MS
  // passes. Resolves to { connected, pc, iceServers } (the TURN servers the answer gave).
  async #attempt(run, ws, config) {
    if (this.#pc) this.#pc.close();
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', ...config });
    this.#pc = pc;
    if (this.#sourceTrack && this.#sourceTrack.readyState === 'live' && !this.#track) {
      this.#track = this.#sourceTrack.clone();
      this.#track.enabled = false; // silence: the test needs packets, not the person's voice
    }
    if (this.#track) pc.addTransceiver(this.#track, { direction: 'sendonly' });
    else pc.addTransceiver('audio', { direction: 'sendonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (!this.#live(run)) throw new Error('stopped');
    const answer = await this.#ask(ws, { type: 'probe', token: this.#token, sdp: pc.localDescription.sdp });
    if (!this.#live(run)) throw new Error('stopped');
    const iceServers = Array.isArray(answer.ice_servers) ? answer.ice_servers : [];
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    const connected = await new Promise((ok) => {
      const timer = setTimeout(() => ok(false), CONNECT_MS);
      const check = () => {
        const state = pc.connectionState || pc.iceConnectionState;
        if (state === 'connected' || state === 'completed') {
          clearTimeout(timer);
          ok(true);
        } else if (state === 'failed' || state === 'closed') {
          clearTimeout(timer);
          ok(false);
        }
      };
      pc.addEventListener('connectionstatechange', check);
      pc.addEventListener('iceconnectionstatechange', check);
      check();
    });
    return { connected, pc, iceServers };
  }

  // Sends msg and resolves to the server's `probe` answer, or rejects on its error.
  #ask(ws, msg) {
    const id = Math.floor(Math.random() * 1e9) + 1;
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('no answer to the probe')), ANSWER_MS);
      ws.onmessage = (ev) => {
        let m;
        try {
          m = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (!m || m.re !== id) return;
        clearTimeout(timer);
        if (m.type === 'probe' && typeof m.sdp === 'string') ok(m);
        else fail(new Error(`probe refused: ${m.code || m.type}`));
      };
      ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  // Samples the connection every SAMPLE_MS for MEASURE_MS.
  async #measure(run, pc) {
    const rtts = [];
    const losses = [];
    let seenReports = -1;
    let first = null;
    let last = null;
    let relay = false;
    for (let t = 0; t <= MEASURE_MS && this.#live(run); t += SAMPLE_MS) {
      if (t > 0) await sleep(SAMPLE_MS);
      const s = await readStats(pc);
      if (!first) first = s;
      last = s;
      relay = relay || s.relay;
      if (s.pairRtt !== null) rtts.push(s.pairRtt);
      else if (s.rtcpRtt !== null) rtts.push(s.rtcpRtt);
      // Each receiver report counts once, however many samples see it.
      if (s.fractionLost !== null && s.reports !== seenReports) {
        seenReports = s.reports;
        losses.push(s.fractionLost);
      }
    }
    let loss = 0;
    const sent = last ? last.sent - first.sent : 0;
    if (losses.length > 0 || sent >= 50) {
      if (losses.length > 0) loss = losses.reduce((a, b) => a + b, 0) / losses.length;
      if (sent >= 50) loss = Math.max(loss, (last.resent - first.resent) / sent);
    } else if (first && last) {
      // No media to report on: the share of ICE checks that went unanswered (few, so coarse).
      const asked = last.requests - first.requests;
      const answered = last.responses - first.responses;
      if (asked >= 3) loss = Math.max(0, asked - answered) / asked;
    }
    rtts.sort((a, b) => a - b);
    const rttMs = rtts.length ? rtts[Math.floor(rtts.length / 2)] * 1000 : 0;
    return { rttMs, loss, relay, sent };
  }

  #cleanup() {
    if (this.#pc) {
      this.#pc.close();
      this.#pc = null;
    }
    if (this.#ws) {
      const ws = this.#ws;
      this.#ws = null;
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000); // the server closes the test's room with it
      } catch {
        /* already closing */
      }
    }
    if (this.#track) {
      this.#track.stop(); // the copy only: the microphone itself stays on for the call
      this.#track = null;
    }
  }
}

// What one getStats says about the test connection.
async function readStats(pc) {
  const report = await pc.getStats();
  const out = {
    pairRtt: null,
    rtcpRtt: null,
    fractionLost: null,
    reports: 0,
    requests: 0,
    responses: 0,
    relay: false,
    sent: 0,
    resent: 0,
  };
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
  });
  if (!pair) {
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.state === 'succeeded' && (s.nominated || s.selected)) pair = s;
    });
  }
  if (pair) {
    if (typeof pair.currentRoundTripTime === 'number') out.pairRtt = pair.currentRoundTripTime;
    out.requests = pair.requestsSent || 0;
    out.responses = pair.responsesReceived || 0;
    const local = report.get(pair.localCandidateId);
    out.relay = Boolean(local && local.candidateType === 'relay');
  }
  report.forEach((s) => {
    if (s.type === 'outbound-rtp') {
      out.resent += s.retransmittedPacketsSent || 0;
      out.sent += (s.packetsSent || 0) - (s.retransmittedPacketsSent || 0);
    }
    if (s.type !== 'remote-inbound-rtp') return;
    if (typeof s.roundTripTime === 'number') out.rtcpRtt = s.roundTripTime;
    if (typeof s.fractionLost === 'number') {
      out.fractionLost = s.fractionLost;
      // A new report: by their count where the browser keeps one, else by the report's time.
      out.reports = typeof s.reportsReceived === 'number' ? s.reportsReceived : s.timestamp;
    }
  });
  return out;
}

function sleep(ms) {
  return new Promise((ok) => setTimeout(ok, ms));
}
