// Stand-ins for the services invitations go through, speaking the real protocols on loopback:
// GOV.UK Notify's HTTP API (POST /v2/notifications/sms, a JWT checked as Notify checks it) and
// an SMTP relay (EHLO, STARTTLS with a throwaway certificate, AUTH PLAIN or LOGIN, MAIL FROM,
// RCPT TO, DATA). Each records what it received, and answers as a test plans.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// Checks a Notify bearer token: header {"typ":"JWT","alg":"HS256"}, claims iss (the service
// id) and iat (within 30 s of now, as Notify allows), HMAC-SHA256 with the key's secret.
// Returns null when good, else why not.
export function checkNotifyJwt(token, serviceId, secret) {
  const parts = (token || '').split('.');
  if (parts.length !== 3) return 'not three parts';
  let header, claims;
  try {
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    return 'header or claims not JSON';
  }
  if (header.alg !== 'HS256' || header.typ !== 'JWT') return `header ${JSON.stringify(header)}`;
  const want = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'bad signature';
  if (claims.iss !== serviceId) return `iss ${claims.iss}`;
  if (!Number.isInteger(claims.iat) || Math.abs(claims.iat - Date.now() / 1000) > 30) return `iat ${claims.iat}`;
  return null;
}

// A Notify stand-in. plan(status, ...) queues the statuses of the next answers (201 once the
// plan is used up). received: every request, {at, jwtError, body}.
export async function startNotify() {
  const serviceId = randomUUID();
  const secret = randomUUID();
  const n = {
    serviceId, secret, templateId: randomUUID(),
    key: `gpsfu_test-${serviceId}-${secret}`,
    received: [], planned: [],
    plan(...statuses) { n.planned.push(...statuses); },
  };
  n.server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => { data += d; });
    req.on('end', () => {
      const auth = req.headers.authorization || '';
      const jwtError = auth.startsWith('Bearer ') ? checkNotifyJwt(auth.slice(7), serviceId, secret) : 'no bearer token';
      let body = null;
      try { body = JSON.parse(data); } catch { /* left null: the test sees it */ }
      n.received.push({ at: Date.now(), method: req.method, path: req.url, jwtError, contentType: req.headers['content-type'], body });
      res.setHeader('Content-Type', 'application/json');
      if (req.method !== 'POST' || req.url !== '/v2/notifications/sms') {
        res.statusCode = 404;
        return res.end(JSON.stringify({ errors: [{ error: 'NotFound', message: 'Not found' }], status_code: 404 }));
      }
      if (jwtError) {
        res.statusCode = 403;
        return res.end(JSON.stringify({ errors: [{ error: 'AuthError', message: `Invalid token: ${jwtError}` }], status_code: 403 }));
      }
      const status = n.planned.length ? n.planned.shift() : 201;
      res.statusCode = status;
      if (status === 201) {
        const id = randomUUID();
        return res.end(JSON.stringify({
          id, reference: body && body.reference,
          content: { body: 'text', from_number: 'GOVUK' },
          uri: `https://api.notifications.service.gov.uk/v2/notifications/${id}`,
          template: { id: body && body.template_id, version: 1, uri: 'https://api.notifications.service.gov.uk/v2/template/x' },
        }));
      }
      const error = status === 400 ? 'ValidationError' : status === 429 ? 'RateLimitError' : 'Exception';
      res.end(JSON.stringify({ errors: [{ error, message: `planned ${status}` }], status_code: status }));
    });
  });
  await new Promise((ok) => n.server.listen(0, '127.0.0.1', ok));
  n.url = `http://127.0.0.1:${n.server.address().port}`;
  n.close = () => new Promise((ok) => n.server.close(ok));
  return n;
}

// A self-signed certificate for 127.0.0.1 (its own CA), made with openssl in dir.
export function makeCert(dir) {
  const key = join(dir, 'smtp-key.pem');
  const cert = join(dir, 'smtp-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key, cert };
}

// An SMTP relay stand-in that insists on STARTTLS and AUTH before mail. rcptPlan(code, ...)
// queues the answers to the next RCPT TO (250 once used up). messages: every delivered mail,
// {tls, user, pass, mailFrom, rcpt, data}; sessions counts connections.
export async function startSmtp({ cert, user, pass }) {
  const s = { messages: [], rcptPlanned: [], sessions: 0, log: [] };
  s.rcptPlan = (...codes) => s.rcptPlanned.push(...codes);
  const creds = { key: readFileSync(cert.key), cert: readFileSync(cert.cert) };

  s.server = net.createServer((raw) => {
    s.sessions++;
    const st = { tls: false, authed: false, user: null, pass: null, mailFrom: null, rcpt: [], data: null, mode: 'cmd' };
    let sock = raw;
    let buf = '';
    const say = (line) => { s.log.push(`S: ${line}`); sock.write(`${line}\r\n`); };
    const onData = (d) => {
      buf += d.toString('latin1');
      for (;;) {
        if (st.mode === 'data') {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          st.data = Buffer.from(buf.slice(0, end + 2), 'latin1').toString('utf8');
          buf = buf.slice(end + 5);
          st.mode = 'cmd';
          s.messages.push({ tls: st.tls, user: st.user, pass: st.pass, mailFrom: st.mailFrom, rcpt: [...st.rcpt], data: st.data.replace(/^\.\./gm, '.') });
          say('250 2.0.0 Ok: queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (handle(line) === 'upgrade') return;
      }
    };
    const handle = (line) => {
      s.log.push(`C: ${line.startsWith('AUTH') || st.mode.startsWith('auth') ? '(auth)' : line}`);
      if (st.mode === 'auth-plain') {
        st.mode = 'cmd';
        return checkPlain(line);
      }
      if (st.mode === 'auth-login-user') {
        st.user = Buffer.from(line, 'base64').toString();
        st.mode = 'auth-login-pass';
        return say('334 UGFzc3dvcmQ6');
      }
      if (st.mode === 'auth-login-pass') {
        st.pass = Buffer.from(line, 'base64').toString();
        st.mode = 'cmd';
        return finishAuth();
      }
      const verb = line.split(' ')[0].toUpperCase();
      switch (verb) {
        case 'EHLO':
          sock.write('250-smtp.test\r\n');
          if (!st.tls) return say('250 STARTTLS');
          sock.write('250-8BITMIME\r\n');
          return say('250 AUTH PLAIN LOGIN');
        case 'HELO':
          return say('250 smtp.test');
        case 'STARTTLS': {
          if (st.tls) return say('503 5.5.1 TLS already active');
          say('220 2.0.0 Ready to start TLS');
          sock.removeListener('data', onData);
          const secure = new tls.TLSSocket(sock, { isServer: true, ...creds });
          sock = secure;
          st.tls = true;
          buf = '';
          secure.on('data', onData);
          secure.on('error', () => {});
          return 'upgrade';
        }
        case 'AUTH': {
          if (!st.tls) return say('538 5.7.11 Encryption required');
          const [, mech, ir] = line.split(' ');
          if (mech.toUpperCase() === 'PLAIN') {
            if (ir) return checkPlain(ir);
            st.mode = 'auth-plain';
            return say('334 ');
          }
          if (mech.toUpperCase() === 'LOGIN') {
            if (ir) {
              st.user = Buffer.from(ir, 'base64').toString();
              st.mode = 'auth-login-pass';
              return say('334 UGFzc3dvcmQ6');
            }
            st.mode = 'auth-login-user';
            return say('334 VXNlcm5hbWU6');
          }
          return say('504 5.5.4 Unrecognized authentication type');
        }
        case 'MAIL':
          if (!st.tls || !st.authed) return say('530 5.7.0 Authentication required');
          st.mailFrom = line.slice(line.indexOf(':') + 1).trim();
          st.rcpt = [];
          return say('250 2.1.0 Ok');
        case 'RCPT': {
          if (!st.mailFrom) return say('503 5.5.1 Need MAIL first');
          const code = s.rcptPlanned.length ? s.rcptPlanned.shift() : 250;
          if (code !== 250) return say(`${code} ${code >= 500 ? '5.1.1 Recipient address rejected' : '4.7.1 Try again later'}`);
          st.rcpt.push(line.slice(line.indexOf(':') + 1).trim());
          return say('250 2.1.5 Ok');
        }
        case 'DATA':
          if (!st.rcpt.length) return say('503 5.5.1 Need RCPT first');
          st.mode = 'data';
          return say('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          st.mailFrom = null;
          st.rcpt = [];
          return say('250 2.0.0 Ok');
        case 'NOOP':
          return say('250 2.0.0 Ok');
        case 'QUIT':
          say('221 2.0.0 Bye');
          return sock.end();
        default:
          return say('502 5.5.2 Command not recognized');
      }
    };
    const checkPlain = (b64) => {
      const [, u, p] = Buffer.from(b64, 'base64').toString().split('\0');
      st.user = u;
      st.pass = p;
      return finishAuth();
    };
    const finishAuth = () => {
      st.authed = st.user === user && st.pass === pass;
      return say(st.authed ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication failed');
    };
    raw.on('data', onData);
    raw.on('error', () => {});
    say('220 smtp.test ESMTP stand-in');
  });
  await new Promise((ok) => s.server.listen(0, '127.0.0.1', ok));
  s.url = `smtp://127.0.0.1:${s.server.address().port}`;
  s.close = () => new Promise((ok) => s.server.close(ok));
  return s;
}

// Writes content to dir/name with mode 0600 (secret files) and returns the path.
export function secretFile(dir, name, content) {
  const p = join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

// Splits an RFC 5322 message into its headers (names lower-cased, folded lines unfolded) and
// its body.
export function parseMail(text) {
  const at = text.indexOf('\r\n\r\n');
  const head = text.slice(0, at).replace(/\r\n[ \t]+/g, ' ');
  const headers = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body: text.slice(at + 4), head };
}
