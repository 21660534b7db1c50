// (e) Three people (host, patient, interpreter) all see and hear each other. A consultation with
// one guest link (the interpreter) is booked through the API; the host joins, the patient and
// the guest wait, the host admits both. Each of the three then decodes video from both others
// and receives audio from both, counted per stream (lib/tracks.mjs), and sees two tiles named
// after the right people. The guest leaves: the other two keep decoding each other, the host's
// panel no longer lists the guest and both pages show one tile. The guest opens the same link
// again: they wait again (left -> waiting), the host admits them again, and all three see and
// hear each other again, which reuses the receiving connections' m-sections of the guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServers, createConsultation, api, buildDir } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { expectFromEach, tiles, inbound, recordPage } from './lib/tracks.mjs';

const artifacts = process.env.GPSFU_ARTIFACTS || join(buildDir, 'e2e-artifacts');
mkdirSync(artifacts, { recursive: true });

const VIDEO = { host: "Clinician's video", patient: "Patient's video", guest: "Guest 1's video" };

// Waits until the page's stage shows exactly these tiles (by accessible name), and checks that
// the count the stage publishes agrees.
async function expectTiles(person, names, ms = 20000) {
  const want = [...names].sort();
  const deadline = Date.now() + ms;
  for (;;) {
    const t = await tiles(person);
    const got = t.tiles.map((x) => x.name).sort();
    if (JSON.stringify(got) === JSON.stringify(want) && t.count === String(want.length)) break;
    if (Date.now() > deadline) {
      throw new Error(`${person.name}: tiles ${JSON.stringify(got)} (data-count ${t.count}), wanted ${JSON.stringify(want)}`);
    }
    await sleep(200);
  }
  // The names are accessible names, as a screen reader finds them.
  for (const name of names) {
    assert.equal(await person.page.getByLabel(name, { exact: true }).count(), 1, `${person.name}: one "${name}"`);
  }
  assert.equal(await person.page.locator('.remote-tile').count(), want.length);
  assert.equal(await person.page.locator(`#stage[data-count="${want.length}"]`).count(), 1);
}

async function screen(person) {
  return person.evaluate(() => document.getElementById('main').dataset.screen);
}

// The host panel's "In the consultation" and "Waiting room" lists, as text per row.
async function hostLists(host) {
  return host.evaluate(() => ({
    admitted: [...document.querySelectorAll('#admitted-list li')].map((li) => li.querySelector('.person-label').textContent),
    waiting: [...document.querySelectorAll('#waiting-list li')].map((li) => li.querySelector('.person-label').textContent),
  }));
}

async function waitFor(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms: ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

// The m-sections of the page's receiving connection (the one the server offers on): how many,
// and how many of them are inactive.
async function recvSections(person) {
  return person.evaluate(() => {
    const pc = (window.__e2ePcs || []).find((x) => x.connectionState !== 'closed' &&
      x.currentRemoteDescription && x.currentRemoteDescription.type === 'offer');
    const sdp = pc ? pc.currentRemoteDescription.sdp : '';
    return { sections: (sdp.match(/^m=/gm) || []).length, inactive: (sdp.match(/^a=inactive/gm) || []).length };
  });
}

async function participantStates(s, id) {
  const r = await api(s, 'GET', `/api/v1/consultations/${id}`);
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.participants.map((p) => [p.label, p.state]));
}

// Everyone in `people` decodes and hears each of the others, counted per stream.
async function allSeeEachOther(people, tag) {
  for (const p of people) {
    const others = people.filter((o) => o !== p).map((o) => VIDEO[o.name]);
    await expectTiles(p, others);
    const r = await expectFromEach(p, others);
    console.log(`${tag}: ${p.name} receives ${JSON.stringify(Object.fromEntries(Object.entries(r.tiles)
      .map(([n, t]) => [n, { frames: t.frames, audioBytes: t.audioBytes }])))}`);
  }
}

// Books the consultation, starts three Chromium people, and brings them to: host in the call,
// patient and guest waiting. beforeJoin(people) runs before anyone opens a page.
async function threeWaiting(s, chromium, logs, beforeJoin) {
  const c = await createConsultation(s, { kind: 'consultation', guests: 1 });
  assert.equal(c.links.guests.length, 1);
  const host = await chromium.person('host');
  const patient = await chromium.person('patient');
  const guest = await chromium.person('guest');
  for (const p of [host, patient, guest]) logs.push(recordPage(p));
  if (beforeJoin) await beforeJoin({ host, patient, guest });

  await host.goto(c.links.host);
  await host.click('Join consultation');
  await host.waitForText('Your video consultation');

  for (const p of [patient, guest]) {
    await p.goto(p === patient ? c.links.patient : c.links.guests[0]);
    await p.click('Join consultation');
    await p.waitForText('Please wait, the clinician will let you in soon');
  }
  await waitFor('the host lists both people as waiting', async () => {
    const l = await hostLists(host);
    return { ok: l.waiting.includes('Patient') && l.waiting.includes('Guest 1'), ...l };
  });
  assert.deepEqual(await participantStates(s, c.id), { Clinician: 'admitted', Patient: 'waiting', 'Guest 1': 'waiting' });
  return { c, host, patient, guest };
}

// No page was sent an `error` by the server.
function noErrors(logs) {
  const errors = logs.flatMap((l) => l.errors);
  assert.deepEqual(errors, [], `the server sent errors: ${JSON.stringify(errors)}`);
}

async function withServers(fn) {
  const s = await startServers();
  const chromium = await launchChromium();
  const logs = [];
  try {
    await fn(s, chromium, logs);
  } catch (e) {
    for (const l of logs) l.dump();
    s.dumpLogs();
    throw e;
  } finally {
    await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
}

test('host, patient and interpreter all see and hear each other; the interpreter leaves and comes back',
  { timeout: 300000 }, () => withServers(async (s, chromium, logs) => {
    const { c, host, patient, guest } = await threeWaiting(s, chromium, logs);

    // The clinician lets both in, one click after the other.
    await host.click('Admit Patient');
    await host.click('Admit Guest 1');
    await patient.waitForText('Your video consultation');
    await guest.waitForText('Your video consultation');
    for (const p of [host, patient, guest]) assert.equal(await screen(p), 'call');

    await allSeeEachOther([host, patient, guest], 'three');
    noErrors(logs);
    assert.deepEqual((await hostLists(host)).admitted.sort(), ['Clinician (you)', 'Guest 1', 'Patient']);
    for (const p of [host, patient, guest]) await p.screenshot(join(artifacts, `group-three-${p.name}.png`));
    const sectionsThree = { host: await recvSections(host), patient: await recvSections(patient) };
    assert.deepEqual(sectionsThree.host, { sections: 4, inactive: 0 }, 'the host receives 2 x (audio, video)');

    // The guest leaves.
    await guest.click('Leave');
    await guest.waitForText('You have left the consultation');
    assert.equal(await screen(guest), 'ended');
    await waitFor('the host panel no longer lists the guest', async () => {
      const l = await hostLists(host);
      return { ok: !l.admitted.includes('Guest 1') && !l.waiting.includes('Guest 1'), ...l };
    });
    assert.deepEqual((await hostLists(host)).admitted.sort(), ['Clinician (you)', 'Patient']);
    assert.equal((await participantStates(s, c.id))['Guest 1'], 'left');
    await allSeeEachOther([host, patient], 'after the guest left');
    const sectionsTwo = { host: await recvSections(host), patient: await recvSections(patient) };
    console.log(`receiving m-sections with three: ${JSON.stringify(sectionsThree)}; ` +
      `after the guest left: ${JSON.stringify(sectionsTwo)}`);
    for (const p of [host, patient]) await p.screenshot(join(artifacts, `group-two-${p.name}.png`));

    // The guest comes back with the same link ("Join again" reloads it): waiting again, and
    // in only when the host admits them again.
    await guest.click('Join again');
    await guest.click('Join consultation');
    await guest.waitForText('Please wait, the clinician will let you in soon');
    await waitFor('the host lists the guest as waiting again', async () => {
      const l = await hostLists(host);
      return { ok: l.waiting.includes('Guest 1') && !l.admitted.includes('Guest 1'), ...l };
    });
    assert.equal((await participantStates(s, c.id))['Guest 1'], 'waiting');
    await sleep(1000);
    assert.equal(await screen(guest), 'waiting', 'the guest is still waiting: nobody admitted them');
    // Waiting means nothing forwarded either way: the guest decodes nobody, nobody shows them.
    assert.equal((await inbound(guest)).reduce((n, r) => n + r.framesDecoded, 0), 0, 'the waiting guest decodes nothing');
    await expectTiles(host, [VIDEO.patient]);
    await expectTiles(patient, [VIDEO.host]);
    await host.click('Admit Guest 1');
    await guest.waitForText('Your video consultation');
    await allSeeEachOther([host, patient, guest], 'guest back');
    noErrors(logs);
    assert.deepEqual((await hostLists(host)).admitted.sort(), ['Clinician (you)', 'Guest 1', 'Patient']);
    for (const p of [host, patient, guest]) await p.screenshot(join(artifacts, `group-back-${p.name}.png`));
    // PROTOCOL.md: the m-sections of someone who left become inactive and are reused, so the
    // guest's return adds none to the connections that stayed up.
    const sectionsBack = { host: await recvSections(host), patient: await recvSections(patient) };
    console.log(`receiving m-sections after the guest came back: ${JSON.stringify(sectionsBack)}`);
    assert.deepEqual(sectionsBack, sectionsThree, 'the guest\'s m-sections were reused, none added');
  }));

// The same admissions with the timing pinned down: the guest is admitted while the patient's
// answer to their first receiving offer is still on its way (held back here, as a slow mobile
// connection would). The patient must still end up receiving both others: the server's next
// offer adds the guest once that answer is in.
test('the second admission arrives while the first admitted person\'s receiving answer is in flight',
  { timeout: 180000 }, () => withServers(async (s, chromium, logs) => {
    let held = null; // the patient's first `answer` (pc recv), until released
    let heldSeen;
    const heldPromise = new Promise((ok) => { heldSeen = ok; });
    const { host, patient, guest } = await threeWaiting(s, chromium, logs, async ({ patient: p }) => {
      await p.page.routeWebSocket(/\/ws$/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((message) => {
          if (!held && typeof message === 'string' && /"type":"answer"/.test(message) && /"pc":"recv"/.test(message)) {
            held = { message, server };
            heldSeen();
            return;
          }
          server.send(message);
        });
        server.onMessage((message) => ws.send(message));
      });
    });

    await host.click('Admit Patient');
    await heldPromise; // the patient has its offer (version 1: the clinician) and has answered
    await host.click('Admit Guest 1');
    await guest.waitForText('Your video consultation');
    await waitFor('the host lists the guest in the call', async () => {
      const l = await hostLists(host);
      return { ok: l.admitted.includes('Guest 1'), ...l };
    });
    await sleep(1000);
    held.server.send(held.message); // the answer arrives, late

    await allSeeEachOther([host, patient, guest], 'late answer');
    noErrors(logs);
  }));
