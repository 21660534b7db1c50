// (g) Malformed WebSocket messages, oversized frames and bad SDP get error messages
// (PROTOCOL.md's codes, `re` when the message had an id, the socket left open unless stated),
// and the other participants notice nothing: a host and a patient in a call keep decoding each
// other's video, their pages show no notice and stay on the call screen, and both servers exit 0.
//
// The bad input comes from three places: a page of a third browser context (an attacker or a
// broken client, no link of its own), a second WebSocket the patient's own page opens beside the
// product's (same origin, same session cookie), and a guest's page, where a second WebSocket
// joins with the guest link (a join replaces the same participant's older connection, "newest
// wins", so the bad SDP is sent as the guest, never as the patient or the host). And from node:
// WebSocket upgrades with a foreign Origin are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { startServers, createConsultation } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { PageSocket } from './lib/pagews.mjs';

const WSMSG_MAX = 64 * 1024;

function tokenOf(link) {
  return decodeURIComponent(new URL(link).pathname.split('/').filter(Boolean).pop());
}

// Records, in a product page, anything a person would notice: a notice, a connection status,
// leaving the call screen, and the client's own console reports of errors and socket drops.
async function watch(person) {
  const seen = [];
  person.page.on('console', (m) => {
    const t = m.text();
    if (/signalling error|socket closed|not JSON|unknown message type|nothing heard/.test(t)) seen.push({ console: t });
  });
  person.page.on('pageerror', (e) => seen.push({ pageerror: String(e) }));
  await person.evaluate(() => {
    const log = [];
    Object.defineProperty(window, '__e2eNoticed', { value: log });
    const notice = document.getElementById('notice');
    const conn = document.getElementById('connection-status');
    const main = document.getElementById('main');
    new MutationObserver(() => {
      if (notice.textContent) log.push({ notice: notice.textContent, code: notice.dataset.code || '' });
    }).observe(notice, { childList: true, characterData: true, subtree: true });
    new MutationObserver(() => {
      if (conn.textContent) log.push({ connection: conn.textContent });
    }).observe(conn, { childList: true, characterData: true, subtree: true });
    new MutationObserver(() => {
      if (main.dataset.screen !== 'call') log.push({ screen: main.dataset.screen });
    }).observe(main, { attributes: true, attributeFilter: ['data-screen'] });
  });
  return seen;
}

// What the page shows and what it noticed since watch(); "poor connection" lines are reported but
// are not the bad input's doing (a loaded 2-core machine can make them).
async function pageView(person) {
  return person.evaluate(() => ({
    screen: document.getElementById('main').dataset.screen,
    heading: document.getElementById('call-title').textContent.trim(),
    notice: document.getElementById('notice').textContent,
    connection: document.getElementById('connection-status').textContent,
    noticed: window.__e2eNoticed,
  }));
}

test('bad WebSocket input gets errors and the call goes on undisturbed', { timeout: 420000 }, async (t) => {
  const s = await startServers();
  const chromium = await launchChromium();
  let failed = false;
  const consoleSeen = {};
  try {
    const c = await createConsultation(s, { kind: 'consultation', guests: 1 });
    const host = await chromium.person('host');
    const patient = await chromium.person('patient');

    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText('Your video consultation');
    await patient.goto(c.links.patient);
    await patient.click('Join consultation');
    await patient.waitForText('Please wait, the clinician will let you in soon');
    await host.click('Admit Patient');
    await patient.waitForText('Your video consultation');
    await host.expectMedia(30000);
    await patient.expectMedia(30000);
    consoleSeen.host = await watch(host);
    consoleSeen.patient = await watch(patient);

    // A part of the test: its failure is noted so that the servers' logs are printed at the end.
    const part = (name, fn) => t.test(name, async (st) => {
      try {
        await fn(st);
      } catch (e) {
        failed = true;
        throw e;
      }
    });

    // The call goes on: both still decode new frames and receive audio, and neither page has
    // shown anything. Called after each part, with the counters of the previous call.
    const last = { host: await host.stats(), patient: await patient.stats() };
    const undisturbed = async (after) => {
      await sleep(1500);
      for (const [name, person] of [['host', host], ['patient', patient]]) {
        const st = await person.stats();
        assert.ok(st.videoFrames > last[name].videoFrames && st.audioBytes > last[name].audioBytes,
          `${name} still decodes video and receives audio after ${after}: ${JSON.stringify(last[name])} then ${JSON.stringify(st)}`);
        last[name] = st;
        const v = await pageView(person);
        assert.equal(v.screen, 'call', `${name} is still on the call screen after ${after}`);
        assert.equal(v.notice, '', `${name}'s page shows no notice after ${after}`);
        const noticed = v.noticed.filter((x) => !(x.connection && /poor/.test(x.connection)));
        if (noticed.length !== v.noticed.length) console.log(`${name}: connection lines (not failed): ${JSON.stringify(v.noticed)}`);
        assert.deepEqual(noticed, [], `${name}'s page noticed nothing after ${after}`);
        assert.deepEqual(consoleSeen[name], [], `${name}'s client logged no error or socket drop after ${after}`);
      }
    };

    // An error, exactly, as the next frame; then a ping on the same socket gets a pong (open).
    const expectError = async (sock, sent, code, { re, message, fatal = false } = {}) => {
      const what = `${sock.label}: ${typeof sent === 'string' ? JSON.stringify(sent.slice(0, 80)) : sent}`;
      const f = await sock.next(15000);
      assert.ok(f.msg, `${what}: an error frame, got ${JSON.stringify(f)}`);
      assert.equal(f.msg.type, 'error', `${what}: ${f.raw}`);
      assert.equal(f.msg.code, code, `${what}: ${f.raw}`);
      assert.equal(typeof f.msg.message, 'string', `${what}: a message: ${f.raw}`);
      assert.ok(f.msg.message.length > 0, `${what}: a message: ${f.raw}`);
      if (message) assert.match(f.msg.message, message, `${what}: the message says what is wrong`);
      if (re === undefined) assert.ok(!('re' in f.msg), `${what}: no re (no readable id): ${f.raw}`);
      else assert.equal(f.msg.re, re, `${what}: re carries the id: ${f.raw}`);
      for (const k of Object.keys(f.msg)) assert.ok(['type', 'code', 'message', 're'].includes(k), `${what}: member ${k}`);
      if (!fatal) await expectOpen(sock, what);
      return f.msg;
    };
    const expectOpen = async (sock, what) => {
      await sock.send({ type: 'ping' });
      const p = await sock.next(15000);
      assert.ok(p.msg && p.msg.type === 'pong', `${what}: the socket stays open (ping gets pong), got ${JSON.stringify(p)}`);
    };

    // The malformed messages any socket can send before joining. ids are distinct per case.
    const garbage = async (sock, base) => {
      const say = async (data, code, opts) => {
        await sock.send(data);
        return expectError(sock, typeof data === 'string' ? data : JSON.stringify(data), code, opts);
      };
      await say('this is not JSON', 'bad_json');
      await say('{"type":"ping"', 'bad_json'); // truncated
      await say('{"type":"ping"} {"type":"ping"}', 'bad_json'); // two values
      await say('[{"type":"ping","id":1}]', 'bad_json'); // an array
      await say('"ping"', 'bad_json'); // a scalar
      await say('null', 'bad_json');
      await say({}, 'bad_message', { message: /type/ });
      await say({ id: base + 1 }, 'bad_message', { re: base + 1, message: /type/ });
      await say({ type: 42, id: base + 2 }, 'bad_message', { re: base + 2, message: /type/ });
      await say({ type: 'frobnicate', id: base + 3 }, 'unknown_type', { re: base + 3, message: /frobnicate/ });
      await say({ type: 'frobnicate', id: 0 }, 'unknown_type', { re: 0 }); // id 0 is an id
      await say({ type: 'chat', text: 'hello', id: base + 4 }, 'not_joined', { re: base + 4 });
      await say({ type: 'offer', pc: 'send', sdp: 'v=0\r\n', id: base + 5 }, 'not_joined', { re: base + 5 });
      await say({ type: 'answer', pc: 'recv', sdp: 'v=0\r\n', version: 1, id: base + 6 }, 'not_joined', { re: base + 6 });
      await say({ type: 'admit', participant: 'abc', id: base + 7 }, 'not_joined', { re: base + 7 });
      await say({ type: 'leave', id: base + 8 }, 'not_joined', { re: base + 8 });
      // Unknown and missing members, named in the message.
      await say({ type: 'ping', id: base + 9, colour: 'red' }, 'bad_message', { re: base + 9, message: /colour/ });
      await say({ type: 'chat', text: 'hi', id: base + 10, txet: 'x' }, 'bad_message', { re: base + 10, message: /txet/ });
      await say({ type: 'chat', id: base + 11 }, 'bad_message', { re: base + 11, message: /text/ });
      await say({ type: 'join', id: base + 12 }, 'bad_message', { re: base + 12, message: /token/ });
      await say({ type: 'offer', pc: 'recv', sdp: 'v=0', id: base + 13 }, 'bad_message', { re: base + 13, message: /pc/ });
      await say({ type: 'ping', id: 'seven' }, 'bad_message', { message: /id/ });
      await say({ type: 'ping', id: -1 }, 'bad_message', { message: /id/ });
      await say('{"type":"ping","type":"ping","id":' + (base + 14) + '}', 'bad_json', { message: /twice/ }); // duplicate key
      // Over 64 KiB: refused unread, so without re. A chat of 70000 characters, then a ping padded
      // with whitespace to one byte over the limit; the limit itself is allowed.
      await say({ type: 'chat', text: 'x'.repeat(70000), id: base + 15 }, 'too_large');
      const ping = `{"type":"ping","id":${base + 16}}`;
      await say(ping + ' '.repeat(WSMSG_MAX + 1 - ping.length), 'too_large');
      await sock.send(ping + ' '.repeat(WSMSG_MAX - ping.length));
      const atLimit = await sock.next(15000);
      assert.ok(atLimit.msg && atLimit.msg.type === 'pong', `${sock.label}: a 64 KiB message is read: ${JSON.stringify(atLimit)}`);
      // A message of 1 MiB, as a broken client might send.
      await say({ type: 'chat', text: 'y'.repeat(1 << 20) }, 'too_large');
      // Binary frames are not part of the protocol, whatever they hold.
      await sock.sendBinary([1, 2, 3, 4, 5, 6, 7, 8]);
      await expectError(sock, 'binary frame', 'bad_message', { message: /binary/ });
      await sock.sendBinary([...Buffer.from('{"type":"ping","id":5}')]);
      await expectError(sock, 'binary frame holding JSON', 'bad_message', { message: /binary/ });
      // A chat one code point over 2000: bad_message (the members are checked before the state).
      await say({ type: 'chat', text: 'z'.repeat(2001), id: base + 17 }, 'bad_message', { re: base + 17, message: /text/ });
    };

    // A join with a garbage token: bad_token, then `ended`, then the socket closes.
    const badJoin = async (sock, token, code, id) => {
      await sock.send({ type: 'join', token, id });
      await expectError(sock, `join ${JSON.stringify(token.slice(0, 40))}`, code, { re: id, fatal: true });
      const e = await sock.next(15000);
      assert.ok(e.msg && e.msg.type === 'ended', `${sock.label}: ended after ${code}: ${JSON.stringify(e)}`);
      assert.equal(e.msg.reason, code, `${sock.label}: ended names the reason`);
      const closed = await sock.waitClosed(15000);
      assert.ok(closed, `${sock.label}: the socket closes after ${code}`);
      const more = await sock.next(0);
      assert.ok(!more.raw, `${sock.label}: nothing after ended: ${JSON.stringify(more)}`);
    };

    await part('a page of a third browser context (no link): garbage, oversized, binary, bad joins', async () => {
      const attacker = await chromium.person('attacker');
      // A refused link's page allows no connection at all (its CSP is default-src 'none')...
      const r = await attacker.goto(`${s.base}/join/not-a-token`);
      assert.equal(r.status(), 401, 'a garbage link gets 401');
      await assert.rejects(new PageSocket(attacker.page, 'refusal page').open(3000), /not open|closed/,
        "a refused link's page cannot open the WebSocket");
      // ...so the broken client runs in the service's front page, which may (connect-src 'self').
      const front = await attacker.goto(`${s.base}/`);
      assert.equal(front.status(), 200);
      const sock = new PageSocket(attacker.page, 'attacker');
      assert.equal(await sock.open(), 'gpsfu-v1');
      await garbage(sock, 1000);
      await badJoin(sock, 'garbage', 'bad_token', 1100);
      // Tokens that are not ours, each on a fresh socket: malformed, and a real link tampered with.
      const real = tokenOf(c.links.patient);
      const mid = Math.floor(real.length / 2);
      const tampered = real.slice(0, mid) + (real[mid] === 'A' ? 'B' : 'A') + real.slice(mid + 1);
      for (const [i, token] of [[1, 'a.b.c'], [2, 'x'.repeat(2048)], [3, tampered]]) {
        const s2 = new PageSocket(attacker.page, `attacker #${i}`);
        await s2.open();
        await badJoin(s2, token, 'bad_token', 1100 + i);
      }
      // An empty token and one over the 2048-byte limit are refused as malformed messages.
      const s4 = new PageSocket(attacker.page, 'attacker, malformed tokens');
      await s4.open();
      await s4.send({ type: 'join', token: '', id: 1110 });
      await expectError(s4, 'join with an empty token', 'bad_message', { re: 1110, message: /token/ });
      await s4.send({ type: 'join', token: 'e'.repeat(2049), id: 1111 });
      await expectError(s4, 'join with a 2049-byte token', 'bad_message', { re: 1111, message: /token/ });
      await s4.send({ type: 'join', token: 7, id: 1112 });
      await expectError(s4, 'join with a number for a token', 'bad_message', { re: 1112, message: /token/ });
      await s4.close();
      // The patient's own link from this other browser: the single-use link is bound to the
      // patient's browser, so it is refused, and the patient is not replaced.
      const s3 = new PageSocket(attacker.page, 'attacker with the patient link');
      await s3.open();
      await badJoin(s3, real, 'link_used', 1200);
      await attacker.page.context().close();
      await undisturbed('the attacker page');
    });

    await part("a second WebSocket in the patient's own page: the same garbage, and a bad join", async () => {
      const sock = new PageSocket(patient.page, 'patient page, second socket');
      assert.equal(await sock.open(), 'gpsfu-v1');
      await garbage(sock, 2000);
      await badJoin(sock, 'garbage', 'bad_token', 2100);
      await undisturbed("the patient page's second socket");
    });

    await part("a guest's page: joined through its own socket, bad SDP and out-of-turn messages", async () => {
      const guest = await chromium.person('guest');
      await guest.goto(c.links.guests[0]); // the pre-call check; its Join button is never pressed
      const sock = new PageSocket(guest.page, 'guest socket');
      await sock.open();
      const guestToken = tokenOf(c.links.guests[0]);
      await sock.send({ type: 'join', token: guestToken, id: 3000 });
      const j = await sock.nextOf(['joined', 'error', 'ended']);
      assert.ok(j.msg && j.msg.type === 'joined', `guest joined: ${JSON.stringify(j)}`);
      assert.equal(j.msg.role, 'guest');
      assert.equal(j.msg.state, 'waiting');
      await host.page.getByRole('button', { name: 'Admit Guest 1', exact: true }).waitFor({ timeout: 15000 });

      // A real offer from this browser, and variants of it.
      const good = await guest.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        const offer = await pc.createOffer();
        pc.close();
        for (const track of stream.getTracks()) track.stop();
        return offer.sdp;
      });
      assert.match(good, /a=fingerprint:sha-256/);
      assert.match(good, /a=setup:actpass/);
      const noFingerprint = good.replace(/^a=fingerprint:.*\r\n/gm, '');
      const passive = good.replace(/a=setup:actpass/g, 'a=setup:passive');
      const noSending = good.replace(/a=sendonly/g, 'a=recvonly');
      assert.notEqual(noFingerprint, good);
      assert.notEqual(noSending, good);

      const offer = async (sdp, id, message) => {
        await sock.send({ type: 'offer', pc: 'send', sdp, id });
        const f = await sock.nextOf(['error', 'answer']);
        assert.ok(f.msg && f.msg.type === 'error', `bad offer ${id}: an error, got ${JSON.stringify(f.msg || f)}`);
        assert.equal(f.msg.code, 'bad_sdp', `bad offer ${id}: ${f.raw}`);
        assert.equal(f.msg.re, id, `bad offer ${id}: re: ${f.raw}`);
        assert.match(f.msg.message, message, `bad offer ${id}: the message says what is wrong: ${f.raw}`);
        console.log(`bad offer ${id}: ${f.raw}`);
        await expectOpen(sock, `bad offer ${id}`);
      };
      await offer('hello, this is not an SDP', 3001, /not an SDP|v=0/);
      await offer('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', 3002, /m=/);
      await offer(noFingerprint, 3003, /^m=(audio|video) \(mid \w+\): no a=fingerprint/);
      await offer(passive, 3004, /^m=(audio|video) \(mid \w+\): a=setup:passive/);
      await offer(noSending, 3005, /no sendonly or sendrecv/);
      await offer(good.replace(/a=rtcp-mux\r\n/g, ''), 3006, /a=rtcp-mux/);
      await offer(good.replace(/^a=ice-ufrag:.*\r\n/gm, ''), 3007, /a=ice-ufrag/);
      await offer(good.replace(/\r\n/g, '\n').replace(/^a=fingerprint:sha-256 .*$/m, 'a=fingerprint:sha-256 ZZ'), 3008, /fingerprint/);
      await offer(good.replace(/\x20opus\//, ' nopus/').replace(/a=rtpmap:(\d+) opus\/48000\/2/, 'a=rtpmap:$1 foo/8000'), 3009, /m=audio.*codec/);

      // An answer on the receiving connection to a version never offered (a waiting guest was
      // offered nothing): refused, naming the version.
      await sock.send({ type: 'answer', pc: 'recv', sdp: good, version: 77, id: 3010 });
      const a = await sock.nextOf(['error']);
      assert.ok(a.msg, `answer to version 77: ${JSON.stringify(a)}`);
      assert.equal(a.msg.code, 'bad_message', a.raw);
      assert.equal(a.msg.re, 3010, a.raw);
      assert.match(a.msg.message, /version|offer/, a.raw);
      await expectOpen(sock, 'answer to a version never offered');

      // Out-of-turn and out-of-role messages of a joined, waiting guest.
      const one = async (msg, code, what) => {
        await sock.send(msg);
        const f = await sock.nextOf(['error', 'pong', 'chat']);
        assert.ok(f.msg && f.msg.type === 'error', `${what}: an error, got ${JSON.stringify(f.msg || f)}`);
        assert.equal(f.msg.code, code, `${what}: ${f.raw}`);
        assert.equal(f.msg.re, msg.id, `${what}: re: ${f.raw}`);
        await expectOpen(sock, what);
      };
      await one({ type: 'join', token: guestToken, id: 3011 }, 'already_joined', 'a second join on the same socket');
      await one({ type: 'chat', text: 'let me in', id: 3012 }, 'not_admitted', 'chat while waiting');
      await one({ type: 'admit', participant: j.msg.participant, id: 3013 }, 'forbidden', 'a guest admitting itself');
      await one({ type: 'remove', participant: 'no-such-person', id: 3014 }, 'forbidden', 'a guest removing someone');
      await one({ type: 'mute', participant: 'no-such-person', id: 3015 }, 'forbidden', 'a guest muting someone');
      // The same garbage as above, now joined: the parse errors do not depend on the state.
      await sock.send('not JSON either');
      await expectError(sock, 'joined: not JSON', 'bad_json');
      await sock.send({ type: 'chat', text: 'q'.repeat(70000), id: 3016 });
      await expectError(sock, 'joined: 70000-character chat', 'too_large');
      await sock.sendBinary([0, 1, 2]);
      await expectError(sock, 'joined: binary', 'bad_message');

      // After all that, the guest's socket still works: its real offer gets the SFU's answer.
      await sock.send({ type: 'offer', pc: 'send', sdp: good, id: 3017 });
      const ans = await sock.nextOf(['answer', 'error'], 20000);
      assert.ok(ans.msg && ans.msg.type === 'answer' && ans.msg.pc === 'send', `a good offer is answered: ${JSON.stringify(ans.msg || ans)}`);
      assert.match(ans.msg.sdp, /a=fingerprint:sha-256/);
      await sock.send({ type: 'leave' });
      const left = await sock.nextOf(['ended'], 15000);
      assert.ok(left.msg && left.msg.reason === 'left', `leave ends it: ${JSON.stringify(left.msg || left)}`);
      assert.ok(await sock.waitClosed(15000), 'the socket closes after leave');
      await guest.page.context().close();
      await undisturbed("the guest's bad SDP");
    });

    await part('a WebSocket from another origin is refused (hand-made upgrade from node)', async () => {
      const { port, hostname } = new URL(s.base);
      const upgrade = (origin) => new Promise((ok) => {
        const key = randomBytes(16).toString('base64');
        const headers = {
          Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': key, 'Sec-WebSocket-Protocol': 'gpsfu-v1',
        };
        if (origin !== null) headers.Origin = origin;
        const req = http.request({ host: hostname, port, path: '/ws', headers, timeout: 10000 });
        req.on('upgrade', (res, socket) => {
          const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
          socket.destroy();
          ok({ status: res.statusCode, accepted: res.headers['sec-websocket-accept'] === accept, protocol: res.headers['sec-websocket-protocol'] });
        });
        req.on('response', (res) => {
          res.resume();
          ok({ status: res.statusCode });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => ok({ error: e.code || e.message }));
        req.end();
      });
      const own = await upgrade(s.base);
      assert.deepEqual(own, { status: 101, accepted: true, protocol: 'gpsfu-v1' }, 'the own origin is upgraded (the hand-made request is right)');
      for (const origin of ['http://evil.example', null, 'null', `https://${hostname}:${port}`,
        `http://localhost:${port}`, `${s.base}.evil.example`, `${s.base}/`, `http://${hostname}:${Number(port) + 1}`]) {
        const r = await upgrade(origin);
        console.log(`Origin ${JSON.stringify(origin)}: ${JSON.stringify(r)}`);
        assert.notEqual(r.status, 101, `Origin ${JSON.stringify(origin)} is not upgraded: ${JSON.stringify(r)}`);
      }
      await undisturbed('the foreign-origin upgrades');
    });

    // Still two people in, the patient admitted; and the host's roster says so.
    await undisturbed('everything');
    const roster = await host.evaluate(() => document.getElementById('admitted-list').innerText);
    assert.match(roster, /Patient/, `the host still lists the patient: ${roster}`);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await chromium.close();
    const codes = await s.stop();
    if (failed || codes.signalling !== 0 || codes.sfu !== 0) s.dumpLogs();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
});

// A resume takes over a participant with the peer connections they already have, so it must
// come from the page that holds them: it presents the key of that page's `joined`. A wrong or
// old key is a fresh join ("newest wins"), never a takeover.
test('a resume needs the key its own joined gave: another socket with the same link joins afresh', { timeout: 180000 }, async () => {
  const s = await startServers();
  const chromium = await launchChromium();
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const host = await chromium.person('host');
    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText('Your video consultation');
    // Sockets of one browser context (one session cookie), as tabs of one phone would be.
    const page = await chromium.person('patient');
    await page.goto(c.links.patient);
    const token = tokenOf(c.links.patient);
    const joinWith = async (label, resume) => {
      const w = new PageSocket(page.page, label);
      await w.open();
      await w.send(resume ? { type: 'join', token, resume, id: 1 } : { type: 'join', token, id: 1 });
      const j = await w.nextOf(['joined', 'error']);
      assert.equal(j.msg && j.msg.type, 'joined', `${label}: ${JSON.stringify(j)}`);
      return { w, joined: j.msg };
    };

    const a = await joinWith('first', null);
    assert.match(a.joined.resume_key, /^[0-9a-f]{32}$/);
    assert.equal(a.joined.resumed, undefined);

    // A made-up key: a fresh join; the first socket is told it was replaced.
    const b = await joinWith('wrong key', 'f'.repeat(32));
    assert.equal(b.joined.resumed, undefined, 'a wrong key is not a resume');
    assert.notEqual(b.joined.resume_key, a.joined.resume_key, 'a fresh join has a fresh key');
    const ended = await a.w.nextOf(['ended']);
    assert.equal(ended.msg && ended.msg.reason, 'replaced');

    // The first socket's key is no use now either: it belonged to a join that was replaced.
    const c2 = await joinWith('old key', a.joined.resume_key);
    assert.equal(c2.joined.resumed, undefined, 'an old key is not a resume');
    assert.equal((await b.w.nextOf(['ended'])).msg.reason, 'replaced');

    // The right key takes the participant over: resumed, the same key, and the socket it came
    // from closed without `ended` (its page is the one resuming).
    const d = await joinWith('right key', c2.joined.resume_key);
    assert.equal(d.joined.resumed, true, 'the key of the join in force resumes it');
    assert.equal(d.joined.resume_key, c2.joined.resume_key);
    const last = await c2.w.nextOf(['ended'], 5000);
    assert.ok(last.closed && !last.msg, `the resumed socket is closed without ended: ${JSON.stringify(last)}`);
    assert.match(s.logs.join(''), /resumed on a new socket/);
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
});
