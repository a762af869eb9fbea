// A histogram as an inline SVG element: logarithmic x (the measured quantity) and y (the share
// of ticks, so that a tail of a few ticks in thousands stays visible), vertical markers for
// percentiles. No script, no external asset: the report is one self-contained file.

const kMargin = { left: 58, right: 18, top: 40, bottom: 46 };
const kShareRange = [1e-4, 1]; // y axis: 0.01 % to 100 % of the ticks

/**
 * @param {{ histogram: { edges: number[], counts: number[], below: number, above: number, total: number },
 *   color: string, xLabel: string, markers: { value: number, label: string }[],
 *   width?: number, height?: number, ariaLabel: string }} options
 * @returns {string} an <svg> element
 */
export function histogramSvg({
  histogram,
  color,
  xLabel,
  markers,
  width = 540,
  height = 250,
  ariaLabel,
}) {
  const plot = {
    left: kMargin.left,
    right: width - kMargin.right,
    top: kMargin.top,
    bottom: height - kMargin.bottom,
  };
  const { edges } = histogram;
  const x = logScale(edges[0], edges[edges.length - 1], plot.left, plot.right);
  const y = logScale(kShareRange[0], kShareRange[1], plot.bottom, plot.top);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(ariaLabel)}">`,
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="#fafafa" stroke="#ccc"/>`,
    ...yAxis(plot, y),
    ...xAxis(plot, x, edges, xLabel),
    ...bars(histogram, plot, x, y, color),
    ...markerLines(markers, plot, x, edges),
    '</svg>',
  ].join('\n');
}

function bars({ edges, counts, below, above, total }, plot, x, y, color) {
  if (total === 0) return [];
  // Out-of-range values join the first and last bars (the caption says so).
  const folded = counts.map(
    (count, i) => count + (i === 0 ? below : 0) + (i === counts.length - 1 ? above : 0),
  );
  return folded.flatMap((count, i) => {
    if (count === 0) return [];
    const share = count / total;
    const top = y(Math.max(share, kShareRange[0]));
    const left = x(edges[i]) + 0.5;
    const barWidth = Math.max(1, x(edges[i + 1]) - x(edges[i]) - 1);
    const tip = `${count.toLocaleString('en-US')} ticks (${percent(share)}) in ${range(edges[i], edges[i + 1])}`;
    return [
      `<rect x="${fixed(left)}" y="${fixed(top)}" width="${fixed(barWidth)}" height="${fixed(plot.bottom - top)}" fill="${color}"><title>${escapeXml(tip)}</title></rect>`,
    ];
  });
}

function yAxis(plot, y) {
  const lines = [];
  for (let share = kShareRange[0]; share <= kShareRange[1] * 1.0001; share *= 10) {
    const at = fixed(y(share));
    lines.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${at}" y2="${at}" stroke="#e4e4e4"/>`,
      `<text x="${plot.left - 6}" y="${at}" dy="0.32em" text-anchor="end" class="tick">${percent(share)}</text>`,
    );
  }
  const middle = (plot.top + plot.bottom) / 2;
  lines.push(
    `<text transform="translate(14 ${fixed(middle)}) rotate(-90)" text-anchor="middle" class="axis">share of ticks</text>`,
  );
  return lines;
}

function xAxis(plot, x, edges, xLabel) {
  const lines = [];
  const low = Math.log10(edges[0]);
  const high = Math.log10(edges[edges.length - 1]);
  for (let decade = Math.ceil(low - 1e-9); decade <= high + 1e-9; decade++) {
    const at = fixed(x(10 ** decade));
    lines.push(
      `<line x1="${at}" x2="${at}" y1="${plot.top}" y2="${plot.bottom + 4}" stroke="#e4e4e4"/>`,
      `<text x="${at}" y="${plot.bottom + 16}" text-anchor="middle" class="tick">${formatTick(10 ** decade)}</text>`,
    );
  }
  lines.push(
    `<text x="${fixed((plot.left + plot.right) / 2)}" y="${plot.bottom + 36}" text-anchor="middle" class="axis">${escapeXml(xLabel)}</text>`,
  );
  return lines;
}

/** Dashed vertical lines with their labels in staggered rows above the plot. */
function markerLines(markers, plot, x, edges) {
  const low = edges[0];
  const high = edges[edges.length - 1];
  return markers.flatMap(({ value, label }, row) => {
    if (!(value > 0)) return [];
    const at = fixed(x(Math.min(high, Math.max(low, value))));
    const labelY = plot.top - 26 + row * 11;
    const anchor = at > plot.right - 60 ? 'end' : at < plot.left + 60 ? 'start' : 'middle';
    return [
      `<line x1="${at}" x2="${at}" y1="${labelY + 3}" y2="${plot.bottom}" stroke="#333" stroke-dasharray="3 3"/>`,
      `<text x="${at}" y="${labelY}" text-anchor="${anchor}" class="marker">${escapeXml(label)}</text>`,
    ];
  });
}

function logScale(domainLow, domainHigh, rangeLow, rangeHigh) {
  const span = Math.log10(domainHigh / domainLow);
  return (value) => rangeLow + ((rangeHigh - rangeLow) * Math.log10(value / domainLow)) / span;
}

function formatTick(value) {
  return value >= 1 ? value.toLocaleString('en-US') : String(value);
}

function range(low, high) {
  const digits = (value) => (value < 1 ? value.toPrecision(2) : value.toFixed(value < 10 ? 1 : 0));
  return `[${digits(low)}, ${digits(high)})`;
}

function percent(share) {
  return `${(share * 100).toLocaleString('en-US', { maximumSignificantDigits: 2 })} %`;
}

function fixed(value) {
  return Number(value.toFixed(1));
}

export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
