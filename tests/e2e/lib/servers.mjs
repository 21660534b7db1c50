// Starts the real SFU and signalling processes for one test, on loopback, with a private data
// folder (SQLite file, generated secrets), plain HTTP (Firefox refuses self-signed certificates,
// and http://127.0.0.1 is a secure context), and an API key. stop() ends both with SIGTERM and
// fails the test if either exits badly (under ASan a leak is a bad exit).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../..');
export const buildDir = process.env.GPSFU_BUILD || join(repo, 'build');

function waitForLine(proc, pattern, what, ms = 10000) {
  return new Promise((ok, fail) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`${what} did not start within ${ms} ms:\n${seen}`)), ms);
    const onData = (d) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        ok(m);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited (${code}) before it was ready:\n${seen}`));
    });
  });
}

function logTo(proc, name, sink) {
  const add = (d) => sink.push(`[${name}] ${d.toString()}`);
  proc.stdout.on('data', add);
  proc.stderr.on('data', add);
}

// Options: port (HTTP), sfuPort (UDP base), sfuArgs, sigArgs, controlTcp (a port: the control
// connection goes over loopback TCP with a shared secret instead of the Unix socket, so that a
// test can cut it with `ss -K`).
export async function startServers(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gpsfu-e2e-'));
  chmodSync(dir, 0o700);
  const key = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'api-key'), key + '\n', { mode: 0o600 });
  const port = opts.port || 8480;
  const sfuPort = opts.sfuPort || 41000;
  const logs = [];
  const s = { dir, key, base: `http://127.0.0.1:${port}`, logs, procs: {} };
  const sfuControl = ['--control-unix', join(dir, 'sfu.sock')];
  let sigControl = ['--sfu', `unix:${join(dir, 'sfu.sock')}`];
  if (opts.controlTcp) {
    const secret = join(dir, 'control.secret');
    writeFileSync(secret, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    sfuControl.push('--control-tcp-host', '127.0.0.1', '--control-tcp-port', String(opts.controlTcp),
      '--control-secret-file', secret);
    sigControl = ['--sfu', `tcp:127.0.0.1:${opts.controlTcp}`, '--sfu-secret-file', secret];
  }

  // GPSFU_E2E_LOG_LEVEL=debug: both servers say more (to chase a failure).
  const logLevel = process.env.GPSFU_E2E_LOG_LEVEL ? ['--log-level', process.env.GPSFU_E2E_LOG_LEVEL] : [];
  s.startSfu = async () => {
    const sfu = spawn(join(buildDir, 'sfu/sfu'), ['--workers', '1', '--port-base', String(sfuPort),
      ...sfuControl, ...logLevel, ...(opts.sfuArgs || [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    logTo(sfu, 'sfu', logs);
    await waitForLine(sfu, /SFU control socket/, 'the SFU');
    s.procs.sfu = sfu;
  };
  s.startSignalling = async () => {
    const sig = spawn(join(buildDir, 'signalling/signalling'), ['--data-dir', dir, '--tls', 'off',
      '--listen', `127.0.0.1:${port}`, '--api-key-file', join(dir, 'api-key'),
      ...sigControl, ...logLevel, ...(opts.sigArgs || [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    logTo(sig, 'signalling', logs);
    await waitForLine(sig, /signalling: listening on/, 'signalling');
    s.procs.signalling = sig;
  };
  // Stops one process with SIGTERM; resolves to its exit code.
  s.kill = (name, signal = 'SIGTERM') => new Promise((ok) => {
    const p = s.procs[name];
    if (!p || p.exitCode !== null) return ok(p ? p.exitCode : 0);
    p.once('exit', (code, sig) => ok(code === null ? sig : code));
    p.kill(signal);
  });
  s.stop = async () => {
    const codes = { signalling: await s.kill('signalling'), sfu: await s.kill('sfu') };
    if (process.env.GPSFU_E2E_KEEP) console.log(`e2e: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    return codes;
  };
  s.dumpLogs = () => console.log(logs.join(''));

  await s.startSfu();
  await s.startSignalling();
  return s;
}

// The HTTP API, as a practice system calls it.
export async function api(s, method, path, body, key = s.key) {
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(s.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: left null */ }
  return { status: r.status, json, text, headers: r.headers };
}

export async function createConsultation(s, body = { kind: 'consultation', guests: 1 }) {
  const r = await api(s, 'POST', '/api/v1/consultations', body);
  if (r.status !== 201) throw new Error(`create consultation: ${r.status} ${r.text}`);
  return r.json;
}
