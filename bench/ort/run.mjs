// ONNX Runtime (onnxruntime-node, CPU, one thread) on the same model files and input shapes as
// bench/bench_models.cpp, joined with our Google Benchmark JSON into one table.
//   node bench/ort/run.mjs --ort-json [--models=DIR] [--min-runs=N] [--min-seconds=S] [--only=...]
//       one round of ORT timings, printed as JSON {label: ms}
//   node bench/ort/run.mjs --ours=F1.json,F2.json,... --ort=G1.json,G2.json,...
//                          [--opencv=FILE.json] [--reference=FILE.json] [--only=fr_detect,...]
//       the table: per model the median over rounds of ours and of ORT, their ratio, and the
//       range of the per-round ratios (round k pairs Fk with Gk, measured one after the other)
// Google Benchmark JSON of BM_Model/*: --ours faceproof as shipped (the oneDNN executor), --opencv
// the `--backend opencv` path (OpenCV DNN with faceproof's layers), --reference OpenCV DNN with its
// own layers only (FACEPROOF_BACKEND=opencv FACEPROOF_DNN_REFERENCE=1).
// Per model: session created once, input tensor created once, 10 warm-up runs, then runs until
// both --min-runs (50) and --min-seconds (1.5) are reached; the median wall time of one
// session.run() is reported (it includes the N-API call, a few microseconds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = a.match(/^--([^=]+)(?:=(.*))?$/);
  if (!m) throw new Error(`unknown argument ${a} (use --name=value or --flag)`);
  return [m[1], m[2] ?? ''];
}));

function modelDir() {
  if (args.models) return args.models;
  if (process.env.FACEPROOF_MODELS) return process.env.FACEPROOF_MODELS;
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'faceproof', 'models');
}

// The same cases as bench/bench_models.cpp: label, file, shape, value range.
const cases = [
  ['fr_detect', 'fr_detect', [1, 3, 240, 320], -1, 1],
  ['fr_landmark', 'fr_landmark', [1, 1, 64, 64], 0, 1],
  ['fr_landmark_x4', 'fr_landmark', [4, 1, 64, 64], 0, 1],
  ['fr_feature', 'fr_feature', [1, 3, 112, 112], -1, 1],
  ['fr_feature_x2', 'fr_feature', [2, 3, 112, 112], -1, 1],
  ['fr_feature_x4', 'fr_feature', [4, 3, 112, 112], -1, 1],
  ['fr_liveness', 'fr_liveness', [1, 3, 128, 128], 0, 255],
  ['fr_pose', 'fr_pose', [1, 3, 224, 224], -2, 2],
  ['fr_eye', 'fr_eye', [1, 1, 24, 24], 0, 1],
];

function noise(n, low, high) {
  let s = 20240601 >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = low + (high - low) * (s / 4294967296);
  }
  return out;
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

async function timeRuns(run) {
  for (let i = 0; i < 10; ++i) await run();
  const minRuns = Number(args['min-runs'] ?? 50), minSeconds = Number(args['min-seconds'] ?? 1.5);
  const times = [];
  const start = process.hrtime.bigint();
  while (times.length < minRuns || Number(process.hrtime.bigint() - start) / 1e9 < minSeconds) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

async function ortMs([, file, shape, low, high]) {
  const session = await ort.InferenceSession.create(path.join(modelDir(), `${file}.onnx`), {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const name = session.inputNames[0];
  const size = shape.reduce((a, b) => a * b, 1);
  const tensor = new ort.Tensor('float32', noise(size, low, high), shape);
  try {
    await session.run({ [name]: tensor });
    return { ms: await timeRuns(() => session.run({ [name]: tensor })), note: '' };
  } catch (e) {
    // A file exported with a fixed batch of 1: time the batch as that many runs of one.
    if (shape[0] === 1) throw e;
    const one = new ort.Tensor('float32', noise(size / shape[0], low, high), [1, ...shape.slice(1)]);
    const ms = await timeRuns(async () => { for (let b = 0; b < shape[0]; ++b) await session.run({ [name]: one }); });
    return { ms, note: `ORT: fixed batch 1 in the file, ${shape[0]} runs of 1` };
  }
}

function benchMs(file) {
  if (!file) return {};
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = {};
  for (const b of json.benchmarks) {
    const m = b.name.match(/^BM_Model\/([^_]+_[^_]+(?:_x\d+)?)(?:_median)?$/);
    if (!m) continue;
    if (b.aggregate_name && b.aggregate_name !== 'median') continue;
    const scale = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3 }[b.time_unit];
    out[m[1]] = b.real_time * scale;
  }
  return out;
}

const selected = cases.filter((c) => !args.only || args.only.split(',').includes(c[0]));

if (args['ort-json'] !== undefined) {
  const out = {};
  for (const c of selected) out[c[0]] = await ortMs(c);
  console.log(JSON.stringify(out));
  process.exit(0);
}

const files = (list) => (list ? list.split(',') : []);
const oursRounds = files(args.ours).map(benchMs);
const ortRounds = files(args.ort).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const reference = benchMs(args.reference);
const opencv = benchMs(args.opencv);
const ortPackage = JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url)));
const rounds = Math.min(oursRounds.length, ortRounds.length);
console.log(`# ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`# OpenCV layers: OpenCV DNN ${args['opencv-version'] ?? ''} with its own layers only; --backend opencv: OpenCV DNN with faceproof's layers;`);
console.log(`# ours: faceproof's oneDNN executor (the default backend); ORT: onnxruntime-node ${ortPackage.version}; one thread each.`);
console.log(`# ours and ORT: ${rounds} interleaved rounds (ours, then ORT, per round); median over rounds; ratio range: lowest and highest per-round ratio`);
console.log('| model | input | OpenCV layers ms | --backend opencv ms | ours ms | ORT ms | ours / ORT | ratio range |');
console.log('|---|---|---|---|---|---|---|---|');
const notes = new Set();
const fmt = (x) => (x === undefined || Number.isNaN(x) ? '-' : x < 1 ? x.toFixed(3) : x.toFixed(2));
for (const c of selected) {
  const pairs = [];
  for (let r = 0; r < rounds; ++r) {
    const o = oursRounds[r][c[0]], t = ortRounds[r][c[0]];
    if (o === undefined || t === undefined) continue;
    if (t.note) notes.add(`${c[0]}: ${t.note}`);
    pairs.push([o, t.ms]);
  }
  const o = pairs.length ? median(pairs.map((p) => p[0])) : undefined;
  const t = pairs.length ? median(pairs.map((p) => p[1])) : undefined;
  const ratios = pairs.map(([x, y]) => x / y);
  const range = ratios.length ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}` : '-';
  console.log(`| ${c[0]} | ${c[2].join('x')} | ${fmt(reference[c[0]])} | ${fmt(opencv[c[0]])} | ${fmt(o)} | ${fmt(t)} | ${o === undefined ? '-' : (o / t).toFixed(2)} | ${range} |`);
}
for (const n of notes) console.log(`# ${n}`);
