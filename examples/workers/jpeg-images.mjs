// A dataset of JPEG files for examples/decode-batches.mjs: item i is file i, read, decoded
// (jpeg-js, pure JS), resized to 112x112 (bilinear) and normalised to Float32 (ImageNet mean and
// std per channel, CHW), handed over with move(): the caller gets the worker's memory, no copy.
// makeJpegFiles writes the files in the first place (the example has no photos to download).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { move } from 'keel';

const kSide = 112;
const kMean = [0.485, 0.456, 0.406];
const kStd = [0.229, 0.224, 0.225];

/** The dataset factory: `dataset: { module, factory: 'openJpegs', args: [paths] }`. */
export function openJpegs(paths) {
  return {
    length: paths.length,
    getItem: (index) => {
      const { width, height, data } = jpeg.decode(readFileSync(paths[index]), {
        useTArray: true,
        formatAsRGBA: false,
      });
      const image = { data: resizeNormalise(data, width, height), shape: [3, kSide, kSide] };
      return move({ image, label: index % 10 });
    },
  };
}

/** Bilinear resize of RGB bytes to 112x112, normalised per channel, channels first. */
function resizeNormalise(rgb, width, height) {
  const out = new Float32Array(3 * kSide * kSide);
  for (let y = 0; y < kSide; y++) {
    const sy = Math.max(0, ((y + 0.5) * height) / kSide - 0.5);
    const y0 = Math.min(Math.floor(sy), height - 1);
    const y1 = Math.min(y0 + 1, height - 1);
    for (let x = 0; x < kSide; x++) {
      const sx = Math.max(0, ((x + 0.5) * width) / kSide - 0.5);
      const x0 = Math.min(Math.floor(sx), width - 1);
      const x1 = Math.min(x0 + 1, width - 1);
      for (let c = 0; c < 3; c++) {
        const at = (row, column) => rgb[(row * width + column) * 3 + c];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * (sx - x0);
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * (sx - x0);
        const value = (top + (bottom - top) * (sy - y0)) / 255;
        out[c * kSide * kSide + y * kSide + x] = (value - kMean[c]) / kStd[c];
      }
    }
  }
  return out;
}

/**
 * Writes `count` JPEG files of waves and noise into `dir` (quality 85); returns their paths.
 * Eight distinct pictures, repeated: jpeg-js spends tens of ms setting up each encode.
 */
export function makeJpegFiles(dir, count, width, height) {
  mkdirSync(dir, { recursive: true });
  const pictures = Array.from(
    { length: Math.min(count, 8) },
    (_, index) => jpeg.encode({ data: picture(index, width, height), width, height }, 85).data,
  );
  return Array.from({ length: count }, (_, index) => {
    const path = join(dir, `image-${index}.jpg`);
    writeFileSync(path, pictures[index % pictures.length]);
    return path;
  });
}

function picture(index, width, height) {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const x = p % width;
    const y = Math.floor(p / width);
    for (let c = 0; c < 3; c++) {
      const wave = Math.sin((x + index * 7) * 0.05 * (c + 1) + y * 0.03 * (index % 5));
      rgba[p * 4 + c] = 128 + wave * 90 + (Math.random() - 0.5) * 40;
    }
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
