// When a server or the link between them fails mid-call (the patient's browser across a veth
// link in a namespace of its own). (e) The SFU dies and comes back: signalling re-creates the
// room when it reconnects, and the browsers rejoin by themselves (no click on either side).
// (d) Signalling dies and a new one starts: media never stops and the browsers resume. Only the
// control connection drops: the media goes on untouched and signalling re-claims the room. A
// join lost on its way is sent again by the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServers, createConsultation, api } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { hostAndPatientInCall } from './lib/call.mjs';
import { makeNetns } from './lib/netns.mjs';

test('(e) SFU killed and restarted mid-call: both sides decode again within 5 s without anyone acting', { timeout: 180000 }, async () => {
  // The patient's browser in a namespace of its own, across a veth link from the servers.
  const ns = await makeNetns({ ports: [8480] });
  const s = await startServers({ sfuArgs: ['--listen-ip', ns.here] });
  const chromium = await launchChromium();
  const patientBrowser = await launchChromium({ netns: ns });
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const { host, patient } = await hostAndPatientInCall(chromium, c, patientBrowser);

    // The browsers drop their dead connections and make new ones when they rejoin.
    const pcs = (p) => p.evaluate(() => window.__e2ePcs.length);
    const made = { host: await pcs(host), patient: await pcs(patient) };
    const code = await s.kill('sfu', 'SIGKILL');
    assert.equal(code, 'SIGKILL');
    await sleep(1000);
    await s.startSfu();
    const back = Date.now();
    // (e) Both decode video again, on new connections, within 5 s of the SFU's return.
    const decodingAgain = async (p) => {
      for (;;) {
        if ((await pcs(p)) >= made[p.name] + 2 && (await p.stats()).videoFrames > 0) return Date.now() - back;
        assert.ok(Date.now() - back < 5000, `${p.name} decodes video again within 5 s of the SFU's return`);
        await sleep(100);
      }
    };
    const [h, pt] = await Promise.all([decodingAgain(host), decodingAgain(patient)]);
    console.log(`# video decoded again ${h} ms (host) and ${pt} ms (patient) after the SFU came back`);
    await host.expectMedia(30000);
    await patient.expectMedia(30000);
    assert.equal(await patient.visibleHeading(), 'Your video consultation', 'the patient did not have to wait again');
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    await patientBrowser.close();
    const codes = await s.stop();
    ns.close();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 });
  }
});

// (d) Signalling dies (SIGKILL: no goodbye) and a new process starts mid-call. The SFU keeps the
// room with its media flowing; the new process takes it over from the store, and the browsers
// resume on new sockets with the peer connections they have: no new admission, no new
// negotiation from scratch, and the frames decoded never stop rising.
test('(d) signalling killed and restarted mid-call: video keeps being decoded through it, the call resumes', { timeout: 180000 }, async () => {
  const ns = await makeNetns({ ports: [8480] });
  const s = await startServers({ sfuArgs: ['--listen-ip', ns.here] });
  const chromium = await launchChromium();
  const patientBrowser = await launchChromium({ netns: ns });
  try {
    const c = await createConsultation(s, { kind: 'consultation', guests: 1 });
    const { host, patient } = await hostAndPatientInCall(chromium, c, patientBrowser);
    const pcs = (p) => p.evaluate(() => window.__e2ePcs.length);
    const made = { host: await pcs(host), patient: await pcs(patient) };

    const frames = async () => ({ host: (await host.stats()).videoFrames, patient: (await patient.stats()).videoFrames });
    let last = await frames();
    assert.equal(await s.kill('signalling', 'SIGKILL'), 'SIGKILL');
    const killed = Date.now();
    const restart = sleep(500).then(() => s.startSignalling());
    const resumes = () => s.logs.join('').split('resumed on a new socket').length - 1;
    let resumedAt = 0;
    const watch = setInterval(() => { if (!resumedAt && resumes() >= 2) resumedAt = Date.now(); }, 50);
    // Every second through the restart, both browsers decoded more frames than the second before.
    for (let i = 0; i < 6; i++) {
      await sleep(1000);
      const now = await frames();
      assert.ok(now.host > last.host && now.patient > last.patient,
        `video stalled ${Date.now() - killed} ms after signalling was killed: ${JSON.stringify(last)} then ${JSON.stringify(now)}`);
      last = now;
    }
    await restart;
    // Both resumed on new sockets (the log line of a resume), with the same peer connections.
    const deadline = Date.now() + 15000;
    while (!resumedAt) {
      assert.ok(Date.now() < deadline, `both browsers resumed within 15 s (seen ${resumes()})`);
      await sleep(100);
    }
    clearInterval(watch);
    console.log(`# both browsers resumed ${resumedAt - killed} ms after signalling was killed (restarted after 500 ms); frames rose every second throughout`);
    assert.deepEqual({ host: await pcs(host), patient: await pcs(patient) }, made, 'no peer connection was remade');
    assert.equal(await patient.visibleHeading(), 'Your video consultation', 'the patient was not sent back to the waiting room');

    // The new process runs the call: it admits a guest, who sees and hears both, and the two
    // already in the call receive the guest on their existing connections.
    const guest = await chromium.person('guest');
    await guest.goto(c.links.guests[0]);
    await guest.click('Join consultation');
    await host.click('Admit Guest 1');
    const g = await guest.expectMedia();
    assert.ok(g.inbound >= 4, `the guest receives the host and the patient: ${JSON.stringify(g)}`);
    for (const p of [host, patient]) {
      const deadline2 = Date.now() + 20000;
      while ((await p.stats()).inbound < 4) {
        assert.ok(Date.now() < deadline2, `${p.name} receives the guest after the restart`);
        await sleep(200);
      }
    }
    await host.expectMedia();
    await patient.expectMedia();
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    await patientBrowser.close();
    const codes = await s.stop();
    ns.close();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 });
  }
});

// Only the control connection drops (here cut by the kernel with ss -K): the SFU keeps the
// room and its media, signalling reconnects and re-claims it, and nobody rejoins.
test('control connection cut mid-call: media untouched, the room re-claimed, the call goes on', { timeout: 180000 }, async () => {
  const port = 47000;
  const s = await startServers({ controlTcp: port });
  const chromium = await launchChromium();
  try {
    const c = await createConsultation(s, { kind: 'consultation', guests: 1 });
    const { host, patient } = await hostAndPatientInCall(chromium, c);

    const pcs = (p) => p.evaluate(() => window.__e2ePcs.length);
    const made = { host: await pcs(host), patient: await pcs(patient) };
    const claims = () => s.logs.join('').split('room(s) claimed').length - 1;
    assert.equal(claims(), 0);
    const cut = execFileSync('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', String(port)], { encoding: 'utf8' });
    assert.match(cut, /ESTAB/, 'the control connection was cut');
    const deadline = Date.now() + 15000;
    while (claims() < 1) {
      assert.ok(Date.now() < deadline, 'signalling re-claimed the room within 15 s');
      await sleep(100);
    }
    // Media went on over the same connections: nobody rejoined.
    await host.expectMedia();
    await patient.expectMedia();
    assert.deepEqual({ host: await pcs(host), patient: await pcs(patient) }, made, 'no peer connection was remade');
    // The room is this connection's again: its counters can be read, and the call still works.
    const st = await api(s, 'GET', `/api/v1/consultations/${c.id}/stats`);
    assert.equal(st.status, 200, st.text);
    const guest = await chromium.person('guest');
    await guest.goto(c.links.guests[0]);
    await guest.click('Join consultation');
    await host.click('Admit Guest 1');
    const g = await guest.expectMedia();
    assert.ok(g.inbound >= 4, `the guest receives the host and the patient: ${JSON.stringify(g)}`);
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 });
  }
});

// A join that is never answered (lost on its way, or signalling stalled on it) is given up after
// the page's JOIN_ANSWER_MS (10 s) and sent again on a new socket: the patient reaches the
// waiting room and the call with no reload. The first socket's join is dropped in the page's
// WebSocket route; the socket itself stays open, so only the page's watchdog can notice.
test('a join never answered is sent again on a new socket, and the patient still reaches the call', { timeout: 120000 }, async () => {
  const s = await startServers();
  const chromium = await launchChromium();
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const host = await chromium.person('host');
    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText('Your video consultation');

    const patient = await chromium.person('patient');
    // The page's first join, whichever socket carries it (the connection test opens one too).
    let joins = 0;
    let droppedAt = 0;
    await patient.page.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        if (typeof m === 'string' && /"type":"join"/.test(m) && joins++ === 0) {
          droppedAt = Date.now();
          return;
        }
        server.send(m);
      });
      server.onMessage((m) => ws.send(m));
    });
    await patient.goto(c.links.patient);
    await patient.click('Join consultation');
    await patient.waitForText('Please wait, the clinician will let you in soon', 30000);
    const waited = Date.now() - droppedAt;
    assert.ok(droppedAt > 0, 'the first join was dropped');
    assert.ok(joins >= 2, `the page sent its join again (${joins} in all)`);
    assert.ok(waited >= 9000, `the page waited for its answer before giving up (${waited} ms)`);
    assert.ok(patient.console.some((l) => /no answer to join/.test(l)),
      `the page said why it tried again:\n${patient.console.join('\n')}`);
    console.log(`# waiting room reached ${waited} ms after the first join was lost`);

    await host.click('Admit Patient');
    await patient.waitForText('Your video consultation');
    await host.expectMedia();
    await patient.expectMedia();
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 });
  }
});
