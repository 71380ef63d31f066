// A stacked bar chart in SVG: one bar per time slot, one segment per label (positive / neutral / negative for
// sentiment), with an accessible title.
import { svg } from './dom.js';

export const SERIES = ['positive', 'neutral', 'negative'];
/** Colour classes `c0`…`c7` for labels other than sentiment's (styles.css holds the colours). */
const PALETTE_SIZE = 8;
const MARGIN = { top: 14, right: 12, bottom: 30, left: 40 };
/** Room one x-axis label needs; labels are thinned out to fit. */
const LABEL_WIDTH = 60;
let chartCount = 0;

/**
 * Colour classes for a task's labels: its own labels in their order get `c0`, `c1`…, so a label keeps its colour
 * whatever the period shows; a label the task no longer defines gets one from its name.
 */
export function labelColour(taskLabels, label) {
  const index = taskLabels.indexOf(label);
  if (index >= 0) return `c${index % PALETTE_SIZE}`;
  let hash = 0;
  for (const char of label) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `c${hash % PALETTE_SIZE}`;
}

/**
 * `series`: `{ key, colour }` from the bottom of a bar up (`colour` names a `chart__segment--` class). `slots`:
 * `{ start, total, counts }` with a count per key, oldest first, empty ones included so the time axis is even.
 * `tickLabel(slot)` and `barTitle(slot)` say what a slot is in words.
 */
export function stackedBarChart({ slots, series, width, height, title, description, tickLabel, barTitle }) {
  const id = `chart-${++chartCount}`;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const { step, top } = niceScale(Math.max(1, ...slots.map((slot) => slot.total)));
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const slotWidth = plotWidth / Math.max(1, slots.length);
  const barWidth = Math.max(1, Math.min(44, slotWidth * 0.72));
  const labelEvery = Math.max(1, Math.ceil(LABEL_WIDTH / slotWidth));

  const gridLines = [];
  for (let value = 0; value <= top; value += step) {
    gridLines.push(
      svg('line', { class: 'chart__grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
      svg('text', {
        class: 'chart__tick',
        x: MARGIN.left - 6,
        y: y(value),
        'text-anchor': 'end',
        'dominant-baseline': 'middle',
        text: String(value),
      }),
    );
  }

  const bars = slots.map((slot, index) => {
    const x = MARGIN.left + index * slotWidth + (slotWidth - barWidth) / 2;
    let base = 0;
    const segments = series
      .filter(({ key }) => slot.counts[key] > 0)
      .map(({ key, colour }) => {
        const count = slot.counts[key];
        const rect = svg('rect', {
          class: `chart__segment chart__segment--${colour}`,
          x,
          y: y(base + count),
          width: barWidth,
          height: y(base) - y(base + count),
          dataset: { label: key, count: String(count) },
        });
        base += count;
        return rect;
      });
    return svg(
      'g',
      { class: 'chart__bar', dataset: { start: slot.start, total: String(slot.total) } },
      svg('title', { text: barTitle(slot) }),
      // An invisible full-height target, so a slot's tooltip shows even over a short bar.
      svg('rect', {
        class: 'chart__hit',
        x: MARGIN.left + index * slotWidth,
        y: MARGIN.top,
        width: slotWidth,
        height: plotHeight,
      }),
      segments,
    );
  });

  const labels = slots
    .map((slot, index) => ({ slot, index }))
    .filter(({ index }) => (slots.length - 1 - index) % labelEvery === 0)
    .map(({ slot, index }) =>
      svg('text', {
        class: 'chart__tick',
        x: MARGIN.left + (index + 0.5) * slotWidth,
        y: height - MARGIN.bottom + 18,
        'text-anchor': 'middle',
        text: tickLabel(slot),
      }),
    );

  return svg(
    'svg',
    {
      class: 'chart__svg',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-labelledby': `${id}-title ${id}-desc`,
    },
    svg('title', { id: `${id}-title`, text: title }),
    svg('desc', { id: `${id}-desc`, text: description }),
    gridLines,
    svg('line', { class: 'chart__axis', x1: MARGIN.left, x2: width - MARGIN.right, y1: y(0), y2: y(0) }),
    bars,
    labels,
  );
}

/** A whole-number step of 1, 2 or 5 × 10ⁿ giving about four grid lines, and the top of the axis. */
function niceScale(max) {
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, rough)));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude;
  return { step, top: Math.ceil(max / step) * step };
}
