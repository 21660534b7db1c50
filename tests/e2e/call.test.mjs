// (a) A consultation made through the API: the patient opens the link and waits, the host
// admits, and each receives the other's audio and video through the SFU, in a Chromium pair and
// a Chromium-Firefox pair. (b) Until admitted, nothing is forwarded to or from the waiting
// patient, by the SFU's own counters. (c) A chat message reaches the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServers, createConsultation, api, buildDir } from './lib/servers.mjs';
import { launchChromium, launchFirefox, sleep } from './lib/browsers.mjs';

const artifacts = process.env.GPSFU_ARTIFACTS || join(buildDir, 'e2e-artifacts');
mkdirSync(artifacts, { recursive: true });

async function stats(s, id) {
  const r = await api(s, 'GET', `/api/v1/consultations/${id}/stats`);
  assert.equal(r.status, 200, r.text);
  return r.json.participants;
}

async function consultation(patientBrowser, tag) {
  const s = await startServers();
  const chromium = await launchChromium();
  const other = patientBrowser === 'firefox' ? await launchFirefox(s.base) : chromium;
  try {
    const c = await createConsultation(s, { kind: 'consultation', message: 'Dr Example is running 5 minutes late.' });
    const host = await chromium.person('host');
    const patient = await other.person('patient');

    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText('Your video consultation');

    await patient.goto(c.links.patient);
    await patient.screenshot(join(artifacts, `${tag}-join-page.png`));
    if (patient.kind === 'chromium') {
      // The session the link binds to outlives closing the browser, for as long as the link.
      const sid = (await patient.page.context().cookies()).find((k) => k.name === 'gpsfu_sid');
      assert.ok(sid && sid.httpOnly && sid.sameSite === 'Lax', `session cookie: ${JSON.stringify(sid)}`);
      assert.ok(sid.expires > Date.now() / 1000 + 3600, 'the session cookie lasts as long as the link');
    }
    await patient.click('Join consultation');
    await patient.waitForText('Please wait, the clinician will let you in soon');
    await patient.waitForText('Dr Example is running 5 minutes late.');
    await patient.screenshot(join(artifacts, `${tag}-waiting-room.png`));

    // (b) The waiting patient's media reaches the SFU (their sending connection is up) but is
    // forwarded to nobody, and nothing is forwarded to them, for as long as they wait.
    let before;
    for (let i = 0; i < 40; i++) {
      before = await stats(s, c.id);
      const p = before.find((x) => x.role === 'patient');
      if (p && p.received_packets > 50) break;
      await sleep(250);
    }
    await sleep(2000);
    before = await stats(s, c.id);
    const waiting = before.find((x) => x.role === 'patient');
    assert.equal(waiting.state, 'waiting');
    assert.ok(waiting.received_packets > 50, `the patient's media reached the SFU: ${JSON.stringify(waiting)}`);
    assert.equal(waiting.forwarded_from, 0, 'nothing of the waiting patient was forwarded');
    assert.equal(waiting.forwarded_to, 0, 'nothing was forwarded to the waiting patient');
    const hostBefore = await host.stats();
    assert.equal(hostBefore.videoFrames, 0, 'the host decoded no frame of the waiting patient');

    await host.click('Admit Patient');
    const admitted = Date.now();
    await patient.waitForText('Your video consultation');
    // Admission is one consume away (the patient's media already reaches the SFU): how soon
    // the host sees them, as a figure in the output (speed targets live in bench/).
    for (let i = 0; i < 200 && (await host.stats()).videoFrames === 0; i++) await sleep(25);
    console.log(`# ${tag}: first frame of the patient decoded by the host ${Date.now() - admitted} ms after Admit`);

    const hs = await host.expectMedia();
    const ps = await patient.expectMedia();
    assert.ok(hs.width > 0 && ps.width > 0, 'video frames have a size');
    const after = await stats(s, c.id);
    assert.ok(after.find((x) => x.role === 'patient').forwarded_from > 0, 'admitted: forwarded from the patient');
    assert.ok(after.find((x) => x.role === 'patient').forwarded_to > 0, 'admitted: forwarded to the patient');
    await host.screenshot(join(artifacts, `${tag}-call-host.png`));
    await patient.screenshot(join(artifacts, `${tag}-call-patient.png`));

    // (c) Chat, both ways.
    await patient.click('Chat');
    await patient.fill('Message', 'Hello from the patient');
    await patient.click('Send');
    await host.click('Chat');
    await host.waitForText('Hello from the patient');
    await host.fill('Message', 'Hello from the clinician');
    await host.click('Send');
    await patient.waitForText('Hello from the clinician');

    // The audit log kept who joined and the admission: the API's state shows the patient in.
    const st = await api(s, 'GET', `/api/v1/consultations/${c.id}`);
    assert.equal(st.status, 200);
    assert.ok(st.json.in.length === 2, `two people in: ${st.text}`);
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    if (other !== chromium) await other.close();
    await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
}

test('Chromium host and Chromium patient: waiting room, admission, audio, video, chat', { timeout: 120000 }, () =>
  consultation('chromium', 'chromium'));

test('Chromium host and Firefox patient', { timeout: 150000 }, () => consultation('firefox', 'firefox'));
