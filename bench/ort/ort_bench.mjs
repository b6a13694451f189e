// ONNX Runtime side of bench/inference_bench: runs each entry of
// <io>/models.json (a model file, its kind, the factor its input digital numbers are multiplied
// by, and how many timed runs) on the chip in <io>/input_dn.bin, and writes the timings
// (<io>/ort_results.json), the probabilities (<io>/ort_<tag>.bin, float32) and the raw outputs
// (<io>/ort_<tag>_logits.bin) that the C++ side compares with its own. The input is read from
// the file the C++ side wrote, so both engines see exactly the same numbers.
//
//   node ort_bench.mjs --io DIR [--threads 2] [--reps 5] [--warmup 1]

import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const CHIP = 512;
const BANDS = 12;

function parseArgs(argv) {
  const args = {io: null, threads: 2, reps: 5, warmup: 1};
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args)) throw new Error(`unknown option ${argv[i]}`);
    args[key] = key === 'io' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!args.io) throw new Error('--io DIR is required');
  return args;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const args = parseArgs(process.argv);
  const models = JSON.parse(fs.readFileSync(path.join(args.io, 'models.json'), 'utf8'));
  const raw = fs.readFileSync(path.join(args.io, 'input_dn.bin'));
  const dn = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  if (dn.length !== BANDS * CHIP * CHIP) throw new Error('input_dn.bin has the wrong size');

  const results = {engine: 'onnxruntime-node', version: ort.env.versions?.common ?? '',
                   threads: args.threads, models: []};
  for (const m of models) {
    // The reference contract multiplies by 1 (cloud) or 0.0001 (shadow), in float32 as the
    // C++ side does.
    const input = new Float32Array(dn.length);
    const scale = Math.fround(m.scale);
    for (let i = 0; i < dn.length; ++i) input[i] = Math.fround(dn[i] * scale);
    const reps = m.timed ? args.reps : 1;
    const warmup = m.timed ? args.warmup : 0;
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(m.file, {
      intraOpNumThreads: args.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const loadMs = performance.now() - t0;
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', input, [1, BANDS, CHIP, CHIP])};
    let out = null;
    const times = [];
    for (let r = 0; r < warmup + reps; ++r) {
      const t = performance.now();
      out = (await session.run(feeds))[session.outputNames[0]];
      if (r >= warmup) times.push(performance.now() - t);
    }
    const logits = out.data;
    const n = CHIP * CHIP;
    const prob = new Float32Array(n);
    if (m.kind === 'cloud') {
      if (out.dims[1] !== 2) throw new Error(`${m.tag}: expected 2 output channels`);
      for (let i = 0; i < n; ++i) {
        // softmax channel 1 of two logits = sigmoid(l1 - l0)
        prob[i] = 1 / (1 + Math.exp(logits[i] - logits[n + i]));
      }
    } else {
      if (out.dims[1] !== 1) throw new Error(`${m.tag}: expected 1 output channel`);
      for (let i = 0; i < n; ++i) prob[i] = 1 / (1 + Math.exp(-logits[i]));
    }
    fs.writeFileSync(path.join(args.io, `ort_${m.tag}.bin`), Buffer.from(prob.buffer));
    fs.writeFileSync(path.join(args.io, `ort_${m.tag}_logits.bin`),
                     Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
    results.models.push({tag: m.tag, name: m.name, load_ms: loadMs, times_ms: times,
                         median_ms: median(times)});
    await session.release();
    console.error(`ort: ${m.tag}: median ${median(times).toFixed(1)} ms over ${times.length} runs`);
  }
  fs.writeFileSync(path.join(args.io, 'ort_results.json'), JSON.stringify(results, null, 1));
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
