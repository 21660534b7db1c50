// The SFU dies mid-call and comes back: signalling re-creates the room when it reconnects, and
// the browsers rejoin by themselves (no click on either side); both decode video again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServers, createConsultation } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';

test('SFU killed and restarted mid-call: both sides decode again without anyone acting', { timeout: 180000 }, async () => {
  const s = await startServers();
  const chromium = await launchChromium();
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const host = await chromium.person('host');
    const patient = await chromium.person('patient');
    await host.goto(c.links.host);
    await host.click('Join consultation');
    await patient.goto(c.links.patient);
    await patient.click('Join consultation');
    await host.click('Admit Patient');
    await host.expectMedia();
    await patient.expectMedia();

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
