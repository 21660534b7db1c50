// (a) Invitations: the practice asks signalling to send a patient's link by SMS or email; the
// message reaches stand-ins speaking the real protocols on loopback (GOV.UK Notify's HTTP API,
// an SMTP relay with STARTTLS and AUTH), carries the practice's name, the appointment time and a
// link that opens the join page in a real Chromium. A Notify answering 500 then 201 shows the
// retry; a 400 (and an SMTP 550) a failure with no retry; a restart resumes a pending one. Bad
// numbers and addresses are refused with their codes, and neither a number nor an address ever
// reaches signalling's log, even at debug level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServers, createConsultation, api } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { startNotify, startSmtp, makeCert, secretFile, parseMail } from './lib/invite_standins.mjs';

const PRACTICE = 'Riverside Surgery';
const FROM = 'Riverside Surgery <noreply@riverside.example>';
const SMTP_USER = 'gpsfu-relay';
const SMTP_PASS = 'relay-password-0123456789';
const PRECALL = 'Check your camera and microphone';
// Destinations (fictional: Ofcom's drama range, example.org). None may appear in the log.
const PHONE = '07700 900123';
const PHONE_E164 = '+447700900123';
const EMAIL = 'pat.smith@example.org';

// The appointment time as the service writes it: "Tuesday 1 December 2026 at 09:30 GMT", in
// Europe/London (the default timezone).
function londonTime(date) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  }).formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.weekday} ${parts.day} ${parts.month} ${parts.year} at ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

// Everything a run needs: the stand-ins, the secret files, and the flags that point signalling
// at them.
async function standIns() {
  const dir = mkdtempSync(join(tmpdir(), 'gpsfu-invite-'));
  const notify = await startNotify();
  const cert = makeCert(dir);
  const smtp = await startSmtp({ cert, user: SMTP_USER, pass: SMTP_PASS });
  const sigArgs = [
    '--log-level', 'debug', '--practice-name', PRACTICE, '--invite-retry-base', '100',
    '--sms-base-url', notify.url, '--sms-api-key-file', secretFile(dir, 'notify.key', `${notify.key}\n`),
    '--sms-template-id', notify.templateId,
    '--smtp-url', smtp.url, '--smtp-user', SMTP_USER,
    '--smtp-password-file', secretFile(dir, 'smtp.password', `${SMTP_PASS}\n`),
    '--smtp-from', FROM, '--smtp-ca-file', cert.cert,
  ];
  const close = async () => {
    await notify.close();
    await smtp.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, notify, smtp, sigArgs, close };
}

async function consultation(s, id) {
  const r = await api(s, 'GET', `/api/v1/consultations/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

// Waits until the invitation has left the queue (sent or failed) and returns it as GET shows it.
async function settled(s, cid, iid, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const c = await consultation(s, cid);
    const inv = c.invitations.find((i) => i.id === iid);
    assert.ok(inv, `invitation ${iid} is listed`);
    if (inv.status === 'sent' || inv.status === 'failed') return { c, inv };
    assert.ok(Date.now() < deadline, `invitation still ${inv.status} after ${ms} ms: ${JSON.stringify(inv)}`);
    await sleep(100);
  }
}

async function invite(s, cid, body) {
  return api(s, 'POST', `/api/v1/consultations/${cid}/invite`, body);
}

function linkIn(text, base) {
  const m = text.match(new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/join/[A-Za-z0-9_.-]+`));
  return m ? m[0] : null;
}

// Nothing of the destinations may reach the log: neither as typed, nor normalised, nor in part.
function assertNoDestinationsLogged(s, extra = []) {
  const log = s.logs.join('');
  for (const needle of ['7700900123', '7700 900123', '900123', 'pat.smith', EMAIL, 'kim@example.net', ...extra])
    assert.ok(!log.includes(needle), `signalling's log holds "${needle}"`);
}

test('invitations by SMS and email: delivered, the link works, retried and failed as they should, nothing logged',
  { timeout: 180000 }, async (t) => {
    const x = await standIns();
    const s = await startServers({ sigArgs: x.sigArgs }).catch(async (e) => { await x.close(); throw e; });
    let chromium = null;
    try {
      const startsAt = new Date(Math.ceil(Date.now() / 60000) * 60000 + 2 * 3600 * 1000);
      const when = londonTime(startsAt);
      // No patient link at booking: the invitation makes the patient's link, so the invited
      // person is "Patient".
      const c = await createConsultation(s, { kind: 'consultation', patients: 0, starts_at: startsAt.toISOString() });

      await t.test('SMS: Notify gets the number, the template, the practice, the time and a working link', async () => {
        const r = await invite(s, c.id, { channel: 'sms', phone: PHONE });
        assert.equal(r.status, 202, r.text);
        assert.equal(r.json.status, 'queued');
        assert.equal(r.json.channel, 'sms');
        assert.equal(r.json.role, 'patient');
        assert.equal(r.json.attempts, 0);
        assert.equal(r.json.destination, '•••• 123');
        assert.match(r.json.id, /^i[0-9a-f]{24}$/);
        assert.ok(!r.text.includes('7700') && !r.text.includes('900123'), 'the answer holds no number');

        const { c: after, inv } = await settled(s, c.id, r.json.id);
        assert.equal(inv.status, 'sent');
        assert.equal(inv.attempts, 1);
        assert.equal(inv.last_error, null);
        assert.equal(inv.destination, '•••• 123');
        const seat = after.participants.find((p) => p.id === inv.participant);
        assert.ok(seat, 'the invitation names its participant');
        assert.deepEqual([seat.role, seat.label, seat.state], ['patient', 'Patient', 'invited']);

        assert.equal(x.notify.received.length, 1);
        const req = x.notify.received[0];
        assert.equal(req.jwtError, null, 'the JWT is signed with the key\'s secret and names the service');
        assert.equal(req.contentType, 'application/json');
        assert.equal(req.body.phone_number, PHONE_E164);
        assert.equal(req.body.template_id, x.notify.templateId);
        assert.equal(req.body.reference, inv.id);
        assert.equal(req.body.personalisation.practice, PRACTICE);
        assert.equal(req.body.personalisation.time, when);
        const link = req.body.personalisation.link;
        assert.equal(linkIn(link, s.base), link, `the link is BASE/join/TOKEN: ${link}`);

        // The link as a phone opens it: the join page, and in a real browser the pre-call check.
        const page = await fetch(link, { headers: { Accept: 'text/html' } });
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type'), /text\/html/);
        assert.ok((await page.text()).includes(PRECALL));
        chromium = await launchChromium();
        const patient = await chromium.person('patient');
        const resp = await patient.goto(link);
        assert.equal(resp.status(), 200);
        await patient.waitForText(PRECALL);
        assert.equal(await patient.visibleHeading(), PRECALL);
      });

      await t.test('email: STARTTLS, AUTH, the envelope, the headers, and the same working link', async () => {
        const r = await invite(s, c.id, { channel: 'email', email: EMAIL, role: 'guest' });
        assert.equal(r.status, 202, r.text);
        assert.equal(r.json.destination, 'p•••@example.org');
        assert.equal(r.json.role, 'guest');
        const { inv } = await settled(s, c.id, r.json.id);
        assert.equal(inv.status, 'sent', JSON.stringify(inv));
        assert.equal(inv.attempts, 1);

        assert.equal(x.smtp.messages.length, 1);
        const m = x.smtp.messages[0];
        assert.equal(m.tls, true, 'STARTTLS before anything else');
        assert.deepEqual([m.user, m.pass], [SMTP_USER, SMTP_PASS]);
        assert.equal(m.mailFrom, '<noreply@riverside.example>');
        assert.deepEqual(m.rcpt, [`<${EMAIL}>`]);
        assert.ok(!/[^\r]\n/.test(m.data), 'every line ends in CRLF');
        const { headers, body } = parseMail(m.data);
        assert.equal(headers.from, '"Riverside Surgery" <noreply@riverside.example>');
        assert.equal(headers.to, EMAIL);
        assert.equal(headers.subject, `Your video consultation with ${PRACTICE}`);
        assert.ok(Math.abs(Date.parse(headers.date) - Date.now()) < 60000, `Date: ${headers.date}`);
        assert.match(headers['message-id'], /^<[0-9a-f]{32}@riverside\.example>$/);
        assert.equal(headers['mime-version'], '1.0');
        assert.equal(headers['content-type'], 'text/plain; charset=utf-8');
        assert.equal(headers['content-transfer-encoding'], '8bit');
        assert.ok(body.includes(PRACTICE), 'the body names the practice');
        assert.ok(body.includes(`When: ${when}`), `the body gives the time: ${body}`);
        const link = linkIn(body, s.base);
        assert.ok(link, 'the body carries the link');
        const page = await fetch(link, { headers: { Accept: 'text/html' } });
        assert.equal(page.status, 200);
        assert.ok((await page.text()).includes(PRECALL));
      });

      await t.test('Notify answers 500 then 201: retried once, sent, attempts 2', async () => {
        const before = x.notify.received.length;
        x.notify.plan(500);
        const r = await invite(s, c.id, { channel: 'sms', phone: '+44 7700 900456' });
        assert.equal(r.status, 202, r.text);
        const { inv } = await settled(s, c.id, r.json.id);
        assert.equal(inv.status, 'sent');
        assert.equal(inv.attempts, 2);
        assert.equal(inv.last_error, 'http_500', 'the last error of the retried attempt stays for the record');
        const reqs = x.notify.received.slice(before);
        assert.equal(reqs.length, 2);
        assert.ok(reqs.every((q) => q.jwtError === null && q.body.reference === inv.id));
        assert.ok(reqs[1].at - reqs[0].at >= 90, `the retry waited for invite-retry-base (${reqs[1].at - reqs[0].at} ms)`);
      });

      await t.test('Notify answers 400: failed at once, no retry', async () => {
        const before = x.notify.received.length;
        x.notify.plan(400);
        const r = await invite(s, c.id, { channel: 'sms', phone: '07700900789' });
        assert.equal(r.status, 202, r.text);
        const { inv } = await settled(s, c.id, r.json.id);
        assert.equal(inv.status, 'failed');
        assert.equal(inv.attempts, 1);
        assert.equal(inv.last_error, 'http_400');
        await sleep(1000); // past every retry the base delay would give
        assert.equal(x.notify.received.length - before, 1, 'no second request');
        assert.equal((await settled(s, c.id, r.json.id)).inv.attempts, 1);
      });

      await t.test('the relay refuses the recipient (550): failed at once; 451 then 250: retried', async () => {
        x.smtp.rcptPlan(550);
        let r = await invite(s, c.id, { channel: 'email', email: 'kim@example.net' });
        assert.equal(r.status, 202, r.text);
        let { inv } = await settled(s, c.id, r.json.id);
        assert.deepEqual([inv.status, inv.attempts, inv.last_error], ['failed', 1, 'smtp_550']);

        x.smtp.rcptPlan(451);
        r = await invite(s, c.id, { channel: 'email', email: 'kim@example.net' });
        ({ inv } = await settled(s, c.id, r.json.id));
        assert.deepEqual([inv.status, inv.attempts, inv.last_error], ['sent', 2, 'smtp_451']);
      });

      await t.test('bad numbers, addresses and requests: 400 with their codes; 404 and 405', async () => {
        const cases = [
          [{ channel: 'sms', phone: '01632 960123' }, 'not_mobile', 'phone'],
          [{ channel: 'sms', phone: '+44 1632 960123' }, 'not_mobile', 'phone'],
          [{ channel: 'sms', phone: '07700 90012' }, 'invalid_phone', 'phone'],
          [{ channel: 'sms', phone: '07700-900123' }, 'invalid_phone', 'phone'],
          [{ channel: 'sms', phone: '7700900123' }, 'invalid_phone', 'phone'],
          [{ channel: 'sms', phone: '+1 555' }, 'invalid_phone', 'phone'],
          [{ channel: 'sms', phone: 7700900123 }, 'invalid_value', 'phone'],
          [{ channel: 'sms' }, 'missing_member', 'phone'],
          [{ channel: 'sms', phone: PHONE, email: EMAIL }, 'invalid_value', 'email'],
          [{ channel: 'email', email: 'pat.smith@@example.org' }, 'invalid_email', 'email'],
          [{ channel: 'email', email: 'pat smith@example.org' }, 'invalid_email', 'email'],
          [{ channel: 'email', email: 'pat.smith@localhost' }, 'invalid_email', 'email'],
          [{ channel: 'email', email: 'pat.smith@example.org\r\nBcc: x@example.org' }, 'invalid_email', 'email'],
          [{ channel: 'email', email: `${'a'.repeat(250)}@example.org` }, 'invalid_email', 'email'],
          [{ channel: 'fax', phone: PHONE }, 'invalid_value', 'channel'],
          [{ phone: PHONE }, 'missing_member', 'channel'],
          [{ channel: 'sms', phone: PHONE, role: 'observer' }, 'invalid_value', 'role'],
          [{ channel: 'sms', phone: PHONE, name: 'Pat' }, 'unknown_member', 'name'],
        ];
        for (const [body, code, member] of cases) {
          const r = await invite(s, c.id, body);
          assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
          assert.equal(r.json.error.code, code, `${JSON.stringify(body)}: ${r.text}`);
          assert.equal(r.json.error.member, member, `${JSON.stringify(body)}: ${r.text}`);
          assert.ok(!r.text.includes('900123') && !r.text.includes('pat.smith'), `the error does not repeat the destination: ${r.text}`);
        }
        let r = await invite(s, 'c000000000000000000000000', { channel: 'sms', phone: PHONE });
        assert.deepEqual([r.status, r.json.error.code], [404, 'not_found']);
        const ended = await createConsultation(s, { kind: 'consultation' });
        assert.equal((await api(s, 'DELETE', `/api/v1/consultations/${ended.id}`)).status, 204);
        r = await invite(s, ended.id, { channel: 'sms', phone: PHONE });
        assert.deepEqual([r.status, r.json.error.code], [404, 'consultation_ended']);
        r = await api(s, 'GET', `/api/v1/consultations/${c.id}/invite`);
        assert.deepEqual([r.status, r.headers.get('allow')], [405, 'POST']);
        r = await api(s, 'POST', `/api/v1/consultations/${c.id}/invite`, { channel: 'sms', phone: PHONE }, 'not-the-key-0123456789');
        assert.equal(r.status, 401);
      });

      await t.test('the log names invitations and channels, never a number or an address', async () => {
        const log = s.logs.join('');
        assert.match(log, /invitation i[0-9a-f]{24} \(sms\) sent/);
        assert.match(log, /invitation i[0-9a-f]{24} \(email\) sent/);
        assertNoDestinationsLogged(s, ['01632', '960123', '7700900456', '7700900789', '900456', '900789']);
      });

      await t.test('the store: an audit row per outcome without the destination, no destination kept once finished', async () => {
        const db = join(s.dir, 'signalling.db');
        const sql = (q) => execFileSync('sqlite3', ['-readonly', db, q]).toString().trim();
        assert.equal(sql(`SELECT count(*) FROM audit WHERE consultation_id = '${c.id}' AND action = 'invite_sent'`), '4');
        assert.equal(sql(`SELECT count(*) FROM audit WHERE consultation_id = '${c.id}' AND action = 'invite_failed'`), '2');
        assert.equal(sql(`SELECT count(*) FROM audit WHERE consultation_id = '${c.id}' AND action = 'invite_requested'`), '6');
        const details = sql(`SELECT detail FROM audit WHERE consultation_id = '${c.id}'`);
        for (const needle of ['7700', '900123', '@', 'example'])
          assert.ok(!details.includes(needle), `an audit row holds "${needle}"`);
        assert.equal(sql('SELECT count(*) FROM invitations WHERE destination IS NOT NULL'), '0');
        // Nothing of the numbers and addresses is left in the database's files either: the
        // rows were overwritten in place (secure_delete) and the log checkpointed.
        for (const f of [db, `${db}-wal`]) {
          if (!existsSync(f)) continue;
          const bytes = readFileSync(f);
          for (const needle of [PHONE_E164, '+447700900456', EMAIL, 'kim@example.net'])
            assert.ok(!bytes.includes(needle), `${f} holds ${needle}`);
        }
      });
    } catch (e) {
      s.dumpLogs();
      throw e;
    } finally {
      if (chromium) await chromium.close();
      const codes = await s.stop();
      await x.close();
      assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly (under ASan: no leak)');
    }
  });

test('a pending invitation survives a restart of signalling and is sent after it', { timeout: 120000 }, async () => {
  const x = await standIns();
  // Notify unreachable at first (nothing listens on this port): each attempt fails to connect
  // and the invitation waits 2 s for its retry, long enough to stop signalling meanwhile.
  const opts = { port: 8481, sigArgs: [...x.sigArgs, '--sms-base-url', 'http://127.0.0.1:9', '--invite-retry-base', '2000'] };
  const s = await startServers(opts).catch(async (e) => { await x.close(); throw e; });
  try {
    const c = await createConsultation(s, { kind: 'consultation', patients: 0 });
    const r = await invite(s, c.id, { channel: 'sms', phone: PHONE });
    assert.equal(r.status, 202, r.text);
    const deadline = Date.now() + 10000;
    let inv;
    for (;;) {
      inv = (await consultation(s, c.id)).invitations[0];
      if (inv.status === 'retrying') break;
      assert.ok(Date.now() < deadline, `not retrying: ${JSON.stringify(inv)}`);
      await sleep(50);
    }
    assert.deepEqual([inv.attempts, inv.last_error], [1, 'connect']);
    assert.equal(await s.kill('signalling'), 0, 'signalling stops cleanly with an invitation waiting');

    opts.sigArgs = x.sigArgs.concat(['--invite-retry-base', '2000']); // Notify reachable now
    await s.startSignalling();
    ({ inv } = await settled(s, c.id, r.json.id));
    assert.deepEqual([inv.status, inv.attempts], ['sent', 2]);
    assert.equal(x.notify.received.length, 1);
    assert.equal(x.notify.received[0].body.phone_number, PHONE_E164);
    assert.match(s.logs.join(''), /resuming 1 pending invitation/);
    assertNoDestinationsLogged(s);
  } catch (e) {
    s.dumpLogs();
    throw e;
  } finally {
    const codes = await s.stop();
    await x.close();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 });
  }
});
