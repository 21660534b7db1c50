// The pre-call check: get the camera and microphone, show the preview and the microphone level,
// play a test tone, and explain in plain words what to do when a device cannot be used. It
// hands the app whatever tracks it got; joining works with none at all (see and hear only).

import { $, el } from './ui.js';
import { audioContext, playTone, startLevelMeter } from './audio.js';
import { deviceAdvice } from './text.js';

// Ideal values only, never exact ones: a phone that cannot do 640x480 still gives a picture
// rather than an OverconstrainedError. 'user' picks the front camera on phones.
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const MIC_HINT = 'Say something. The bar moves when your microphone hears you.';
// Browsers keep audio processing paused until the person has pressed something on the page, and
// the meter cannot move before that: the speaker test is the natural first press.
const MIC_HINT_PAUSED = 'Select Test speakers, then say something. The bar moves when your microphone hears you.';

export class PreCall {
  stream = null;
  ready = Promise.resolve();
  #stopMeter = () => {};

  constructor() {
    $('test-speakers').addEventListener('click', () => this.#testSpeakers());
    $('retry-devices').addEventListener('click', () => this.start());
  }

  get audioTrack() {
    return this.stream ? this.stream.getAudioTracks()[0] || null : null;
  }

  get videoTrack() {
    return this.stream ? this.stream.getVideoTracks()[0] || null : null;
  }

  // Starts (or restarts, after "Try again") the device check. `ready` settles when it is done,
  // so that pressing Join during the browser's permission prompt waits for the answer.
  start() {
    this.ready = this.#acquire();
    return this.ready;
  }

  // The meter is only for this screen; the tracks live on into the call.
  stopMeter() {
    this.#stopMeter();
    this.#stopMeter = () => {};
  }

  stopTracks() {
    this.stopMeter();
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
  }

  async #acquire() {
    this.stopTracks();
    this.stream = null;
    $('retry-devices').hidden = true;
    const { stream, missing, cause } = await getMedia();
    this.stream = stream;
    this.#show(missing, cause);
  }

  #show(missing, cause) {
    const video = $('preview-video');
    video.srcObject = this.videoTrack ? this.stream : null;
    $('preview-none').hidden = Boolean(this.videoTrack);
    $('precall-asking').hidden = true;

    const advice = $('precall-advice');
    advice.replaceChildren();
    if (missing) {
      const { title, lines } = deviceAdvice(missing, cause);
      advice.append(el('h2', '', title), ...lines.map((line) => el('p', '', line)));
      $('retry-devices').hidden = cause === 'unsupported';
    }

    if (this.audioTrack) {
      this.#stopMeter = startLevelMeter(this.audioTrack, $('mic-level'));
      const ac = audioContext();
      const hint = () => {
        $('mic-hint').textContent = !ac || ac.state === 'running' ? MIC_HINT : MIC_HINT_PAUSED;
      };
      hint();
      if (ac) ac.onstatechange = hint;
    } else {
      const ac = audioContext();
      if (ac) ac.onstatechange = null;
      $('mic-hint').textContent = 'No microphone is being used.';
    }
  }

  #testSpeakers() {
    const hint = $('speaker-hint');
    if (playTone({ frequency: 440, seconds: 1.2 })) {
      hint.textContent =
        'Playing a short tone. If you cannot hear it, turn up the volume or check your speakers or headphones.';
    } else {
      hint.textContent = 'Your browser cannot play the test sound.';
    }
  }
}

// Asks for both devices, then, when that fails for a reason other than the person saying no,
// for each one alone: a laptop without a camera, or a camera held by another app, still gives
// a microphone. Permission errors are not retried: each retry could prompt again.
async function getMedia() {
  const md = navigator.mediaDevices;
  if (!md || typeof md.getUserMedia !== 'function') {
    return { stream: null, missing: 'both', cause: 'unsupported' };
  }
  try {
    return { stream: await md.getUserMedia({ audio: AUDIO, video: VIDEO }), missing: '', cause: '' };
  } catch (err) {
    const cause = err && err.name ? err.name : 'Error';
    console.warn('getUserMedia (audio and video) failed:', cause, err && err.message);
    if (cause === 'NotAllowedError' || cause === 'SecurityError') {
      return { stream: null, missing: 'both', cause };
    }
    for (const [constraints, missing] of [
      [{ audio: AUDIO }, 'video'],
      [{ video: VIDEO }, 'audio'],
    ]) {
      try {
        return { stream: await md.getUserMedia(constraints), missing, cause };
      } catch (err2) {
        console.warn('getUserMedia fallback failed:', err2 && err2.name);
      }
    }
    return { stream: null, missing: 'both', cause };
  }
}
