// The two peer connections of one join (PROTOCOL.md, "A call, step by step"): the browser
// offers on the sending one; the server offers on the receiving one, which never offers itself,
// so there is no glare. A `joined` that is not `resumed` (a reload, a fresh rejoin) makes a new
// Session; a resumed one keeps this one.

export class Session {
  sendPc;
  recvPc;
  #send;
  #on;
  #streams = new Map(); // mid -> { participant, kind }, from the latest receiving offer
  #sendChain = Promise.resolve();
  #recvChain = Promise.resolve();
  #described = { send: false, recv: false }; // our description went out: candidates may follow
  #pendingCandidates = { send: [], recv: [] };
  #offerId = 0;
  #offerRetries = 0;
  #closed = false;
  #reconcileQueued = false;

  // send(msg) -> id; on: { remote(Map participant -> tracks), connection(pc, state) }
  constructor(iceServers, send, on) {
    this.#send = send;
    this.#on = on;
    const config = {
      bundlePolicy: 'max-bundle',
      iceServers: Array.isArray(iceServers) ? iceServers : [],
    };
    this.sendPc = makePc(config);
    this.recvPc = makePc(config);
    for (const [name, pc] of [
      ['send', this.sendPc],
      ['recv', this.recvPc],
    ]) {
      pc.onicecandidate = (ev) => this.#candidate(name, ev.candidate);
      const report = () => {
        if (this.#closed) return;
        // connectionState is the one to use; iceConnectionState is for browsers without it.
        this.#on.connection(name, pc.connectionState || pc.iceConnectionState);
      };
      pc.onconnectionstatechange = report;
      if (!('connectionState' in pc)) pc.oniceconnectionstatechange = report;
    }
    // ontrack fires during setRemoteDescription; the mapping is redone once per offer in any
    // case, but a track that starts later is picked up here too.
    this.recvPc.ontrack = () => this.#queueReconcile();
  }

  // Adds one sendonly transceiver per track (audio first, then video, as given) and sends the
  // offer. With no track at all there is nothing to offer: the server refuses an offer without
  // a sending section, and the person can still see and hear the others.
  publish(stream, tracks) {
    const run = this.#sendChain.then(async () => {
      if (!tracks.length || this.#closed) return;
      for (const track of tracks) {
        this.sendPc.addTransceiver(track, { direction: 'sendonly', streams: stream ? [stream] : [] });
      }
      const offer = await this.sendPc.createOffer();
      if (this.#closed) return;
      await this.sendPc.setLocalDescription(offer);
      this.#sendOffer();
    });
    // The chain itself never stays rejected, or the answer would never be applied after it.
    this.#sendChain = run.catch((err) => console.error('send offer failed:', err));
    return run;
  }

  #sendOffer() {
    if (this.#closed) return;
    this.#offerId = this.#send({ type: 'offer', pc: 'send', sdp: this.sendPc.localDescription.sdp });
    this.#descriptionSent('send');
  }

  // The server's answer on the sending connection.
  handleAnswer(msg) {
    this.#sendChain = this.#sendChain
      .then(async () => {
        if (this.#closed || this.sendPc.signalingState !== 'have-local-offer') return;
        await this.sendPc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        this.#offerRetries = 0;
      })
      .catch((err) => console.error('send answer not applied:', err));
    return this.#sendChain;
  }

  // A (re-)offer on the receiving connection. Offers are applied one after the other, each to
  // the end, so that a quick second offer never meets a half-done first one.
  handleOffer(msg) {
    this.#recvChain = this.#recvChain
      .then(async () => {
        if (this.#closed) return;
        // The map is replaced before the offer is applied, so that ontrack already sees it.
        this.#streams = new Map();
        for (const s of Array.isArray(msg.streams) ? msg.streams : []) {
          if (s && s.mid !== undefined) this.#streams.set(String(s.mid), s);
        }
        await this.recvPc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        const answer = await this.recvPc.createAnswer();
        if (this.#closed) return;
        await this.recvPc.setLocalDescription(answer);
        this.#send({ type: 'answer', pc: 'recv', sdp: this.recvPc.localDescription.sdp, version: msg.version });
        this.#descriptionSent('recv');
        this.#reconcile();
      })
      .catch((err) => {
        console.error('receive offer not applied:', err);
        this.#on.failed?.('recv');
      });
    return this.#recvChain;
  }

  // The path of one connection is gone (a network change, an outage): new ICE credentials,
  // keeping DTLS and the media as they are. The sending connection is ours to offer; the
  // receiving one is offered by the server, which we ask to. Returns the restart_ice message's
  // id for the receiving one; false or 0 when it cannot be tried now (a negotiation is under
  // way, or the socket is down: a resume will retry).
  restartIce(pc) {
    if (this.#closed) return false;
    if (pc === 'recv') return this.#send({ type: 'restart_ice', pc: 'recv' });
    if (this.sendPc.signalingState !== 'stable' || !this.sendPc.localDescription) return false;
    this.#sendChain = this.#sendChain
      .then(async () => {
        if (this.#closed || this.sendPc.signalingState !== 'stable') return;
        const offer = await this.sendPc.createOffer({ iceRestart: true });
        if (this.#closed) return;
        await this.sendPc.setLocalDescription(offer);
        this.#sendOffer();
      })
      .catch((err) => console.error('ICE restart offer failed:', err));
    return true;
  }

  // After a resume on a new socket: fresh TURN credentials (those the connections were made
  // with may have expired, and an ICE restart would need them), and an offer the server never
  // answered is sent again.
  resume(iceServers) {
    if (this.#closed) return;
    if (Array.isArray(iceServers)) {
      for (const pc of [this.sendPc, this.recvPc]) {
        try {
          pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
        } catch (err) {
          console.warn('new ice_servers refused, keeping the old ones:', err);
        }
      }
    }
    if (this.sendPc.signalingState === 'have-local-offer' && this.sendPc.localDescription) {
      this.#offerRetries = 0;
      this.#sendOffer();
    }
  }

  // Whether the peer connections are still worth resuming (not failed or closed for good).
  get usable() {
    if (this.#closed) return false;
    return [this.sendPc, this.recvPc].every((pc) => pc.signalingState !== 'closed');
  }

  // Errors about our own messages. Returns true when handled here.
  handleError(msg) {
    if (!this.#offerId || msg.re !== this.#offerId) return false;
    if (msg.code === 'busy' && this.#offerRetries < 5) {
      // "A negotiation is in progress; retry after the answer": the same offer, a moment later.
      this.#offerRetries++;
      setTimeout(() => this.#sendOffer(), 500 * this.#offerRetries);
      return true;
    }
    if (msg.code === 'unavailable' && this.sendPc.remoteDescription) {
      // An ICE restart the server could not make now: back to the description in force, so
      // that the next restart can offer again.
      this.#sendChain = this.#sendChain
        .then(async () => {
          if (!this.#closed && this.sendPc.signalingState === 'have-local-offer') {
            await this.sendPc.setLocalDescription({ type: 'rollback' });
          }
        })
        .catch((err) => console.error('rollback failed:', err));
      return true;
    }
    return false;
  }

  // Which participant's tracks are where, from the transceivers and the latest `streams` map.
  // A reused m-section carries a new participant with the same track object, so the mapping is
  // always rebuilt from scratch rather than patched.
  #reconcile() {
    if (this.#closed) return;
    const byParticipant = new Map();
    for (const t of this.recvPc.getTransceivers()) {
      if (!t.mid || t.currentDirection === 'stopped') continue;
      const info = this.#streams.get(t.mid);
      if (!info || !info.participant) continue;
      const list = byParticipant.get(info.participant) || [];
      list.push(t.receiver.track);
      byParticipant.set(info.participant, list);
    }
    this.#on.remote(byParticipant);
  }

  #queueReconcile() {
    if (this.#reconcileQueued) return;
    this.#reconcileQueued = true;
    queueMicrotask(() => {
      this.#reconcileQueued = false;
      this.#reconcile();
    });
  }

  // Candidates are sent after the description they belong to; the SFU is ICE-lite and ignores
  // them, but the protocol accepts them and they help when reading a log.
  #candidate(pc, candidate) {
    const msg = { type: 'candidate', pc, candidate: candidate ? candidate.toJSON() : null };
    if (this.#described[pc]) this.#send(msg);
    else this.#pendingCandidates[pc].push(msg);
  }

  #descriptionSent(pc) {
    this.#described[pc] = true;
    for (const msg of this.#pendingCandidates[pc].splice(0)) this.#send(msg);
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const pc of [this.sendPc, this.recvPc]) {
      pc.onicecandidate = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
      pc.ontrack = null;
      pc.close();
    }
  }
}

// A malformed ice_servers entry makes the constructor throw; without TURN the call may still
// work on a plain network, which beats not trying at all.
function makePc(config) {
  try {
    return new RTCPeerConnection(config);
  } catch (err) {
    console.error('ice_servers refused, trying without them:', err);
    return new RTCPeerConnection({ ...config, iceServers: [] });
  }
}
