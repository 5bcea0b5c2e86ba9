// Run a TF.js graph model with TensorFlow.js itself (pure-JS CPU backend) on inputs prepared by
// tests/support/make_tfjs_fixtures.py, and write the raw outputs: the reference the ONNX port is
// compared with (tests/unit/models/test_tfjs_port.py). Needs Node >= 18 and, in NODE_PATH or next to
// this script, @tensorflow/tfjs-core, tfjs-converter and tfjs-backend-cpu 4.22.0 (no native binary):
//   npm install --prefix /tmp/tfjs @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-converter@4.22.0 \
//     @tensorflow/tfjs-backend-cpu@4.22.0
//   NODE_PATH=/tmp/tfjs/node_modules node tfjs_reference.mjs MODEL.json JOB.json
// JOB.json: {"inputs": [{"file": "x.f32", "shape": [1, 416, 416, 3]}, ...], "outputs": ["name", ...],
//            "out_dir": "..."}; each output of input k is written to out_dir/<k>_<index>.f32 with a
//            manifest out_dir/outputs.json listing names and shapes.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(join(process.env.NODE_PATH || process.cwd(), 'x.js'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

const [modelPath, jobPath] = process.argv.slice(2);
const modelJson = JSON.parse(readFileSync(modelPath, 'utf8'));
const job = JSON.parse(readFileSync(jobPath, 'utf8'));
const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
const shards = modelJson.weightsManifest.flatMap((group) => group.paths)
  .map((p) => readFileSync(join(dirname(modelPath), p)));
const bin = Buffer.concat(shards);
const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);

await tf.setBackend('cpu');
const handler = tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData });
const model = await converter.loadGraphModel(handler);
const manifest = { tfjs: tf.version_core, backend: tf.getBackend(), results: [] };
job.inputs.forEach((input, k) => {
  const raw = readFileSync(input.file);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const x = tf.tensor(data, input.shape, 'float32');
  let outs = model.execute(x, job.outputs);
  if (!Array.isArray(outs)) outs = [outs];
  const entry = [];
  outs.forEach((t, i) => {
    const file = join(job.out_dir, `${k}_${i}.f32`);
    writeFileSync(file, Buffer.from(t.dataSync().buffer));
    entry.push({ name: job.outputs[i], shape: t.shape, file });
  });
  manifest.results.push(entry);
  tf.dispose([x, ...outs]);
});
writeFileSync(join(job.out_dir, 'outputs.json'), JSON.stringify(manifest));
