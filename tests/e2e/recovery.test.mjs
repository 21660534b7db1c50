// When the media server or the link to it fails mid-call. The SFU dies and comes back:
// signalling re-creates the room when it reconnects, and the browsers rejoin by themselves (no
// click on either side). Only the control connection drops: the media goes on untouched and
// signalling re-claims the room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServers, createConsultation, api } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { hostAndPatientInCall } from './lib/call.mjs';

test('SFU killed and restarted mid-call: both sides decode again without anyone acting', { timeout: 180000 }, async () => {
  const s = await startServers();
  const chromium = await launchChromium();
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const { host, patient } = await hostAndPatientInCall(chromium, c);

    // The browsers drop their dead connections and make new ones when they rejoin.
    const pcs = (p) => p.evaluate(() => window.__e2ePcs.length);
    const made = { host: await pcs(host), patient: await pcs(patient) };
    const code = await s.kill('sfu', 'SIGKILL');
    assert.equal(code, 'SIGKILL');
    await sleep(1000);
    await s.startSfu();
    const back = Date.now();
    for (const p of [host, patient]) {
      const deadline = Date.now() + 30000;
      while ((await pcs(p)) < made[p.name] + 2) {
        assert.ok(Date.now() < deadline, `${p.name} did not rejoin within 30 s`);
        await sleep(200);
      }
    }
    await host.expectMedia(30000);
    await patient.expectMedia(30000);
    console.log(`# media back in both browsers ${Date.now() - back} ms after the SFU restarted (including 2 s of checking that it keeps flowing)`);
    assert.equal(await patient.visibleHeading(), 'Your video consultation', 'the patient did not have to wait again');
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    const codes = await s.stop();
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
