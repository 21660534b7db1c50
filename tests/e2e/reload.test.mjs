// (f) The patient reloads mid-call and is back in the call without the host doing anything. The
// host and the patient are in a call, both decoding; the patient's page reloads, shows its
// pre-call check again, and the patient presses "Join consultation" (what a person does after a
// reload). They must land in the call, not in the waiting room, with no click on the host's
// page after the first admission, and both must decode each other's video again from the new
// connections. The time from the reload to the first frame decoded on each side is printed.
// Chromium-Chromium, and a Firefox patient with a Chromium host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServers, createConsultation, api, buildDir } from './lib/servers.mjs';
import { launchChromium, launchFirefox, sleep } from './lib/browsers.mjs';
import { expectFromEach, inbound, recordPage } from './lib/tracks.mjs';

const artifacts = process.env.GPSFU_ARTIFACTS || join(buildDir, 'e2e-artifacts');
mkdirSync(artifacts, { recursive: true });

// Test-side, in the page before its scripts: a history of the screens main[data-screen] shows,
// so that a waiting room shown for a moment is seen however short it is.
const screenRecorder = `(() => {
  if (window.__e2eScreens) return;
  const seen = [];
  Object.defineProperty(window, '__e2eScreens', { value: seen });
  const watch = () => {
    const main = document.getElementById('main');
    if (!main) return;
    seen.push(main.dataset.screen);
    new MutationObserver(() => {
      if (seen[seen.length - 1] !== main.dataset.screen) seen.push(main.dataset.screen);
    }).observe(main, { attributes: true, attributeFilter: ['data-screen'] });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
  else watch();
})();`;

async function addInit(person, script) {
  if (person.kind === 'chromium') await person.page.addInitScript(script);
  else await person.page.evaluateOnNewDocument(script);
}

// Evaluates in a page that may be navigating: an error (context destroyed) reads as null.
async function tryEval(person, fn) {
  try {
    return await person.evaluate(fn);
  } catch {
    return null;
  }
}

// Polls fn every 100 ms until it returns something truthy; resolves to the time (ms since t0)
// it first did, or rejects after ms.
function timeUntil(what, t0, fn, ms) {
  return (async () => {
    const deadline = t0 + ms;
    for (;;) {
      const v = await fn();
      if (v) return Date.now() - t0;
      if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms`);
      await sleep(100);
    }
  })();
}

async function reloadMidCall(patientBrowser, tag) {
  const s = await startServers();
  const chromium = await launchChromium();
  const other = patientBrowser === 'firefox' ? await launchFirefox(s.base) : chromium;
  const logs = [];
  try {
    const c = await createConsultation(s, { kind: 'consultation' });
    const host = await chromium.person('host');
    const patient = await other.person('patient');
    for (const p of [host, patient]) logs.push(recordPage(p));
    await addInit(patient, screenRecorder);
    const joins = []; // the `joined` messages the patient's pages receive (Chromium only)
    if (patient.kind === 'chromium') {
      patient.page.on('websocket', (ws) => ws.on('framereceived', (f) => {
        try {
          const m = JSON.parse(String(f.payload));
          if (m.type === 'joined') joins.push(m.state);
        } catch { /* not JSON */ }
      }));
    }

    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText('Your video consultation');
    await patient.goto(c.links.patient);
    await patient.click('Join consultation');
    await patient.waitForText('Please wait, the clinician will let you in soon');
    await host.click('Admit Patient'); // the host's last action in this test
    await patient.waitForText('Your video consultation');
    await expectFromEach(host, ["Patient's video"]);
    await expectFromEach(patient, ["Clinician's video"]);

    // From here on nothing is done on the host's page, only read. Its waiting list is watched
    // so that the patient showing up there even for a moment is seen.
    await host.evaluate(() => {
      window.__e2eWaitingMax = 0;
      const list = document.getElementById('waiting-list');
      new MutationObserver(() => {
        window.__e2eWaitingMax = Math.max(window.__e2eWaitingMax, list.children.length);
      }).observe(list, { childList: true });
    });
    const hostBefore = await inbound(host);
    const oldVideo = new Set(hostBefore.filter((r) => r.kind === 'video').map((r) => `${r.key}/${r.ssrc}`));

    // The reload. The host's first frame from the patient's new connection: a video stream the
    // host did not have before (Chromium and Firefox make a new inbound-rtp for a new SSRC,
    // also in a reused m-section) with a frame decoded. The patient's: any frame on its new
    // page's connections.
    await patient.evaluate(() => { window.__e2eOldPage = true; });
    const t0 = Date.now();
    const hostFirst = timeUntil('the host decoding the patient again', t0, async () => {
      const now = await inbound(host);
      return now.some((r) => r.kind === 'video' && !oldVideo.has(`${r.key}/${r.ssrc}`) && r.framesDecoded > 0);
    }, 60000);
    const patientFirst = timeUntil('the patient decoding the host again', t0, () => tryEval(patient, async () => {
      if (window.__e2eOldPage) return false; // still the page from before the reload
      let frames = 0;
      for (const pc of window.__e2ePcs || []) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
        });
      }
      return frames > 0;
    }), 60000);
    hostFirst.catch(() => {});
    patientFirst.catch(() => {});
    await patient.page.reload({ waitUntil: 'load' });
    const tLoaded = Date.now() - t0;

    // The pre-call check again, then the person presses Join.
    assert.equal(await patient.visibleHeading(), 'Check your camera and microphone');
    const tClick = Date.now() - t0;
    await patient.click('Join consultation');
    await patient.waitForText('Your video consultation', 20000);
    const tCall = Date.now() - t0;
    const screens = await patient.evaluate(() => [...window.__e2eScreens]);
    assert.equal(screens[0], 'precall', `the reloaded page starts with its pre-call check: ${screens.join(' -> ')}`);
    assert.ok(!screens.includes('waiting'), `the patient never saw the waiting room after the reload: ${screens.join(' -> ')}`);
    assert.equal(screens[screens.length - 1], 'call', screens.join(' -> '));
    if (patient.kind === 'chromium') {
      assert.deepEqual(joins, ['waiting', 'admitted'], 'joined: waiting at first, admitted after the reload');
    }

    const [hostMs, patientMs] = await Promise.all([hostFirst, patientFirst]);
    console.log(`${tag}: reload -> page loaded ${tLoaded} ms, Join pressed at ${tClick} ms, call shown at ${tCall} ms; ` +
      `first frame decoded: host ${hostMs} ms, patient ${patientMs} ms after the reload ` +
      `(${hostMs - tClick} ms and ${patientMs - tClick} ms after Join); the patient's screens: ${screens.join(' -> ')}`);

    // Both decode each other again, rising; the host's stream that rises is the new one.
    const h = await expectFromEach(host, ["Patient's video"]);
    const p = await expectFromEach(patient, ["Clinician's video"]);
    const rising = h.inbound.filter((r) => r.kind === 'video' && !oldVideo.has(`${r.key}/${r.ssrc}`));
    assert.ok(rising.length === 1 && rising[0].framesDecoded > 10,
      `the host decodes the new stream: ${JSON.stringify(h.inbound)}`);
    console.log(`${tag}: after the reload the host has decoded ${rising[0].framesDecoded} frames of the patient's new video, ` +
      `the patient ${p.tiles["Clinician's video"].frames} of the clinician's`);

    const errors = logs.flatMap((l) => l.errors);
    assert.deepEqual(errors, [], `the server sent no error: ${JSON.stringify(errors)}`);
    assert.equal(await host.evaluate(() => window.__e2eWaitingMax), 0, 'the patient never appeared in the host\'s waiting room');
    const st = await api(s, 'GET', `/api/v1/consultations/${c.id}`);
    assert.equal(st.status, 200);
    assert.equal(st.json.in.length, 2, `both in: ${st.text}`);
    assert.equal(st.json.waiting.length, 0, `nobody waiting: ${st.text}`);
    await host.screenshot(join(artifacts, `reload-${tag}-host.png`));
    await patient.screenshot(join(artifacts, `reload-${tag}-patient.png`));
  } catch (e) {
    for (const l of logs) l.dump();
    s.dumpLogs();
    throw e;
  } finally {
    if (other !== chromium) await other.close();
    await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
}

test('Chromium patient reloads mid-call and is back in the call without the host doing anything',
  { timeout: 180000 }, () => reloadMidCall('chromium', 'chromium'));

test('Firefox patient reloads mid-call and is back in the call without the host doing anything',
  { timeout: 240000 }, () => reloadMidCall('firefox', 'firefox'));
