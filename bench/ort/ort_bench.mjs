// ONNX Runtime side of bench/inference_bench (issue 4 item 9): runs each model listed in
// <io>/models.json on the chip in <io>/input_dn.bin with the reference contract, and writes
// the timings (<io>/ort_results.json) and the probabilities (<io>/ort_<name>.bin) that the
// C++ side compares with its own. The input is read from the file the C++ side wrote, so both
// engines see exactly the same digital numbers.
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
    // The reference contract: raw digital numbers for cloud models, x 0.0001 for shadow.
    const input = new Float32Array(dn.length);
    const scale = m.kind === 'shadow' ? Math.fround(0.0001) : 1;
    for (let i = 0; i < dn.length; ++i) input[i] = Math.fround(dn[i] * scale);
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
    for (let r = 0; r < args.warmup + args.reps; ++r) {
      const t = performance.now();
      out = (await session.run(feeds))[session.outputNames[0]];
      if (r >= args.warmup) times.push(performance.now() - t);
    }
    const logits = out.data;
    const n = CHIP * CHIP;
    const prob = new Float32Array(n);
    if (m.kind === 'cloud') {
      if (out.dims[1] !== 2) throw new Error(`${m.name}: expected 2 output channels`);
      for (let i = 0; i < n; ++i) {
        // softmax channel 1 of two logits = sigmoid(l1 - l0)
        prob[i] = 1 / (1 + Math.exp(logits[i] - logits[n + i]));
      }
    } else {
      if (out.dims[1] !== 1) throw new Error(`${m.name}: expected 1 output channel`);
      for (let i = 0; i < n; ++i) prob[i] = 1 / (1 + Math.exp(-logits[i]));
    }
    fs.writeFileSync(path.join(args.io, `ort_${m.name}.bin`), Buffer.from(prob.buffer));
    results.models.push({name: m.name, load_ms: loadMs, times_ms: times, median_ms: median(times)});
    await session.release();
    console.error(`ort: ${m.name}: median ${median(times).toFixed(1)} ms over ${times.length} runs`);
  }
  fs.writeFileSync(path.join(args.io, 'ort_results.json'), JSON.stringify(results, null, 1));
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
