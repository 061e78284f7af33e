// End-to-end test of the web capture page (web/) against a running `faceproof serve`, with Debian's
// Chromium, headless, whose camera is a Y4M clip made from a still photo
// (--use-file-for-fake-video-capture). scripts/test_web.sh prepares everything and runs this; by hand:
//
//   FACEPROOF_URL=http://127.0.0.1:8080 FACEPROOF_API_KEY=... ID_IMAGE=id.jpg FAKE_VIDEO=selfie.y4m \
//     CHIP_DIR=document/bundle node tests/e2e/web_capture.mjs
//
// Optional: CHROMIUM (default /usr/bin/chromium), OUT_DIR (default build/e2e: screenshots),
// DECISION_TIMEOUT_MS (default 120000).
//
// The operator API key is used here only, as the operator's backend would: to create each liveness
// session (POST /v1/liveness/sessions). The page is opened as /#session=<id>&token=<client token>
// and must work with that token alone: every request it sends carries `Bearer fpsess_...`, never the
// key. A still photo cannot follow a challenge, so every session must be REFUSED, with its reasons
// shown on the page.
//
// Scenarios: (1) desktop, motion_light: the link is read and removed from the address bar, ID
// upload, the photosensitivity warning (and the motion mode as the alternative) gates the start,
// each step is prompted in order with progress, the colours are shown around the preview, the
// capture is refused (not live) with the step reasons and LIGHT_NOT_FOLLOWED on the page, the
// verification with the session is refused, both face boxes drawn, camera off after the capture,
// nothing stored in the browser, "Forget the images" clears everything and the used link says so;
// (2) phone 360x640, motion: no colours, no warning, one column, no sideways scrolling; (3) chip
// document, motion: the chip files through the session flow, the document valid, the identity
// refused by liveness; (4) links: no session, a wrong token, a used session. Exit 0 when all pass,
// 1 with a message naming the failed check otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`web_capture: set ${name} (see the header of ${path.relative(process.cwd(), fileURLToPath(import.meta.url))})`);
    process.exit(2);
  }
  return value;
};
const BASE = env('FACEPROOF_URL').replace(/\/+$/, '');
const KEY = env('FACEPROOF_API_KEY');
const ID_IMAGE = path.resolve(env('ID_IMAGE'));
// A chip document of the same person (EF.SOD, DG1, DG2; its CSCA is the server's trust store).
const CHIP_DIR = path.resolve(env('CHIP_DIR'));
const FAKE_VIDEO = path.resolve(env('FAKE_VIDEO'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const OUT_DIR = path.resolve(env('OUT_DIR', path.join(here, '..', '..', 'build', 'e2e')));
const DECISION_TIMEOUT_MS = Number(env('DECISION_TIMEOUT_MS', '120000'));

for (const [what, file] of [['ID_IMAGE', ID_IMAGE], ['FAKE_VIDEO', FAKE_VIDEO], ['CHROMIUM', CHROMIUM]]) {
  if (!fs.existsSync(file)) {
    console.error(`web_capture: ${what} ${file} does not exist`);
    process.exit(2);
  }
}
fs.mkdirSync(OUT_DIR, { recursive: true });

class CheckFailed extends Error {}
function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}
const log = (message) => console.log(`  ok - ${message}`);

// Every request of the page must go to the faceproof server (no CDN, no external resource), and
// carry no operator key: an Authorization header, when there is one, is a session's client token.
// Uncaught exceptions and console errors (a Content-Security-Policy violation, a missing file) fail
// the scenario, except those it expects (the 404 of a wrong link).
function watch(context, label) {
  const problems = { external: [], pageErrors: [], consoleErrors: [], failed: [], keyLeaks: [], authorised: 0, pending: [] };
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${BASE}/`) && !url.startsWith('blob:') && !url.startsWith('data:')) problems.external.push(url);
    problems.pending.push(request.allHeaders().then((headers) => {
      const authorization = headers.authorization;
      if (authorization !== undefined) {
        problems.authorised += 1;
        if (!/^Bearer fpsess_[0-9a-f]+$/.test(authorization)) {
          problems.keyLeaks.push(`${request.method()} ${url}: Authorization "${authorization.slice(0, 14)}…"`);
        }
      }
      if (`${url} ${JSON.stringify(headers)}`.includes(KEY)) {
        problems.keyLeaks.push(`${request.method()} ${url}: the operator key in the URL or headers`);
      }
    }).catch(() => {}));
  });
  context.on('requestfailed', (request) => problems.failed.push(`${request.url()} (${request.failure()?.errorText})`));
  context.on('page', (page) => {
    page.on('pageerror', (error) => problems.pageErrors.push(`${label}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') {
        const where = message.location() && message.location().url;
        problems.consoleErrors.push(where ? `${message.text()} [${where}]` : message.text());
      }
    });
  });
  return problems;
}

async function checkClean(problems, allowedConsoleErrors = []) {
  await Promise.all(problems.pending);
  check(problems.pageErrors.length === 0, `uncaught errors in the page: ${problems.pageErrors.join('; ')}`);
  check(problems.external.length === 0, `requests outside the server: ${problems.external.join(', ')}`);
  check(problems.failed.length === 0, `requests that failed: ${problems.failed.join(', ')}`);
  const unexpected = problems.consoleErrors.filter((text) => !allowedConsoleErrors.some((re) => re.test(text)));
  check(unexpected.length === 0, `errors in the browser console: ${unexpected.join(' | ')}`);
  log('no uncaught error, console error, failed or outside request');
  check(problems.keyLeaks.length === 0, `the page sent something other than a client token: ${problems.keyLeaks.join('; ')}`);
  log(`${problems.authorised} authorised request(s), every one with "Bearer fpsess_…" and none with the operator key`);
}

async function checkNoBrowserStorage(page, context, when) {
  const stored = await page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
    indexedDB: indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [],
    caches: self.caches ? await caches.keys() : [],
  }));
  const cookies = await context.cookies();
  check(stored.local === 0, `${when}: localStorage has ${stored.local} item(s)`);
  check(stored.session === 0, `${when}: sessionStorage has ${stored.session} item(s)`);
  check(stored.cookie === '' && cookies.length === 0, `${when}: cookies were set: ${JSON.stringify(cookies)}`);
  check(stored.indexedDB.length === 0, `${when}: IndexedDB databases exist: ${stored.indexedDB.join(', ')}`);
  check(stored.caches.length === 0, `${when}: Cache Storage used: ${stored.caches.join(', ')}`);
  log(`${when}: nothing in localStorage, sessionStorage, cookies, IndexedDB or Cache Storage`);
}

async function checkAccessibilityBasics(page) {
  const report = await page.evaluate(() => {
    const visible = (node) => !!(node.offsetWidth || node.offsetHeight || node.getClientRects().length);
    return {
      unlabelled: [...document.querySelectorAll('input, select, textarea')]
        .filter((node) => node.type !== 'hidden' && node.labels.length === 0 && !node.getAttribute('aria-label'))
        .map((node) => node.id || node.name),
      noAlt: [...document.querySelectorAll('img')].filter((node) => !node.hasAttribute('alt')).length,
      live: document.querySelectorAll('[aria-live], [role="status"], [role="alert"]').length,
      clickableNonButtons: [...document.querySelectorAll('[onclick], a:not([href]), div[tabindex="0"]')].length,
      lang: document.documentElement.lang,
      smallTargets: [...document.querySelectorAll('button')]
        .filter((node) => visible(node) && node.getBoundingClientRect().height < 44)
        .map((node) => node.textContent.trim()),
    };
  });
  check(report.unlabelled.length === 0, `inputs without a label: ${report.unlabelled.join(', ')}`);
  check(report.noAlt === 0, `${report.noAlt} image(s) without alt text`);
  check(report.live > 0, 'no aria-live / status region');
  check(report.clickableNonButtons === 0, 'clickable elements that are not buttons');
  check(report.lang === 'en', 'the page has no lang attribute');
  check(report.smallTargets.length === 0, `buttons smaller than 44 px: ${report.smallTargets.join(', ')}`);
  return report;
}

// The operator's backend: a fresh session per scenario (the key never reaches the page).
async function createSession(mode) {
  const response = await fetch(`${BASE}/v1/liveness/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  const body = await response.json().catch(() => null);
  check(response.status === 201 && body && body.session_id && body.client_token,
    `POST /v1/liveness/sessions (${mode}) answered ${response.status}: ${JSON.stringify(body)}`);
  check(body.client_token.startsWith('fpsess_'), `the client token does not start with fpsess_: ${body.client_token.slice(0, 10)}`);
  check(body.challenge && Array.isArray(body.challenge.steps) && body.challenge.steps.length > 0, 'the session has no challenge steps');
  if (mode === 'motion_light') check(body.challenge.colors.length > 0, 'a motion_light session without colours');
  log(`session created (${mode}): ${body.challenge.steps.map((s) => s.action).join(', ')}` +
    (mode === 'motion_light' ? `; ${body.challenge.colors.length} colours` : ''));
  return body;
}

const link = (session) => `${BASE}/#session=${encodeURIComponent(session.session_id)}&token=${encodeURIComponent(session.client_token)}`;

// The page's prompt for each action (web/app.js ACTIONS).
const PROMPTS = {
  turn_left: 'turn your head to your left',
  turn_right: 'turn your head to your right',
  look_up: 'look up',
  look_down: 'look down',
  blink: 'blink once',
  move_closer: 'move closer to the camera',
};
// Reasons of a failed step or movement rule (src/liveness/liveness_session.cpp).
const STEP_REASONS = ['STEP_MISSING', 'STEP_TOO_SMALL', 'STEP_WRONG_DIRECTION', 'STEP_ORDER', 'STEP_TOO_LATE', 'STEP_NOT_HELD',
  'NOT_BACK_TO_FRONTAL', 'BLINK_TOO_LONG', 'UNASKED_MOVEMENT', 'NOT_FRONTAL_AT_START'];

async function openLink(page, session) {
  await page.goto(link(session));
  await page.waitForFunction(() => location.hash === '' && !location.href.includes('token='), null, { timeout: 5000 })
    .catch(() => { throw new CheckFailed('the session and token were not removed from the address bar'); });
  await page.waitForFunction(() => /Ready/.test(document.getElementById('session-state').textContent), null, { timeout: 10000 })
    .catch(async () => { throw new CheckFailed(`the session was not read: "${await page.locator('#session-state').textContent()}"`); });
  check(await page.locator('#step-id').isVisible(), 'the ID step is not shown for an open session');
  const keyUi = await page.evaluate(() => ({
    inputs: document.querySelectorAll('input[type="password"], #api-key').length,
    text: /API key/i.test(document.body.innerText),
  }));
  check(keyUi.inputs === 0 && !keyUi.text, 'the page still asks for an API key');
  log('session and token taken from the link and removed from the address bar; no API key asked for');
}

async function chooseIdImage(page) {
  await page.locator('#id-file').setInputFiles(ID_IMAGE);
  await page.locator('#id-preview-figure').waitFor({ state: 'visible', timeout: 5000 });
  check(await page.locator('#to-selfie').isEnabled(), '"Next" is not enabled after choosing the ID image');
}

// The chip files instead of an ID photo: first DG2 alone (refused, with what is missing), then all three.
async function chooseChipFiles(page) {
  await page.locator('#chip-details summary').click();
  await page.locator('#chip-files').setInputFiles([path.join(CHIP_DIR, 'DG2')]);
  await page.waitForFunction(() => document.getElementById('chip-state').textContent.includes('Missing'), null, { timeout: 5000 })
    .catch(() => { throw new CheckFailed('no message for an incomplete set of chip files'); });
  check(await page.locator('#to-selfie').isDisabled(), '"Next" is enabled with DG2 alone');
  await page.locator('#chip-files').setInputFiles(['EF.SOD', 'DG1', 'DG2'].map((f) => path.join(CHIP_DIR, f)));
  await page.waitForFunction(() => document.getElementById('chip-state').textContent.includes('Chip files selected'), null,
    { timeout: 5000 }).catch(() => { throw new CheckFailed('the chip files were not taken'); });
  await page.locator('#id-preview-figure').waitFor({ state: 'visible', timeout: 5000 });
  check(await page.locator('#to-selfie').isEnabled(), '"Next" is not enabled after choosing the chip files');
  log('chip files taken; the chip portrait is previewed');
}

// ID document, then the liveness step until the session's decision and the verification are shown.
// shots: { prompt, colours } screenshot paths (optional). Returns the capture's JSON answer.
async function runSession(page, session, { chooseReference = chooseIdImage, shots = {} } = {}) {
  const challenge = session.challenge;
  const light = challenge.mode === 'motion_light';
  await chooseReference(page);
  await page.locator('#to-selfie').click();
  check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'step-selfie-heading',
    'focus did not move to the liveness step heading');
  await page.locator('#video.on').waitFor({ timeout: 20000 }).catch(async () => {
    throw new CheckFailed(`the camera did not start: status "${await page.locator('#status').textContent()}"`);
  });
  const planned = await page.locator('#challenge-steps li').allTextContents();
  check(planned.length === challenge.steps.length, `${planned.length} movements listed for ${challenge.steps.length} steps`);
  challenge.steps.forEach((s, i) => check(planned[i].toLowerCase().startsWith(PROMPTS[s.action]),
    `movement ${i + 1} listed as "${planned[i]}", expected "${PROMPTS[s.action]}"`));
  log(`the ${planned.length} movements are listed in order: ${planned.join(' / ')}`);

  if (light) {
    check(await page.locator('#flash-warning').isVisible(), 'no photosensitivity warning before a motion_light capture');
    const warning = await page.locator('#flash-warning').textContent();
    check(/flash/i.test(warning) && /photosensitiv|epilep/i.test(warning) && /“motion” mode/.test(warning),
      `the warning does not speak of flashing, photosensitivity and the motion mode: "${warning}"`);
    check(await page.locator('#motion-note').isHidden(), 'the "no flashing" note is shown in motion_light');
  } else {
    check(await page.locator('#flash-warning').isHidden(), 'the flashing warning is shown in motion mode');
    check(await page.locator('#motion-note').isVisible(), 'the motion mode does not say it does not flash');
  }
  await page.locator('#video.on').waitFor({ timeout: 20000 }).catch(async () => {
    throw new CheckFailed(`the camera did not start: status "${await page.locator('#status').textContent()}"`);
  });
  const videoSize = await page.evaluate(() => [document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]);
  check(videoSize[0] > 0, 'the camera preview shows no picture');
  const mirrored = await page.evaluate(() => getComputedStyle(document.getElementById('video')).transform);
  check(/matrix\(-1/.test(mirrored), `the preview is not mirrored (transform ${mirrored})`);
  log(`camera on (fake device, ${videoSize[0]}x${videoSize[1]}), preview mirrored`);
  if (light) {
    check(await page.locator('#capture').isDisabled(), '"Start the check" is enabled before the warning was acknowledged');
    if (shots.warning) await page.screenshot({ path: shots.warning, fullPage: true });
    await page.locator('#flash-ok').check();
    log('the start waits for the flashing warning to be acknowledged');
  }
  check(await page.locator('#capture').isEnabled(), '"Start the check" is not enabled with the camera on');

  // Every prompt shown, in order (recorded in the page as it changes).
  await page.evaluate(() => {
    window.__prompts = [];
    const node = document.getElementById('challenge');
    new MutationObserver(() => {
      const text = node.textContent;
      if (window.__prompts[window.__prompts.length - 1] !== text) window.__prompts.push(text);
    }).observe(node, { childList: true, subtree: true, characterData: true });
  });
  const captured = page.waitForResponse((r) => r.url().endsWith(`/v1/liveness/sessions/${session.session_id}/capture`),
    { timeout: DECISION_TIMEOUT_MS });
  const verified = page.waitForResponse((r) => r.url().endsWith('/v1/verify'), { timeout: DECISION_TIMEOUT_MS + 60000 })
    .catch(() => null);
  await page.locator('#capture').click();
  const n = challenge.steps.length;
  await page.waitForFunction((want) => document.getElementById('challenge').textContent.startsWith(want), `Step 1 of ${n}:`,
    { timeout: 10000 }).catch(async () => {
    throw new CheckFailed(`the first step was not prompted: "${await page.locator('#challenge').textContent()}"`);
  });
  check(await page.locator('#capture-area.capturing').isVisible(), 'the capture area does not cover the window during the check');
  if (shots.prompt) await page.screenshot({ path: shots.prompt });
  if (light) {
    const shown = await page.evaluate(() => {
      const area = document.getElementById('capture-area');
      return { colour: getComputedStyle(area).backgroundColor, index: Number(area.dataset.colour) };
    });
    const expected = challenge.colors[shown.index];
    check(expected && shown.colour === `rgb(${expected.rgb.join(', ')})`,
      `the window does not show the challenge's colour ${shown.index}: ${shown.colour}`);
    log(`colour ${shown.index + 1} of ${challenge.colors.length} shown around the preview (${shown.colour})`);
    if (shots.colours) await page.screenshot({ path: shots.colours });
  } else {
    const background = await page.evaluate(() => getComputedStyle(document.getElementById('capture-area')).backgroundColor);
    check(background === 'rgb(243, 244, 246)', `the motion mode shows a colour around the preview: ${background}`);
  }

  const response = await captured.catch(() => null);
  check(response, `the capture was not sent within ${DECISION_TIMEOUT_MS / 1000} s`);
  const decided = await response.json().catch(() => null);
  check(response.status() === 200 && decided, `the capture was answered ${response.status()}: ${JSON.stringify(decided)}`);
  const prompts = await page.evaluate(() => window.__prompts);
  let at = -1;
  challenge.steps.forEach((s, i) => {
    const index = prompts.findIndex((p, j) => j > at && p.startsWith(`Step ${i + 1} of ${n}: ${PROMPTS[s.action]}`));
    check(index > at, `step ${i + 1} (${s.action}) was not prompted in order; prompts: ${prompts.join(' | ')}`);
    at = index;
  });
  check(prompts.some((p, j) => j > at && /straight at the camera/.test(p)), 'no "look straight at the camera again" after the last step');
  check(prompts.some((p) => /Hold it/.test(p)) || challenge.steps.every((s) => s.action === 'blink'), 'no hold prompt was shown');
  log(`prompted in order with progress: ${prompts.filter((p) => p.startsWith('Step')).map((p) => p.replace(/(Now|Hold).*$/, '')).filter((p, i, a) => a.indexOf(p) === i).join(' / ')}`);

  const frames = Array.isArray(decided.frames) ? decided.frames : [];
  const fps = decided.scores && decided.scores.frames_per_second;
  check(frames.length >= 3 + 3 * n && frames.length <= 120, `${frames.length} frames sent`);
  check(fps >= 8, `the frames came at ${fps} per second (8 or more needed)`);
  check(!(decided.reasons || []).includes('LOW_FRAME_RATE') && !(decided.reasons || []).includes('TOO_FEW_FRAMES'),
    `the capture was too slow or too short: ${decided.reasons}`);
  if (light) check(!(decided.reasons || []).includes('LIGHT_MISSING'), 'LIGHT_MISSING: the colour indices did not cover every frame and colour');
  log(`capture sent: ${frames.length} frames at ${Number(fps).toFixed(1)} fps${light ? ', each with the colour on screen' : ''}`);

  await page.locator('#session-result').waitFor({ state: 'visible', timeout: 10000 });
  const cameraOff = await page.evaluate(() => document.getElementById('video').srcObject === null);
  check(cameraOff, 'the camera is still on after the capture');
  check(await page.locator('#capture-area.capturing').count() === 0, 'the capture area still covers the window');
  log('camera stopped after the capture');
  const verifyResponse = await verified;
  if (decided.decision !== 'retry') check(verifyResponse, 'the verification was not sent');
  await page.locator('#result:visible, #error:visible').first().waitFor({ timeout: DECISION_TIMEOUT_MS }).catch(async () => {
    throw new CheckFailed(`no decision within ${DECISION_TIMEOUT_MS / 1000} s (status: "${await page.locator('#status').textContent()}")`);
  });
  return decided;
}

// The session's refusal, as shown: "Not live", the reasons in words, the failed step.
async function checkSessionRefused(page, decided, { light }) {
  check(decided.decision === 'not_live', `the server decided "${decided.decision}" (${decided.reasons}), expected not_live`);
  const shown = await page.evaluate(() => ({
    decision: document.getElementById('session-decision').dataset.decision,
    title: document.getElementById('session-decision-title').textContent,
    reasons: [...document.querySelectorAll('#session-reasons li')].map((li) => ({ code: li.dataset.code, text: li.textContent })),
    steps: [...document.querySelectorAll('#session-steps li')].map((li) => ({ code: li.dataset.code || '', passed: li.dataset.passed, text: li.textContent })),
    next: document.getElementById('session-next').textContent,
    focus: document.activeElement && document.activeElement.id,
  }));
  check(shown.decision === 'not_live' && /Not live/.test(shown.title), `the page shows "${shown.title}" for a not_live session`);
  const codes = shown.reasons.map((r) => r.code);
  check(JSON.stringify(codes) === JSON.stringify(decided.reasons), `reasons shown ${codes} differ from the server's ${decided.reasons}`);
  const unexplained = shown.reasons.filter((r) => /^Reason: /.test(r.text));
  check(unexplained.length === 0, `reasons without a sentence: ${unexplained.map((r) => r.code).join(', ')}`);
  const stepReason = codes.find((c) => STEP_REASONS.includes(c));
  check(stepReason, `no step reason among ${codes}`);
  const failedStep = shown.steps.find((s) => s.passed === 'false' && STEP_REASONS.includes(s.code));
  check(failedStep && !/Reason: /.test(failedStep.text), `no failed step shown in words: ${JSON.stringify(shown.steps)}`);
  check(shown.steps.length === decided.steps.length, `${shown.steps.length} steps shown for ${decided.steps.length}`);
  if (light) {
    const lightReason = shown.reasons.find((r) => r.code === 'LIGHT_NOT_FOLLOWED');
    check(lightReason && /colours/.test(lightReason.text), `LIGHT_NOT_FOLLOWED not shown in words (reasons: ${codes})`);
  }
  check(/only once/.test(shown.next) && /new one/.test(shown.next), `the page does not say a new link is needed: "${shown.next}"`);
  log(`session refused on the page: ${shown.title} — ${shown.reasons.map((r) => `${r.code}: ${r.text}`).join(' ')}`);
  log(`failed step shown: ${failedStep.text}`);
}

// The verification with the session: refused (by liveness), similarity and both face boxes shown.
async function checkVerifyRefused(page) {
  if (await page.locator('#error').isVisible()) {
    throw new CheckFailed(`an error was shown instead of a decision: "${await page.locator('#error-message').textContent()}"`);
  }
  const title = (await page.locator('#decision-title').textContent()).trim();
  check(/Refused/.test(title), `the identity decision shows "${title}", expected a refusal by liveness`);
  const reasons = await page.locator('#decision-reasons li').evaluateAll((items) => items.map((li) => li.dataset.code));
  check(reasons.some((c) => STEP_REASONS.includes(c) || c === 'LIGHT_NOT_FOLLOWED' || c === 'SPOOF_SUSPECTED'),
    `the refusal gives no liveness reason: ${reasons}`);
  const similarity = await page.locator('#similarity').textContent();
  check(/similarity -?\d+\.\d{3}/.test(similarity) && /threshold -?\d+\.\d{3}/.test(similarity),
    `the similarity and threshold are not shown: "${similarity}"`);
  const liveness = await page.locator('#liveness').textContent();
  check(/^Not live: decided by the liveness check/.test(liveness), `liveness not shown: "${liveness}"`);
  check(await page.locator('#quality-probe li').count() > 0, 'no picture quality feedback shown');
  check(await page.locator('#quality-reference li').count() > 0, 'no ID portrait quality feedback shown');
  log(`identity decision shown: ${title} (${reasons.join(', ')}); ${similarity}`);

  for (const id of ['reference-canvas', 'probe-canvas']) {
    const drawn = await page.evaluate((canvasId) => {
      const canvas = document.getElementById(canvasId);
      if (!canvas.dataset.box || !canvas.width) return { box: null };
      const [x, y, w] = canvas.dataset.box.split(',').map(Number);
      const px = Math.min(canvas.width - 1, Math.max(0, Math.round(x + w / 2)));
      const py = Math.min(canvas.height - 1, Math.max(0, Math.floor(y)));
      const [r, g, b] = canvas.getContext('2d').getImageData(px, py, 1, 1).data;
      return { box: canvas.dataset.box, size: [canvas.width, canvas.height], rgb: [r, g, b],
        label: canvas.getAttribute('aria-label'), shown: canvas.getBoundingClientRect().width };
    }, id);
    check(drawn.box, `#${id}: no face box was drawn`);
    const [r, g, b] = drawn.rgb;
    check(r > 180 && g > 140 && b < 110, `#${id}: the box outline is not on the canvas at its top edge (pixel ${drawn.rgb})`);
    check(drawn.shown > 0, `#${id} is not visible`);
    check(/outlined/.test(drawn.label), `#${id} has no text alternative: "${drawn.label}"`);
    log(`#${id}: ${drawn.size.join('x')} image with the face box ${drawn.box} drawn`);
  }
}

async function forgetImages(page, context) {
  await page.locator('#start-over').click();
  await page.waitForFunction(() => /used already/.test(document.getElementById('session-state').textContent), null, { timeout: 10000 })
    .catch(async () => { throw new CheckFailed(`the used link is not said to be used: "${await page.locator('#session-state').textContent()}"`); });
  const after = await page.evaluate(() => ({
    stepsHidden: [...document.querySelectorAll('.step')].every((s) => s.hidden),
    focus: document.activeElement && document.activeElement.id,
    canvases: [...document.querySelectorAll('canvas')].map((c) => c.width * c.height + (c.dataset.box ? 1 : 0)),
    files: document.getElementById('id-file').files.length + document.getElementById('id-camera').files.length +
      document.getElementById('chip-files').files.length,
    resultText: ['decision-title', 'similarity', 'liveness', 'quality-probe', 'quality-reference', 'session-decision-title',
      'session-reasons', 'session-steps'].map((id) => document.getElementById(id).textContent).join(''),
  }));
  check(after.stepsHidden, '"Forget the images" left a step shown for a used link');
  check(after.focus === 'session-heading', `focus did not move to the link's state (focus on "${after.focus}")`);
  check(after.canvases.every((n) => n === 0), '"Forget the images" left images on the canvases');
  check(after.files === 0, '"Forget the images" left files chosen');
  check(after.resultText === '', '"Forget the images" left result text in the page');
  log('"Forget the images" cleared the images and the result; the used link says so');
  await checkNoBrowserStorage(page, context, 'after "Forget the images"');
}

const launchArgs = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  `--use-file-for-fake-video-capture=${FAKE_VIDEO}`,
  '--disable-gpu',
  '--no-first-run',
];

async function scenario(browser, name, options, body, allowedConsoleErrors = []) {
  console.log(`${name}`);
  const context = await browser.newContext({ ...options, permissions: ['camera'] });
  const problems = watch(context, name);
  const page = await context.newPage();
  try {
    await body(page, context, problems);
    await checkClean(problems, allowedConsoleErrors);
  } catch (error) {
    const shot = path.join(OUT_DIR, `failure-${name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    error.message = `${name}: ${error.message} (screenshot: ${shot})`;
    throw error;
  } finally {
    await context.close();
  }
}

const shot = (name) => path.join(OUT_DIR, name);

let browser;
let status = 0;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs });
  console.log(`web_capture: ${BASE} with ${CHROMIUM} (${browser.version()}), camera ${path.basename(FAKE_VIDEO)}`);
  let usedSession = null;

  await scenario(browser, 'desktop, motion_light session', { viewport: { width: 1100, height: 900 } }, async (page, context, problems) => {
    const session = await createSession('motion_light');
    await openLink(page, session);
    check(await page.locator('#session-light-note').isVisible(), 'the link does not say up front that it flashes colours');
    await checkAccessibilityBasics(page);
    log('labels, alt texts, live region, lang, button sizes');
    const decided = await runSession(page, session, {
      shots: { warning: shot('web-session-warning.png'), prompt: shot('web-session-prompt.png'), colours: shot('web-session-colours.png') },
    });
    await checkSessionRefused(page, decided, { light: true });
    await checkVerifyRefused(page);
    await checkAccessibilityBasics(page);
    await checkNoBrowserStorage(page, context, 'after the decision');
    await page.screenshot({ path: shot('web-session-refused.png'), fullPage: true });
    log(`screenshots ${['web-session-warning.png', 'web-session-prompt.png', 'web-session-colours.png', 'web-session-refused.png']
      .map(shot).join(', ')}`);
    check(problems.authorised >= 4, `only ${problems.authorised} authorised request(s) seen`);
    await forgetImages(page, context);
    usedSession = session;
  });

  await scenario(browser, 'phone, motion session', { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true },
    async (page, context) => {
      const session = await createSession('motion');
      await openLink(page, session);
      check(await page.locator('#session-light-note').isHidden(), 'a motion link says it flashes colours');
      await checkAccessibilityBasics(page);
      const decided = await runSession(page, session, { shots: { prompt: shot('web-session-phone-prompt.png') } });
      await checkSessionRefused(page, decided, { light: false });
      check(!decided.reasons.includes('LIGHT_NOT_FOLLOWED'), 'a light reason for a motion session');
      await checkVerifyRefused(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `the page scrolls sideways on a 360 px screen (${overflow} px too wide)`);
      const columns = await page.evaluate(() => getComputedStyle(document.querySelector('.faces')).gridTemplateColumns.split(' ').length);
      check(columns === 1, `the faces are not in one column on a phone (${columns} columns)`);
      log('one column, no sideways scrolling at 360x640');
      await checkNoBrowserStorage(page, context, 'after the decision');
      await page.evaluate(() => document.getElementById('step-result').scrollIntoView());
      await page.screenshot({ path: shot('web-session-phone.png') });
      await page.screenshot({ path: shot('web-session-phone-full.png'), fullPage: true });
      log(`screenshots ${shot('web-session-phone-prompt.png')}, web-session-phone.png, web-session-phone-full.png`);
      await forgetImages(page, context);
    });

  await scenario(browser, 'chip document, motion session', { viewport: { width: 1100, height: 900 } }, async (page, context) => {
    const session = await createSession('motion');
    await openLink(page, session);
    const decided = await runSession(page, session, { chooseReference: chooseChipFiles });
    await checkSessionRefused(page, decided, { light: false });
    await checkVerifyRefused(page);
    check(await page.locator('#document-result').isVisible(), 'the document checks are not shown');
    const documentStatus = await page.locator('#document-status').textContent();
    check(documentStatus.startsWith('Valid:'), `the document is not shown as valid: "${documentStatus}"`);
    const details = await page.locator('#document-details li').allTextContents();
    check(details.some((d) => d.includes('portrait (DG2) is the one that was signed')), `no DG2 sentence: ${details.join(' | ')}`);
    check(details.some((d) => d.includes('not authenticated')), 'the clone limit is not said');
    const caption = await page.locator('#reference-caption').textContent();
    check(caption === 'Chip portrait', `the reference is captioned "${caption}"`);
    log(`document shown: ${documentStatus}`);
    await page.screenshot({ path: shot('web-session-chip.png'), fullPage: true });
    await forgetImages(page, context);
    check(await page.evaluate(() => document.getElementById('chip-files').files.length === 0 &&
      document.getElementById('document-result').hidden), '"Forget the images" left the chip files or the document checks');
  });

  await scenario(browser, 'links without a usable session', { viewport: { width: 1100, height: 900 } }, async (page, context) => {
    await page.goto(`${BASE}/`);
    await page.waitForFunction(() => /link/.test(document.getElementById('session-state').textContent), null, { timeout: 5000 });
    let text = await page.locator('#session-state').textContent();
    check(/only from the link/.test(text), `no explanation without a session: "${text}"`);
    check(await page.locator('.step:visible').count() === 0, 'steps are shown without a session');
    check(await page.locator('#progress').isHidden(), 'the progress is shown without a session');
    log(`without a session: ${text}`);
    await checkAccessibilityBasics(page);

    const fresh = await createSession('motion');
    await page.goto(link({ ...fresh, client_token: `fpsess_${'0'.repeat(64)}` }));
    await page.waitForFunction(() => /not valid/.test(document.getElementById('session-state').textContent), null, { timeout: 10000 })
      .catch(async () => { throw new CheckFailed(`a wrong token is not refused: "${await page.locator('#session-state').textContent()}"`); });
    text = await page.locator('#session-state').textContent();
    check(/new one/.test(text), `a wrong token does not say to ask for a new link: "${text}"`);
    check(await page.locator('.step:visible').count() === 0, 'steps are shown for a wrong token');
    log(`a wrong token: ${text}`);

    if (usedSession) {
      await page.goto(link(usedSession));
      await page.waitForFunction(() => /used already/.test(document.getElementById('session-state').textContent), null, { timeout: 10000 })
        .catch(async () => { throw new CheckFailed(`a used link is not refused: "${await page.locator('#session-state').textContent()}"`); });
      log(`a used link: ${await page.locator('#session-state').textContent()}`);
    }
    await page.screenshot({ path: shot('web-session-used-link.png'), fullPage: true });
    await checkNoBrowserStorage(page, context, 'after the refused links');
  }, [/status of 404/]);
  console.log('web_capture: all checks passed');
} catch (error) {
  console.error(`web_capture: FAIL: ${error instanceof CheckFailed ? '' : '(unexpected) '}${error.message}`);
  status = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(status);
