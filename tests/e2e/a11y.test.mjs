// (h) axe-core run in the page finds no serious or critical violation on the join page, the
// waiting room and the call (host and patient, video playing; with the chat open; the host panel
// with someone waiting), at 1280x800 and at 360x640. At 360x640 nothing scrolls sideways and the
// main controls are visible and reached by the keyboard. Screenshots of every screen at both sizes
// are written as test artifacts (a11y-<screen>-<size>.png). Every violation axe finds, of any
// impact, is printed in the TAP output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServers, createConsultation, buildDir } from './lib/servers.mjs';
import { launchChromium, sleep } from './lib/browsers.mjs';
import { runAxe } from './lib/axe.mjs';

const artifacts = process.env.GPSFU_ARTIFACTS || join(buildDir, 'e2e-artifacts');
mkdirSync(artifacts, { recursive: true });

const SIZES = [
  { name: '1280x800', width: 1280, height: 800 },
  { name: '360x640', width: 360, height: 640 },
];
const FAILING = new Set(['serious', 'critical']);

// Tabs from the top of the page until every name in want has had the focus (or max presses);
// for each, records whether it was inside the viewport when focused (the browser scrolls a
// focused element into view).
async function tabThrough(page, want, max = 60) {
  await page.evaluate(() => {
    document.activeElement?.blur?.();
    window.scrollTo(0, 0);
  });
  const reached = new Map();
  const order = [];
  for (let i = 0; i < max && reached.size < want.length; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const text = (e.getAttribute('aria-label') || e.innerText || e.textContent || e.id || e.tagName).replace(/\s+/g, ' ').trim();
      const r = e.getBoundingClientRect();
      const inView = r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 &&
        r.right <= document.documentElement.clientWidth + 0.5 && r.bottom <= window.innerHeight + 0.5;
      return { text, inView, rect: [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)] };
    });
    if (!f) continue;
    order.push(f.text);
    if (want.includes(f.text) && !reached.has(f.text)) reached.set(f.text, f);
  }
  return { reached, order };
}

test('accessibility: join page, waiting room, call, chat and host panel at 1280x800 and 360x640', { timeout: 420000 }, async (t) => {
  const s = await startServers();
  const chromium = await launchChromium();
  let failed = false;
  const summary = [];
  try {
    const c = await createConsultation(s, { kind: 'consultation', guests: 1, message: 'Dr Example is running 5 minutes late.' });
    const host = await chromium.person('host', { width: 1280, height: 800 });
    const patient = await chromium.person('patient', { width: 1280, height: 800 });

    // Checks one screen of one person at both sizes: axe, screenshot, and at 360x640 no
    // sideways scrolling; then whatever extra(page, size) checks. Leaves the page at 1280x800.
    const check = (screen, person, extra) => t.test(`${screen} (${person.name})`, async (st) => {
      try {
        for (const size of SIZES) {
          await person.page.setViewportSize({ width: size.width, height: size.height });
          await sleep(700); // layout, and the videos' size
          const r = await runAxe(person.page);
          for (const v of r.violations) {
            st.diagnostic(`${screen} ${size.name}: axe ${v.impact} ${v.id}: ${v.help} (${v.helpUrl})`);
            for (const n of v.nodes) st.diagnostic(`    ${n.impact} at ${n.target}: ${n.summary.replace(/\s+/g, ' ')}`);
          }
          for (const v of r.incomplete.filter((x) => FAILING.has(x.impact)))
            st.diagnostic(`${screen} ${size.name}: axe needs review (${v.impact}) ${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`);
          const file = join(artifacts, `a11y-${screen}-${size.name}.png`);
          await person.page.screenshot({ path: file, fullPage: true });
          const bad = r.violations.filter((v) => FAILING.has(v.impact));
          summary.push(`${screen} ${size.name}: axe ${r.version} (${r.how}): ${r.violations.length} violation(s)` +
            `${r.violations.length ? ` (${r.violations.map((v) => `${v.id}:${v.impact}`).join(', ')})` : ''}, ${r.passes} rules passed; ${file}`);
          assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target).join(', ')}`), [],
            `${screen} at ${size.name}: no serious or critical axe violation`);
          if (size.width === 360) {
            const w = await person.evaluate(() => ({
              scroll: document.documentElement.scrollWidth,
              client: document.documentElement.clientWidth,
              wide: [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5 && e.getClientRects().length)
                .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).split(' ').join('.') : ''}`),
            }));
            assert.ok(w.scroll <= w.client, `${screen} at 360x640: no horizontal scrolling (scrollWidth ${w.scroll}, clientWidth ${w.client}; too wide: ${w.wide.join(', ')})`);
          }
          if (extra) await extra(person.page, size);
        }
      } catch (e) {
        failed = true;
        throw e;
      } finally {
        await person.page.setViewportSize({ width: 1280, height: 800 });
      }
    });

    // The keyboard reaches these buttons and each is inside the viewport when it has the focus.
    const keyboard = (names) => async (page, size) => {
      if (size.width !== 360) return;
      const { reached, order } = await tabThrough(page, names);
      for (const name of names) {
        const f = reached.get(name);
        assert.ok(f, `at 360x640, Tab reaches "${name}" (focus went: ${order.join(' | ')})`);
        assert.ok(f.inView, `at 360x640, "${name}" is in view when focused: ${JSON.stringify(f)}`);
      }
    };
    // These buttons are visible on the screen as it is shown (before any scrolling).
    const visibleNow = (names) => async (page, size) => {
      if (size.width !== 360) return;
      await page.evaluate(() => window.scrollTo(0, 0));
      for (const name of names) {
        const b = page.getByRole('button', { name, exact: true });
        assert.ok(await b.isVisible(), `at 360x640, "${name}" is visible`);
        const box = await b.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 360 + 0.5 && box.y >= 0 && box.y + box.height <= 640 + 0.5,
          `at 360x640, "${name}" is on the screen without scrolling: ${JSON.stringify(box)}`);
      }
    };
    const both = (...fns) => async (page, size) => {
      for (const fn of fns) await fn(page, size);
    };

    // 1. The join page (pre-call check), as the patient sees it.
    await patient.goto(c.links.patient);
    await patient.waitForText('Check your camera and microphone');
    await patient.page.waitForFunction(() => document.getElementById('preview-video').readyState >= 2, null, { timeout: 15000 });
    await check('join', patient, keyboard(['Join consultation']));

    // 2. The host joins; the patient joins and waits: the waiting room, and the host's panel with
    // someone waiting.
    await host.goto(c.links.host);
    await host.click('Join consultation');
    await host.waitForText('Your video consultation');
    await patient.click('Join consultation');
    await patient.waitForText('Please wait, the clinician will let you in soon');
    await patient.waitForText('Dr Example is running 5 minutes late.');
    await check('waiting', patient, keyboard(['Leave']));
    await host.page.getByRole('button', { name: 'Admit Patient', exact: true }).waitFor({ timeout: 15000 });
    await check('host-waiting', host, keyboard(['Admit Patient', 'Deny Patient', 'Mute', 'Camera off', 'Chat', 'Leave']));
    // What the panel says about the waiting person is read out as it is shown: "waiting since"
    // must be the time they started waiting (the page's clock, a minute or so ago), not a time
    // made from a number in the wrong unit.
    await t.test('host panel: "waiting since" is the time the patient started waiting', async () => {
      const r = await host.evaluate(() => {
        const detail = document.querySelector('#waiting-list .person-detail')?.textContent || '';
        const m = detail.match(/waiting since (\d\d):(\d\d)/);
        const now = new Date();
        return { detail, now: now.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }),
          late: m ? (now.getHours() * 60 + now.getMinutes() - (Number(m[1]) * 60 + Number(m[2])) + 1440) % 1440 : null };
      });
      try {
        assert.ok(r.late !== null && r.late <= 3, `the host panel says "${r.detail}" at ${r.now}`);
      } catch (e) {
        failed = true;
        throw e;
      }
    });

    // 3. Admitted: the call, with video playing both ways.
    await host.click('Admit Patient');
    await patient.waitForText('Your video consultation');
    await host.expectMedia(30000);
    await patient.expectMedia(30000);
    for (const p of [host, patient]) {
      await p.page.waitForFunction(() => [...document.querySelectorAll('#remote-tiles video')].some((v) => !v.paused && v.readyState >= 2 && v.videoWidth > 0),
        null, { timeout: 15000 });
    }
    const controls = ['Mute', 'Camera off', 'Chat', 'Leave'];
    await check('call-patient', patient, both(visibleNow(controls), keyboard(controls)));
    await check('call-host', host, both(visibleNow(controls), keyboard(controls)));

    // 4. The chat open, with a message each way.
    await patient.click('Chat');
    await patient.fill('Message', 'Hello from the patient');
    await patient.click('Send');
    await host.click('Chat');
    await host.waitForText('Hello from the patient');
    await host.fill('Message', 'Hello from the clinician');
    await host.click('Send');
    await patient.waitForText('Hello from the clinician');
    await check('call-chat-patient', patient, keyboard(['Send', 'Chat', 'Leave']));
    await check('call-chat-host', host, keyboard(['Send', 'Chat', 'Leave']));

    // 5. During the call someone else waits: the host's panel in the call, with the chat closed.
    await host.click('Chat');
    const guest = await chromium.person('guest', { width: 1280, height: 800 });
    await guest.goto(c.links.guests[0]);
    await guest.click('Join consultation');
    await guest.waitForText('Please wait, the clinician will let you in soon');
    await host.page.getByRole('button', { name: 'Admit Guest 1', exact: true }).waitFor({ timeout: 15000 });
    await check('call-host-waiting', host, both(visibleNow(controls), keyboard(['Admit Guest 1', 'Deny Guest 1', 'Mute Patient', 'Remove Patient', ...controls])));
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    for (const line of summary) t.diagnostic(line);
    await chromium.close();
    const codes = await s.stop();
    if (failed) s.dumpLogs();
    assert.deepEqual(codes, { signalling: 0, sfu: 0 }, 'both servers stop cleanly');
  }
});
