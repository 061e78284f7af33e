// End-to-end test of the web capture page (web/) against a running `faceproof serve`, with Debian's
// Chromium, headless, whose camera is a Y4M clip (--use-file-for-fake-video-capture).
// scripts/test_web.sh prepares everything and runs this; by hand:
//
//   FACEPROOF_URL=http://127.0.0.1:8080 FACEPROOF_API_KEY=... ID_IMAGE=id.jpg FAKE_VIDEO=selfie.y4m \
//     node tests/e2e/web_capture.mjs
//
// Optional: CHROMIUM (default /usr/bin/chromium), OUT_DIR (default build/e2e: screenshots),
// DECISION_TIMEOUT_MS (default 60000).
//
// Scenarios: (1) desktop, key from the URL fragment: ID upload, selfie burst, decision shown with
// similarity and both face boxes drawn, no browser storage used, no request leaves the server,
// camera off after capture, "Start over" clears everything; (2) phone viewport 360x640, key typed:
// the same, one column without horizontal scrolling, large touch targets; (3) a wrong key shows the
// 401 message. Exit 0 when all pass, 1 with a message naming the failed check otherwise.
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
const DECISION_TIMEOUT_MS = Number(env('DECISION_TIMEOUT_MS', '60000'));

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

// Every request of the page must go to the faceproof server (no CDN, no external resource).
// Uncaught exceptions and console errors (a Content-Security-Policy violation, a missing file) fail
// the scenario, except those it expects (the 401 of the wrong-key scenario).
function watch(context, label) {
  const problems = { external: [], pageErrors: [], consoleErrors: [], failed: [] };
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${BASE}/`) && !url.startsWith('blob:') && !url.startsWith('data:')) problems.external.push(url);
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

function checkClean(problems, allowedConsoleErrors = []) {
  check(problems.pageErrors.length === 0, `uncaught errors in the page: ${problems.pageErrors.join('; ')}`);
  check(problems.external.length === 0, `requests outside the server: ${problems.external.join(', ')}`);
  check(problems.failed.length === 0, `requests that failed: ${problems.failed.join(', ')}`);
  const unexpected = problems.consoleErrors.filter((text) => !allowedConsoleErrors.some((re) => re.test(text)));
  check(unexpected.length === 0, `errors in the browser console: ${unexpected.join(' | ')}`);
  log('no uncaught error, console error, failed or outside request');
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

// ID upload, selfie burst; returns when the result or an error is shown.
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

async function runCapture(page, chooseReference = chooseIdImage) {
  await chooseReference(page);
  await page.locator('#to-selfie').click();
  check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'step-selfie-heading',
    'focus did not move to the selfie step heading');
  await page.locator('#capture:enabled').waitFor({ timeout: 20000 }).catch(async () => {
    throw new CheckFailed(`the camera did not start: status "${await page.locator('#status').textContent()}"`);
  });
  const videoSize = await page.evaluate(() => [document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]);
  check(videoSize[0] > 0, 'the camera preview shows no picture');
  log(`camera on (fake device, ${videoSize[0]}x${videoSize[1]})`);
  await page.locator('#capture').click();
  await page.waitForFunction(() => document.getElementById('challenge').textContent.includes('Blink'), null, { timeout: 5000 })
    .catch(() => { throw new CheckFailed('the challenge instruction "Blink, then turn your head slightly" was not shown'); });
  log('challenge instruction shown during the burst');
  await page.locator('#result:visible, #error:visible').first().waitFor({ timeout: DECISION_TIMEOUT_MS }).catch(async () => {
    throw new CheckFailed(`no decision within ${DECISION_TIMEOUT_MS / 1000} s (status: "${await page.locator('#status').textContent()}")`);
  });
  const cameraOff = await page.evaluate(() => document.getElementById('video').srcObject === null);
  check(cameraOff, 'the camera is still on after the capture');
  log('camera stopped after the capture');
}

async function checkDecision(page) {
  if (await page.locator('#error').isVisible()) {
    throw new CheckFailed(`an error was shown instead of a decision: "${await page.locator('#error-message').textContent()}"`);
  }
  const title = (await page.locator('#decision-title').textContent()).trim();
  check(/Accepted|Refused/.test(title), `the decision element shows "${title}"`);
  const similarity = await page.locator('#similarity').textContent();
  check(/similarity -?\d+\.\d{3}/.test(similarity) && /threshold -?\d+\.\d{3}/.test(similarity),
    `the similarity and threshold are not shown: "${similarity}"`);
  const liveness = await page.locator('#liveness').textContent();
  check(/^(Live|Not live): score/.test(liveness), `liveness not shown: "${liveness}"`);
  check(await page.locator('#quality-probe li').count() > 0, 'no selfie quality feedback shown');
  check(await page.locator('#quality-reference li').count() > 0, 'no ID portrait quality feedback shown');
  const reasons = await page.locator('#decision-reasons li').allTextContents();
  check(!reasons.some((r) => /^Reason: /.test(r)), `a decision reason without a sentence: ${reasons.join(' | ')}`);
  log(`decision shown: ${title}${reasons.length ? ` — ${reasons.join(' ')}` : ''}`);
  log(`similarity shown: ${similarity}`);
  log(`liveness shown: ${liveness}`);

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

async function startOver(page, context) {
  await page.locator('#start-over').click();
  const after = await page.evaluate(() => ({
    stepShown: !document.getElementById('step-id').hidden,
    resultHidden: document.getElementById('step-result').hidden && document.getElementById('result').hidden,
    focus: document.activeElement && document.activeElement.id,
    canvases: [...document.querySelectorAll('canvas')].map((c) => c.width * c.height + (c.dataset.box ? 1 : 0)),
    preview: document.getElementById('id-preview').width * document.getElementById('id-preview').height,
    files: document.getElementById('id-file').files.length + document.getElementById('id-camera').files.length,
    resultText: ['decision-title', 'similarity', 'liveness', 'quality-probe', 'quality-reference']
      .map((id) => document.getElementById(id).textContent).join(''),
  }));
  check(after.stepShown && after.resultHidden, 'Start over did not return to step 1');
  check(after.focus === 'step-id-heading', `Start over did not move focus to step 1 (focus on "${after.focus}")`);
  check(after.canvases.every((n) => n === 0), 'Start over left face images on the canvases');
  check(after.preview === 0 && after.files === 0,
    `Start over left the ID image in the page (preview ${after.preview} px, ${after.files} file(s) chosen)`);
  check(after.resultText === '', 'Start over left result text in the page');
  log('Start over cleared the images and the result and focused step 1');
  await checkNoBrowserStorage(page, context, 'after Start over');
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
    await body(page, context);
    checkClean(problems, allowedConsoleErrors);
  } catch (error) {
    const shot = path.join(OUT_DIR, `failure-${name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    error.message = `${name}: ${error.message} (screenshot: ${shot})`;
    throw error;
  } finally {
    await context.close();
  }
}

let browser;
let status = 0;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs });
  console.log(`web_capture: ${BASE} with ${CHROMIUM} (${browser.version()}), camera ${path.basename(FAKE_VIDEO)}`);

  await scenario(browser, 'desktop', { viewport: { width: 1100, height: 900 } }, async (page, context) => {
    await page.goto(`${BASE}/#key=${encodeURIComponent(KEY)}`);
    await page.waitForFunction(() => !location.href.includes('key='), null, { timeout: 5000 })
      .catch(() => { throw new CheckFailed('the API key was not removed from the address bar'); });
    check((await page.locator('#key-state').textContent()).includes('from the link'), 'the key from the link was not taken');
    log('API key taken from #key= and removed from the address bar');
    await checkAccessibilityBasics(page);
    log('labels, alt texts, live region, lang, button sizes');
    await runCapture(page);
    await checkDecision(page);
    await checkNoBrowserStorage(page, context, 'after the decision');
    await page.screenshot({ path: path.join(OUT_DIR, 'web-capture.png'), fullPage: true });
    log(`screenshot ${path.join(OUT_DIR, 'web-capture.png')}`);
    await startOver(page, context);
  });

  await scenario(browser, 'phone', { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true },
    async (page, context) => {
      await page.goto(`${BASE}/`);
      await page.locator('#api-key').fill(KEY);
      await page.getByRole('button', { name: 'Use key' }).click();
      check(await page.locator('#api-key').inputValue() === '', 'the typed key stayed in the input');
      check((await page.locator('#key-state').textContent()).includes('typed'), 'the typed key was not taken');
      log('API key typed in, kept in memory, input cleared');
      await checkAccessibilityBasics(page);
      await runCapture(page);
      await checkDecision(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `the page scrolls sideways on a 360 px screen (${overflow} px too wide)`);
      const columns = await page.evaluate(() => getComputedStyle(document.querySelector('.faces')).gridTemplateColumns.split(' ').length);
      check(columns === 1, `the faces are not in one column on a phone (${columns} columns)`);
      log('one column, no sideways scrolling at 360x640');
      await checkNoBrowserStorage(page, context, 'after the decision');
      await page.evaluate(() => document.getElementById('step-result').scrollIntoView());
      await page.screenshot({ path: path.join(OUT_DIR, 'web-capture-phone.png') });
      await page.screenshot({ path: path.join(OUT_DIR, 'web-capture-phone-full.png'), fullPage: true });
      log(`screenshots ${path.join(OUT_DIR, 'web-capture-phone.png')} and web-capture-phone-full.png`);
      await startOver(page, context);
    });

  await scenario(browser, 'chip document', { viewport: { width: 1100, height: 900 } }, async (page, context) => {
    await page.goto(`${BASE}/#key=${encodeURIComponent(KEY)}`);
    await checkAccessibilityBasics(page);
    await runCapture(page, chooseChipFiles);
    await checkDecision(page);
    check(await page.locator('#document-result').isVisible(), 'the document checks are not shown');
    const status = await page.locator('#document-status').textContent();
    check(status.startsWith('Valid:'), `the document is not shown as valid: "${status}"`);
    const details = await page.locator('#document-details li').allTextContents();
    check(details.some((d) => d.includes('portrait (DG2) is the one that was signed')), `no DG2 sentence: ${details.join(' | ')}`);
    check(details.some((d) => d.includes('not authenticated')), 'the clone limit is not said');
    const caption = await page.locator('#reference-caption').textContent();
    check(caption === 'Chip portrait', `the reference is captioned "${caption}"`);
    log(`document shown: ${status}`);
    await page.screenshot({ path: path.join(OUT_DIR, 'web-capture-chip.png'), fullPage: true });
    await startOver(page, context);
    check(await page.evaluate(() => document.getElementById('chip-files').files.length === 0 &&
      document.getElementById('document-result').hidden), 'Start over left the chip files or the document checks');
  });

  await scenario(browser, 'wrong key', { viewport: { width: 1100, height: 900 } }, async (page, context) => {
    await page.goto(`${BASE}/#key=not-a-valid-key-${Date.now()}`);
    await runCapture(page);
    check(await page.locator('#error').isVisible(), 'no error shown for a wrong API key');
    const message = await page.locator('#error-message').textContent();
    check(message.includes('API key missing or wrong'), `the 401 message is not shown: "${message}"`);
    check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'api-key',
      'focus did not move to the API key input after 401');
    log(`401 shown as: ${message}`);
    await page.screenshot({ path: path.join(OUT_DIR, 'web-capture-401.png'), fullPage: true });
    await checkNoBrowserStorage(page, context, 'after the 401');
  }, [/status of 401/]);
  console.log('web_capture: all checks passed');
} catch (error) {
  console.error(`web_capture: FAIL: ${error instanceof CheckFailed ? '' : '(unexpected) '}${error.message}`);
  status = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(status);
