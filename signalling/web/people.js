// The host's panel: who is waiting (Admit, Deny) and who is in the call (Mute, Remove). Rows are kept
// per participant and updated in place, so that a roster arriving while the clinician tabs
// through the buttons does not throw their keyboard focus away.

import { $, el } from './ui.js';

export class PeoplePanel {
  #rows = new Map(); // participant id -> { li, state }
  #act;

  // act(type, participantId): sends admit / deny / mute / remove.
  constructor(act) {
    this.#act = act;
  }

  render(participants) {
    const focused = document.activeElement;
    const focusedRow = focused && focused.closest ? focused.closest('#host-panel li[data-participant]') : null;
    const focusedId = focusedRow ? focusedRow.dataset.participant : null;

    const waiting = participants.filter((p) => p.state === 'waiting');
    const admitted = participants.filter((p) => p.state === 'admitted');
    const seen = new Set();
    this.#fill($('waiting-list'), waiting, seen);
    this.#fill($('admitted-list'), admitted, seen);
    for (const [id, row] of this.#rows) {
      if (!seen.has(id)) {
        row.li.remove();
        this.#rows.delete(id);
      }
    }
    $('waiting-empty').hidden = waiting.length > 0;

    // If the focused button went away (the person was admitted, denied or left), put focus on
    // the panel's heading: predictable, and never on another button that a second press of
    // Enter would trigger (Remove, right after Admit).
    if (focusedId && !document.activeElement?.closest?.('#host-panel')) $('people-title').focus();
    return waiting.length;
  }

  #fill(list, people, seen) {
    let index = 0;
    for (const p of people) {
      seen.add(p.id);
      let row = this.#rows.get(p.id);
      if (!row || row.state !== p.state) {
        if (row) row.li.remove();
        row = { li: this.#row(p), state: p.state };
        this.#rows.set(p.id, row);
      }
      this.#updateRow(row.li, p);
      // Only moved when out of place: moving a node takes focus away from what is inside it.
      if (list.children[index] !== row.li) list.insertBefore(row.li, list.children[index] || null);
      index++;
    }
  }

  #row(p) {
    const li = el('li', 'person');
    li.dataset.participant = p.id;
    const name = el('span', 'person-label');
    const detail = el('span', 'person-detail');
    // "Connection: poor (12% packets lost, round trip 40 ms)", read out with the row as shown.
    const quality = el('span', 'person-quality');
    quality.append(el('span', 'person-quality-level'), ' ', el('span', 'person-quality-numbers'));
    quality.hidden = true;
    const actions = el('span', 'person-actions');
    li.append(name, ' ', detail, ' ', quality, actions);
    const buttons =
      p.state === 'waiting'
        ? [
            ['admit', 'Admit', 'button-primary'],
            ['deny', 'Deny', 'button-secondary'],
          ]
        : p.self
          ? []
          : [
              ['mute', 'Mute', 'button-secondary'],
              ['remove', 'Remove', 'button-secondary'],
            ];
    for (const [action, verb, style] of buttons) {
      // The visible word plus the label, hidden visually, gives names like "Admit Patient".
      const b = el('button', `button button-small ${style}`, verb);
      b.type = 'button';
      b.dataset.action = action;
      const who = el('span', 'visually-hidden');
      b.append(' ', who);
      b.addEventListener('click', () => this.#act(action, li.dataset.participant));
      actions.append(b);
    }
    return li;
  }

  #updateRow(li, p) {
    const label = p.label || 'Participant';
    li.querySelector('.person-label').textContent = p.self ? `${label} (you)` : label;
    for (const who of li.querySelectorAll('button .visually-hidden')) who.textContent = label;
    // Only someone whose microphone is on can be muted; only they can unmute themselves.
    const mute = li.querySelector('button[data-action="mute"]');
    if (mute) mute.hidden = p.audio === false;
    const detail = [];
    if (p.state === 'admitted') {
      if (p.audio === false) detail.push('microphone off');
      if (p.video === false) detail.push('camera off');
    } else if (typeof p.since === 'number' && p.since > 0) {
      detail.push(`waiting since ${formatTime(p.since)}`);
    }
    li.querySelector('.person-detail').textContent = detail.length ? `(${detail.join(', ')})` : '';
    updateQuality(li.querySelector('.person-quality'), p);
  }
}

// The connection quality the person's browser reports (PROTOCOL.md roster `quality`, sent to
// hosts only). Nothing is shown for oneself, or before the first report.
function updateQuality(node, p) {
  const q = p.quality;
  const levels = { good: 'good', fair: 'fair', poor: 'poor' };
  if (p.self || !q || !levels[q.level]) {
    node.hidden = true;
    return;
  }
  node.hidden = false;
  node.dataset.level = q.level;
  node.querySelector('.person-quality-level').textContent = `Connection: ${levels[q.level]}`;
  const numbers = [];
  if (typeof q.loss === 'number') numbers.push(`${q.loss}% packets lost`);
  if (typeof q.rtt === 'number') numbers.push(`round trip ${q.rtt} ms`);
  node.querySelector('.person-quality-numbers').textContent = numbers.length ? `(${numbers.join(', ')})` : '';
}

export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}
