// (b) A patient on a network that blocks UDP (and TURN's TCP port: only 443 gets out, as on many
// hospital and care-home networks) still has their consultation, through coturn over TLS on 443
// with the credentials signalling issued at join; on an open network the same patient, with the
// same TURN servers offered, talks to the SFU directly. In Chromium and in Firefox. coturn runs
// deploy/turnserver.conf.example, whose peer rules let it relay to the SFU and nowhere else
// private.
//
// The patient's browser runs in its own network namespace (lib/netns.mjs) linked by veth to the
// test's, where the SFU, signalling, coturn and the clinician's Chromium run. coturn listens on
// the veth address with a certificate from a private CA made here: both browsers verify a TURN
// server's certificate (Chromium against $HOME/.pki/nssdb, Firefox against its profile), so the
// CA is put where each looks; and Firefox refuses turns: with an IP address (it tries TLS only
// to a name it can check), so the TURN URIs name turn.gpsfu.test, which the patient's namespace
// resolves through /etc/netns/NAME/hosts (ip netns exec binds it over /etc/hosts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServers, createConsultation, api, repo } from './lib/servers.mjs';
import { launchChromium, launchFirefox, sleep } from './lib/browsers.mjs';
import { makeNetns } from './lib/netns.mjs';
import { tokenOf, claimsOf } from './lib/tokens.mjs';

const TURN_HOST = 'turn.gpsfu.test';
const TURN_TTL = 3600;

let ns;
let dir;
let hostsDir;
let coturn;
let coturnLog = '';
let s;
let hostBrowser;

// A private CA and a leaf for TURN_HOST (and the veth address), as a real deployment would have
// a certificate for its TURN server's name from a public CA.
function makeCerts(d, ip) {
  const run = (args) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key',
    '-out', 'ca.pem', '-days', '2', '-subj', '/CN=gpsfu e2e test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'turn.key',
    '-out', 'turn.csr', '-subj', `/CN=${TURN_HOST}`]);
  writeFileSync(join(d, 'turn.ext'), `subjectAltName=DNS:${TURN_HOST},IP:${ip}\n` +
    'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  run(['x509', '-req', '-in', 'turn.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'turn.pem', '-days', '2', '-extfile', 'turn.ext']);
}

// coturn with deploy/turnserver.conf.example itself, its placeholders filled in: on the veth
// address, TURN over UDP and TCP on 3478 and over TLS on 443, REST credentials from the shared
// secret, and relaying denied to private addresses except the SFU's (which is on 10/8 here).
async function startCoturn(secret) {
  let conf = readFileSync(join(repo, 'deploy/turnserver.conf.example'), 'utf8');
  const fill = (re, line) => {
    assert.match(conf, re, `deploy/turnserver.conf.example has ${re}`);
    conf = conf.replace(re, line);
  };
  fill(/^listening-ip=.*$/m, `listening-ip=${ns.here}`);
  fill(/^relay-ip=.*$/m, `relay-ip=${ns.here}`);
  fill(/^allowed-peer-ip=.*$/m, `allowed-peer-ip=${ns.here}`);
  fill(/^static-auth-secret=.*$/m, `static-auth-secret=${secret}`);
  fill(/^cert=.*$/m, `cert=${join(dir, 'turn.pem')}`);
  fill(/^pkey=.*$/m, `pkey=${join(dir, 'turn.key')}`);
  fill(/^syslog$/m, 'log-file=stdout\nverbose');
  writeFileSync(join(dir, 'turnserver.conf'), conf, { mode: 0o600 });
  const args = ['-c', join(dir, 'turnserver.conf'), '--pidfile', join(dir, 'turnserver.pid'),
    '--db', join(dir, 'turndb')];
  coturn = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const add = (d) => { coturnLog += d.toString(); };
  coturn.stdout.on('data', add);
  coturn.stderr.on('data', add);
  const deadline = Date.now() + 10000;
  while (!coturnLog.includes(`TLS/TCP listener opened on : ${ns.here}:443`)) {
    if (coturn.exitCode !== null) throw new Error(`coturn exited (${coturn.exitCode}):\n${coturnLog}`);
    if (Date.now() > deadline) throw new Error(`coturn did not start:\n${coturnLog}`);
    await sleep(100);
  }
}

// The restrictive network, in the patient's namespace: no UDP at all, and no TCP to TURN's own
// port 3478, so that only TURN over TLS on 443 (and the web page) gets through.
function restrict() {
  ns.dropUdp();
  ns.nft(`table inet gpsfu_turn_test {
  chain out { type filter hook output priority 0; policy accept; tcp dport 3478 drop; }
}`);
}

function unrestrict() {
  ns.nft('delete table inet gpsfu_test\ndelete table inet gpsfu_turn_test\n');
}

// For each open peer connection of the page: its selected candidate pair's local candidate
// (transport stats' selectedCandidatePairId where the browser has them, else the pair marked
// selected, else the nominated pair that succeeded).
async function selectedLocalCandidates() {
  const out = [];
  for (const pc of window.__e2ePcs || []) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    const all = [...report.values()];
    const transport = all.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
    const pair = (transport && report.get(transport.selectedCandidatePairId)) ||
      all.find((r) => r.type === 'candidate-pair' && r.selected) ||
      all.find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
    const local = pair && report.get(pair.localCandidateId);
    const remote = pair && report.get(pair.remoteCandidateId);
    out.push({
      state: pc.connectionState,
      pair: pair ? pair.state : null,
      local: local ? {
        candidateType: local.candidateType, protocol: local.protocol, relayProtocol: local.relayProtocol,
        address: local.address || local.ip, port: local.port, url: local.url,
      } : null,
      remote: remote ? { candidateType: remote.candidateType, address: remote.address || remote.ip, port: remote.port } : null,
    });
  }
  return out;
}

// Waits until every open peer connection of the page has a selected pair (the receiving one
// gets its first offer a moment after joining).
async function waitSelected(person, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const sel = await person.evaluate(selectedLocalCandidates);
    if (sel.length >= 2 && sel.every((x) => x.local)) return sel;
    if (Date.now() > deadline) throw new Error(`${person.name}: no selected candidate pair: ${JSON.stringify(sel)}`);
    await sleep(250);
  }
}

// One consultation: the clinician (Chromium, here) and the patient (in the namespace) join, the
// clinician admits; returns what was measured.
async function consult(patient) {
  const c = await createConsultation(s, { kind: 'consultation', guests: 0 });
  const host = await hostBrowser.person('host');
  try {
    await host.goto(c.links.host);
    await host.click('Join consultation');
    await patient.goto(c.links.patient);
    await patient.click('Join consultation');
    // Both of the patient's connections (sending, and receiving with nothing in it yet) are up
    // while they wait: the time from Join to that is ICE and DTLS, through TURN when relayed.
    const joined = Date.now();
    let connected = 0;
    while (!connected) {
      const states = await patient.evaluate(() => (window.__e2ePcs || []).map((pc) => pc.connectionState));
      if (states.filter((x) => x === 'connected').length >= 2) connected = Date.now() - joined;
      else if (Date.now() - joined > 30000) throw new Error(`patient not connected: ${JSON.stringify(states)}`);
      else await sleep(50);
    }
    await patient.waitForText('Please wait, the clinician will let you in soon', 30000);
    await host.click('Admit Patient');
    const admitted = Date.now();
    // Time to first frame after Admit, each way.
    let hostFirst = 0;
    let patientFirst = 0;
    while (!hostFirst || !patientFirst) {
      if (Date.now() - admitted > 30000) throw new Error('no first frame within 30 s of Admit');
      if (!hostFirst && (await host.stats()).videoFrames > 0) hostFirst = Date.now() - admitted;
      if (!patientFirst && (await patient.stats()).videoFrames > 0) patientFirst = Date.now() - admitted;
      await sleep(50);
    }
    const hostMedia = await host.expectMedia();
    const patientMedia = await patient.expectMedia();
    const selected = await waitSelected(patient);
    const r = await api(s, 'GET', `/api/v1/consultations/${c.id}/stats`);
    assert.equal(r.status, 200, r.text);
    const sfuPatient = r.json.participants.find((p) => p.role === 'patient');
    return {
      participant: claimsOf(tokenOf(c.links.patient)).jti, connected, hostFirst, patientFirst, hostMedia,
      patientMedia, selected, sfuPatient,
    };
  } finally {
    await host.page.context().close();
  }
}

function assertDirect(m, kind) {
  for (const x of m.selected) {
    assert.ok(x.local, `${kind}: a selected pair: ${JSON.stringify(m.selected)}`);
    assert.notEqual(x.local.candidateType, 'relay', `${kind}: UDP allowed, yet TURN used: ${JSON.stringify(m.selected)}`);
    assert.equal(x.local.protocol, 'udp', `${kind}: ${JSON.stringify(m.selected)}`);
    assert.equal(x.remote.address, ns.here, `${kind}: straight to the SFU: ${JSON.stringify(m.selected)}`);
  }
}

function assertRelayedTls(m, kind) {
  for (const x of m.selected) {
    assert.equal(x.local.candidateType, 'relay', `${kind}: ${JSON.stringify(m.selected)}`);
    assert.equal(x.local.relayProtocol, 'tls', `${kind}: TURN over TLS: ${JSON.stringify(m.selected)}`);
    assert.equal(x.remote.address, ns.here, `${kind}: relayed to the SFU: ${JSON.stringify(m.selected)}`);
  }
  // The SFU carried the patient's media both ways through the relay.
  assert.ok(m.sfuPatient.received_packets > 100 && m.sfuPatient.forwarded_to > 100,
    `${kind}: SFU counters: ${JSON.stringify(m.sfuPatient)}`);
  // coturn allocated a relay for this participant, with credentials valid turn-ttl from the join,
  // and relayed to the SFU.
  const user = new RegExp(`user <(\\d+):${m.participant}>: incoming packet ALLOCATE processed, success`);
  const found = user.exec(coturnLog);
  assert.ok(found, `${kind}: coturn allocated for ${m.participant}:\n${coturnLog.slice(-3000)}`);
  const expiry = Number(found[1]);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(expiry > now + TURN_TTL - 120 && expiry <= now + TURN_TTL, `${kind}: expiry ${expiry}, now ${now}`);
  assert.ok(new RegExp(`user <\\d+:${m.participant}>: incoming packet CREATE_PERMISSION processed, success`).test(coturnLog),
    `${kind}: coturn permitted the SFU as peer`);
}

// coturn's byte counts for the participant's sessions, from the usage lines it logs as they end.
function relayedBytes(participant) {
  const re = new RegExp(`peer usage: realm=<[^>]*>, username=<\\d+:${participant}>, rp=(\\d+), rb=(\\d+), sp=(\\d+), sb=(\\d+)`, 'g');
  let fromPeer = 0;
  let toPeer = 0;
  for (const m of coturnLog.matchAll(re)) {
    fromPeer += Number(m[2]);
    toPeer += Number(m[4]);
  }
  return { fromPeer, toPeer };
}

before(async () => {
  ns = await makeNetns({ ports: [8480] });
  hostsDir = `/etc/netns/${ns.name}`;
  mkdirSync(hostsDir, { recursive: true });
  writeFileSync(join(hostsDir, 'hosts'), `127.0.0.1 localhost\n${ns.here} ${TURN_HOST}\n`);
  dir = mkdtempSync(join(tmpdir(), 'gpsfu-turn-'));
  makeCerts(dir, ns.here);
  const secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'turn.secret'), secret + '\n', { mode: 0o600 });
  await startCoturn(secret);
  s = await startServers({
    sfuArgs: ['--listen-ip', ns.here],
    sigArgs: ['--turn-secret-file', join(dir, 'turn.secret'), '--turn-ttl', String(TURN_TTL), '--turn-urls',
      `turn:${TURN_HOST}:3478?transport=udp,turn:${TURN_HOST}:3478?transport=tcp,turns:${TURN_HOST}:443?transport=tcp`],
  });
  hostBrowser = await launchChromium();
});

after(async () => {
  if (hostBrowser) await hostBrowser.close();
  let codes;
  if (s) codes = await s.stop();
  if (coturn && coturn.exitCode === null) {
    const exited = new Promise((ok) => coturn.once('exit', ok));
    coturn.kill('SIGTERM');
    await exited;
  }
  if (ns) ns.close();
  if (hostsDir) rmSync(hostsDir, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (codes) assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both services exit cleanly');
});

// The example's peer rules: a credential gets relaying to the SFU, and to no other private
// address (here the patient's own side of the veth, standing for the practice's network).
test('coturn relays to the SFU and refuses other private addresses', () => {
  const secret = readFileSync(join(dir, 'turn.secret'), 'utf8').trim();
  const uclient = (peer, port) => {
    const r = spawnSync('turnutils_uclient', ['-W', secret, '-u', 'e2e-probe', '-e', peer, '-r', String(port),
      '-n', '2', '-m', '1', '-c', ns.here], { encoding: 'utf8', timeout: 20000 });
    return `${r.stdout}${r.stderr}`;
  };
  const denied = uclient(ns.there, 9);
  assert.match(denied, /403 \(Forbidden IP\)/, denied);
  const allowed = uclient(ns.here, 41000);
  assert.doesNotMatch(allowed, /error 403/, allowed);
  assert.match(allowed, /tot_send_bytes ~ [1-9]/, allowed);
});

for (const kind of ['chromium', 'firefox']) {
  test(`${kind} patient: direct on an open network, TURN over TLS on 443 when UDP is blocked`, async () => {
    const opts = { netns: ns, trustCa: join(dir, 'ca.pem') };
    const browser = kind === 'firefox' ? await launchFirefox(s.base, opts) : await launchChromium(opts);
    try {
      const patient = await browser.person('patient');

      const open = await consult(patient);
      assertDirect(open, kind);
      console.log(`# ${kind} open network: connected ${open.connected} ms after Join; first frame after Admit ` +
        `${open.hostFirst} ms at the clinician, ` +
        `${open.patientFirst} ms at the patient; patient's pairs ${JSON.stringify(open.selected.map((x) => x.local))}`);

      restrict();
      try {
        const relayed = await consult(patient);
        assertRelayedTls(relayed, kind);
        console.log(`# ${kind} UDP blocked: connected ${relayed.connected} ms after Join; first frame after ` +
          `Admit ${relayed.hostFirst} ms at the clinician, ` +
          `${relayed.patientFirst} ms at the patient; patient decoded ${relayed.patientMedia.videoFrames} frames, ` +
          `clinician ${relayed.hostMedia.videoFrames}; patient's pairs ${JSON.stringify(relayed.selected.map((x) => x.local))}; ` +
          `SFU: ${JSON.stringify(relayed.sfuPatient)}`);
        await patient.goto('about:blank'); // ends the patient's TURN sessions: coturn logs their usage
        const deadline = Date.now() + 10000;
        let bytes = relayedBytes(relayed.participant);
        while ((bytes.fromPeer < 100000 || bytes.toPeer < 100000) && Date.now() < deadline) {
          await sleep(250);
          bytes = relayedBytes(relayed.participant);
        }
        console.log(`# ${kind} coturn relayed ${bytes.toPeer} bytes to the SFU and ${bytes.fromPeer} from it`);
        assert.ok(bytes.toPeer > 100000 && bytes.fromPeer > 100000, `${kind}: coturn relayed media: ${JSON.stringify(bytes)}`);
      } finally {
        unrestrict();
      }
    } finally {
      await browser.close();
    }
  });
}
