// faceproof web capture page: ID document -> selfie burst -> decision (POST /v1/verify).
//
// Privacy: the API key, the ID image and the selfie frames live only in the `state` object below.
// Nothing is written to localStorage, sessionStorage, IndexedDB, the Cache API or cookies; the
// camera is stopped as soon as the burst is taken; images are drawn on canvases (decoded with
// createImageBitmap, or through an object URL revoked as soon as the image is decoded); "Start
// over" (and leaving the page) drops every image and result.
'use strict';

(() => {
  const BURST_FRAMES = 5;          // frames of one selfie capture
  const BURST_MS = 1500;           // from the first frame to the last
  const READY_MS = 1200;           // "get ready" before the first frame
  const JPEG_QUALITY = 0.92;
  const REQUEST_TIMEOUT_MS = 120000;
  const MAX_CANVAS_SIDE = 1600;    // result pictures are drawn at most this large
  const PREVIEW_SIDE = 800;        // the ID preview of step 1
  const MIN_CANVAS_SIDE = 480;     // smaller images are scaled up on the canvas
  const CHALLENGE = 'Blink, then turn your head slightly';

  // Human sentences for every code of docs/api-v1.md.
  const DECISION_REASONS = {
    NO_MATCH: 'The face in the selfie does not match the ID portrait closely enough.',
    PROBE_QUALITY: 'The selfie is not of usable quality (see “Image quality” below).',
    SPOOF_SUSPECTED: 'The selfie may not show a live person: it looks like a photo, a screen or a mask.',
    NO_CHALLENGE: 'The liveness challenge was not seen: no blink or head turn during the capture.',
    FACE_CHANGED: 'The face changed during the capture: the pictures do not all show the same person.',
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
  // Chip files by name as readers export them: EF.SOD (or SOD), DG1, DG2, DG14, DG15.
  const CHIP_FIELDS = { 'EF.SOD': 'sod', SOD: 'sod', DG1: 'dg1', DG2: 'dg2', DG14: 'dg14', DG15: 'dg15' };
  // Quality feedback: what is wrong, then what to do about it, for the selfie and for the document.
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


  const $ = (id) => document.getElementById(id);
  const el = {
    keyState: $('key-state'), keyForm: $('key-form'), keyInput: $('api-key'), changeKey: $('change-key'),
    status: $('status'),
    steps: [$('step-id'), $('step-selfie'), $('step-result')],
    headings: [$('step-id-heading'), $('step-selfie-heading'), $('step-result-heading')],
    progress: [$('progress-1'), $('progress-2'), $('progress-3')],
    idCamera: $('id-camera'), idFile: $('id-file'),
    idPreviewFigure: $('id-preview-figure'), idPreview: $('id-preview'), idPreviewCaption: $('id-preview-caption'),
    toSelfie: $('to-selfie'),
    chipFiles: $('chip-files'), chipState: $('chip-state'),
    documentResult: $('document-result'), documentStatus: $('document-status'), documentDetails: $('document-details'),
    captureArea: $('capture-area'), video: $('video'), cameraPlaceholder: $('camera-placeholder'), challenge: $('challenge'),
    startCamera: $('start-camera'), capture: $('capture'), backToId: $('back-to-id'),
    busy: $('busy'), error: $('error'), errorMessage: $('error-message'), retry: $('retry'), retake: $('retake'),
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
    apiKey: '',
    idImage: null,       // Blob (the File chosen)
    chip: null,          // { sod, dg1, dg2[, dg14, dg15] } Files, when chip files were chosen instead
    chipPortrait: null,  // the JPEG inside DG2 (Blob), to draw the reference; null for JPEG 2000
    frames: [],          // Blobs (JPEG) of the selfie burst, in capture order
    stream: null,        // MediaStream while the camera is on
    request: null,       // AbortController of the request in flight
    retryTimer: 0,
    generation: 0,       // bumped by Start over: late async work of an older run is dropped
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

  // ------------------------------------------------------------------------------------------
  // API key: from the URL fragment (#key=...), then removed from the address bar; or typed.

  function setKey(key, source) {
    state.apiKey = key;
    el.keyState.textContent = key ? `API key set (${source}).` : 'No API key set yet.';
    showKeyForm(!key);
  }

  // With a key set, the form folds away behind "Change key" (short page on a phone).
  function showKeyForm(show) {
    el.keyForm.hidden = !show;
    el.changeKey.hidden = show;
    el.changeKey.setAttribute('aria-expanded', String(show));
  }

  el.changeKey.addEventListener('click', () => {
    showKeyForm(true);
    el.keyInput.focus();
  });

  // Shows the form (for a missing or refused key) and puts the focus in it.
  function askForKey() {
    showKeyForm(true);
    el.keyInput.focus();
  }

  function takeKeyFromFragment() {
    const fragment = location.hash.replace(/^#/, '');
    const match = /(?:^|&)key=([^&]*)/.exec(fragment);
    if (!match) return;
    let key = '';
    try {
      key = decodeURIComponent(match[1]).trim();
    } catch {
      key = match[1].trim();
    }
    const rest = fragment.replace(match[0], '').replace(/^&/, '');
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    if (key) setKey(key, 'from the link');
  }

  el.keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = el.keyInput.value.trim();
    el.keyInput.value = '';
    if (key) {
      setKey(key, 'typed in');
      announce('API key set.');
    } else {
      announce('Type the API key first.');
      el.keyInput.focus();
    }
  });

  // A key typed but not confirmed with "Use key" is taken when it is needed.
  function currentKey() {
    const typed = el.keyInput.value.trim();
    if (typed) {
      el.keyInput.value = '';
      setKey(typed, 'typed in');
    }
    return state.apiKey;
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
    announce('ID document image selected. Continue with the selfie.');
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
    announce('Chip files selected. Continue with the selfie.');
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
    goToSelfie();
  });

  // ------------------------------------------------------------------------------------------
  // Step 2: selfie burst

  function goToSelfie() {
    state.frames = [];
    el.challenge.textContent = 'When ready, press “Take the selfie”.';
    el.challenge.classList.remove('active');
    showStep(2);
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
        video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } },
      });
      if (generation !== state.generation || el.steps[1].hidden) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      state.stream = stream;
      stream.getVideoTracks().forEach((track) => track.addEventListener('ended', () => {
        if (state.stream === stream) {
          stopCamera();
          announce('The camera stopped. Press “Turn on the camera” to try again.');
        }
      }));
      el.video.srcObject = stream;
      await el.video.play();
      for (let i = 0; i < 50 && !el.video.videoWidth; i++) await sleep(100);
      if (!el.video.videoWidth) throw Object.assign(new Error('no picture from the camera'), { name: 'AbortError' });
      el.cameraPlaceholder.hidden = true;
      el.video.classList.add('on');
      el.capture.disabled = false;
      el.startCamera.hidden = true;
      announce('The camera is on. Press “Take the selfie” when the face is in the picture.');
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

  function grabFrame() {
    const canvas = document.createElement('canvas');
    canvas.width = el.video.videoWidth;
    canvas.height = el.video.videoHeight;
    canvas.getContext('2d').drawImage(el.video, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function toJpeg(canvas) {
    return new Promise((resolve, reject) => {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('JPEG encoding failed'))),
        'image/jpeg', JPEG_QUALITY);
    });
  }

  async function captureBurst() {
    if (!state.stream || !el.video.videoWidth) return;
    const generation = state.generation;
    el.capture.disabled = true;
    el.backToId.disabled = true;
    el.challenge.classList.add('active');
    el.challenge.textContent = 'Get ready: look at the camera…';
    el.captureArea.scrollIntoView({ block: 'start', behavior: 'instant' });
    // The camera may stop (unplugged, permission withdrawn) or Start over may be pressed meanwhile.
    const interrupted = () => {
      if (generation !== state.generation) return true;
      if (state.stream) return false;
      el.challenge.classList.remove('active');
      el.challenge.textContent = 'The capture was interrupted. Turn on the camera and try again.';
      el.backToId.disabled = false;
      return true;
    };
    await sleep(READY_MS);
    if (interrupted()) return;

    el.challenge.textContent = `${CHALLENGE}.`;
    const canvases = [];
    const start = performance.now();
    for (let i = 0; i < BURST_FRAMES; i++) {
      const due = start + (i * BURST_MS) / (BURST_FRAMES - 1);
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (interrupted()) {
        canvases.forEach((canvas) => { canvas.width = 0; canvas.height = 0; });
        return;
      }
      canvases.push(grabFrame());
    }
    stopCamera();  // the burst is taken: the camera goes off at once
    el.challenge.classList.remove('active');
    el.challenge.textContent = 'Done: the camera is off.';
    el.backToId.disabled = false;
    try {
      const frames = await Promise.all(canvases.map(toJpeg));
      if (generation !== state.generation) return;
      state.frames = frames;
    } catch (error) {
      announce(`The pictures could not be encoded (${error.message}). Try again.`);
      return;
    } finally {
      canvases.forEach((canvas) => { canvas.width = 0; canvas.height = 0; });
    }
    verify();
  }

  el.startCamera.addEventListener('click', startCamera);
  el.capture.addEventListener('click', captureBurst);
  el.backToId.addEventListener('click', () => {
    stopCamera();
    state.frames = [];
    showStep(1);
  });

  // ------------------------------------------------------------------------------------------
  // Step 3: the request and its answer

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
      case 401: return 'API key missing or wrong. Enter the operator API key above, then press “Try again”.';
      case 403: return 'This API key is not allowed to run identity checks (an operator key is needed).';
      case 404: return 'The identity check service was not found on this server.';
      case 413: return `An image is too large for the server: use a smaller photo.${details}`;
      case 415: return `The server did not accept the format of the upload.${details}`;
      case 422:
        if (code === 'no_face') {
          if (/reference/i.test(message)) return 'No face was found on the ID document: take a sharper, closer photo of its portrait.';
          if (/probe/i.test(message)) return 'No face was found in the selfie: face the camera in good light and retake the selfie.';
          return `No face was found.${details}`;
        }
        if (code === 'image_unreadable') return `An image could not be read: it is damaged or not a JPEG, PNG, WebP or BMP image.${details}`;
        return `The images could not be checked.${details}`;
      case 429:
        if (code === 'locked_out') return `Too many failed attempts with this API key: locked, ${wait}.`;
        return `Too many checks at once: busy, ${wait}.`;
      case 503: return `The server is busy, ${wait}.`;
      case 500: return 'The server failed while checking (internal error). Try again; if it happens again, tell the administrator.';
      default: return `Unexpected answer from the server (HTTP ${status}).${details}`;
    }
  }

  function showError(text, retryAfter = null) {
    el.busy.hidden = true;
    el.result.hidden = true;
    el.errorMessage.textContent = text;
    el.error.hidden = false;
    announce(text);
    clearInterval(state.retryTimer);
    el.retry.disabled = false;
    el.retry.textContent = 'Try again';
    if (retryAfter > 0) {
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

  async function verify() {
    const generation = state.generation;
    showStep(3, false);
    el.error.hidden = true;
    el.result.hidden = true;
    el.busy.hidden = false;
    el.headings[2].focus();
    announce('Checking the images…');

    if ((!state.idImage && !state.chip) || state.frames.length === 0) {
      showError('The ID document image or the selfie is missing: start over.');
      return;
    }
    const key = currentKey();
    if (!key) {
      showError(errorText(401, null, null));
      askForKey();
      return;
    }
    const form = new FormData();
    if (state.chip) {
      for (const [field, file] of Object.entries(state.chip)) form.append(field, file, field);
    } else {
      const ext = (state.idImage.type.split('/')[1] || 'jpg').replace('jpeg', 'jpg');
      form.append('reference', state.idImage, `reference.${ext}`);
    }
    state.frames.forEach((frame, i) => form.append('probe', frame, `probe-${i + 1}.jpg`));
    form.append('require_liveness', 'true');

    const controller = new AbortController();
    state.request = controller;
    const timer = setTimeout(() => controller.abort('timeout'), REQUEST_TIMEOUT_MS);
    let response;
    let body = null;
    try {
      response = await fetch('/v1/verify', {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' },
        body: form,
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
      const text = await response.text();
      try { body = JSON.parse(text); } catch { body = null; }
    } catch (error) {
      if (generation !== state.generation) return;
      showError(controller.signal.aborted
        ? `The server did not answer within ${REQUEST_TIMEOUT_MS / 1000} s. Try again.`
        : 'Cannot reach the server: check the network connection, then try again.');
      return;
    } finally {
      clearTimeout(timer);
      if (state.request === controller) state.request = null;
    }
    if (generation !== state.generation) return;
    if (!response.ok) {
      const retryAfter = retryAfterSeconds(response.headers.get('Retry-After'));
      showError(errorText(response.status, body, retryAfter), retryAfter);
      if (response.status === 401) {
        state.apiKey = '';  // refused: of no further use
        el.keyState.textContent = 'The server refused the API key.';
        askForKey();
      }
      return;
    }
    if (!body || typeof body !== 'object') {
      showError('The server’s answer could not be read. Try again.');
      return;
    }
    try {
      await renderResult(body, generation);
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
        : 'The selfie shows the owner of the ID document: a live person, in usable quality.';
    listItems(el.decisionReasons, reasons.map((code) => DECISION_REASONS[code] || `Reason: ${code}.`));
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

    const probeFrame = Number.isInteger(r.probe_frame) && state.frames[r.probe_frame] ? r.probe_frame : 0;
    const referenceImage = state.chip ? state.chipPortrait : state.idImage;
    el.referenceCaption.textContent = state.chip ? 'Chip portrait' : 'ID document';
    el.probeCaption.textContent = `Selfie, picture ${probeFrame + 1} of ${state.frames.length} (the best quality)`;
    await Promise.all([
      referenceImage ? drawFace(el.referenceCanvas, referenceImage, r.reference, el.referenceCaption.textContent)
        : Promise.resolve(clearCanvas(el.referenceCanvas)),
      drawFace(el.probeCanvas, state.frames[probeFrame], r.probe, `Selfie, picture ${probeFrame + 1}`),
    ]);
    if (generation !== state.generation) return;

    const l = r.liveness || {};
    const live = Boolean(l.live ?? l.decision === 'live');
    el.liveness.className = `liveness ${live ? 'ok' : 'bad'}`;
    el.liveness.textContent = `${live ? 'Live' : 'Not live'}: score ${num(Number(l.score), 2)} ` +
      `(${live ? 'at or above' : 'below'} the threshold ${num(Number(l.threshold), 2)})` +
      (r.checks_required === false ? ', reported only.' : '.');
    const details = [];
    const c = l.challenge || {};
    if (l.burst) {
      if (c.assessed === false) {
        details.push('The blink and head-turn challenge could not be assessed.');
      } else {
        details.push(c.blink ? 'A blink was seen.' : 'No blink was seen.');
        const yaw = Number(c.yaw_range_deg);
        details.push((c.head_turn ? 'A head turn was seen' : 'No head turn was seen') +
          (Number.isFinite(yaw) ? ` (the head turned by ${Math.round(yaw)}°).` : '.'));
      }
      if (l.same_face && l.same_face.assessed !== false) {
        details.push(l.same_face.same === false
          ? 'The pictures do not all show the same face.'
          : 'All pictures show the same face.');
      }
    }
    const frameScores = Array.isArray(l.frame_scores) ? l.frame_scores : [];
    if (frameScores.length) details.push(`${frameScores.length} picture${frameScores.length > 1 ? 's' : ''} assessed.`);
    for (const code of Array.isArray(l.reasons) ? l.reasons : []) {
      if (!reasons.includes(code)) details.push(DECISION_REASONS[code] || `Liveness note: ${code}.`);
    }
    listItems(el.livenessDetails, details);

    const q = r.quality || {};
    const probeQuality = qualitySentences(q.probe, 'selfie');
    const frames = Array.isArray(q.probe_frames) ? q.probe_frames : [];
    if (frames.length > 1) {
      const passing = frames.filter((f) => f && f.pass).length;
      probeQuality.push(`${passing} of ${frames.length} pictures meet the requirements.`);
    }
    listItems(el.qualityProbe, probeQuality);
    listItems(el.qualityReference, qualitySentences(q.reference, 'ID portrait'));

    el.busy.hidden = true;
    el.error.hidden = true;
    el.result.hidden = false;
    el.decision.focus();
    announce(`Decision: ${accepted ? 'accepted' : 'refused'}.`);
  }

  el.retry.addEventListener('click', verify);
  el.retake.addEventListener('click', () => {
    el.error.hidden = true;
    goToSelfie();
  });

  // ------------------------------------------------------------------------------------------
  // Start over: every image and result leaves memory and the page.

  function clearCanvas(canvas) {
    canvas.width = 0;
    canvas.height = 0;
    delete canvas.dataset.box;
  }

  function clearEverything() {
    state.generation += 1;
    if (state.request) state.request.abort();
    state.request = null;
    clearInterval(state.retryTimer);
    stopCamera();
    state.idImage = null;
    state.chip = null;
    state.chipPortrait = null;
    state.frames = [];
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
    el.backToId.disabled = false;
    el.challenge.classList.remove('active');
    el.challenge.textContent = 'When ready, press “Take the selfie”.';
    clearCanvas(el.referenceCanvas);
    clearCanvas(el.probeCanvas);
    for (const list of [el.decisionReasons, el.livenessDetails, el.qualityProbe, el.qualityReference]) list.replaceChildren();
    for (const node of [el.decisionTitle, el.decisionSummary, el.similarity, el.liveness, el.errorMessage]) node.textContent = '';
    el.decision.className = 'decision';
    el.similarityFill.style.width = '0';
    el.busy.hidden = true;
    el.error.hidden = true;
    el.result.hidden = true;
  }

  el.startOver.addEventListener('click', () => {
    clearEverything();
    showStep(1);
    announce('Started over: the images and the result were cleared.');
  });

  window.addEventListener('pagehide', clearEverything);
  window.addEventListener('hashchange', takeKeyFromFragment);

  takeKeyFromFragment();
  showStep(1, false);
})();
