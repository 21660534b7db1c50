// Join-link tokens as the tests need to forge them: HS256 JWTs in the signalling service's
// format (signalling/token.c: header {"alg":"HS256","typ":"JWT"}, payload
// {"c","r","jti","iat","exp","su"}, base64url without padding), signed with the secret the
// service generated in its data folder (the hex text of token.secret is the HMAC key itself).
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const HEADER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'; // {"alg":"HS256","typ":"JWT"}
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// The secret signalling made on first start (64 hex digits), as the bytes it signs with.
export function readSecret(s) {
  const text = readFileSync(join(s.dir, 'token.secret'), 'latin1').replace(/[\r\n]+$/, '');
  return Buffer.from(text, 'latin1');
}

// The token of a link (PUBLIC_URL/join/TOKEN).
export function tokenOf(link) {
  const m = /\/join\/([^/?#]+)$/.exec(link);
  if (!m) throw new Error(`not a join link: ${link}`);
  return m[1];
}

// The link's path on the service, for pages and fetches against s.base.
export function joinPath(token) {
  return `/join/${token}`;
}

export function claimsOf(token) {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

// Signs claims ({c, r, jti, iat, exp, su}) the way token_sign does, in its member order.
export function sign(secret, claims) {
  const { c, r, jti, iat, exp, su } = claims;
  const payload = Buffer.from(JSON.stringify({ c, r, jti, iat, exp, su })).toString('base64url');
  const signed = `${HEADER}.${payload}`;
  const mac = createHmac('sha256', secret).update(signed).digest('base64url');
  return `${signed}.${mac}`;
}

// A jti (32 lowercase hex digits) that no store has seen.
export function randomJti() {
  return randomBytes(16).toString('hex');
}

// The token with one base64url character of one part ('header', 'payload', 'signature')
// changed to another base64url character, in the middle of the part (so the change is a real
// change of the decoded bytes, not of padding bits a decoder might ignore).
export function flipChar(token, part) {
  const parts = token.split('.');
  const i = { header: 0, payload: 1, signature: 2 }[part];
  const p = parts[i];
  const at = Math.floor(p.length / 2);
  const old = p[at];
  const repl = B64URL[(B64URL.indexOf(old) + 1) % 64];
  parts[i] = p.slice(0, at) + repl + p.slice(at + 1);
  return parts.join('.');
}
