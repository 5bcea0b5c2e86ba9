// Run vladmandic/human's face crop and its antispoof / liveness graphs with TensorFlow.js itself (pure-JS CPU
// backend) on images and face boxes prepared by tests/support/make_pad_fixtures.py, and write the results:
// the reference the ONNX port and faceplane's numpy crop are compared with (tests/unit/models/test_pad_port.py).
// Needs Node >= 18 and, in NODE_PATH, @tensorflow/tfjs-core, tfjs-converter and tfjs-backend-cpu 4.22.0:
//   NODE_PATH=/tmp/tfjs/node_modules node tfjs_pad_reference.mjs JOB.json
// JOB.json: {"models": {"antispoof": "dir/model.json", ...},
//            "faces": [{"image": "img.f32", "shape": [H, W, 3], "box": [x0, y0, x1, y1],
//                       "inputs": {"antispoof": "ours.f32", ...}}, ...], "out_dir": "..."}
// For each face and model it writes <out_dir>/<k>_<model>_{input,human,ours}.f32: the model input Human makes,
// the model's output on it, and the model's output on faceplane's own input; plus outputs.json.
// The crop follows human 3.3.6 (src/face/facemeshutil.ts enlargeBox / squarifyBox / cutAndResize,
// src/face/antispoof.ts, liveness.ts) with its defaults: scale 1.4, no rotation, FaceMesh input 192.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(join(process.env.NODE_PATH || process.cwd(), 'x.js'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

const floats = (file) => {
  const raw = readFileSync(file);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
};

async function load(modelPath) {
  const modelJson = JSON.parse(readFileSync(modelPath, 'utf8'));
  const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const shards = modelJson.weightsManifest.flatMap((group) => group.paths)
    .map((p) => readFileSync(join(dirname(modelPath), p)));
  const bin = Buffer.concat(shards);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const handler = tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData });
  return converter.loadGraphModel(handler);
}

// human/src/face/facemeshutil.ts, verbatim in substance
const getBoxSize = (box) => [Math.abs(box.endPoint[0] - box.startPoint[0]), Math.abs(box.endPoint[1] - box.startPoint[1])];
const getBoxCenter = (box) => [box.startPoint[0] + (box.endPoint[0] - box.startPoint[0]) / 2, box.startPoint[1] + (box.endPoint[1] - box.startPoint[1]) / 2, 1];
const enlargeBox = (box, factor) => {
  const center = getBoxCenter(box);
  const size = getBoxSize(box);
  const halfSize = [factor * size[0] / 2, factor * size[1] / 2];
  return { startPoint: [center[0] - halfSize[0], center[1] - halfSize[1]], endPoint: [center[0] + halfSize[0], center[1] + halfSize[1]] };
};
const squarifyBox = (box) => {
  const centers = getBoxCenter(box);
  const size = getBoxSize(box);
  const halfSize = Math.max(...size) / 2;
  return { startPoint: [Math.round(centers[0] - halfSize), Math.round(centers[1] - halfSize)], endPoint: [Math.round(centers[0] + halfSize), Math.round(centers[1] + halfSize)] };
};
const cutAndResize = (box, image, cropSize) => {
  const h = image.shape[1];
  const w = image.shape[2];
  const cutBox = [box.startPoint[1] / h, box.startPoint[0] / w, box.endPoint[1] / h, box.endPoint[0] / w];
  const crop = tf.image.cropAndResize(image, [cutBox], [0], cropSize);
  const norm = tf.div(crop, 255);
  tf.dispose(crop);
  return norm;
};

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
await tf.setBackend('cpu');
const models = {};
for (const [name, path] of Object.entries(job.models)) models[name] = await load(path);
const manifest = { tfjs: tf.version_core, backend: tf.getBackend(), faces: [] };
job.faces.forEach((face, k) => {
  const image = tf.tensor(floats(face.image), [1, ...face.shape], 'float32');
  const detected = { startPoint: [face.box[0], face.box[1]], endPoint: [face.box[2], face.box[3]] };
  const square = squarifyBox(enlargeBox(detected, 1.4));
  const tensor = cutAndResize(square, image, [192, 192]);
  const entry = { square: [...square.startPoint, ...square.endPoint], files: {} };
  for (const [name, model] of Object.entries(models)) {
    const size = [model.inputs[0].shape[2], model.inputs[0].shape[1]]; // as human: [shape[2], shape[1]]
    const resized = tf.image.resizeBilinear(tensor, size, false);
    const human = model.execute(resized);
    const ours = model.execute(tf.tensor(floats(face.inputs[name]), resized.shape, 'float32'));
    const files = {};
    for (const [kind, t] of [['input', resized], ['human', human], ['ours', ours]]) {
      files[kind] = join(job.out_dir, `${k}_${name}_${kind}.f32`);
      writeFileSync(files[kind], Buffer.from(t.dataSync().buffer));
    }
    entry.files[name] = { ...files, input_shape: resized.shape, output_shape: human.shape };
    tf.dispose([resized, human, ours]);
  }
  manifest.faces.push(entry);
  tf.dispose([image, tensor]);
});
writeFileSync(join(job.out_dir, 'outputs.json'), JSON.stringify(manifest));
