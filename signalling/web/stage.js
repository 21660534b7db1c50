// The call's video area: one tile per other participant (video, label, microphone and camera
// state) and the self view. One other person gets the large 1:1 layout with the self view in a
// corner; more get a grid. A tile's <video> also plays that person's sound.

import { $, el } from './ui.js';

class Tile {
  root;
  video;
  #label;
  #away;
  #micOff;
  #camOff;
  #placeholder;
  #trackIds = '';
  #videoTrack = null;
  #rosterVideo = true;

  constructor(id, onPlayBlocked) {
    this.root = el('div', 'tile remote-tile');
    this.root.dataset.participant = id;
    this.video = el('video', 'remote-video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.setAttribute('playsinline', ''); // older iOS Safari reads only the attribute
    this.onPlayBlocked = onPlayBlocked;
    // Shown over the video when there is no picture; the badges below carry the words for
    // screen readers, so this is hidden from them.
    this.#placeholder = el('div', 'tile-placeholder');
    this.#placeholder.setAttribute('aria-hidden', 'true');
    const info = el('p', 'tile-info');
    this.#label = el('span', 'tile-label');
    this.#micOff = el('span', 'badge', 'Microphone off');
    this.#camOff = el('span', 'badge', 'Camera off');
    this.#away = el('span', 'badge', 'Reconnecting...');
    this.#micOff.hidden = true;
    this.#camOff.hidden = true;
    this.#away.hidden = true;
    info.append(this.#label, ' ', this.#micOff, ' ', this.#camOff, ' ', this.#away);
    this.root.append(this.video, this.#placeholder, info);
  }

  update(p) {
    const label = p.label || 'Participant';
    if (this.#label.textContent !== label) {
      this.#label.textContent = label;
      this.#placeholder.textContent = label;
      this.video.setAttribute('aria-label', `${label}'s video`);
    }
    this.#micOff.hidden = p.audio !== false;
    this.#camOff.hidden = p.video !== false;
    // Their browser lost its connection to the service; their media may still come through.
    this.#away.hidden = !p.reconnecting;
    this.root.dataset.audio = String(p.audio !== false);
    this.root.dataset.video = String(p.video !== false);
    this.#rosterVideo = p.video !== false;
    this.#showPicture();
  }

  // A new MediaStream whenever the set of tracks changes: browsers differ in how a playing
  // element reacts to tracks added to its stream, but all handle a new srcObject.
  setTracks(tracks) {
    const ids = tracks.map((t) => t.id).sort().join(',');
    if (ids === this.#trackIds) return;
    this.#trackIds = ids;
    if (this.#videoTrack) this.#videoTrack.onmute = this.#videoTrack.onunmute = null;
    this.#videoTrack = tracks.find((t) => t.kind === 'video') || null;
    if (this.#videoTrack) {
      // A track is muted while no frames arrive (camera off, or the SFU not yet forwarding).
      this.#videoTrack.onmute = this.#videoTrack.onunmute = () => this.#showPicture();
    }
    this.video.srcObject = tracks.length ? new MediaStream(tracks) : null;
    this.root.dataset.tracks = String(tracks.length);
    this.#showPicture();
    if (tracks.length) this.play();
  }

  play() {
    const p = this.video.play();
    if (p && p.catch) {
      p.catch((err) => {
        // Autoplay with sound refused (no tap on this page yet): the app offers a button.
        if (err && err.name === 'NotAllowedError') this.onPlayBlocked();
      });
    }
  }

  #showPicture() {
    const picture = this.#rosterVideo && this.#videoTrack && !this.#videoTrack.muted;
    this.root.classList.toggle('no-picture', !picture);
  }

  destroy() {
    if (this.#videoTrack) this.#videoTrack.onmute = this.#videoTrack.onunmute = null;
    this.video.srcObject = null;
    this.root.remove();
  }
}

export class Stage {
  #tiles = new Map(); // participant id -> Tile
  #roster = new Map(); // participant id -> roster entry (admitted, not self)
  #tracks = new Map(); // participant id -> tracks (from the receiving connection)
  #onPlayBlocked;

  constructor(onPlayBlocked) {
    this.#onPlayBlocked = onPlayBlocked;
  }

  // Everyone admitted but ourselves gets a tile, before their media arrives.
  setRoster(participants) {
    this.#roster = new Map(
      participants.filter((p) => !p.self && p.state === 'admitted').map((p) => [p.id, p]),
    );
    this.#sync();
  }

  setTracks(byParticipant) {
    this.#tracks = byParticipant;
    this.#sync();
  }

  // Forgets every remote track (a new join makes new connections), keeping the tiles.
  clearTracks() {
    this.#tracks = new Map();
    this.#sync();
  }

  clear() {
    for (const tile of this.#tiles.values()) tile.destroy();
    this.#tiles.clear();
    this.#roster = new Map();
    this.#tracks = new Map();
    this.#layout();
  }

  playAll() {
    for (const tile of this.#tiles.values()) tile.play();
  }

  // A tile stays while the person is in the roster or their media is still mapped (the two
  // messages do not arrive at the same moment).
  #sync() {
    const container = $('remote-tiles');
    const ids = [...this.#roster.keys()];
    for (const id of this.#tracks.keys()) if (!this.#roster.has(id)) ids.push(id);
    for (const [id, tile] of this.#tiles) {
      if (!ids.includes(id)) {
        tile.destroy();
        this.#tiles.delete(id);
      }
    }
    for (const id of ids) {
      let tile = this.#tiles.get(id);
      if (!tile) {
        tile = new Tile(id, this.#onPlayBlocked);
        this.#tiles.set(id, tile);
        container.append(tile.root);
      }
      // Someone whose media is still mapped after they left the roster keeps their last label.
      const entry = this.#roster.get(id);
      if (entry) tile.update(entry);
      else if (!tile.root.dataset.audio) tile.update({ label: 'Participant' });
      tile.setTracks(this.#tracks.get(id) || []);
    }
    this.#layout();
  }

  #layout() {
    const n = this.#tiles.size;
    const stage = $('stage');
    stage.dataset.layout = n === 0 ? 'empty' : n === 1 ? 'one' : 'grid';
    stage.dataset.count = String(n);
    $('stage-empty').hidden = n > 0;
  }
}
