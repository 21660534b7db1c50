// The web client's entry point: the pre-call check, then the signalling socket and the
// screens it drives (waiting room, call, ended). Protocol: signalling/PROTOCOL.md.

import { $, showScreen, currentScreen, setTitle, announce, setConnectionStatus, showNotice, clearNotice } from './ui.js';
import { PreCall } from './precall.js';
import { Signalling, socketUrl } from './ws.js';
import { Session } from './rtc.js';
import { Stage } from './stage.js';
import { PeoplePanel } from './people.js';
import { Chat } from './chat.js';
import { playChime } from './audio.js';
import { ending, errorText, LINK_ERRORS } from './text.js';
import { ConnCheck } from './conncheck.js';
import { QualityMonitor, POOR_CONNECTION_TEXT } from './quality.js';

const CONNCHECK_WAIT_MS = 8000; // for the camera and microphone before the connection test
const TRANSPORT_GRACE_MS = 4000; // "disconnected" often recovers by itself within seconds
// A connection "disconnected" this long gets new ICE credentials (the network changed, or an
// outage outlasted the consent checks); still not back this long after the first trouble, the
// browser joins afresh with new connections.
const ICE_RESTART_MS = 1500;
const REJOIN_AFTER_MS = 20000;
// A join the server has not answered (`joined` or an error) this long after it was sent is
// given up and sent again on a new socket: whatever held it (a lost message, a stuck
// connection), waiting longer would leave the person on "Joining..." for good.
const JOIN_ANSWER_MS = 10000;

// The token is the last path segment of /join/TOKEN.
const token = decodeURIComponentSafe(location.pathname.split('/').filter(Boolean).pop() || '');

const app = {
  self: '', // own participant id, from `joined`
  role: '',
  admission: '', // 'waiting' | 'admitted'
  roster: [],
  rosterFresh: true, // the first roster after a join is not announced as changes
  joinedOnce: false,
  reconnecting: false,
  ended: false,
  session: null,
  transport: { send: '', recv: '' },
  transportTimer: 0,
  iceTimer: { send: 0, recv: 0 },
  troubleSince: { send: 0, recv: 0 }, // when each connection last stopped being connected
  rejoinTimer: 0,
  fresh: false, // the next join makes new connections (no resume)
  resumeKey: '', // from `joined`: proves to the server that this page holds the connections
  retryTimer: 0, // a join that failed is tried again
  iceRestartId: 0, // the latest restart_ice message
  joinFailures: 0, // joins refused in a row (the service starting or unavailable)
  waitingCount: 0,
  mediaMsgId: 0,
  joinId: 0,
  joinTimer: 0, // the join sent is not answered in time: JOIN_ANSWER_MS
};

const precall = new PreCall();
const conncheck = new ConnCheck();
// The connection's own statistics (quality.js): the poor-connection line, and the coarse
// quality the hosts see in their People panel.
const quality = new QualityMonitor(() => app.session, {
  change: () => renderMediaStatus(),
  report: (q) => sig.send({ type: 'quality', ...q }),
});
const stage = new Stage(() => {
  $('play-sound').hidden = false;
});
const people = new PeoplePanel((type, participant) => {
  if (!sig.send({ type, participant })) showNotice('You are offline. Try again in a moment.');
});
const chat = new Chat((text) => sig.send({ type: 'chat', text }) !== 0, updateSidePanels);
const sig = new Signalling(socketUrl(), {
  open: () => {
    // Back on a new socket with connections that still work: resume them, so the media that
    // never stopped flowing goes on (a network change, a signalling restart).
    const resume = app.session && app.session.usable && !app.fresh && app.resumeKey;
    app.joinId = sig.send(resume ? { type: 'join', token, resume: app.resumeKey } : { type: 'join', token });
    clearTimeout(app.joinTimer);
    app.joinTimer = setTimeout(() => {
      console.warn('signalling: no answer to join, trying again on a new socket');
      if (!app.ended) sig.restart();
    }, JOIN_ANSWER_MS);
  },
  message: onMessage,
  down: onSocketDown,
});

// ---- Start --------------------------------------------------------------------------------

if (!token) {
  finish('bad_token');
} else {
  setTitle('Check your camera and microphone');
  // The connection test starts once the devices are settled (it sends a silent copy of the
  // microphone), or without them when the person has not answered the browser's question in
  // a few seconds; it never holds Join up.
  const settled = precall.start();
  const waited = new Promise((ok) => setTimeout(ok, CONNCHECK_WAIT_MS));
  Promise.race([settled, waited]).finally(() => conncheck.start(token, precall.audioTrack));
}

$('join-button').addEventListener('click', join);
$('join-button').disabled = false; // the page's scripts all loaded (join.html)
$('join-loading').hidden = true;
$('waiting-leave').addEventListener('click', leave);
$('call-leave').addEventListener('click', leave);
$('mute-button').addEventListener('click', toggleMicrophone);
$('camera-button').addEventListener('click', toggleCamera);
$('rejoin-button').addEventListener('click', () => location.reload());
$('play-sound').addEventListener('click', () => {
  $('play-sound').hidden = true;
  stage.playAll();
});

async function join() {
  const button = $('join-button');
  if (button.dataset.busy) return;
  button.dataset.busy = '1';
  conncheck.stop();
  button.textContent = 'Joining...';
  // Pressed during the browser's permission prompt: join with whatever the answer gives.
  const slow = setTimeout(() => console.info('join: waiting for the camera and microphone'), 3000);
  await precall.ready.catch(() => {});
  clearTimeout(slow);
  precall.stopMeter();
  const audio = precall.audioTrack;
  const video = precall.videoTrack;
  for (const [track, kind] of [
    [audio, 'microphone'],
    [video, 'camera'],
  ]) {
    if (track) track.addEventListener('ended', () => deviceLost(kind));
  }
  for (const id of ['waiting-self-video', 'call-self-video']) $(id).srcObject = video ? precall.stream : null;
  for (const node of document.querySelectorAll('[data-no-camera]')) node.hidden = Boolean(video);
  $('preview-video').srcObject = null;
  updateMediaControls();
  showScreen('connecting', 'Joining');
  sig.connect();
}

// ---- Messages from the server ---------------------------------------------------------------

function onMessage(msg) {
  if (app.ended) return;
  switch (msg.type) {
    case 'joined':
      return onJoined(msg);
    case 'answer':
      if (msg.pc === 'send' && app.session) app.session.handleAnswer(msg);
      return;
    case 'offer':
      if (msg.pc === 'recv' && app.session) app.session.handleOffer(msg);
      return;
    case 'state':
      return enterState(msg.state);
    case 'roster':
      return onRoster(msg.participants);
    case 'chat':
      return chat.add(msg, msg.from === app.self);
    case 'muted':
      return onMutedByHost(msg.by);
    case 'transport':
      return onTransport(msg.pc, msg.state);
    case 'error':
      return onError(msg);
    case 'ended':
      return finish(msg.reason);
    case 'pong':
      return;
    default:
      console.info('signalling: unknown message type ignored:', msg.type);
  }
}

function onJoined(msg) {
  clearTimeout(app.joinTimer);
  sig.joined();
  app.self = msg.participant;
  app.role = msg.role;
  app.rosterFresh = true;
  $('main').dataset.role = msg.role || '';
  const wasReconnect = app.joinedOnce;
  app.joinedOnce = true;
  app.reconnecting = false;
  app.fresh = false;
  app.joinFailures = 0;
  clearTimeout(app.retryTimer);
  if (typeof msg.resume_key === 'string') app.resumeKey = msg.resume_key;
  setConnectionStatus('');
  clearNotice(); // whatever went wrong before this join is over

  if (msg.resumed && app.session) {
    // The same connections go on; the server offers the receiving one again.
    app.session.resume(msg.ice_servers);
    for (const pc of ['send', 'recv']) {
      if (app.troubleSince[pc]) app.session.restartIce(pc); // asked while the socket was down
    }
    sendMediaState();
    renderMediaStatus();
    enterState(msg.state);
    return;
  }
  clearTimeout(app.rejoinTimer);
  app.rejoinTimer = 0;
  app.troubleSince = { send: 0, recv: 0 };

  // A join (first, or again after a drop) always means new peer connections.
  if (app.session) app.session.close();
  stage.clearTracks();
  app.transport = { send: '', recv: '' };
  app.session = new Session(msg.ice_servers, (m) => sig.send(m), {
    remote: (byParticipant) => stage.setTracks(byParticipant),
    connection: onLocalConnection,
    failed: () => showNotice(errorText('internal'), { code: 'recv_offer' }),
  });
  const tracks = [precall.audioTrack, precall.videoTrack].filter(Boolean);
  // The media state follows the offer (or stands alone when there is nothing to offer): after
  // a reconnect the server learns again that the person had muted.
  app.session.publish(precall.stream, tracks).then(sendMediaState, () => {
    showNotice(errorText('bad_sdp'), { code: 'send_offer' });
  });
  startStats();

  const text = typeof msg.message === 'string' ? msg.message.trim() : '';
  $('practice-message').textContent = text;
  $('practice-message-box').hidden = !text;

  if (wasReconnect) announce('Reconnected.');
  enterState(msg.state);
}

function enterState(state) {
  const before = app.admission;
  app.admission = state;
  $('main').dataset.state = state || '';
  if (state === 'waiting') {
    showScreen('waiting', 'Waiting room');
    if (before === 'admitted') announce('You have been moved to the waiting room.');
  } else if (state === 'admitted') {
    $('host-panel').hidden = app.role !== 'host';
    $('stage-empty').textContent =
      app.role === 'host'
        ? 'Nobody else has joined yet. People who are waiting to join are listed under Waiting room.'
        : 'Nobody else has joined yet.';
    updateSidePanels();
    callTitle();
    showScreen('call', callTitleText());
    // Also after a reconnect that finds the person admitted while the socket was down.
    if (before === 'waiting') announce('You have been admitted.');
  }
}

function onRoster(participants) {
  if (!Array.isArray(participants)) return;
  const previous = new Map(app.roster.map((p) => [p.id, p]));
  app.roster = participants;
  const me = participants.find((p) => p.self || p.id === app.self);
  if (me && me.label) $('main').dataset.label = me.label;
  stage.setRoster(participants);
  if (app.role === 'host') {
    app.waitingCount = people.render(participants);
    callTitle();
  }
  if (app.rosterFresh) {
    app.rosterFresh = false;
    return;
  }
  // Say who came, went or started waiting: a screen-reader user cannot see the tiles change.
  const messages = [];
  let newWaiting = false;
  for (const p of participants) {
    if (p.self || p.id === app.self) continue;
    const old = previous.get(p.id);
    const label = p.label || 'Someone';
    if (p.state === 'admitted' && (!old || old.state !== 'admitted')) messages.push(`${label} joined the consultation.`);
    if (p.state === 'waiting' && !old) {
      messages.push(`${label} is in the waiting room.`);
      newWaiting = true;
    }
  }
  for (const old of previous.values()) {
    if (old.self || old.id === app.self) continue;
    if (!participants.some((p) => p.id === old.id) && old.state === 'admitted') {
      messages.push(`${old.label || 'Someone'} left the consultation.`);
    }
  }
  if (messages.length) announce(messages.join(' '));
  if (newWaiting && app.role === 'host') playChime();
}

function onError(msg) {
  console.warn('signalling error:', msg.code, msg.message, msg.re !== undefined ? `(re ${msg.re})` : '');
  if (LINK_ERRORS.has(msg.code)) {
    finish(msg.code);
    return;
  }
  if (msg.re !== undefined && msg.re === app.joinId) clearTimeout(app.joinTimer);
  if (msg.re !== undefined && msg.re === app.joinId && msg.code !== 'already_joined') {
    // The join itself failed for a passing reason (the video service unavailable or just
    // starting, an internal error): try again on a fresh socket. A call in progress, whose
    // media still flows, tries again sooner and says nothing the first time.
    const resuming = Boolean(app.session);
    app.joinFailures++;
    if (!resuming || app.joinFailures > 1) showNotice(errorText(msg.code), { code: msg.code });
    clearTimeout(app.retryTimer);
    app.retryTimer = setTimeout(() => {
      if (!app.ended) sig.restart();
    }, resuming ? 1000 : 3000);
    return;
  }
  if (app.session && app.session.handleError(msg)) return;
  // An ICE restart the server could not make now is tried again by the restart timer.
  if (msg.re !== undefined && msg.re === app.iceRestartId) return;
  // The automatic media-state message is a courtesy; its refusal is nothing the person can fix.
  if (msg.re !== undefined && msg.re === app.mediaMsgId) return;
  if (msg.code === 'busy' || msg.code === 'already_joined') return;
  showNotice(errorText(msg.code), { code: msg.code });
}

// ---- Connection state -----------------------------------------------------------------------

function onSocketDown({ attempt }) {
  clearTimeout(app.joinTimer); // that join went with its socket; the next open sends another
  if (app.ended) return;
  app.reconnecting = true;
  if (!app.joinedOnce) {
    setConnectionStatus(
      attempt > 3
        ? 'Cannot connect to the consultation. Check your internet connection. Still trying...'
        : 'Connecting...',
    );
  } else {
    setConnectionStatus(attempt > 3 ? 'Reconnecting... Check your internet connection.' : 'Reconnecting...');
  }
}

// The SFU's view of our connections (`transport`) and the browser's own view: either saying
// the media path is down shows the same line.
function onTransport(pc, state) {
  if (pc !== 'send' && pc !== 'recv') return;
  app.transport[pc] = state;
  renderMediaStatus();
}

function onLocalConnection(pc, state) {
  if (state === 'disconnected' || state === 'failed') {
    if (!app.troubleSince[pc]) {
      app.troubleSince[pc] = Date.now();
      sig.probe(); // the socket may have died with the path: the restart needs it
    }
    // New ICE credentials at once when ICE gave up, after a moment when it only lost touch
    // (that often comes back by itself).
    clearTimeout(app.iceTimer[pc]);
    app.iceTimer[pc] = setTimeout(() => restartIce(pc), state === 'failed' ? 0 : ICE_RESTART_MS);
    if (!app.rejoinTimer) app.rejoinTimer = setTimeout(rejoinIfStillDown, REJOIN_AFTER_MS);
  }
  if (state === 'failed') {
    app.transport[pc] = 'failed';
    renderMediaStatus();
    return;
  }
  if (state === 'disconnected') {
    // Often back within seconds; only then is it worth telling the person.
    clearTimeout(app.transportTimer);
    app.transportTimer = setTimeout(() => {
      const pcObj = app.session && (pc === 'send' ? app.session.sendPc : app.session.recvPc);
      if (pcObj && (pcObj.connectionState || pcObj.iceConnectionState) === 'disconnected') {
        app.transport[pc] = 'disconnected';
        renderMediaStatus();
      }
    }, TRANSPORT_GRACE_MS);
    return;
  }
  if (state === 'connected' || state === 'completed') {
    clearTimeout(app.iceTimer[pc]);
    app.troubleSince[pc] = 0;
    if (!app.troubleSince.send && !app.troubleSince.recv) {
      clearTimeout(app.rejoinTimer);
      app.rejoinTimer = 0;
    }
    app.transport[pc] = 'connected';
    renderMediaStatus();
  }
}

function restartIce(pc) {
  if (app.ended || !app.session || !app.troubleSince[pc]) return;
  console.info(`ICE restart of the ${pc} connection`);
  const id = app.session.restartIce(pc);
  if (pc === 'recv' && id) app.iceRestartId = id;
  // ICE restarts take a few seconds on a bad network: try again while it stays down.
  app.iceTimer[pc] = setTimeout(() => restartIce(pc), 5000);
}

// ICE restarts did not bring the media back: new connections on a new join.
function rejoinIfStillDown() {
  app.rejoinTimer = 0;
  if (app.ended || (!app.troubleSince.send && !app.troubleSince.recv)) return;
  console.info('connections still down: joining again');
  app.fresh = true;
  sig.restart();
}

function renderMediaStatus() {
  if (app.reconnecting || app.ended) return;
  const bad = Object.values(app.transport).some((s) => s === 'disconnected' || s === 'failed');
  if (bad) setConnectionStatus('Your connection is poor or lost.');
  else if (quality.poor) setConnectionStatus(POOR_CONNECTION_TEXT);
  else setConnectionStatus('');
}

function startStats() {
  quality.start();
}

// ---- Own media ------------------------------------------------------------------------------

function micOn() {
  const t = precall.audioTrack;
  return Boolean(t && t.enabled && t.readyState === 'live');
}

function cameraOn() {
  const t = precall.videoTrack;
  return Boolean(t && t.enabled && t.readyState === 'live');
}

function sendMediaState() {
  app.mediaMsgId = sig.send({ type: 'media', audio: micOn(), video: cameraOn() });
}

function toggleMicrophone() {
  const t = precall.audioTrack;
  if (!t || t.readyState !== 'live') {
    showNotice('No microphone is available.');
    return;
  }
  t.enabled = !t.enabled;
  updateMediaControls();
  sendMediaState();
  announce(t.enabled ? 'Your microphone is on.' : 'Your microphone is off.');
}

function toggleCamera() {
  const t = precall.videoTrack;
  if (!t || t.readyState !== 'live') {
    showNotice('No camera is available.');
    return;
  }
  // enabled=false sends black frames and keeps the connection as it is: turning the camera
  // back on is then instant, with no renegotiation.
  t.enabled = !t.enabled;
  updateMediaControls();
  sendMediaState();
  announce(t.enabled ? 'Your camera is on.' : 'Your camera is off.');
}

// A host muted this browser's microphone (PROTOCOL.md `muted`): mute, tell the server, and say
// how to unmute, which only the person can do.
function onMutedByHost(by) {
  const t = precall.audioTrack;
  if (t) t.enabled = false;
  updateMediaControls();
  sendMediaState();
  const who = typeof by === 'string' && by ? by : 'The clinician';
  showNotice(`${who} muted your microphone. To speak again, select Mute to unmute.`, { code: 'muted' });
}

function deviceLost(kind) {
  if (app.ended) return;
  updateMediaControls();
  sendMediaState();
  showNotice(`Your ${kind} stopped working. Check that it is connected.`, { code: 'device_lost' });
}

// The buttons keep one name ("Mute", "Camera off") and say their state with aria-pressed, so
// a screen reader hears "Mute, toggle button, pressed" rather than a name that flips.
function updateMediaControls() {
  const mic = precall.audioTrack;
  const cam = precall.videoTrack;
  const muted = !micOn();
  const camOff = !cameraOn();
  $('mute-button').setAttribute('aria-pressed', String(muted));
  $('camera-button').setAttribute('aria-pressed', String(camOff));
  // No device at all: the button stays focusable (a disabled button vanishes from the tab
  // order) and says why when pressed.
  for (const [id, device] of [
    ['mute-button', mic],
    ['camera-button', cam],
  ]) {
    if (device) $(id).removeAttribute('aria-disabled');
    else $(id).setAttribute('aria-disabled', 'true');
  }
  $('self-mic-off').hidden = !muted;
  $('self-cam-off').hidden = !camOff;
  $('self-tile').classList.toggle('no-picture', camOff);
}

// ---- Leaving and the end --------------------------------------------------------------------

function leave() {
  sig.send({ type: 'leave' });
  finish('left');
}

// The call is over for this browser: stop everything, say why, never reconnect.
function finish(reason) {
  if (app.ended) return;
  app.ended = true;
  clearTimeout(app.joinTimer);
  sig.stop();
  quality.stop();
  conncheck.stop();
  clearTimeout(app.transportTimer);
  if (app.session) app.session.close();
  app.session = null;
  precall.stopTracks();
  stage.clear();
  for (const id of ['preview-video', 'waiting-self-video', 'call-self-video']) $(id).srcObject = null;
  setConnectionStatus('');
  clearNotice();
  $('play-sound').hidden = true;
  const e = ending(reason);
  $('ended-title').textContent = e.title;
  $('ended-text').textContent = e.text;
  $('ended-advice').textContent = e.advice;
  $('rejoin-button').hidden = !e.rejoin;
  $('main').dataset.reason = reason || '';
  showScreen('ended', e.title);
}

// ---- Small helpers --------------------------------------------------------------------------

// The side column exists only while it has something in it (the host's panel or the chat).
function updateSidePanels() {
  const used = !$('host-panel').hidden || !$('chat-panel').hidden;
  $('call-layout').classList.toggle('with-side', used);
}

function callTitleText() {
  const n = app.role === 'host' ? app.waitingCount : 0;
  return n > 0 ? `(${n} waiting) In consultation` : 'In consultation';
}

function callTitle() {
  if (currentScreen() === 'call') setTitle(callTitleText());
}

function decodeURIComponentSafe(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
