// A patient's network fails or changes mid-call, in a namespace of its own linked to the
// servers by veth (lib/netns.mjs): the call must come back by itself, with the peer
// connections the browser already has (an ICE restart, a resumed WebSocket), and the host
// doing nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServers, createConsultation } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { makeNetns } from './lib/netns.mjs';
import { hostAndPatientInCall } from './lib/call.mjs';

const pcs = (p) => p.evaluate(() => window.__e2ePcs.length);

// Resolves to the ms from start until p's decoded frames rose by more than 20 from base.
async function framesResume(p, base, start, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await p.stats();
    if (s.videoFrames > base + 20) return Date.now() - start;
    assert.ok(Date.now() < deadline, `${p.name}: video did not come back within ${ms} ms: ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

async function callAcrossLink(t, run, { remade = false } = {}) {
  const ns = await makeNetns({ ports: [8480] });
  const s = await startServers({ sfuArgs: ['--listen-ip', ns.here] });
  const hostBrowser = await launchChromium();
  const patientBrowser = await launchChromium({ netns: ns });
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const { host, patient } = await hostAndPatientInCall(hostBrowser, c, patientBrowser);
    const made = { host: await pcs(host), patient: await pcs(patient) };
    await run({ ns, s, host, patient });
    if (remade) {
      // Past the limit the patient joined afresh: two new peer connections, the host's kept.
      assert.equal(await pcs(host), made.host, 'the host\'s peer connections were kept');
      assert.equal(await pcs(patient), made.patient + 2, 'the patient made new peer connections');
    } else {
      // Nobody rejoined: the same peer connections carried the call throughout.
      assert.deepEqual({ host: await pcs(host), patient: await pcs(patient) }, made, 'no peer connection was remade');
    }
    assert.equal(await patient.visibleHeading(), 'Your video consultation');
    await host.expectMedia();
    await patient.expectMedia();
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    await hostBrowser.close();
    await patientBrowser.close();
    const codes = await s.stop();
    ns.close();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 });
  }
}

test('(c) a 5-second blackout of the patient\'s link: the call resumes by itself', { timeout: 180000 }, async (t) => {
  await callAcrossLink(t, async ({ ns, host, patient }) => {
    ns.linkDown();
    await sleep(5000);
    const during = { host: (await host.stats()).videoFrames, patient: (await patient.stats()).videoFrames };
    ns.linkUp();
    const up = Date.now();
    const [h, p] = await Promise.all([framesResume(host, during.host, up), framesResume(patient, during.patient, up)]);
    console.log(`# after a 5 s blackout, video decoded again ${h} ms (host) and ${p} ms (patient) after the link came back`);
  });
});

test('the patient\'s address changes mid-call (Wi-Fi to mobile data): ICE restarts, the socket resumes', { timeout: 180000 }, async (t) => {
  await callAcrossLink(t, async ({ ns, s, host, patient }) => {
    const before = { host: (await host.stats()).videoFrames, patient: (await patient.stats()).videoFrames };
    ns.renumber();
    const moved = Date.now();
    const [h, p] = await Promise.all([framesResume(host, before.host + 20, moved), framesResume(patient, before.patient + 20, moved)]);
    console.log(`# after the address change, video decoded again ${h} ms (host) and ${p} ms (patient) later`);
    const logs = s.logs.join('');
    assert.match(logs, /resume/, 'the patient\'s socket resumed');
  });
});

test('a 30-second outage: past the limit the patient\'s page joins afresh, straight back into the call', { timeout: 240000 }, async (t) => {
  await callAcrossLink(t, async ({ ns, host, patient }) => {
    ns.linkDown();
    await sleep(30000);
    const during = (await host.stats()).videoFrames;
    ns.linkUp();
    const up = Date.now();
    const h = await framesResume(host, during, up, 40000);
    await patient.waitForText('Your video consultation', 20000);
    console.log(`# after a 30 s outage, the host decoded the patient again ${h} ms after the link came back`);
  }, { remade: true });
});
