// Every sentence a patient may read about something going wrong, in one place so that the
// wording stays plain and consistent (NHS style: short sentences, say what to do next).

const CONTACT = 'Contact your GP practice to ask for a new link.';

// How the call ended for this browser (the `ended` reasons) and why a join was refused (the
// link error codes). Each has the screen's heading, what happened, and what to do.
const ENDINGS = {
  denied: {
    title: 'You could not join',
    text: 'The clinician could not admit you to this consultation.',
    advice: 'If you think this is wrong, contact your GP practice.',
  },
  removed: {
    title: 'You have been removed',
    text: 'The clinician removed you from this consultation.',
    advice: 'If you think this is wrong, contact your GP practice.',
  },
  ended: {
    title: 'This consultation has ended',
    text: 'This consultation has ended.',
    advice: 'You can close this page.',
  },
  left: {
    title: 'You have left the consultation',
    text: 'You have left the consultation.',
    advice: 'You can close this page. If you left by mistake, select Join again.',
    rejoin: true,
  },
  replaced: {
    title: 'This consultation is open somewhere else',
    text: 'You joined from another tab or window.',
    advice: 'You can close this page and use the other one. To use this one instead, select Join again.',
    rejoin: true,
  },
  bad_token: {
    title: 'This link does not work',
    text: 'The link you used is not valid. It may not have been copied in full.',
    advice: CONTACT,
  },
  link_expired: {
    title: 'This link has expired',
    text: 'The link you used has expired.',
    advice: CONTACT,
  },
  link_used: {
    title: 'This link has already been used',
    text: 'The link you used has already been used on another phone, tablet or computer.',
    advice: 'Open it on the device you used first, or contact your GP practice to ask for a new link.',
  },
  consultation_ended: {
    title: 'This consultation has ended',
    text: 'This consultation has already ended.',
    advice: 'If you still need help, contact your GP practice.',
  },
};

export const LINK_ERRORS = new Set(['bad_token', 'link_expired', 'link_used', 'consultation_ended']);

export function ending(reason) {
  return ENDINGS[reason] || {
    title: 'The consultation has stopped',
    text: 'The consultation has stopped.',
    advice: 'If you still need help, contact your GP practice.',
  };
}

// Errors that leave the call running. The server's own message is for developers (it may
// name an SDP attribute), so it goes to the console, not to the patient.
const ERRORS = {
  not_admitted: 'You can send messages once the clinician has let you in.',
  forbidden: 'You cannot do that in this consultation.',
  not_found: 'That person is no longer in the consultation.',
  unavailable: 'The video service is not available at the moment. Please wait, or try again later.',
  bad_sdp: 'Your browser could not start the video. Try the latest version of Chrome, Safari, Firefox or Edge.',
  no_session: 'Your browser is blocking cookies for this site, and the consultation needs one. Allow cookies for this site, then open your link again.',
};

export function errorText(code) {
  return ERRORS[code] || 'Something went wrong. If it keeps happening, leave and open your link again.';
}

// Advice when the camera or microphone cannot be used. `missing` is 'audio', 'video' or
// 'both'; `cause` is the DOMException name of the first failure (or 'unsupported').
export function deviceAdvice(missing, cause) {
  if (cause === 'unsupported') {
    return {
      title: 'Your browser cannot use your camera here',
      lines: [
        'Try the latest version of Chrome, Safari, Firefox or Edge.',
        'You can still join to see and hear the clinician.',
      ],
    };
  }
  if (cause === 'NotAllowedError' || cause === 'SecurityError') {
    return {
      title: 'Your camera and microphone are blocked',
      lines: [
        'To use them, allow this page to use your camera and microphone in your browser settings.',
        'On a computer or Android phone: select the icon next to the web address (it may look like a padlock or a camera). Then allow the camera and microphone.',
        'On an iPhone or iPad: open Settings, then Safari. Set Camera and Microphone to Allow.',
        'Then select Try again.',
        'You can also join without them. The clinician will not be able to see or hear you.',
      ],
    };
  }
  const busy = cause === 'NotReadableError' || cause === 'AbortError';
  if (missing === 'video') {
    return busy
      ? {
          title: 'Another app is using your camera',
          lines: [
            'Close other apps that may be using it, such as other video calls. Then select Try again.',
            'You can also join with sound only. The clinician will hear you but not see you.',
          ],
        }
      : {
          title: 'No camera found',
          lines: ['You can join with sound only. The clinician will hear you but not see you.'],
        };
  }
  if (missing === 'audio') {
    return busy
      ? {
          title: 'Another app is using your microphone',
          lines: [
            'Close other apps that may be using it, such as other video calls. Then select Try again.',
            'You can also join without sound. The clinician will see you but not hear you. You can type messages in the chat.',
          ],
        }
      : {
          title: 'No microphone found',
          lines: [
            'You can join without sound. The clinician will see you but not hear you. You can type messages in the chat.',
          ],
        };
  }
  if (busy) {
    return {
      title: 'Another app is using your camera and microphone',
      lines: [
        'Close other apps that may be using them, such as other video calls. Then select Try again.',
        'You can also join without them to see and hear the clinician.',
      ],
    };
  }
  if (cause === 'NotFoundError') {
    return {
      title: 'No camera or microphone found',
      lines: [
        'You can still join to see and hear the clinician. They will not be able to see or hear you.',
        'You can type messages in the chat.',
      ],
    };
  }
  return {
    title: 'There is a problem with your camera or microphone',
    lines: [
      'Select Try again. If that does not work, you can still join to see and hear the clinician.',
    ],
  };
}

// The pre-call connection test's result (conncheck.js) in plain words: a first line that says
// what it means and what to do, and a second with what was measured.
export function connectionAdvice({ outcome, rttMs, lossPct, relay }) {
  const measured =
    typeof rttMs === 'number' ? `Round trip: ${rttMs} ms. Packets lost: ${lossPct}%.` : '';
  const via = relay
    ? ' Your network blocks direct video calls, so your call will go through our relay server.'
    : '';
  switch (outcome) {
    case 'good':
      return { title: 'Your connection looks good.', detail: measured + via };
    case 'fair':
      return {
        title:
          'Your connection is a little slow. The video may sometimes be blurry or pause. Moving closer to your Wi-Fi router can help.',
        detail: measured + via,
      };
    case 'poor':
      return {
        title:
          'Your connection is slow. The video may freeze and the sound may break up. Move closer to your Wi-Fi router, or ask others in your home to pause streaming and downloads. You can still join.',
        detail: measured + via,
      };
    case 'blocked':
      return {
        title: 'We could not reach the video service.',
        detail:
          'Your network may be blocking video calls. This can happen on work, hospital or public Wi-Fi. Try another Wi-Fi network or your mobile data, then select Check again. You can still join: the clinician will see that you are waiting.',
      };
    default:
      return { title: 'We could not check your connection just now.', detail: 'You can still join.' };
  }
}
