// Small DOM helpers shared by the screens: which screen is shown, the page title, and the live
// regions that tell screen-reader users what changed. Server data only ever reaches the page
// through textContent (see el()), never as HTML.

const SERVICE = 'GP video consultation';
const SCREENS = ['precall', 'connecting', 'waiting', 'call', 'ended'];

export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

// Builds an element with a class and text: the only way the client puts words on the page.
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function setTitle(title) {
  document.title = title ? `${title} – ${SERVICE}` : SERVICE;
}

export function currentScreen() {
  return $('main').dataset.screen;
}

// Shows one screen and hides the others. Focus moves to the new screen's heading so that
// keyboard and screen-reader users start at the top of what is now on the page; it stays put
// when the screen does not change (a reconnect lands on the screen the person is already on).
export function showScreen(name, title) {
  const main = $('main');
  const changed = main.dataset.screen !== name;
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  main.dataset.screen = name;
  setTitle(title);
  if (changed) {
    const heading = $(`screen-${name}`).querySelector('h1');
    if (heading) heading.focus({ preventScroll: false });
  }
}

// Announces a short message to screen readers without showing it. The region is emptied
// first, so the same words said twice ("Guest 1 joined") are announced twice.
let announceTimer = 0;
export function announce(text) {
  const region = $('announcer');
  region.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// The connection line: "Reconnecting...", "Your connection is poor or lost." or nothing.
export function setConnectionStatus(text) {
  const region = $('connection-status');
  if (region.textContent !== (text || '')) region.textContent = text || '';
}

// A visible notice (errors, "your message was not sent"). It clears itself after a while so
// that an old problem is not mistaken for a new one; code is kept as data-code for tests.
let noticeTimer = 0;
export function showNotice(text, { code = '', sticky = false } = {}) {
  const region = $('notice');
  clearTimeout(noticeTimer);
  region.textContent = text || '';
  if (code) region.dataset.code = code;
  else delete region.dataset.code;
  if (text && !sticky) {
    noticeTimer = setTimeout(() => {
      region.textContent = '';
      delete region.dataset.code;
    }, 12000);
  }
}

export function clearNotice() {
  showNotice('');
}
