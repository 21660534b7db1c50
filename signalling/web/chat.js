// The chat panel: a log of messages (label, time, text) and a form to send one. Messages are
// plain text: they reach the page through textContent only.

import { $, el, announce } from './ui.js';
import { formatTime } from './people.js';

const MAX_CHARS = 2000; // code points, as the server counts them

export class Chat {
  #send;
  #onToggle;
  #unread = 0;

  // send(text) -> true when it went out; onToggle(open) after the panel opens or closes.
  constructor(send, onToggle) {
    this.#send = send;
    this.#onToggle = onToggle;
    $('chat-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#submit();
    });
    $('chat-button').addEventListener('click', () => this.toggle());
  }

  get isOpen() {
    return !$('chat-panel').hidden;
  }

  toggle(open = !this.isOpen) {
    $('chat-panel').hidden = !open;
    $('chat-button').setAttribute('aria-expanded', String(open));
    this.#onToggle(open);
    if (open) {
      this.#setUnread(0);
      $('chat-input').focus();
    }
  }

  // msg: the server's `chat` ({ from, label, text, at }); mine: it is our own, echoed back.
  add(msg, mine) {
    const log = $('chat-log');
    $('chat-empty').hidden = true;
    const at = typeof msg.at === 'number' ? msg.at : Date.now();
    const item = el('div', mine ? 'chat-msg chat-mine' : 'chat-msg');
    const meta = el('p', 'chat-meta');
    const time = el('time', '', formatTime(at));
    time.dateTime = new Date(at).toISOString();
    meta.append(el('span', 'chat-from', mine ? 'You' : msg.label || 'Participant'), ' ', time);
    item.append(meta, el('p', 'chat-text', msg.text));
    log.append(item);
    log.scrollTop = log.scrollHeight;
    if (!mine && !this.isOpen) {
      // The log is hidden, so its own live region says nothing: say it here instead.
      this.#setUnread(this.#unread + 1);
      announce(`New chat message from ${msg.label || 'Participant'}.`);
    }
  }

  clear() {
    const log = $('chat-log');
    for (const m of log.querySelectorAll('.chat-msg')) m.remove();
    $('chat-empty').hidden = false;
    this.#setUnread(0);
  }

  #setUnread(n) {
    this.#unread = n;
    const badge = $('chat-unread');
    badge.hidden = n === 0;
    badge.textContent = n === 0 ? '' : ` (${n} new)`;
    $('chat-unread-text').textContent = n === 0 ? '' : `${n} new ${n === 1 ? 'message' : 'messages'}`;
  }

  #submit() {
    const input = $('chat-input');
    const error = $('chat-error');
    // The server refuses control characters other than newline; a pasted tab becomes a space.
    // eslint-disable-next-line no-control-regex
    const text = input.value.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, ' ').trim();
    error.hidden = true;
    if (!text) {
      input.focus();
      return;
    }
    if ([...text].length > MAX_CHARS) {
      this.#error(`Your message is too long. Keep it under ${MAX_CHARS} characters.`);
      return;
    }
    if (!this.#send(text)) {
      this.#error('Your message was not sent because the connection was lost. Try again in a moment.');
      return;
    }
    input.value = '';
    input.focus();
  }

  #error(text) {
    const error = $('chat-error');
    error.textContent = text;
    error.hidden = false;
    announce(text);
  }
}
