// The scene's camera image: 480x848 RGB frames (1.2 MB, uint8) of a red ball moving over a
// fixed background, and the vision the control loop runs on each new frame (where is the
// ball?). No hardware: rendering stands in for a driver handing over a buffer and costs about
// what that does (one copy of the frame, ~40 µs, plus a few hundred pixels); the vision reads
// one pixel in 64 (~20 µs). Plain JavaScript with no keel import, so that any thread (a keel
// worker, a plain worker, the main thread) can load it.

export const kFrameShape = [480, 848, 3];
export const kFrameBytes = kFrameShape[0] * kFrameShape[1] * kFrameShape[2];
const [kHeight, kWidth] = kFrameShape;
const kBallRadiusPx = 14;
const kVisionStridePx = 8; // the vision samples one pixel in 8 x 8: ~6,400 reads a frame
const kPeriodsS = [3.3, 2.1]; // the ball's path: a Lissajous figure, x and y periods

/**
 * A renderer: `render(frame, timeS, index)` writes the scene at `timeS` seconds into `frame`
 * (kFrameBytes bytes): one copy of the background, then the ball, then the frame's `index`
 * in its first 4 bytes (uint32, little-endian; pixels the vision never samples), so that a
 * reader can tell how many frames it did not see.
 */
export function makeRenderer() {
  const background = makeBackground();
  return (frame, timeS, index) => {
    frame.set(background);
    const { x, y } = ballPosition(timeS);
    drawBall(frame, Math.round(x * (kWidth - 1)), Math.round(y * (kHeight - 1)));
    for (let byte = 0; byte < 4; byte++) frame[byte] = (index >>> (8 * byte)) & 0xff;
  };
}

/** The index `render` stamped into `frame`. */
export function frameIndex(frame) {
  return (frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24)) >>> 0;
}

/** Where the ball is at `timeS`, as fractions of the image's width and height. */
export function ballPosition(timeS) {
  return {
    x: 0.5 + 0.38 * Math.sin((2 * Math.PI * timeS) / kPeriodsS[0]),
    y: 0.5 + 0.34 * Math.sin((2 * Math.PI * timeS) / kPeriodsS[1] + 1),
  };
}

/**
 * The ball's position in `frame` (fractions of width and height), from a sparse grid of
 * pixels; null when no sampled pixel is red. Reads only: `frame` may be a SharedObject view.
 */
export function locateBall(frame) {
  let hits = 0;
  let sumX = 0;
  let sumY = 0;
  for (let row = kVisionStridePx >> 1; row < kHeight; row += kVisionStridePx) {
    for (let column = kVisionStridePx >> 1; column < kWidth; column += kVisionStridePx) {
      const at = (row * kWidth + column) * 3;
      if (frame[at] > 200 && frame[at + 1] < 90 && frame[at + 2] < 90) {
        hits++;
        sumX += column;
        sumY += row;
      }
    }
  }
  return hits === 0 ? null : { x: sumX / hits / (kWidth - 1), y: sumY / hits / (kHeight - 1) };
}

/** A dim blue-grey vertical gradient with a darker floor: never red enough to pass for the ball. */
function makeBackground() {
  const background = new Uint8Array(kFrameBytes);
  for (let row = 0; row < kHeight; row++) {
    const shade = row < kHeight * 0.7 ? 70 + Math.round((60 * row) / kHeight) : 45;
    const pixel = [shade, shade + 10, shade + 40];
    for (let column = 0; column < kWidth; column++) {
      background.set(pixel, (row * kWidth + column) * 3);
    }
  }
  return background;
}

function drawBall(frame, centerX, centerY) {
  const r = kBallRadiusPx;
  for (let row = Math.max(0, centerY - r); row <= Math.min(kHeight - 1, centerY + r); row++) {
    for (
      let column = Math.max(0, centerX - r);
      column <= Math.min(kWidth - 1, centerX + r);
      column++
    ) {
      if ((row - centerY) ** 2 + (column - centerX) ** 2 > r * r) continue;
      const at = (row * kWidth + column) * 3;
      frame[at] = 230;
      frame[at + 1] = 40;
      frame[at + 2] = 30;
    }
  }
}
