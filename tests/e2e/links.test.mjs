// (d) Tampered, expired, unknown, other-consultation, garbage and ended-consultation links are
// refused: a program gets the status and code API.md gives, a person (a real Chromium page) a
// page that says what happened and never a way into a call. A used single-use link works only in
// the browser that used it. (b) A patient's (or guest's) WebSocket cannot act as host: admit,
// deny, remove and mute are refused and change nothing. And the practice API's refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServers, createConsultation, api } from './lib/servers.mjs';
import { launchChromium } from './lib/browsers.mjs';
import { readSecret, tokenOf, claimsOf, sign, randomJti, flipChar, joinPath } from './lib/tokens.mjs';

const WAITING = 'Please wait, the clinician will let you in soon';
const PRECALL = 'Check your camera and microphone';
const IN_CALL = 'Your video consultation';

// Runs body(s, chromium) against a fresh server pair (and a Chromium when asked); prints the
// servers' logs on failure, and always checks that both servers then stop cleanly.
async function withServers(body, { browser = true } = {}) {
  const s = await startServers();
  let chromium = null;
  try {
    if (browser) chromium = await launchChromium();
    await body(s, chromium);
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    if (chromium) await chromium.close();
    const codes = await s.stop();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
}

// What a program gets for a link: GET with Accept: application/json, no cookie.
async function programOpens(s, token) {
  const r = await fetch(s.base + joinPath(token), { headers: { Accept: 'application/json' } });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* left null: asserted by the caller */ }
  return { status: r.status, type: r.headers.get('content-type') || '', json, text };
}

// What a person sees for a link: a Chromium page of its own (own cookies) navigating to it.
async function personOpens(chromium, s, token, name) {
  const p = await chromium.person(name);
  const resp = await p.goto(s.base + joinPath(token));
  const seen = await p.page.evaluate(() => ({
    heading: [...document.querySelectorAll('h1')].filter((e) => e.offsetParent !== null).map((e) => e.textContent.trim()),
    text: document.body.innerText,
    title: document.title,
  }));
  const joinButtons = await p.page.getByRole('button', { name: 'Join consultation' }).count();
  const anyButtons = await p.page.getByRole('button').count();
  return { p, status: resp.status(), type: resp.headers()['content-type'] || '', ...seen, joinButtons, anyButtons };
}

async function closePerson(p) {
  await p.page.context().close();
}

async function consultationState(s, id) {
  const r = await api(s, 'GET', `/api/v1/consultations/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('refused links: a program gets the status and code, a person a page that says so and no way in',
  { timeout: 120000 }, () => withServers(async (s, chromium) => {
    const a = await createConsultation(s, { kind: 'consultation', guests: 1 });
    const b = await createConsultation(s, { kind: 'consultation' });
    const e = await createConsultation(s, { kind: 'consultation' });
    const secret = readSecret(s);
    const tokA = tokenOf(a.links.patient);
    const claimsA = claimsOf(tokA);
    const now = Math.floor(Date.now() / 1000);

    // The forging below is only meaningful if this test signs exactly as the service does.
    assert.equal(sign(secret, claimsA), tokA, 'the test signs tokens the way the service does');
    assert.equal(claimsA.c, a.id);
    assert.equal(claimsA.r, 'patient');

    // A real link works for a program, and opening it does not use it.
    const good = await programOpens(s, tokA);
    assert.equal(good.status, 200, good.text);
    assert.deepEqual(good.json, { consultation: a.id, role: 'patient' });

    const del = await api(s, 'DELETE', `/api/v1/consultations/${e.id}`);
    assert.equal(del.status, 204, del.text);

    const badToken = {
      status: 401, code: 'bad_token', heading: 'This link does not work',
      words: ['link', 'incomplete or has been changed', 'GP practice'],
    };
    const kinds = [
      { kind: 'tampered signature', token: flipChar(tokA, 'signature'), ...badToken },
      { kind: 'tampered payload', token: flipChar(tokA, 'payload'), ...badToken },
      {
        kind: 'expired', token: sign(secret, { ...claimsA, iat: now - 7200, exp: now - 3600 }),
        status: 401, code: 'link_expired', heading: 'This link has expired',
        words: ['link', 'no longer valid', 'GP practice'],
      },
      { kind: 'unknown (validly signed, never issued)', token: sign(secret, { ...claimsA, jti: randomJti() }), ...badToken },
      {
        kind: 'other consultation (B named, A\'s patient jti)', token: sign(secret, { ...claimsA, c: b.id }),
        status: 403, code: 'forbidden', heading: 'You cannot join this appointment',
        words: ['link', 'cannot be used to join this appointment', 'GP practice'],
      },
      { kind: 'garbage', token: 'abc', ...badToken },
      {
        kind: 'ended consultation', token: tokenOf(e.links.patient),
        status: 410, code: 'consultation_ended', heading: 'This appointment has ended',
        words: ['appointment has ended', 'GP practice'],
      },
    ];
    assert.notEqual(kinds[0].token, tokA);
    assert.notEqual(kinds[1].token, tokA);

    for (const k of kinds) {
      // (i) A program.
      const r = await programOpens(s, k.token);
      assert.equal(r.status, k.status, `${k.kind}: program status; body ${r.text}`);
      assert.match(r.type, /^application\/json/, `${k.kind}: JSON for a program`);
      assert.ok(r.json && r.json.error, `${k.kind}: an error object: ${r.text}`);
      assert.equal(r.json.error.code, k.code, `${k.kind}: error code`);
      assert.ok(typeof r.json.error.message === 'string' && r.json.error.message.length > 10,
        `${k.kind}: a message: ${r.text}`);
      if (k.token.length > 10) assert.ok(!r.text.includes(k.token), `${k.kind}: the answer does not echo the token`);

      // (ii) A person.
      const v = await personOpens(chromium, s, k.token, k.kind);
      try {
        assert.equal(v.status, k.status, `${k.kind}: page status`);
        assert.match(v.type, /^text\/html/, `${k.kind}: a page for a person`);
        assert.deepEqual(v.heading, [k.heading], `${k.kind}: the page's heading; page says:\n${v.text}`);
        for (const w of k.words) assert.ok(v.text.includes(w), `${k.kind}: the page says "${w}"; it says:\n${v.text}`);
        assert.ok(v.title.length > 0, `${k.kind}: the page has a title`);
        assert.equal(v.joinButtons, 0, `${k.kind}: no "Join consultation" button`);
        assert.equal(v.anyButtons, 0, `${k.kind}: nothing to press at all`);
      } finally {
        await closePerson(v.p);
      }
    }

    // Nobody got into any of the consultations, and the real link was not used up by its
    // forged copies: a program can still open it, and A and B have nobody waiting or in.
    for (const c of [a, b]) {
      const st = await consultationState(s, c.id);
      assert.deepEqual(st.waiting, [], `nobody waiting in ${c.id}`);
      assert.deepEqual(st.in, [], `nobody in ${c.id}`);
      for (const p of st.participants) assert.equal(p.state, 'invited', `${p.label} of ${c.id} still only invited`);
    }
    const still = await programOpens(s, tokA);
    assert.equal(still.status, 200, `the real link still opens: ${still.text}`);
    const ended = await consultationState(s, e.id);
    assert.equal(ended.state, 'ended');
  }));

test('a used link opens only in the browser that used it; a reload there gets back in',
  { timeout: 120000 }, () => withServers(async (s, chromium) => {
    const c = await createConsultation(s, { kind: 'consultation' });
    const tok = tokenOf(c.links.patient);
    const patientId = claimsOf(tok).jti;

    const first = await chromium.person('patient, first device');
    const r1 = await first.goto(c.links.patient);
    assert.equal(r1.status(), 200);
    assert.equal(await first.visibleHeading(), PRECALL);
    await first.click('Join consultation');
    await first.waitForText(WAITING);
    let st = await consultationState(s, c.id);
    assert.deepEqual(st.waiting, [patientId], 'the patient is in the waiting room');

    // Another device (another context: other cookies) is refused, as a person and as a program.
    const other = await personOpens(chromium, s, tok, 'patient, second device');
    try {
      assert.equal(other.status, 403, 'a used link on another device: 403');
      assert.deepEqual(other.heading, ['This link has already been used'], `page says:\n${other.text}`);
      assert.ok(other.text.includes('already been used on another device'), other.text);
      assert.ok(other.text.includes('GP practice'), other.text);
      assert.equal(other.joinButtons, 0, 'no "Join consultation" button on the other device');
    } finally {
      await closePerson(other.p);
    }
    const prog = await programOpens(s, tok);
    assert.equal(prog.status, 403, prog.text);
    assert.equal(prog.json?.error?.code, 'link_used', prog.text);

    // The first browser, reloaded (same cookie), gets the pre-call page and back into the
    // waiting room.
    const r2 = await first.page.reload({ waitUntil: 'load' });
    assert.equal(r2.status(), 200, 'the first browser is let in again after a reload');
    await first.waitForText(PRECALL);
    assert.equal(await first.visibleHeading(), PRECALL);
    await first.click('Join consultation');
    await first.waitForText(WAITING);
    assert.equal(await first.visibleHeading(), WAITING);
    st = await consultationState(s, c.id);
    assert.deepEqual(st.waiting, [patientId], 'the patient is back in the waiting room');

    // And the other device is still refused afterwards.
    const again = await personOpens(chromium, s, tok, 'patient, second device again');
    try {
      assert.equal(again.status, 403);
      assert.equal(again.joinButtons, 0);
    } finally {
      await closePerson(again.p);
    }
  }));

// Runs in a participant's page, as any script there could: a second WebSocket to /ws (the
// browser sends the page's session cookie with it), `join` with the token, then each of
// actions ({type, participant}) with an id, collecting what answers each one.
async function rogueSocket({ token, actions, ms }) {
  const url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws';
  const ws = new WebSocket(url, 'gpsfu-v1');
  const got = [];
  (window.__e2eRogue ||= []).push(ws); // kept open: the seat stays taken
  ws.onmessage = (ev) => got.push(JSON.parse(ev.data));
  await new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error('the socket did not open')), ms);
    ws.onopen = () => { clearTimeout(t); ok(); };
    ws.onerror = () => { clearTimeout(t); fail(new Error('the socket failed')); };
  });
  const waitFor = (pred, what) => new Promise((ok, fail) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      const m = got.find(pred);
      if (m) return ok(m);
      if (Date.now() > deadline) return fail(new Error(`${what} not received within ${ms} ms: ${JSON.stringify(got)}`));
      setTimeout(tick, 50);
    };
    tick();
  });
  ws.send(JSON.stringify({ type: 'join', token, id: 1 }));
  const joined = await waitFor((m) => m.type === 'joined' || m.type === 'ended' || (m.type === 'error' && m.re === 1), 'joined');
  const roster = joined.type === 'joined' ? await waitFor((m) => m.type === 'roster', 'roster') : null;
  const answers = [];
  let id = 10;
  for (const a of actions) {
    const msg = { type: a.type, participant: a.participant, id: ++id };
    ws.send(JSON.stringify(msg));
    answers.push({ sent: msg, answer: await waitFor((m) => m.re === id, `an answer to ${a.type}`) });
  }
  // A moment for anything the actions might have caused to arrive.
  await new Promise((ok) => setTimeout(ok, 1000));
  return { joined, roster, answers, all: got, open: ws.readyState === WebSocket.OPEN };
}

// Who the host's page lists, from its People panel.
function hostPanel(host) {
  return host.page.evaluate(() => [...document.querySelectorAll('#host-panel li[data-participant]')].map((li) => ({
    id: li.dataset.participant,
    label: li.querySelector('.person-label').textContent.trim(),
    list: li.closest('ul').id,
  })));
}

async function expectButton(person, name, ms = 15000) {
  await person.page.getByRole('button', { name, exact: true }).waitFor({ state: 'visible', timeout: ms });
}

function expectAllForbidden(result, who) {
  assert.equal(result.joined.type, 'joined', `${who}'s second socket joined: ${JSON.stringify(result.all)}`);
  for (const { sent, answer } of result.answers) {
    assert.equal(answer.type, 'error', `${who}: ${sent.type} is answered with an error: ${JSON.stringify(answer)}`);
    assert.equal(answer.code, 'forbidden', `${who}: ${sent.type} is forbidden: ${JSON.stringify(answer)}`);
    assert.equal(answer.re, sent.id, `${who}: the error names the message`);
    assert.equal(typeof answer.message, 'string');
  }
  assert.ok(result.open, `${who}: the socket stays open after forbidden (PROTOCOL.md)`);
  assert.ok(!result.all.some((m) => m.type === 'state' && m.state === 'admitted'), `${who} was not admitted`);
  assert.ok(!result.all.some((m) => m.type === 'ended'), `${who}'s socket was not ended`);
}

test('a patient\'s or guest\'s WebSocket cannot admit, deny, remove or mute',
  { timeout: 120000 }, () => withServers(async (s, chromium) => {
    const c = await createConsultation(s, { kind: 'consultation', guests: 1 });
    const host = await chromium.person('host');
    const patient = await chromium.person('patient');
    const guest = await chromium.person('guest');

    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText(IN_CALL);
    await patient.goto(c.links.patient);
    await patient.click('Join consultation');
    await patient.waitForText(WAITING);
    await guest.goto(c.links.guests[0]);
    await guest.click('Join consultation');
    await guest.waitForText(WAITING);
    await expectButton(host, 'Admit Patient');
    await expectButton(host, 'Admit Guest 1');

    // The ids, as the host's page shows them, checked against the API.
    const rows = await hostPanel(host);
    const row = (label) => rows.find((r) => r.label === label);
    assert.ok(row('Clinician (you)') && row('Patient') && row('Guest 1'), `the host's panel: ${JSON.stringify(rows)}`);
    const hostId = row('Clinician (you)').id;
    const patientId = row('Patient').id;
    const guestId = row('Guest 1').id;
    const st0 = await consultationState(s, c.id);
    const byLabel = Object.fromEntries(st0.participants.map((p) => [p.label, p]));
    assert.equal(byLabel.Clinician.id, hostId);
    assert.equal(byLabel.Patient.id, patientId);
    assert.equal(byLabel['Guest 1'].id, guestId);

    // The patient's page opens its own socket and tries the host's actions.
    const fromPatient = await patient.evaluate(rogueSocket, {
      token: tokenOf(c.links.patient),
      ms: 10000,
      actions: [
        { type: 'admit', participant: guestId },
        { type: 'remove', participant: hostId },
        { type: 'mute', participant: hostId },
        { type: 'deny', participant: guestId },
        { type: 'admit', participant: patientId },
      ],
    });
    expectAllForbidden(fromPatient, 'the patient');
    assert.equal(fromPatient.joined.role, 'patient');
    assert.equal(fromPatient.joined.participant, patientId);
    assert.equal(fromPatient.joined.state, 'waiting');
    const seen = fromPatient.roster.participants;
    // A waiting patient's roster is about themself only: the socket learns nobody else's id.
    assert.ok(seen.some((p) => p.id === patientId && p.self), `the patient's roster names them: ${JSON.stringify(seen)}`);
    assert.ok(!seen.some((p) => p.id === guestId), `a patient is not told who else is waiting: ${JSON.stringify(seen)}`);

    // Nothing changed: the guest still waits (both pages say so), the host is still in the call
    // and was not muted.
    assert.equal(await guest.visibleHeading(), WAITING, 'the guest still sees the waiting room');
    await expectButton(host, 'Admit Guest 1', 3000);
    await expectButton(host, 'Admit Patient', 3000);
    assert.equal(await host.visibleHeading(), IN_CALL, 'the host is still in the call');
    assert.equal(await host.page.locator('#mute-button').getAttribute('aria-pressed'), 'false', 'the host was not muted');
    let st = await consultationState(s, c.id);
    assert.deepEqual(st.in, [hostId], 'only the host is in the call');
    assert.deepEqual([...st.waiting].sort(), [patientId, guestId].sort(), 'the patient and the guest are waiting');

    // A guest's socket cannot admit itself either (nor the patient).
    const fromGuest = await guest.evaluate(rogueSocket, {
      token: tokenOf(c.links.guests[0]),
      ms: 10000,
      actions: [
        { type: 'admit', participant: guestId },
        { type: 'admit', participant: patientId },
        { type: 'remove', participant: hostId },
      ],
    });
    expectAllForbidden(fromGuest, 'the guest');
    assert.equal(fromGuest.joined.role, 'guest');
    assert.equal(fromGuest.joined.state, 'waiting');
    await expectButton(host, 'Admit Guest 1', 3000);
    st = await consultationState(s, c.id);
    assert.deepEqual(st.in, [hostId], 'still only the host is in the call');
    assert.equal(st.participants.find((p) => p.id === guestId).state, 'waiting', 'the guest still waits');
    assert.equal(await host.visibleHeading(), IN_CALL, 'the host is still in the call');

    // The same action from the host is honoured: the refusals were about who asked.
    await host.click('Admit Guest 1');
    const deadline = Date.now() + 10000;
    for (;;) {
      st = await consultationState(s, c.id);
      if (st.in.includes(guestId)) break;
      assert.ok(Date.now() < deadline, `the host's admit took effect: ${JSON.stringify(st)}`);
      await new Promise((ok) => setTimeout(ok, 200));
    }
  }));

test('the API refuses a program without a valid key, bad bodies and unknown consultations',
  { timeout: 60000 }, () => withServers(async (s) => {
    const c = await createConsultation(s, { kind: 'consultation' });
    const raw = async (method, path, body, headers = {}) => {
      const r = await fetch(s.base + path, { method, headers, body });
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* left null */ }
      return { status: r.status, json, text, headers: r.headers };
    };

    // Wrong key, missing key: 401 with WWW-Authenticate, on every path (existing or not).
    for (const [what, key] of [['a wrong key', randomBytes(32).toString('hex')], ['no key', null]]) {
      for (const [method, path, body] of [
        ['POST', '/api/v1/consultations', {}],
        ['GET', `/api/v1/consultations/${c.id}`, undefined],
        ['DELETE', `/api/v1/consultations/${c.id}`, undefined],
        ['GET', '/api/v1/nothing-here', undefined],
      ]) {
        const r = await api(s, method, path, body, key);
        assert.equal(r.status, 401, `${what}, ${method} ${path}: ${r.text}`);
        assert.match(r.headers.get('www-authenticate') || '', /^Bearer\b/i, `${what}, ${method} ${path}: WWW-Authenticate`);
        assert.equal(r.json?.error?.code, 'unauthorized', r.text);
        assert.ok(!r.text.includes(c.id), 'a refusal tells nothing about the consultation');
      }
    }
    // The refused DELETEs did nothing.
    assert.equal((await consultationState(s, c.id)).state, 'live');

    const auth = { Authorization: `Bearer ${s.key}`, 'Content-Type': 'application/json' };
    // Bad JSON: 400 with the reason.
    const bad = await raw('POST', '/api/v1/consultations', '{"guests":', auth);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json?.error?.code, 'bad_json', bad.text);
    assert.match(bad.json.error.message, /not valid JSON/, bad.text);
    const notObject = await raw('POST', '/api/v1/consultations', '[1]', auth);
    assert.equal(notObject.status, 400, notObject.text);
    assert.equal(notObject.json?.error?.code, 'bad_json');
    assert.match(notObject.json.error.message, /object/);

    // An unknown member: 400 naming it.
    const unknown = await api(s, 'POST', '/api/v1/consultations', { guest: 1 });
    assert.equal(unknown.status, 400, unknown.text);
    assert.equal(unknown.json?.error?.code, 'unknown_member', unknown.text);
    assert.equal(unknown.json.error.member, 'guest', unknown.text);
    assert.match(unknown.json.error.message, /"guest"/, unknown.text);

    // An unknown consultation (well formed, and malformed): 404.
    for (const id of ['c' + randomBytes(12).toString('hex'), 'not-an-id']) {
      const r = await api(s, 'GET', `/api/v1/consultations/${id}`);
      assert.equal(r.status, 404, `${id}: ${r.text}`);
      assert.equal(r.json?.error?.code, 'not_found', r.text);
    }
  }, { browser: false }));
