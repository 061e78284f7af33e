// faceproof web capture page: ID document -> challenge-liveness session -> decision.
//
// The page holds no API key. The operator's backend creates a liveness session
// (POST /v1/liveness/sessions with its API key) and opens this page as
//   /#session=<session_id>&token=<client_token>
// The client token (fpsess_...) is scoped to that one session: read its challenge, send its capture
// once, and run one verification with it. The page reads the fragment, then removes it from the
// address bar.
//
// Flow: ID document (photo or chip files) -> GET the session (its challenge) -> the camera films
// a frontal baseline, then each step of the challenge in order (prompt, hold, back to frontal),
// ~10 frames a second; in motion_light the window around the preview shows the challenge's colours
// in order (cycled until the end), and each frame records the colour index on screen -> POST
// .../capture (frames unmirrored, timestamps_ms, color_indices) -> the session's decision (live /
// not_live / retry) with its reasons and steps -> unless "retry", POST /v1/verify with
// liveness_session and the ID reference -> the identity decision.
//
// Privacy: the client token, the ID image and the frames live only in the `state` object below.
// Nothing is written to localStorage, sessionStorage, IndexedDB, the Cache API or cookies; the
// camera is stopped as soon as the capture is taken; images are drawn on canvases (decoded with
// createImageBitmap, or through an object URL revoked as soon as the image is decoded); "Forget the
// images" (and leaving the page) drops every image and result.
'use strict';

(() => {
  const FRAME_MS = 100;            // ~10 frames a second (the server needs 8 or more, no gap > 400 ms)
  const MAX_FRAMES = 120;          // the server's default limit per capture
  const FRAME_MAX_SIDE = 640;      // frames are sent at most 640 px wide (640x480 from most cameras)
  const JPEG_QUALITY = 0.85;
  const BASELINE_MS = 1000;        // looking straight at the camera before the first step
  const MOVE_MS = 1400;            // from a prompt to the pose reached
  const BLINK_MS = 1400;           // a blink step: the prompt, the blink
  const BACK_MS = 1100;            // back to frontal after each step
  const READY_MS = 1500;           // "get ready" before the first frame
  const REQUEST_TIMEOUT_MS = 120000;
  const MAX_CANVAS_SIDE = 1600;    // result pictures are drawn at most this large
  const PREVIEW_SIDE = 800;        // the ID preview of step 1
  const MIN_CANVAS_SIDE = 480;     // smaller images are scaled up on the canvas
  const NEUTRAL_BACKGROUND = '#f3f4f6';

  // The challenge's actions as prompts. turn_left is the person's own left: in the mirrored
  // preview their head moves to the screen's left, as they expect.
  const ACTIONS = {
    turn_left: { prompt: 'turn your head to your left', hold: 'Hold it, head turned to your left', back: 'Look straight at the camera again' },
    turn_right: { prompt: 'turn your head to your right', hold: 'Hold it, head turned to your right', back: 'Look straight at the camera again' },
    look_up: { prompt: 'look up (raise your chin)', hold: 'Hold it, chin raised', back: 'Look straight at the camera again' },
    look_down: { prompt: 'look down (lower your chin)', hold: 'Hold it, chin lowered', back: 'Look straight at the camera again' },
    blink: { prompt: 'blink once', hold: '', back: 'Keep your eyes open and look straight at the camera' },
    move_closer: { prompt: 'move closer to the camera', hold: 'Hold it, close to the camera',
      back: 'Move back to where you were and look straight at the camera' },
  };
  const actionText = (action) => (ACTIONS[action] ? ACTIONS[action].prompt : `do this: ${action}`);
  const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

  // Human sentences for the codes of the liveness session rules (src/liveness/liveness_session.cpp)
  // and of the verification (docs/api-v1.md); an unknown code is shown as it is.
  const REASONS = {
    // Capture conditions ("retry"): what to fix.
    TOO_DARK: 'The pictures were too dark: add light in front of your face (face a window or a lamp).',
    TOO_BRIGHT: 'The pictures were too bright: avoid strong light shining on your face or straight into the camera.',
    BLURRED: 'The pictures were blurred: hold the device still and clean the camera lens.',
    NO_FACE: 'No face was found in some pictures: keep your whole face inside the picture, facing the camera.',
    NOT_MEASURED: 'Your face could not be measured in some pictures: face the camera in good light, with your whole face in the picture.',
    TOO_FEW_FRAMES: 'Too few pictures were taken: keep this page in front and the camera on until the end of the check.',
    LOW_FRAME_RATE: 'The camera delivered pictures too slowly: close other programs and browser tabs, then try again.',
    // Not live.
    SEVERAL_FACES: 'More than one face was seen: only the person being checked may be in front of the camera.',
    NOT_FRONTAL_AT_START: 'The face was not looking straight at the camera at the start.',
    STEP_MISSING: 'A movement that was asked for was not seen.',
    STEP_TOO_SMALL: 'A movement was started but was too small.',
    STEP_WRONG_DIRECTION: 'A movement went the other way than the one asked (for example right instead of left).',
    STEP_ORDER: 'The movements were not made in the order asked.',
    STEP_TOO_LATE: 'A movement came too long after it was asked for.',
    STEP_NOT_HELD: 'A movement was not held long enough.',
    NOT_BACK_TO_FRONTAL: 'After a movement, the face did not come back to looking straight at the camera.',
    BLINK_TOO_LONG: 'The eyes stayed closed too long for a blink.',
    UNASKED_MOVEMENT: 'A head movement that was not asked for was seen.',
    FACE_CHANGED: 'The pictures do not all show the same person.',
    SPLICED: 'The video jumps between pictures, as an edited recording does.',
    FROZEN_FEED: 'Two pictures in a row were identical: the camera picture looks frozen.',
    LOOPED_FEED: 'The same picture came back later: the camera picture looks like a loop.',
    FLAT_SURFACE: 'The face moved like a flat picture being tilted, not like a real head.',
    SPOOF_SUSPECTED: 'The pictures look like a photo, a screen or a mask rather than a live person.',
    LIGHT_MISSING: 'The colours shown on the screen were not all captured.',
    LIGHT_NOT_FOLLOWED: 'The colours shown on the screen did not light the face as they would light a real face in front of it.',
    NOT_LIVE: 'The liveness check did not find a live person.',
    NOT_ASSESSED: 'Not checked, because an earlier step failed.',
    // The verification.
    NO_MATCH: 'The face does not match the ID portrait closely enough.',
    PROBE_QUALITY: 'The picture from the liveness check is not of usable quality (see “Image quality” below).',
    NO_CHALLENGE: 'The liveness challenge was not seen.',
    SOD_SIGNATURE_INVALID: 'The chip’s signature does not verify: its data were altered or corrupted.',
    DG1_HASH_MISMATCH: 'The chip’s data page (DG1) is not the one the issuing State signed.',
    DG2_HASH_MISMATCH: 'The chip’s portrait (DG2) is not the one the issuing State signed.',
    CSCA_UNKNOWN: 'The document’s signer does not chain to a country certificate this server trusts.',
    DS_CERT_EXPIRED: 'The document signer’s certificate was not valid when it signed.',
    CSCA_CERT_EXPIRED: 'The country certificate was not valid when the document was signed.',
    DS_CERT_REVOKED: 'The document signer’s certificate has been revoked.',
    CHAIN_INVALID: 'The document’s certificate chain is not valid.',
    EC_PARAMETERS_UNKNOWN_CURVE: 'A certificate of the chain uses an unknown elliptic curve.',
    MRZ_CHECK_DIGIT: 'A check digit of the machine-readable zone is wrong.',
    MRZ_DATE_INVALID: 'A date in the machine-readable zone is not valid.',
    DOCUMENT_EXPIRED: 'The document has expired.',
    CARD_PORTRAIT_MISMATCH: 'The portrait printed on the card does not match the chip portrait.',
  };
  const reasonText = (code) => REASONS[code] || `Reason: ${code}.`;
  // Chip files by name as readers export them: EF.SOD (or SOD), DG1, DG2, DG14, DG15.
  const CHIP_FIELDS = { 'EF.SOD': 'sod', SOD: 'sod', DG1: 'dg1', DG2: 'dg2', DG14: 'dg14', DG15: 'dg15' };
  // Quality feedback: what is wrong, then what to do about it, for the face picture and for the document.
  const QUALITY_FEEDBACK = {
    BLURRY: ['The image is blurry.', 'Hold still and make sure the camera is in focus.', 'Take a sharper photo of the document.'],
    EYES_CLOSED: ['The eyes look closed.', 'Keep the eyes open and look at the camera.', ''],
    FACE_CUT_OFF: ['Part of the face is cut off.', 'The whole face must be inside the picture.', 'Photograph the whole portrait.'],
    FACE_TOO_SMALL: ['The face is too small.', 'Move closer to the camera.', 'Photograph the document from closer.'],
    LOOK_STRAIGHT: ['The head is turned or tilted too much.', 'Look straight at the camera.', ''],
    LOW_CONTRAST: ['The image has too little contrast.', 'Improve the lighting.', 'Improve the lighting.'],
    MULTIPLE_FACES: ['More than one face is visible.', 'Only the person being checked may be in the picture.',
      'Photograph only the portrait page.'],
    NO_FACE: ['No face was found in the image.', 'Face the camera.', 'Photograph the portrait page.'],
    TOO_BRIGHT: ['The image is too bright.', 'Avoid direct light on the face.', 'Avoid glare on the document.'],
    TOO_DARK: ['The image is too dark.', 'Add light in front of the face.', 'Add light.'],
    UNEVEN_LIGHTING: ['The lighting is uneven.', 'Avoid light from one side and strong shadows.',
      'Avoid shadows and reflections on the document.'],
  };
  const NEW_LINK = 'A link can be used only once: to try again, ask the service that sent it to you for a new one.';

  const $ = (id) => document.getElementById(id);
  const el = {
    sessionHeading: $('session-heading'), sessionState: $('session-state'), sessionLightNote: $('session-light-note'),
    progressList: $('progress'),
    status: $('status'),
    steps: [$('step-id'), $('step-selfie'), $('step-result')],
    headings: [$('step-id-heading'), $('step-selfie-heading'), $('step-result-heading')],
    progress: [$('progress-1'), $('progress-2'), $('progress-3')],
    idCamera: $('id-camera'), idFile: $('id-file'),
    idPreviewFigure: $('id-preview-figure'), idPreview: $('id-preview'), idPreviewCaption: $('id-preview-caption'),
    toSelfie: $('to-selfie'),
    chipFiles: $('chip-files'), chipState: $('chip-state'),
    documentResult: $('document-result'), documentStatus: $('document-status'), documentDetails: $('document-details'),
    liveDuration: $('live-duration'), challengeSteps: $('challenge-steps'),
    flashWarning: $('flash-warning'), flashWarningText: $('flash-warning-text'), flashOk: $('flash-ok'), motionNote: $('motion-note'),
    captureArea: $('capture-area'), video: $('video'), cameraPlaceholder: $('camera-placeholder'), challenge: $('challenge'),
    stepTimerFill: $('step-timer-fill'), stopCapture: $('stop-capture'),
    startCamera: $('start-camera'), capture: $('capture'), backToId: $('back-to-id'),
    busy: $('busy'), error: $('error'), errorMessage: $('error-message'), retry: $('retry'), retake: $('retake'),
    sessionResult: $('session-result'), sessionDecision: $('session-decision'), sessionDecisionTitle: $('session-decision-title'),
    sessionDecisionSummary: $('session-decision-summary'), sessionReasons: $('session-reasons'), sessionSteps: $('session-steps'),
    sessionNext: $('session-next'),
    result: $('result'), decision: $('decision'), decisionTitle: $('decision-title'),
    decisionSummary: $('decision-summary'), decisionReasons: $('decision-reasons'),
    similarity: $('similarity'), similarityFill: $('similarity-fill'), thresholdMark: $('threshold-mark'),
    referenceCanvas: $('reference-canvas'), probeCanvas: $('probe-canvas'),
    referenceCaption: $('reference-caption'), probeCaption: $('probe-caption'),
    liveness: $('liveness'), livenessDetails: $('liveness-details'),
    qualityProbe: $('quality-probe'), qualityReference: $('quality-reference'),
    startOver: $('start-over'),
  };

  // Everything sensitive, in memory only.
  const state = {
    session: null,       // { id, token } from the link
    challenge: null,     // the session's challenge (GET /v1/liveness/sessions/{id})
    sessionState: '',    // its state when last read
    expiresAt: '',
    idImage: null,       // Blob (the File chosen)
    chip: null,          // { sod, dg1, dg2[, dg14, dg15] } Files, when chip files were chosen instead
    chipPortrait: null,  // the JPEG inside DG2 (Blob), to draw the reference; null for JPEG 2000
    frames: [],          // Blobs (JPEG) of the capture, in capture order
    times: [],           // ms since the first frame, per frame
    colorIndices: [],    // motion_light: index of the colour on screen, per frame (-1 = none)
    sessionDecision: null, // the capture's answer
    capturing: null,     // { abort(reason) } while the capture runs
    stream: null,        // MediaStream while the camera is on
    request: null,       // AbortController of the request in flight
    lastAction: null,    // what "Try again" repeats: 'capture' or 'verify'
    retryTimer: 0,
    generation: 0,       // bumped by "Forget the images": late async work of an older run is dropped
  };

  // ------------------------------------------------------------------------------------------
  // Small helpers

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function announce(text) {
    el.status.textContent = text;
  }

  function listItems(list, sentences) {
    list.replaceChildren(...sentences.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }));
  }

  // Reason codes as sentences; the code stays on the element (data-code) for support and tests.
  function listReasons(list, codes) {
    list.replaceChildren(...codes.map((code) => {
      const li = document.createElement('li');
      li.textContent = reasonText(code);
      li.dataset.code = code;
      return li;
    }));
  }

  function num(x, digits) {
    return Number.isFinite(x) ? x.toFixed(digits) : '–';
  }

  function fmrText(fmr) {
    if (!Number.isFinite(fmr) || fmr <= 0) return '';
    return `1 in ${Math.round(1 / fmr).toLocaleString('en')}`;
  }

  // Boxes may come as {x, y, width, height} (the API contract) or [x, y, width, height].
  function normaliseBox(box) {
    if (!box) return null;
    const [x, y, w, h] = Array.isArray(box)
      ? box.map(Number)
      : [box.x ?? box.left, box.y ?? box.top, box.width ?? box.w, box.height ?? box.h].map(Number);
    return [x, y, w, h].every(Number.isFinite) && w > 0 && h > 0 ? { x, y, width: w, height: h } : null;
  }

  function timeOfDay(rfc3339) {
    const when = new Date(rfc3339);
    return Number.isFinite(when.getTime()) ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
  }

  // ------------------------------------------------------------------------------------------
  // Requests: every one carries the session's client token, never an API key.

  // Returns { response, body } or throws { network: true, timeout } for no answer.
  async function api(method, path, form = null) {
    const controller = new AbortController();
    state.request = controller;
    const timer = setTimeout(() => controller.abort('timeout'), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${state.session.token}`, Accept: 'application/json' },
        body: form,
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
      const text = await response.text();
      let body = null;
      try { body = JSON.parse(text); } catch { body = null; }
      return { response, body };
    } catch {
      throw { network: true, timeout: controller.signal.aborted };
    } finally {
      clearTimeout(timer);
      if (state.request === controller) state.request = null;
    }
  }

  const sessionPath = (suffix = '') => `/v1/liveness/sessions/${encodeURIComponent(state.session.id)}${suffix}`;

  // ------------------------------------------------------------------------------------------
  // The session: from the URL fragment (#session=...&token=...), then removed from the address bar.

  function takeSessionFromFragment() {
    const fragment = location.hash.replace(/^#/, '');
    if (!fragment) return false;
    const params = new URLSearchParams(fragment);
    const id = (params.get('session') || '').trim();
    const token = (params.get('token') || '').trim();
    // Whatever the fragment holds, it leaves the address bar (and the history entry).
    history.replaceState(history.state, '', location.pathname + location.search);
    if (!id || !token) return false;
    clearEverything();
    state.session = { id, token };
    return true;
  }

  function showSessionProblem(text) {
    el.sessionState.textContent = text;
    el.sessionState.classList.add('bad');
    el.sessionLightNote.hidden = true;
    el.progressList.hidden = true;
    el.steps.forEach((section) => { section.hidden = true; });
    announce(text);
  }

  function stateProblem(sessionState) {
    switch (sessionState) {
      case 'open': return '';
      case 'expired': return `This link has expired. ${NEW_LINK}`;
      case 'capturing': return 'This link’s liveness check is being decided right now (in another window?).';
      default: return `This link was used already. ${NEW_LINK}`;
    }
  }

  function describeMode(challenge) {
    return challenge && challenge.mode === 'motion_light'
      ? 'head movements while the screen shows colours'
      : 'head movements only (no flashing colours)';
  }

  // Reads the session (its state and challenge). Returns true when it can be captured.
  async function loadSession(focus = false) {
    if (!state.session) {
      showSessionProblem('This page works only from the link given by the service that asked you to prove your identity: ' +
        'the link carries a one-time session. Go back to that service and open its link again.');
      if (focus) el.sessionHeading.focus();
      return false;
    }
    const generation = state.generation;
    el.sessionState.classList.remove('bad');
    el.sessionState.textContent = 'Reading the link…';
    let answer;
    try {
      answer = await api('GET', sessionPath());
    } catch (error) {
      if (generation !== state.generation) return false;
      showSessionProblem(error.timeout ? 'The server did not answer. Reload the page to try again.'
        : 'Cannot reach the server: check the network connection, then reload the page.');
      return false;
    }
    if (generation !== state.generation) return false;
    const { response, body } = answer;
    if (!response.ok || !body || typeof body !== 'object') {
      showSessionProblem(response.status === 404 || response.status === 401
        ? `This link is not valid (or it expired some time ago). ${NEW_LINK}`
        : errorText(response.status, body, retryAfterSeconds(response.headers.get('Retry-After'))));
      if (focus) el.sessionHeading.focus();
      return false;
    }
    state.challenge = body.challenge || null;
    state.sessionState = body.state;
    state.expiresAt = body.expires_at || '';
    const problem = stateProblem(body.state);
    if (problem) {
      showSessionProblem(problem);
      if (focus) el.sessionHeading.focus();
      return false;
    }
    const steps = Array.isArray(state.challenge && state.challenge.steps) ? state.challenge.steps : [];
    const until = timeOfDay(state.expiresAt);
    el.sessionState.textContent = `Ready: a check with ${steps.length} ${describeMode(state.challenge)}` +
      (until ? `. The link is valid until ${until}: finish before then.` : '.');
    el.sessionLightNote.hidden = !(state.challenge && state.challenge.mode === 'motion_light');
    el.progressList.hidden = false;
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Steps

  function showStep(n, focus = true) {
    el.steps.forEach((section, i) => { section.hidden = i + 1 !== n; });
    el.progress.forEach((item, i) => {
      if (i + 1 === n) item.setAttribute('aria-current', 'step');
      else item.removeAttribute('aria-current');
      item.classList.toggle('done', i + 1 < n);
    });
    if (focus) el.headings[n - 1].focus();
  }

  // ------------------------------------------------------------------------------------------
  // Step 1: ID document

  function onIdChosen(event) {
    const input = event.target;
    const file = input.files && input.files[0];
    if (!file) return;
    (input === el.idCamera ? el.idFile : el.idCamera).value = '';
    if (file.type && !file.type.startsWith('image/')) {
      input.value = '';
      announce('That file is not an image. Choose a photo of the ID document.');
      return;
    }
    state.idImage = file;
    state.chip = null;
    state.chipPortrait = null;
    el.chipFiles.value = '';
    el.chipState.textContent = '';
    clearCanvas(el.idPreview);
    showPreview(file);
    el.toSelfie.disabled = false;
    announce('ID document image selected. Continue with the liveness check.');
  }

  // Decodes an image Blob with its EXIF orientation applied (as the server does), without an object
  // URL where the browser can (createImageBitmap); else through an <img> and an object URL that is
  // revoked as soon as the image is decoded.
  async function decodeImage(blob) {
    if (window.createImageBitmap) {
      try {
        const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
        return { source: bitmap, width: bitmap.width, height: bitmap.height, release: () => bitmap.close() };
      } catch {
        // the option or the format is not supported here: try an <img>
      }
    }
    const url = URL.createObjectURL(blob);
    const image = new Image();
    try {
      image.src = url;
      await image.decode();
    } finally {
      URL.revokeObjectURL(url);
    }
    return { source: image, width: image.naturalWidth, height: image.naturalHeight, release: () => { image.src = ''; } };
  }

  // Draws blob on canvas, scaled down to maxSide at most; returns the scale used.
  async function paint(canvas, blob, maxSide) {
    const image = await decodeImage(blob);
    try {
      // Small images are drawn larger, so that the lines drawn over them stay thin once displayed.
      const side = Math.max(image.width, image.height);
      const scale = Math.min(maxSide / side, Math.max(1, MIN_CANVAS_SIDE / side));
      canvas.width = Math.max(1, Math.round(image.width * scale));
      canvas.height = Math.max(1, Math.round(image.height * scale));
      canvas.getContext('2d').drawImage(image.source, 0, 0, canvas.width, canvas.height);
      return scale;
    } finally {
      image.release();
    }
  }

  async function showPreview(blob) {
    const generation = state.generation;
    const size = blob.size >= 1e6 ? `${(blob.size / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(blob.size / 1e3))} kB`;
    el.idPreviewCaption.textContent = `Selected image (${size}).`;
    el.idPreviewFigure.hidden = false;
    try {
      await paint(el.idPreview, blob, PREVIEW_SIDE);
      if (generation !== state.generation || (state.idImage !== blob && state.chipPortrait !== blob)) clearCanvas(el.idPreview);
    } catch {
      clearCanvas(el.idPreview);
      el.idPreviewCaption.textContent = `Selected image (${size}). This browser cannot show it; the server may still read it.`;
    }
  }

  // The JPEG portrait inside DG2 (from its start marker to its last end marker), for display only:
  // the server parses DG2 itself. null when there is none (a JPEG 2000 portrait).
  async function jpegInside(blob) {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let start = -1;
    for (let i = 0; i + 2 < bytes.length; i++) {
      if (bytes[i] === 0xff && bytes[i + 1] === 0xd8 && bytes[i + 2] === 0xff) { start = i; break; }
    }
    if (start < 0) return null;
    for (let end = bytes.length - 2; end > start; end--) {
      if (bytes[end] === 0xff && bytes[end + 1] === 0xd9) return new Blob([bytes.slice(start, end + 2)], { type: 'image/jpeg' });
    }
    return null;
  }

  async function onChipChosen() {
    const files = [...(el.chipFiles.files || [])];
    const chip = {};
    const unknown = [];
    for (const file of files) {
      const field = CHIP_FIELDS[file.name.toUpperCase().replace(/\.BIN$/, '')];
      if (field) chip[field] = file; else unknown.push(file.name);
    }
    const missing = [['sod', 'EF.SOD'], ['dg1', 'DG1'], ['dg2', 'DG2']].filter(([f]) => !chip[f]).map(([, n]) => n);
    if (files.length === 0) return;
    if (missing.length || unknown.length) {
      state.chip = null;
      el.chipState.textContent = (missing.length ? `Missing: ${missing.join(', ')}. ` : '') +
        (unknown.length ? `Not chip files: ${unknown.join(', ')}. ` : '') + 'Choose EF.SOD, DG1 and DG2 together.';
      el.toSelfie.disabled = !state.idImage;
      announce(el.chipState.textContent);
      return;
    }
    state.chip = chip;
    state.idImage = null;
    el.idCamera.value = '';
    el.idFile.value = '';
    el.chipState.textContent = `Chip files selected: ${Object.keys(chip).map((f) => f === 'sod' ? 'EF.SOD' : f.toUpperCase()).join(', ')}. ` +
      'The chip portrait will be the reference.';
    el.toSelfie.disabled = false;
    announce('Chip files selected. Continue with the liveness check.');
    const generation = state.generation;
    const portrait = await jpegInside(chip.dg2).catch(() => null);
    if (generation !== state.generation || state.chip !== chip) return;
    state.chipPortrait = portrait;
    clearCanvas(el.idPreview);
    if (portrait) {
      showPreview(portrait);
      el.idPreviewCaption.textContent = 'The portrait stored in the chip.';
    } else {
      el.idPreviewFigure.hidden = true;
    }
  }

  el.idCamera.addEventListener('change', onIdChosen);
  el.idFile.addEventListener('change', onIdChosen);
  el.chipFiles.addEventListener('change', onChipChosen);
  el.toSelfie.addEventListener('click', () => {
    if (!state.idImage && !state.chip) return;
    goToLiveness();
  });

  // ------------------------------------------------------------------------------------------
  // Step 2: the liveness check (the session's challenge)

  const isLight = () => Boolean(state.challenge && state.challenge.mode === 'motion_light' &&
    Array.isArray(state.challenge.colors) && state.challenge.colors.length > 0);

  // The timeline of the capture: a frontal baseline, then per step the prompt (time to move), the
  // hold (hold_ms) and the return to frontal. Times in ms from the first frame.
  function buildPlan(challenge) {
    const steps = Array.isArray(challenge && challenge.steps) ? challenge.steps : [];
    const phases = [{ kind: 'baseline', step: -1, ms: BASELINE_MS }];
    steps.forEach((s, i) => {
      const hold = Math.min(5000, Math.max(0, Number(s.hold_ms) || 0));
      if (s.action === 'blink') {
        phases.push({ kind: 'move', step: i, ms: Math.max(BLINK_MS, hold) });
      } else {
        phases.push({ kind: 'move', step: i, ms: MOVE_MS });
        phases.push({ kind: 'hold', step: i, ms: Math.max(300, hold) });
      }
      phases.push({ kind: 'back', step: i, ms: BACK_MS });
    });
    let at = 0;
    for (const p of phases) {
      p.start = at;
      at += p.ms;
    }
    return { phases, steps, total: at };
  }

  function phaseAt(plan, elapsed) {
    for (let i = 0; i < plan.phases.length; i++) {
      const p = plan.phases[i];
      if (elapsed < p.start + p.ms) return { index: i, phase: p, into: elapsed - p.start };
    }
    return null;
  }

  // The colours, in order for their ms each, cycled until the capture ends (every frame is lit by one).
  function colourAt(colors, elapsed) {
    const cycle = colors.reduce((sum, c) => sum + Math.max(1, Number(c.ms) || 0), 0);
    let t = elapsed % cycle;
    for (let i = 0; i < colors.length; i++) {
      t -= Math.max(1, Number(colors[i].ms) || 0);
      if (t < 0) return i;
    }
    return colors.length - 1;
  }

  function rgbText(colour) {
    const [r, g, b] = (Array.isArray(colour.rgb) ? colour.rgb : [0, 0, 0]).map((v) => Math.min(255, Math.max(0, Math.round(Number(v) || 0))));
    return `rgb(${r}, ${g}, ${b})`;
  }

  function promptFor(phase, count) {
    if (phase.kind === 'baseline') return ['Look straight at the camera', 'Keep still for a moment.'];
    const step = state.challenge.steps[phase.step];
    const head = `Step ${phase.step + 1} of ${count}: ${actionText(step.action)}`;
    const words = ACTIONS[step.action] || { hold: 'Hold it', back: 'Look straight at the camera again' };
    if (phase.kind === 'move') return [head, step.action === 'blink' ? 'Now.' : 'Now, slowly.'];
    if (phase.kind === 'hold') return [head, `${words.hold || 'Hold it'}…`];
    return [`${words.back}`, phase.step + 1 < count ? 'The next movement follows.' : 'Almost done.'];
  }

  function setPrompt(main, phase = '') {
    const strong = document.createElement('span');
    strong.textContent = main;
    const parts = [strong];
    if (phase) {
      const sub = document.createElement('span');
      sub.className = 'phase';
      sub.textContent = phase;
      parts.push(sub);
    }
    el.challenge.replaceChildren(...parts);
  }

  function renderPlanList(current = -1, doneBefore = -1) {
    const steps = Array.isArray(state.challenge && state.challenge.steps) ? state.challenge.steps : [];
    el.challengeSteps.replaceChildren(...steps.map((s, i) => {
      const li = document.createElement('li');
      li.textContent = capitalise(actionText(s.action));
      if (i === current) {
        li.className = 'current';
        li.setAttribute('aria-current', 'step');
      } else if (i < doneBefore) {
        li.className = 'done';
      }
      return li;
    }));
  }

  function prepareChallenge() {
    const plan = buildPlan(state.challenge);
    el.liveDuration.textContent = String(Math.round(plan.total / 1000 + READY_MS / 1000));
    renderPlanList();
    const light = isLight();
    el.flashWarning.hidden = !light;
    el.motionNote.hidden = light;
    el.flashOk.checked = false;
    if (light) {
      const colors = state.challenge.colors;
      const mean = colors.reduce((sum, c) => sum + (Number(c.ms) || 0), 0) / colors.length;
      const perSecond = mean > 0 ? Math.max(1, Math.round(1000 / mean)) : 3;
      el.flashWarningText.textContent = `During this check the whole window around the camera picture changes colour about ` +
        `${perSecond} times a second, for about ${Math.round(plan.total / 1000)} seconds. If flashing lights can affect you ` +
        '(for example photosensitive epilepsy), do not start: ask the service that sent you the link for a check without ' +
        'colours (its “motion” mode, with head movements only). Only that service can choose it.';
    }
  }

  function updateCaptureButton() {
    el.capture.disabled = !(state.stream && el.video.videoWidth && !state.capturing && state.challenge &&
      (!isLight() || el.flashOk.checked));
  }

  async function goToLiveness() {
    state.frames = [];
    state.times = [];
    state.colorIndices = [];
    el.challenge.classList.remove('active');
    setPrompt('When ready, press “Start the check”.');
    if (state.challenge) prepareChallenge();  // the challenge read with the link; re-read below
    showStep(2);
    const ok = await loadSession(true);
    if (!ok || el.steps[1].hidden) return;
    prepareChallenge();
    startCamera();
  }

  function cameraErrorText(error) {
    switch (error && error.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return 'The camera is blocked. Allow camera access for this page in the browser, then press “Turn on the camera”.';
      case 'NotFoundError':
      case 'OverconstrainedError':
        return 'No camera was found. Connect a camera, then press “Turn on the camera”.';
      case 'NotReadableError':
      case 'AbortError':
        return 'The camera is in use by another program or failed to start. Close other programs using it and try again.';
      default:
        return `The camera could not be started${error && error.message ? ` (${error.message})` : ''}.`;
    }
  }

  async function startCamera() {
    const generation = state.generation;
    el.startCamera.disabled = true;
    el.capture.disabled = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      announce('This browser cannot use the camera here: open the page over HTTPS (or on this computer at 127.0.0.1).');
      el.startCamera.disabled = false;
      return;
    }
    stopCamera();
    announce('Turning on the camera…');
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
      });
      if (generation !== state.generation || el.steps[1].hidden) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      state.stream = stream;
      stream.getVideoTracks().forEach((track) => track.addEventListener('ended', () => {
        if (state.stream !== stream) return;
        if (state.capturing) state.capturing.abort('camera');
        stopCamera();
        announce('The camera stopped. Press “Turn on the camera” to try again.');
      }));
      el.video.srcObject = stream;
      await el.video.play();
      for (let i = 0; i < 50 && !el.video.videoWidth; i++) await sleep(100);
      if (!el.video.videoWidth) throw Object.assign(new Error('no picture from the camera'), { name: 'AbortError' });
      el.cameraPlaceholder.hidden = true;
      el.video.classList.add('on');
      el.startCamera.hidden = true;
      updateCaptureButton();
      announce(isLight() && !el.flashOk.checked
        ? 'The camera is on. Read the warning about flashing colours, then press “Start the check”.'
        : 'The camera is on. Put your face in the picture, then press “Start the check”.');
    } catch (error) {
      stopCamera();
      if (generation === state.generation) announce(cameraErrorText(error));
    } finally {
      el.startCamera.disabled = false;
    }
  }

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    state.stream = null;
    el.video.pause();
    el.video.srcObject = null;
    el.video.classList.remove('on');
    el.cameraPlaceholder.hidden = false;
    el.capture.disabled = true;
    el.startCamera.hidden = false;
  }

  // One frame as the camera sees it (not mirrored: the mirror is only the preview's CSS), at most
  // FRAME_MAX_SIDE pixels wide or high.
  function grabFrame() {
    const w = el.video.videoWidth;
    const h = el.video.videoHeight;
    const scale = Math.min(1, FRAME_MAX_SIDE / Math.max(w, h));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    canvas.getContext('2d').drawImage(el.video, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  // Encodes and frees the canvas.
  function toJpeg(canvas) {
    return new Promise((resolve, reject) => {
      canvas.toBlob((blob) => {
        canvas.width = 0;
        canvas.height = 0;
        if (blob) resolve(blob); else reject(new Error('JPEG encoding failed'));
      }, 'image/jpeg', JPEG_QUALITY);
    });
  }

  function endCaptureDisplay() {
    el.captureArea.classList.remove('capturing');
    el.captureArea.style.removeProperty('--light');
    el.stepTimerFill.style.width = '0';
    el.stopCapture.hidden = true;
    el.challenge.classList.remove('active');
    el.backToId.disabled = false;
  }

  async function runCapture() {
    if (!state.stream || !el.video.videoWidth || !state.challenge || state.capturing) return;
    if (isLight() && !el.flashOk.checked) {
      announce('Read the warning about flashing colours and tick its box first.');
      el.flashOk.focus();
      return;
    }
    const generation = state.generation;
    const plan = buildPlan(state.challenge);
    const colors = isLight() ? state.challenge.colors : [];
    const count = plan.steps.length;
    let aborted = '';
    state.capturing = { abort: (why) => { aborted = aborted || why; } };
    el.capture.disabled = true;
    el.backToId.disabled = true;
    el.challenge.classList.add('active');
    el.captureArea.classList.add('capturing');
    el.captureArea.style.setProperty('--light', NEUTRAL_BACKGROUND);
    el.stopCapture.hidden = false;
    el.stopCapture.focus();
    setPrompt('Get ready: look straight at the camera', colors.length ? 'The colours start in a moment.' : '');
    const stopped = () => aborted || generation !== state.generation || !state.stream;
    for (let waited = 0; waited < READY_MS && !stopped(); waited += 100) await sleep(100);

    // Frames at a steady pace; the phase and the colour are updated before each frame.
    const interval = Math.max(FRAME_MS, Math.ceil(plan.total / (MAX_FRAMES - 1)));
    const pending = [];
    const times = [];
    const indices = [];
    let first = -1;
    let next = performance.now();
    let phaseShown = -1;
    let colourShown = -1;
    while (!stopped()) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopped()) break;
      const now = performance.now();
      if (first < 0) first = now;
      const elapsed = now - first;
      const at = phaseAt(plan, elapsed);
      if (!at) break;
      if (at.index !== phaseShown) {
        phaseShown = at.index;
        const [main, sub] = promptFor(at.phase, count);
        setPrompt(main, sub);
        const step = at.phase.step;
        renderPlanList(at.phase.kind === 'back' ? -1 : step, at.phase.kind === 'back' ? step + 1 : step);
      }
      const p = at.phase;
      el.stepTimerFill.style.width = p.kind === 'hold' ? `${Math.max(0, 100 * (1 - at.into / p.ms)).toFixed(1)}%`
        : p.kind === 'move' && state.challenge.steps[p.step].action !== 'blink' ? '100%' : '0';
      let index = -1;
      if (colors.length) {
        index = colourAt(colors, elapsed);
        if (index !== colourShown) {
          colourShown = index;
          el.captureArea.style.setProperty('--light', rgbText(colors[index]));
          el.captureArea.dataset.colour = String(index);
        }
      }
      pending.push(toJpeg(grabFrame()));
      times.push(Math.round(elapsed));
      indices.push(index);
      if (pending.length >= MAX_FRAMES) break;
      next += interval;
      if (next < performance.now()) next = performance.now();
    }
    const why = aborted || (generation !== state.generation ? 'gone' : !state.stream ? 'camera' : '');
    stopCamera();  // the capture is taken (or stopped): the camera goes off at once
    state.capturing = null;
    delete el.captureArea.dataset.colour;
    endCaptureDisplay();
    let frames;
    try {
      frames = await Promise.all(pending);
    } catch (error) {
      if (generation === state.generation) {
        setPrompt('The pictures could not be encoded. Turn on the camera and start again.');
        announce(`The pictures could not be encoded (${error.message}). Nothing was sent.`);
      }
      return;
    }
    if (generation !== state.generation) return;
    if (why) {
      const text = why === 'hidden'
        ? 'The check stopped because the page went to the background. Nothing was sent: turn on the camera and start again.'
        : why === 'camera'
          ? 'The camera stopped during the check. Nothing was sent: turn on the camera and start again.'
          : 'The check was stopped. Nothing was sent: turn on the camera and start again when ready.';
      setPrompt(text);
      renderPlanList();
      announce(text);
      el.startCamera.focus();
      return;
    }
    setPrompt('Done: the camera is off.');
    renderPlanList(-1, count);
    state.frames = frames;
    state.times = times;
    state.colorIndices = colors.length ? indices : [];
    sendCapture();
  }

  el.startCamera.addEventListener('click', startCamera);
  el.capture.addEventListener('click', runCapture);
  el.flashOk.addEventListener('change', () => {
    updateCaptureButton();
    if (el.flashOk.checked && !state.stream) announce('Turn on the camera, then press “Start the check”.');
  });
  el.stopCapture.addEventListener('click', () => { if (state.capturing) state.capturing.abort('stopped'); });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.capturing) state.capturing.abort('stopped');
  });
  // A page in the background gets its timers slowed down: the frame rate would fall. Stop instead.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && state.capturing) state.capturing.abort('hidden');
  });
  el.backToId.addEventListener('click', () => {
    stopCamera();
    state.frames = [];
    showStep(1);
  });

  // ------------------------------------------------------------------------------------------
  // Step 3: the requests and their answers

  function retryAfterSeconds(header) {
    if (!header) return null;
    if (/^\s*\d+\s*$/.test(header)) return Number(header);
    const when = Date.parse(header);
    return Number.isFinite(when) ? Math.max(1, Math.ceil((when - Date.now()) / 1000)) : null;
  }


  function errorText(status, body, retryAfter) {
    const code = body && body.error && body.error.code;
    const message = body && body.error && typeof body.error.message === 'string' ? body.error.message : '';
    const details = message ? ` (Server: ${message})` : '';
    const wait = retryAfter != null ? `retry in ${retryAfter} s` : 'retry in a few seconds';
    switch (status) {
      case 400: return `The server refused the request as invalid.${details}`;
      case 401: return `The server did not accept this link’s access. ${NEW_LINK}`;
      case 403: return `This link does not allow this step.${details}`;
      case 404: return `This link is not valid any more. ${NEW_LINK}`;
      case 409: return `This link’s liveness check was used already. ${NEW_LINK}`;
      case 410: return `This link expired before the check was sent. ${NEW_LINK}`;
      case 413: return `The pictures are too large for the server.${details}`;
      case 415: return `The server did not accept the format of the upload.${details}`;
      case 422:
        if (code === 'no_face') {
          if (/reference/i.test(message)) return 'No face was found on the ID document: take a sharper, closer photo of its portrait.';
          return `No face was found in the pictures: face the camera in good light.${details}`;
        }
        if (code === 'image_unreadable') return `An image could not be read: it is damaged or not a JPEG, PNG, WebP or BMP image.${details}`;
        return `The images could not be checked.${details}`;
      case 429:
        if (code === 'locked_out' || /locked/i.test(message)) return `Too many failed attempts: locked, ${wait}.`;
        return `Too many checks at once: busy, ${wait}.`;
      case 503: return `The server is busy, ${wait}.`;
      case 500: return 'The server failed while checking (internal error). Try again; if it happens again, tell the service.';
      default: return `Unexpected answer from the server (HTTP ${status}).${details}`;
    }
  }

  // options: retry (offer "Try again"), retryAfter (s), retake (offer redoing the liveness check).
  function showError(text, { retry = false, retryAfter = null, retake = false } = {}) {
    el.busy.hidden = true;
    el.errorMessage.textContent = text;
    el.error.hidden = false;
    announce(text);
    clearInterval(state.retryTimer);
    el.retry.hidden = !retry;
    el.retake.hidden = !retake;
    el.retry.disabled = false;
    el.retry.textContent = 'Try again';
    if (retry && retryAfter > 0) {
      let left = retryAfter;
      el.retry.disabled = true;
      el.retry.textContent = `Try again (${left} s)`;
      state.retryTimer = setInterval(() => {
        left -= 1;
        if (left > 0) {
          el.retry.textContent = `Try again (${left} s)`;
        } else {
          clearInterval(state.retryTimer);
          el.retry.disabled = false;
          el.retry.textContent = 'Try again';
        }
      }, 1000);
    }
  }

  function showBusy(text) {
    el.error.hidden = true;
    el.busy.hidden = false;
    document.getElementById('busy-text').textContent = text;
    announce(text);
  }

  // After a refused request: is the session still open (nothing used up), so the check can be redone?
  async function sessionStillOpen() {
    try {
      const { response, body } = await api('GET', sessionPath());
      return response.ok && body && body.state === 'open';
    } catch {
      return false;
    }
  }

  // Shows a failed request; "Try again" only where repeating can help, "Redo" where nothing was used up.
  async function showRequestError(error, answer, generation) {
    if (error) {
      showError(error.timeout ? `The server did not answer within ${REQUEST_TIMEOUT_MS / 1000} s. Try again.`
        : 'Cannot reach the server: check the network connection, then try again.', { retry: true });
      return;
    }
    const { response, body } = answer;
    const status = response.status;
    const retryAfter = retryAfterSeconds(response.headers.get('Retry-After'));
    const repeatable = status === 429 || status === 503 || status === 500;
    const text = errorText(status, body, retryAfter);
    const retake = state.lastAction === 'capture' && ![404, 409, 410].includes(status) && await sessionStillOpen();
    if (generation !== state.generation) return;
    showError(text, { retry: repeatable, retryAfter, retake });
  }

  async function sendCapture() {
    const generation = state.generation;
    state.lastAction = 'capture';
    showStep(3, false);
    el.result.hidden = true;
    el.sessionResult.hidden = true;
    el.headings[2].focus();
    showBusy(`Checking the liveness check’s ${state.frames.length} pictures… this can take a few seconds.`);
    if (state.frames.length === 0) {
      showError('No pictures were taken: redo the liveness check.', { retake: true });
      return;
    }
    const form = new FormData();
    state.frames.forEach((frame, i) => form.append('frame', frame, `frame-${i + 1}.jpg`));
    form.append('timestamps_ms', state.times.join(','));
    if (state.colorIndices.length) form.append('color_indices', state.colorIndices.join(','));
    let answer;
    try {
      answer = await api('POST', sessionPath('/capture'), form);
    } catch (error) {
      if (generation === state.generation) await showRequestError(error, null, generation);
      return;
    }
    if (generation !== state.generation) return;
    if (!answer.response.ok || !answer.body || typeof answer.body !== 'object') {
      if (answer.response.ok) showError('The server’s answer could not be read. Try again.', { retry: true });
      else await showRequestError(null, answer, generation);
      return;
    }
    state.sessionDecision = answer.body;
    renderSession(answer.body);
    if (answer.body.decision === 'retry') {
      el.busy.hidden = true;
      return;
    }
    verify();
  }

  function measuredText(step) {
    const m = Number(step.measured);
    if (!Number.isFinite(m) || (step.first_frame < 0 && m === 0)) return '';
    switch (step.action) {
      case 'turn_left': case 'turn_right': return `the head turned by ${Math.round(Math.abs(m))}°`;
      case 'look_up': case 'look_down': return `the head tilted by ${Math.round(Math.abs(m))}°`;
      case 'move_closer': return `the face came ${m.toFixed(2)} times closer`;
      case 'blink': return `eyes closed in ${Math.round(m)} picture${Math.round(m) === 1 ? '' : 's'}`;
      default: return `measured ${num(m, 2)}`;
    }
  }

  function renderSession(d) {
    const decision = d.decision;
    const reasons = Array.isArray(d.reasons) ? d.reasons : [];
    el.sessionDecision.className = `decision ${decision === 'live' ? 'accepted' : decision === 'retry' ? 'retry' : 'refused'}`;
    el.sessionDecision.dataset.decision = decision;
    el.sessionDecisionTitle.textContent = decision === 'live' ? '✔ Live'
      : decision === 'retry' ? '↻ Not decided: the pictures could not be used' : '✖ Not live';
    el.sessionDecisionSummary.textContent = decision === 'live'
      ? 'Every movement asked was seen, in order, from a live person.'
      : decision === 'retry' ? 'The pictures could not be checked. What to fix:'
        : 'The capture did not show a live person following the movements asked. Reasons:';
    listReasons(el.sessionReasons, reasons.length || decision === 'live' ? reasons : ['NOT_LIVE']);
    const steps = Array.isArray(d.steps) ? d.steps : [];
    el.sessionSteps.replaceChildren(...steps.map((s, i) => {
      const li = document.createElement('li');
      const measured = measuredText(s);
      li.textContent = `Step ${i + 1}, ${actionText(s.action)}: ` + (s.passed
        ? `done${measured ? ` (${measured})` : ''}.`
        : `not passed. ${reasonText(s.reason || 'NOT_LIVE')}${measured ? ` (Measured: ${measured}.)` : ''}`);
      li.dataset.passed = String(Boolean(s.passed));
      if (s.reason) li.dataset.code = s.reason;
      return li;
    }));
    if (steps.length === 0) listItems(el.sessionSteps, ['No movement could be checked.']);
    el.sessionNext.hidden = decision === 'live';
    el.sessionNext.textContent = decision === 'retry' ? `Fix this first. ${NEW_LINK}`
      : decision === 'not_live' ? `The identity cannot be confirmed with this capture. ${NEW_LINK}` : '';
    el.sessionResult.hidden = false;
    el.sessionLightNote.hidden = true;  // the colours are over
    el.sessionState.textContent = 'This link’s liveness check is done: the link cannot be used for another one.';
    el.sessionDecision.focus();
    announce(`Liveness check: ${decision === 'live' ? 'live' : decision === 'retry' ? 'not decided, the pictures could not be used' : 'not live'}.`);
  }

  async function verify() {
    const generation = state.generation;
    state.lastAction = 'verify';
    showStep(3, false);
    el.result.hidden = true;
    showBusy('Comparing your face with the ID document…');
    if (!state.idImage && !state.chip) {
      showError('The ID document is missing.');
      return;
    }
    const form = new FormData();
    if (state.chip) {
      for (const [field, file] of Object.entries(state.chip)) form.append(field, file, field);
    } else {
      const ext = (state.idImage.type.split('/')[1] || 'jpg').replace('jpeg', 'jpg');
      form.append('reference', state.idImage, `reference.${ext}`);
    }
    form.append('liveness_session', state.session.id);
    let answer;
    try {
      answer = await api('POST', '/v1/verify', form);
    } catch (error) {
      if (generation === state.generation) await showRequestError(error, null, generation);
      return;
    }
    if (generation !== state.generation) return;
    if (!answer.response.ok) {
      await showRequestError(null, answer, generation);
      return;
    }
    if (!answer.body || typeof answer.body !== 'object') {
      showError('The server’s answer could not be read.');
      return;
    }
    try {
      await renderResult(answer.body, generation);
    } catch (error) {
      if (generation === state.generation) showError(`The answer could not be shown (${error.message}).`);
    }
  }

  // Draws the image (EXIF orientation applied, as the server does) with the face box and the five
  // landmarks; the image is scaled down to MAX_CANVAS_SIDE at most.
  async function drawFace(canvas, blob, face, what) {
    const scale = await paint(canvas, blob, MAX_CANVAS_SIDE);
    const ctx = canvas.getContext('2d');
    const box = normaliseBox(face && face.box);
    delete canvas.dataset.box;
    if (!box) {
      canvas.setAttribute('aria-label', `${what}; no face box was returned`);
      return;
    }
    const b = { x: box.x * scale, y: box.y * scale, width: box.width * scale, height: box.height * scale };
    const line = Math.max(2, Math.round(Math.max(canvas.width, canvas.height) / 200));
    ctx.lineJoin = 'round';
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.85)';   // dark edge: the box shows on light and dark images
    ctx.lineWidth = line + 4;
    ctx.strokeRect(b.x, b.y, b.width, b.height);
    ctx.strokeStyle = '#ffd400';
    ctx.lineWidth = line;
    ctx.strokeRect(b.x, b.y, b.width, b.height);
    const points = Array.isArray(face.landmarks5) ? face.landmarks5 : [];
    ctx.fillStyle = '#00e0ff';
    for (const p of points) {
      const [px, py] = Array.isArray(p) ? p.map(Number) : [Number(p.x), Number(p.y)];
      if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
      ctx.beginPath();
      ctx.arc(px * scale, py * scale, line * 1.2, 0, 2 * Math.PI);
      ctx.fill();
    }
    canvas.dataset.box = [b.x, b.y, b.width, b.height].map((v) => v.toFixed(1)).join(',');
    canvas.setAttribute('aria-label', `${what}, with the detected face outlined`);
  }

  // kind: 'selfie' or 'ID portrait'.
  function qualitySentences(q, kind) {
    if (!q || typeof q !== 'object') return ['Not reported.'];
    const feedback = Array.isArray(q.feedback) ? q.feedback : [];
    const sentences = feedback.map((code) => {
      const text = QUALITY_FEEDBACK[code];
      if (!text) return `Quality note: ${code}.`;
      const tip = kind === 'selfie' ? text[1] : text[2];
      return tip ? `${text[0]} ${tip}` : text[0];
    });
    if (sentences.length === 0) {
      sentences.push(q.pass === false
        ? `Does not meet the ${kind} quality requirements.`
        : `Good: meets the ${kind} quality requirements.`);
    }
    return sentences;
  }

  // The document checks in words (when the reference was a chip document).
  function renderDocument(d) {
    el.documentResult.hidden = !d;
    if (!d) return;
    const c = d.checks || {};
    const status = d.status;
    el.documentStatus.className = `liveness ${status === 'valid' ? 'ok' : 'bad'}`;
    el.documentStatus.textContent = status === 'valid'
      ? 'Valid: the chip’s data are the ones the issuing State signed, and its signer chains to a country certificate this server trusts.'
      : status === 'untrusted'
        ? 'Not trusted: the chip’s data are intact, but its signer does not chain to a country certificate this server trusts.'
        : 'Not valid: the document was altered, is corrupted or has expired.';
    const lines = [];
    lines.push(c.sod_signature === 'valid' ? 'The chip’s signature verifies.' : 'The chip’s signature does not verify.');
    const names = { DG1: 'The data page (DG1)', DG2: 'The portrait (DG2)' };
    for (const [dg, result] of Object.entries(c.dg_hashes || {})) {
      const name = names[dg] || `Data group ${dg.slice(2)}`;
      lines.push(result === 'match' ? `${name} is the one that was signed.`
        : result === 'absent' ? `${name} was signed but not read.` : `${name} was changed after signing.`);
    }
    const chain = { valid: 'The signer chains to a trusted country certificate.', unknown_csca: 'The signer’s country certificate is not in this server’s trust store.',
      expired: 'A certificate of the chain was not valid at the time of signing.', revoked: 'The signer’s certificate has been revoked.',
      invalid: 'The certificate chain is not valid.' };
    lines.push(chain[c.chain] || 'The certificate chain could not be checked.');
    lines.push(c.mrz_check_digits === 'valid' ? 'The machine-readable zone’s check digits are right.' : 'A check digit of the machine-readable zone is wrong.');
    lines.push(c.document_expired ? 'The document has expired.' : 'The document has not expired.');
    lines.push('The chip itself was not authenticated: a copy of these files on another chip would pass the same checks.');
    listItems(el.documentDetails, lines);
  }

  async function renderResult(r, generation) {
    const accepted = Boolean(r.accepted ?? r.match);
    const reasons = Array.isArray(r.reasons) ? r.reasons : [];

    el.decision.className = `decision ${accepted ? 'accepted' : 'refused'}`;
    el.decisionTitle.textContent = accepted ? '✔ Accepted' : '✖ Refused';
    el.decisionSummary.textContent = !accepted
      ? 'The identity is not confirmed. Reasons:'
      : r.checks_required === false
        ? 'The faces match (liveness and quality were reported only, not required).'
        : 'The person in front of the camera is the owner of the ID document: live, and in usable quality.';
    listReasons(el.decisionReasons, reasons);
    if (!accepted && reasons.length === 0) {
      listItems(el.decisionReasons, ['The server gave no reason.']);
    }

    const similarity = Number(r.similarity);
    const threshold = Number(r.threshold);
    const faceMatch = r.face_match ?? (similarity >= threshold);
    const fmr = fmrText(Number(r.fmr));
    el.similarity.textContent =
      `${faceMatch ? 'The faces match' : 'The faces do not match'}: similarity ${num(similarity, 3)}, ` +
      `${similarity >= threshold ? 'at or above' : 'below'} the threshold ${num(threshold, 3)}` +
      (fmr ? ` (false-match rate ${fmr}).` : '.');
    const clamp = (x) => Math.min(100, Math.max(0, x * 100));
    el.similarityFill.style.width = `${Number.isFinite(similarity) ? clamp(similarity) : 0}%`;
    el.similarityFill.classList.toggle('below', !faceMatch);
    el.thresholdMark.style.left = `${Number.isFinite(threshold) ? clamp(threshold) : 0}%`;

    renderDocument(r.document);

    // The probe is the session's best frame (the one the server kept).
    const best = state.sessionDecision && Number.isInteger(state.sessionDecision.best_frame) ? state.sessionDecision.best_frame : -1;
    const probeFrame = state.frames[best] ? best : 0;
    const referenceImage = state.chip ? state.chipPortrait : state.idImage;
    el.referenceCaption.textContent = state.chip ? 'Chip portrait' : 'ID document';
    el.probeCaption.textContent = `Liveness check, picture ${probeFrame + 1} of ${state.frames.length} (the one compared)`;
    await Promise.all([
      referenceImage ? drawFace(el.referenceCanvas, referenceImage, r.reference, el.referenceCaption.textContent)
        : Promise.resolve(clearCanvas(el.referenceCanvas)),
      state.frames[probeFrame] ? drawFace(el.probeCanvas, state.frames[probeFrame], r.probe, `Liveness check picture ${probeFrame + 1}`)
        : Promise.resolve(clearCanvas(el.probeCanvas)),
    ]);
    if (generation !== state.generation) return;

    const l = r.liveness || {};
    const decision = l.decision || (l.live ? 'live' : 'not_live');
    const live = decision === 'live';
    el.liveness.className = `liveness ${live ? 'ok' : 'bad'}`;
    el.liveness.textContent = `${live ? 'Live' : 'Not live'}: decided by the liveness check above` +
      (Number.isFinite(Number(l.score)) ? ` (median picture score ${num(Number(l.score), 2)}, threshold ${num(Number(l.threshold), 2)})` : '') +
      (r.checks_required === false ? ', reported only.' : '.');
    const details = [];
    if (l.session_id) details.push(`Liveness session ${l.session_id}: ${decision === 'not_live' ? 'not live' : decision}.`);
    for (const code of Array.isArray(l.reasons) ? l.reasons : []) {
      if (!reasons.includes(code)) details.push(reasonText(code));
    }
    listItems(el.livenessDetails, details);

    const q = r.quality || {};
    listItems(el.qualityProbe, qualitySentences(q.probe, 'selfie'));
    listItems(el.qualityReference, qualitySentences(q.reference, 'ID portrait'));

    el.busy.hidden = true;
    el.error.hidden = true;
    el.result.hidden = false;
    el.decision.focus();
    announce(`Decision: ${accepted ? 'accepted' : 'refused'}.`);
  }

  el.retry.addEventListener('click', () => {
    if (state.lastAction === 'capture') sendCapture(); else verify();
  });
  el.retake.addEventListener('click', () => {
    el.error.hidden = true;
    goToLiveness();
  });

  // ------------------------------------------------------------------------------------------
  // "Forget the images": every image and result leaves memory and the page.

  function clearCanvas(canvas) {
    canvas.width = 0;
    canvas.height = 0;
    delete canvas.dataset.box;
  }

  function clearEverything() {
    state.generation += 1;
    if (state.capturing) state.capturing.abort('gone');
    state.capturing = null;
    if (state.request) state.request.abort();
    state.request = null;
    clearInterval(state.retryTimer);
    stopCamera();
    endCaptureDisplay();
    state.idImage = null;
    state.chip = null;
    state.chipPortrait = null;
    state.frames = [];
    state.times = [];
    state.colorIndices = [];
    state.sessionDecision = null;
    el.idCamera.value = '';
    el.idFile.value = '';
    el.chipFiles.value = '';
    el.chipState.textContent = '';
    el.documentResult.hidden = true;
    el.documentStatus.textContent = '';
    el.documentDetails.replaceChildren();
    clearCanvas(el.idPreview);
    el.idPreviewCaption.textContent = '';
    el.idPreviewFigure.hidden = true;
    el.toSelfie.disabled = true;
    el.flashOk.checked = false;
    setPrompt('When ready, press “Start the check”.');
    el.challengeSteps.replaceChildren();
    clearCanvas(el.referenceCanvas);
    clearCanvas(el.probeCanvas);
    for (const list of [el.decisionReasons, el.livenessDetails, el.qualityProbe, el.qualityReference, el.sessionReasons, el.sessionSteps]) {
      list.replaceChildren();
    }
    for (const node of [el.decisionTitle, el.decisionSummary, el.similarity, el.liveness, el.errorMessage,
      el.sessionDecisionTitle, el.sessionDecisionSummary, el.sessionNext]) node.textContent = '';
    el.decision.className = 'decision';
    el.sessionDecision.className = 'decision';
    delete el.sessionDecision.dataset.decision;
    el.similarityFill.style.width = '0';
    el.busy.hidden = true;
    el.error.hidden = true;
    el.result.hidden = true;
    el.sessionResult.hidden = true;
  }

  el.startOver.addEventListener('click', async () => {
    clearEverything();
    announce('The images and the result were cleared.');
    if (await loadSession(true)) {
      showStep(1);
      announce('The images and the result were cleared. You can start again with this link.');
    } else {
      el.sessionState.textContent = `The images and the result were cleared. ${el.sessionState.textContent}`;
    }
  });

  window.addEventListener('pagehide', clearEverything);
  window.addEventListener('hashchange', async () => {
    if (!takeSessionFromFragment()) return;
    if (await loadSession(true)) showStep(1);
  });

  takeSessionFromFragment();
  loadSession().then((ok) => { if (ok) showStep(1, false); });
})();
