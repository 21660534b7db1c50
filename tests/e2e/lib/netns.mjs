// A second network namespace for one participant's browser, linked to the test's own namespace
// (where the servers and the other browsers run) by a veth pair, so that its link alone can be
// cut, made lossy or firewalled while the call runs (TESTING.md, "A private network").
//
//   test namespace (unshare -n)                    the participant's namespace
//   signalling 127.0.0.1:PORT <- forwarder <- 10.N.0.1 ==veth== 10.N.0.2 -> forwarder 127.0.0.1:PORT
//   SFU (and coturn) on 10.N.0.1                                     browser
//
// The browser in the namespace opens the same http://127.0.0.1:PORT origin as everyone else (a
// secure context, so its camera works, and the same cookies and links): a forwarder there carries
// it over the veth to the real signalling. The SFU is reached directly at 10.N.0.1, so media
// crosses the veth and feels whatever is done to it. Cutting the link cuts the WebSocket too, as
// a real network outage would.
import { spawn, execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { writeFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

// A TCP forwarder: every connection to listen is piped to target. Run in this process.
export function forward(listenHost, listenPort, targetHost, targetPort) {
  const socks = new Set();
  const server = createServer((a) => {
    const b = connect(targetPort, targetHost);
    for (const s of [a, b]) {
      socks.add(s);
      s.on('close', () => socks.delete(s));
      s.on('error', () => { a.destroy(); b.destroy(); });
    }
    a.pipe(b);
    b.pipe(a);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(listenPort, listenHost, () => ok({
      close: () => { for (const s of socks) s.destroy(); server.close(); },
    }));
  });
}

// The same forwarder as a child process, for running inside another namespace.
const forwarderScript = `
const net = require('node:net');
const [lh, lp, th, tp] = process.argv.slice(1);
net.createServer((a) => {
  const b = net.connect(Number(tp), th);
  a.on('error', () => b.destroy()); b.on('error', () => a.destroy());
  a.pipe(b); b.pipe(a);
}).listen(Number(lp), lh, () => console.log('forwarding'));
`;

let counter = 0;

// Makes namespace number n (1..250; each test its own) linked to this one. Options: ports, the
// TCP ports on 127.0.0.1 of this namespace that browsers in it must reach (signalling's).
export async function makeNetns(opts = {}) {
  const n = opts.n || 50 + (process.pid % 150) + counter++;
  const name = `gpsfu-${process.pid}-${counter}`;
  const outer = `vo${process.pid % 100000}x${counter}`; // in this namespace; IFNAMSIZ is 16
  const inner = 'veth0';
  const ns = {
    name, here: `10.${n}.0.1`, there: `10.${n}.0.2`, outer, children: [], closers: [],
    exec: (cmd, args, o = {}) => execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', ...o }),
  };
  ip('netns', 'add', name);
  ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', name);
  // No IPv6 link-local addresses: the kernel adds them a second or two after the link comes up
  // (duplicate address detection), and Chromium takes that for a network change and fails the
  // requests in flight (net::ERR_NETWORK_CHANGED), a page's scripts among them: a browser of the
  // test's own namespace, opening its page just then, was left with a page that did nothing.
  ip('link', 'set', outer, 'addrgenmode', 'none');
  ns.exec('ip', ['link', 'set', inner, 'addrgenmode', 'none']);
  ip('addr', 'add', `${ns.here}/24`, 'dev', outer);
  ip('link', 'set', outer, 'up');
  ns.exec('ip', ['link', 'set', 'lo', 'up']);
  ns.exec('ip', ['addr', 'add', `${ns.there}/24`, 'dev', inner]);
  ns.exec('ip', ['link', 'set', inner, 'up']);
  ns.exec('ip', ['route', 'add', 'default', 'via', ns.here]);
  // A new veth pair has no carrier for a moment; what is sent meanwhile is lost (TCP then waits
  // a second or more to send again), so the link is used only once both ends are up.
  for (let i = 0; ; i++) {
    const up = / UP /.test(ip('-br', 'link', 'show', outer)) && / UP /.test(ns.exec('ip', ['-br', 'link', 'show', inner]));
    if (up) break;
    if (i > 100) throw new Error(`the veth link of ${name} did not come up`);
    await new Promise((ok) => setTimeout(ok, 50));
  }

  // Spawns a long-running process inside; it is killed by close().
  ns.spawn = (cmd, args, o = {}) => {
    const p = spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...o });
    ns.children.push(p);
    return p;
  };

  const forwardInside = (lh, lp, th, tp) => {
    const p = ns.spawn(process.execPath, ['-e', forwarderScript, lh, String(lp), th, String(tp)]);
    return new Promise((ok, fail) => {
      p.stdout.once('data', ok);
      p.once('exit', (code) => fail(new Error(`forwarder in ${name} exited ${code}`)));
    });
  };
  // Browsers in the namespace reach 127.0.0.1:port as if it were here.
  for (const port of opts.ports || []) {
    ns.closers.push((await forward(ns.here, port, '127.0.0.1', port)).close);
    await forwardInside('127.0.0.1', port, ns.here, port);
  }
  // The other way: 127.0.0.1:port of the namespace (a browser's debugging port) is reached here
  // at 127.0.0.1:port. Only the test's driver uses it.
  ns.expose = async (port) => {
    await forwardInside(ns.there, port, '127.0.0.1', port);
    ns.closers.push((await forward('127.0.0.1', port, ns.there, port)).close);
  };

  // The link: cut it (as a lift or a tunnel would), bring it back, shape it, firewall it. Both
  // ends go down so that neither side's packets are queued for later.
  ns.linkDown = () => { ip('link', 'set', outer, 'down'); ns.exec('ip', ['link', 'set', inner, 'down']); };
  ns.linkUp = () => {
    ip('link', 'set', outer, 'up');
    ns.exec('ip', ['link', 'set', inner, 'up']);
    try { ns.exec('ip', ['route', 'replace', 'default', 'via', ns.here]); } catch { /* comes back with the link */ }
  };
  // The browser's side of the link gets a new address, as a phone moving from Wi-Fi to mobile
  // data would: its ICE candidates and TCP connections from the old one are dead.
  ns.renumber = () => {
    const next = `10.${n}.0.${Number(ns.there.split('.')[3]) + 1}`;
    ns.exec('ip', ['addr', 'del', `${ns.there}/24`, 'dev', inner]); // takes the default route
    ns.exec('ip', ['addr', 'add', `${next}/24`, 'dev', inner]);
    ns.exec('ip', ['route', 'replace', 'default', 'via', ns.here]);
    ns.there = next;
  };
  // netem on both directions of the link, e.g. ['loss', '10%'].
  ns.netem = (args) => {
    execFileSync('tc', ['qdisc', 'replace', 'dev', outer, 'root', 'netem', ...args]);
    ns.exec('tc', ['qdisc', 'replace', 'dev', inner, 'root', 'netem', ...args]);
  };
  ns.netemClear = () => {
    execFileSync('tc', ['qdisc', 'del', 'dev', outer, 'root']);
    ns.exec('tc', ['qdisc', 'del', 'dev', inner, 'root']);
  };
  // nftables rules in the namespace: ruleset is nft's own syntax (nft -f -).
  ns.nft = (ruleset) => ns.exec('nft', ['-f', '-'], { input: ruleset });
  ns.dropUdp = () => ns.nft(`table inet gpsfu_test {
  chain out { type filter hook output priority 0; policy accept; meta l4proto udp drop; }
  chain in { type filter hook input priority 0; policy accept; meta l4proto udp drop; }
}`);
  // A wrapper that runs a program inside the namespace (for a driver that launches a binary).
  ns.wrapper = (binary) => {
    const dir = mkdtempSync(join(tmpdir(), 'gpsfu-ns-'));
    const path = join(dir, 'in-netns');
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${name} ${binary} "$@"\n`);
    chmodSync(path, 0o755);
    ns.closers.push(() => rmSync(dir, { recursive: true, force: true }));
    return path;
  };

  ns.close = () => {
    for (const p of ns.children) if (p.exitCode === null) p.kill('SIGKILL');
    for (const c of ns.closers) c();
    try { ip('link', 'del', outer); } catch { /* gone with the namespace */ }
    try { ip('netns', 'del', name); } catch { /* already gone */ }
  };
  return ns;
}
