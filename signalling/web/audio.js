// One AudioContext for the page: the microphone level meter, the speaker test tone and the
// host's "someone is waiting" chime. Browsers create it suspended until the person has
// interacted with the page (autoplay rules), so it is resumed on the first tap or key press.

let ctx = null;

export function audioContext() {
  if (!ctx) {
    if (typeof AudioContext !== 'function') return null;
    try {
      ctx = new AudioContext();
    } catch {
      return null;
    }
    const resume = () => {
      if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    };
    for (const type of ['pointerdown', 'keydown', 'touchend']) {
      document.addEventListener(type, resume, { capture: true, passive: true });
    }
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

// A short sine tone with soft edges (a hard start or stop clicks in the speaker).
export function playTone({ frequency = 440, seconds = 1, volume = 0.2, delay = 0 } = {}) {
  const ac = audioContext();
  if (!ac) return false;
  const start = ac.currentTime + 0.02 + delay;
  const osc = ac.createOscillator();
  const gain = ac.createGain();
  osc.type = 'sine';
  osc.frequency.value = frequency;
  gain.gain.setValueAtTime(0, start);
  gain.gain.linearRampToValueAtTime(volume, start + 0.03);
  gain.gain.setValueAtTime(volume, start + Math.max(0.03, seconds - 0.05));
  gain.gain.linearRampToValueAtTime(0, start + seconds);
  osc.connect(gain).connect(ac.destination);
  osc.start(start);
  osc.stop(start + seconds + 0.01);
  osc.onended = () => gain.disconnect();
  return true;
}

// Two quick notes: enough for a clinician to notice a patient arriving without startling.
export function playChime() {
  playTone({ frequency: 660, seconds: 0.15, volume: 0.15 });
  playTone({ frequency: 880, seconds: 0.2, volume: 0.15, delay: 0.18 });
}

// Feeds a <meter> from a microphone track. Returns a function that stops it.
export function startLevelMeter(track, meter) {
  const ac = audioContext();
  if (!ac || !track) return () => {};
  let source;
  try {
    source = ac.createMediaStreamSource(new MediaStream([track]));
  } catch {
    return () => {};
  }
  const analyser = ac.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let shown = 0;
  // A timer rather than requestAnimationFrame: ten updates a second is plenty for a meter, and
  // assistive technology is not flooded with value changes.
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    // -60 dBFS (silence) .. 0 dBFS (loudest) onto 0..100.
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    const level = Math.max(0, Math.min(100, Math.round(((db + 60) / 60) * 100)));
    // Rise at once, fall slowly: a meter that flickers is hard to read.
    shown = level > shown ? level : Math.max(level, shown - 8);
    meter.value = shown;
  }, 100);
  return () => {
    clearInterval(timer);
    source.disconnect();
    analyser.disconnect();
    meter.value = 0;
  };
}
