// Real browsers as participants: Debian's chromium driven by playwright-core, Debian's
// firefox-esr driven by puppeteer-core over WebDriver BiDi, both with fake camera and
// microphone. The product's pages have no test hooks: the tests click by accessible role and
// name, read what a person would see, and read media statistics through getStats on peer
// connections that an init script (test-side) keeps a list of.
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = '/usr/lib/chromium/chromium';
const FIREFOX = '/usr/lib/firefox-esr/firefox-esr';

const chromiumArgs = [
  '--headless=new', '--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-quic', '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

// Runs in the page before its scripts: remembers every RTCPeerConnection the page makes.
const recorder = `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || window.__e2ePcs) return;
  const pcs = [];
  Object.defineProperty(window, '__e2ePcs', { value: pcs });
  window.RTCPeerConnection = new Proxy(Orig, {
    construct(target, args) { const pc = new target(...args); pcs.push(pc); return pc; },
  });
})();`;

// Sums what the page receives over all its peer connections.
async function pageStats() {
  const out = { videoFrames: 0, videoBytes: 0, audioBytes: 0, audioSamples: 0, inbound: 0, width: 0 };
  for (const pc of window.__e2ePcs || []) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      out.inbound++;
      if (r.kind === 'video') {
        out.videoFrames += r.framesDecoded || 0;
        out.videoBytes += r.bytesReceived || 0;
        out.width = Math.max(out.width, r.frameWidth || 0);
      } else if (r.kind === 'audio') {
        out.audioBytes += r.bytesReceived || 0;
        out.audioSamples += r.totalSamplesReceived || 0;
      }
    });
  }
  return out;
}

class Person {
  constructor(name, page, kind) {
    this.name = name;
    this.page = page;
    this.kind = kind; // 'chromium' | 'firefox'
    // The page's last console lines, told when a step fails (the page's own account of it).
    this.console = [];
    page.on('console', (m) => {
      const type = typeof m.type === 'function' ? m.type() : m.type;
      const text = typeof m.text === 'function' ? m.text() : m.text;
      this.console.push(`${new Date().toISOString().slice(11, 23)} ${type}: ${text}`);
      if (this.console.length > 50) this.console.shift();
    });
  }

  // What the page shows and said, for an error message.
  async account() {
    let body = '';
    try {
      body = await this.page.evaluate(() => document.body.innerText);
    } catch (e) {
      body = `(page not readable: ${e.message})`;
    }
    return `${this.name}'s page says:\n${body}\n${this.name}'s console:\n${this.console.join('\n')}`;
  }

  async goto(url) {
    return this.page.goto(url, { waitUntil: 'load' });
  }

  async click(name) {
    try {
      if (this.kind === 'chromium') {
        await this.page.getByRole('button', { name, exact: true }).click({ timeout: 15000 });
      } else {
        await this.page.locator(`::-p-aria([name="${name}"][role="button"])`).setTimeout(15000).click();
      }
    } catch (e) {
      e.message += `\n${await this.account()}`;
      throw e;
    }
  }

  async fill(label, text) {
    if (this.kind === 'chromium') await this.page.getByLabel(label, { exact: true }).fill(text);
    else await this.page.locator(`::-p-aria([name="${label}"][role="textbox"])`).fill(text);
  }

  evaluate(fn, arg) {
    return this.page.evaluate(fn, arg);
  }

  // Waits until the page's text contains text (as a person would read it).
  async waitForText(text, ms = 15000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const body = await this.page.evaluate(() => document.body.innerText);
      if (body.includes(text)) return body;
      if (Date.now() > deadline) throw new Error(`${this.name}: "${text}" not shown within ${ms} ms; ${await this.account()}`);
      await sleep(200);
    }
  }

  async visibleHeading() {
    return this.page.evaluate(() => {
      const h = [...document.querySelectorAll('h1')].find((e) => e.offsetParent !== null);
      return h ? h.textContent.trim() : '';
    });
  }

  stats() {
    return this.page.evaluate(pageStats);
  }

  // Waits until frames are decoded and audio arrives, then checks both keep rising.
  async expectMedia(ms = 20000) {
    const deadline = Date.now() + ms;
    let s;
    for (;;) {
      s = await this.stats();
      if (s.videoFrames > 10 && s.audioBytes > 1000) break;
      if (Date.now() > deadline) throw new Error(`${this.name}: no media within ${ms} ms: ${JSON.stringify(s)}`);
      await sleep(250);
    }
    await sleep(2000);
    const later = await this.stats();
    if (!(later.videoFrames > s.videoFrames && later.audioBytes > s.audioBytes))
      throw new Error(`${this.name}: media stopped: ${JSON.stringify(s)} then ${JSON.stringify(later)}`);
    return later;
  }

  screenshot(path) {
    return this.page.screenshot({ path });
  }
}

export function sleep(ms) {
  return new Promise((ok) => setTimeout(ok, ms));
}

// An NSS certificate database in dir trusting the CA certificate caPem (a test's private CA,
// for servers such as TURN over TLS that the browser verifies). certutil is libnss3-tools'.
function nssTrust(dir, caPem) {
  execFileSync('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password']);
  execFileSync('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'gpsfu-test-ca', '-t', 'C,,', '-i', caPem]);
}

// Options: netns (lib/netns.mjs): the browser runs in that namespace. playwright-core talks to
// Chromium over a pipe, so the driver needs no network path to it. trustCa: a CA certificate
// (PEM path) to trust; Chromium on Linux reads user trust from $HOME/.pki/nssdb, so it runs
// with a private HOME holding one.
export async function launchChromium(opts = {}) {
  const executablePath = opts.netns ? opts.netns.wrapper(CHROMIUM) : CHROMIUM;
  let home;
  let env;
  if (opts.trustCa) {
    home = mkdtempSync(join(tmpdir(), 'gpsfu-home-'));
    mkdirSync(join(home, '.pki/nssdb'), { recursive: true });
    nssTrust(join(home, '.pki/nssdb'), opts.trustCa);
    env = { ...process.env, HOME: home };
  }
  const browser = await chromium.launch({ executablePath, args: chromiumArgs, headless: true, env });
  return {
    kind: 'chromium',
    async person(name, viewport) {
      const ctx = await browser.newContext(viewport ? { viewport } : {}); // own cookies per person
      const page = await ctx.newPage();
      await page.addInitScript(recorder);
      return new Person(name, page, 'chromium');
    },
    async close() {
      await browser.close();
      if (home) rmSync(home, { recursive: true, force: true });
    },
  };
}

// Firefox needs camera and microphone permission stored for the origin, else it treats the page
// as not capturing and gathers no ICE candidate in a private namespace (TESTING.md).
function firefoxProfile(origin) {
  const dir = mkdtempSync(join(tmpdir(), 'gpsfu-ff-'));
  const now = Date.now();
  const sql = `PRAGMA user_version = 13;
CREATE TABLE moz_perms(id INTEGER PRIMARY KEY, origin TEXT, type TEXT, permission INTEGER,
  expireType INTEGER, expireTime INTEGER, modificationTime INTEGER);
CREATE TABLE moz_hosts(id INTEGER PRIMARY KEY, host TEXT, type TEXT, permission INTEGER,
  expireType INTEGER, expireTime INTEGER, modificationTime INTEGER, isInBrowserElement INTEGER);
CREATE TABLE moz_origin_interactions(origin TEXT PRIMARY KEY, lastInteractionTime INTEGER);
INSERT INTO moz_perms(origin, type, permission, expireType, expireTime, modificationTime)
  VALUES ('${origin}', 'camera', 1, 0, 0, ${now}), ('${origin}', 'microphone', 1, 0, 0, ${now});`;
  execFileSync('sqlite3', [join(dir, 'permissions.sqlite')], { input: sql });
  return dir;
}

const firefoxPrefs = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.default_address_only': false,
  'media.autoplay.default': 0,
  'app.update.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
};

// Options: netns (lib/netns.mjs): the browser runs in that namespace; its WebDriver BiDi port,
// which puppeteer-core reaches over TCP on 127.0.0.1, is forwarded out of it. trustCa: a CA
// certificate (PEM path) to trust, put in the profile's own certificate database.
export async function launchFirefox(origin, opts = {}) {
  const profile = firefoxProfile(origin);
  if (opts.trustCa) nssTrust(profile, opts.trustCa);
  let executablePath = FIREFOX;
  let debuggingPort;
  if (opts.netns) {
    executablePath = opts.netns.wrapper(FIREFOX);
    debuggingPort = 9300 + (process.pid % 500);
    await opts.netns.expose(debuggingPort);
  }
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath, headless: true, userDataDir: profile, debuggingPort,
    extraPrefsFirefox: firefoxPrefs, protocolTimeout: 60000,
  });
  let used = false;
  return {
    kind: 'firefox',
    async person(name, viewport) {
      // One person per Firefox process: a second page would share the first one's cookies.
      if (used) throw new Error('one person per Firefox launch');
      used = true;
      const [page] = await browser.pages();
      if (viewport) await page.setViewport(viewport);
      await page.evaluateOnNewDocument(recorder);
      return new Person(name, page, 'firefox');
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
