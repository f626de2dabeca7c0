// The drawing as SVG text, written from Cytoscape's own model of it: the positions, sizes
// and resolved styles of the elements and the routed geometry of the edges. No library:
// only what the page draws (round-rectangle, rectangle and ellipse nodes with wrapped
// labels, straight, curved and segmented edges, triangle arrows, dashes, underlays).
// Every piece of text is XML-escaped: issue titles are user data.

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = 20;

// Characters XML 1.0 cannot carry at all (control characters, lone surrogates) become
// U+FFFD; the five markup characters become entities.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlEscape(value) {
  return String(value)
    .replace(NOT_XML, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

function num(value) {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : '0';
}

function attrs(values) {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => ` ${k}="${xmlEscape(typeof v === 'number' ? num(v) : v)}"`)
    .join('');
}

function tag(name, values, content = null) {
  return content === null
    ? `<${name}${attrs(values)}/>`
    : `<${name}${attrs(values)}>${content}</${name}>`;
}

// A canvas context measures text as Cytoscape does (it wraps labels with one as well).
function measurer() {
  const context = document.createElement('canvas').getContext('2d');
  return (ele, text) => {
    context.font = fontOf(ele);
    return context.measureText(text).width;
  };
}

function fontOf(ele) {
  const size = ele.numericStyle('font-size');
  return `${ele.style('font-style')} ${ele.style('font-weight')} ${size}px ${ele.style('font-family')}`;
}

function fontAttrs(ele) {
  return {
    'font-family': ele.style('font-family'),
    'font-size': ele.numericStyle('font-size'),
    'font-weight': ele.style('font-weight') === 'normal' ? null : ele.style('font-weight'),
    'font-style': ele.style('font-style') === 'normal' ? null : ele.style('font-style'),
    fill: ele.style('color'),
  };
}

// A label's lines as Cytoscape wraps them (`text-wrap: wrap`): each line of the text that is
// wider than `text-max-width` breaks between words, a word too long for a line keeping a
// line of its own; without wrapping, one line per `\n`.
export function labelLines(ele, measure) {
  let text = ele.style('label') ?? '';
  if (!text) return [];
  const transform = ele.style('text-transform');
  if (transform === 'uppercase') text = text.toUpperCase();
  else if (transform === 'lowercase') text = text.toLowerCase();
  const lines = text.split('\n');
  if (ele.style('text-wrap') !== 'wrap') return lines;
  const max = ele.numericStyle('text-max-width');
  const wrapped = [];
  for (const line of lines) {
    if (measure(ele, line) <= max) {
      wrapped.push(line);
      continue;
    }
    let current = '';
    let previous = 0;
    for (const match of line.matchAll(/[\s\u200b]+|$/g)) {
      const word = line.substring(previous, match.index);
      previous = match.index + match[0].length;
      const candidate = current.length === 0 ? word : current + word + match[0];
      if (measure(ele, candidate) <= max) {
        current += word + match[0];
      } else {
        if (current) wrapped.push(current);
        current = word + match[0];
      }
      if (match[0] === '') break;
    }
    if (!/^[\s\u200b]*$/.test(current)) wrapped.push(current);
  }
  return wrapped.map((l) => l.replace(/[\s\u200b]+$/, ''));
}

function opacity(value) {
  return value < 1 ? value : null;
}

// A node-like shape centred on (x, y): rect, round-rectangle (Cytoscape's automatic corner
// radius) or ellipse; other shapes are drawn as a rect.
function shape(kind, x, y, width, height, style, radiusStyle = 'auto') {
  if (kind === 'ellipse') {
    return tag('ellipse', { cx: x, cy: y, rx: width / 2, ry: height / 2, ...style });
  }
  let rx = null;
  if (kind === 'round-rectangle' || kind === 'roundrectangle') {
    const auto = Math.min(width / 4, height / 4, 8);
    const given = Number.parseFloat(radiusStyle);
    rx = Math.min(Number.isFinite(given) ? given : auto, width / 2, height / 2);
  }
  return tag('rect', { x: x - width / 2, y: y - height / 2, width, height, rx, ry: rx, ...style });
}

function node(ele, measure) {
  const { x, y } = ele.position();
  const [width, height] = [ele.width(), ele.height()];
  const kind = ele.style('shape');
  const parts = [];
  const underlay = ele.numericStyle('underlay-opacity');
  if (underlay > 0) {
    const pad = ele.numericStyle('underlay-padding');
    parts.push(
      shape(
        ele.style('underlay-shape') ?? 'round-rectangle',
        x,
        y,
        width + 2 * pad,
        height + 2 * pad,
        { class: 'underlay', fill: ele.style('underlay-color'), 'fill-opacity': underlay },
        ele.style('underlay-corner-radius'),
      ),
    );
  }
  const border = ele.numericStyle('border-width');
  parts.push(
    shape(
      kind,
      x,
      y,
      width,
      height,
      {
        class: 'ig-node-shape',
        fill: ele.style('background-color'),
        'fill-opacity': opacity(ele.numericStyle('background-opacity')),
        stroke: border > 0 ? ele.style('border-color') : null,
        'stroke-width': border > 0 ? border : null,
        'stroke-opacity': border > 0 ? opacity(ele.numericStyle('border-opacity')) : null,
      },
      ele.style('corner-radius'),
    ),
  );
  const lines = labelLines(ele, measure);
  if (lines.length) {
    const size = ele.numericStyle('font-size');
    const step = size * (ele.numericStyle('line-height') || 1);
    const block = step * lines.length;
    const valign = ele.style('text-valign');
    const halign = ele.style('text-halign');
    let top = y - block / 2;
    if (valign === 'top') top = y - height / 2 - block;
    else if (valign === 'bottom') top = y + height / 2;
    let tx = x;
    if (halign === 'left') tx = x - width / 2;
    else if (halign === 'right') tx = x + width / 2;
    tx += ele.numericStyle('text-margin-x') || 0;
    top += ele.numericStyle('text-margin-y') || 0;
    const anchor = { left: 'end', right: 'start' }[halign] ?? 'middle';
    const spans = lines
      .map((line, i) => tag('tspan', { x: tx, y: top + step * (i + 0.5) }, xmlEscape(line)))
      .join('');
    parts.push(
      tag(
        'text',
        {
          class: 'ig-node-label',
          'text-anchor': anchor,
          'dominant-baseline': 'central',
          ...fontAttrs(ele),
          'fill-opacity': opacity(ele.numericStyle('text-opacity')),
        },
        spans,
      ),
    );
  }
  return tag('g', { class: 'ig-node', 'data-id': ele.id() }, parts.join(''));
}

const sub = (a, b) => ({ x: a.x - b.x, y: a.y - b.y });
const unit = (v) => {
  const length = Math.hypot(v.x, v.y) || 1;
  return { x: v.x / length, y: v.y / length };
};
const along = (p, dir, distance) => ({ x: p.x + dir.x * distance, y: p.y + dir.y * distance });
const mid = (a, b) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const pt = (p) => `${num(p.x)} ${num(p.y)}`;

// The edge's route: straight, quadratic pieces through its control points (as Cytoscape
// draws a bezier edge), or segments with rounded corners. `end` is where the line stops
// (short of the arrow's tip when there is an arrow); `chords` are the pieces a label may
// lie along, for its angle.
function route(ele, start, end) {
  const segments = ele.segmentPoints();
  if (segments?.length) {
    const points = [start, ...segments, end];
    const radius = ele.numericStyle('segment-radii');
    const r = Array.isArray(radius) ? (radius[0] ?? 0) : Number(radius) || 0;
    let d = `M ${pt(start)}`;
    for (let i = 1; i < points.length - 1; i += 1) {
      const [before, corner, after] = [points[i - 1], points[i], points[i + 1]];
      const inLength = Math.hypot(corner.x - before.x, corner.y - before.y);
      const outLength = Math.hypot(after.x - corner.x, after.y - corner.y);
      const cut = Math.min(r, inLength / 2, outLength / 2);
      if (cut > 0) {
        d += ` L ${pt(along(corner, unit(sub(before, corner)), cut))}`;
        d += ` Q ${pt(corner)} ${pt(along(corner, unit(sub(after, corner)), cut))}`;
      } else {
        d += ` L ${pt(corner)}`;
      }
    }
    d += ` L ${pt(end)}`;
    const chords = points.slice(1).map((p, i) => [points[i], p]);
    return { d, last: points[points.length - 2], chords };
  }
  const controls = ele.controlPoints();
  if (controls?.length) {
    let d = `M ${pt(start)}`;
    let from = start;
    const chords = [];
    controls.forEach((c, i) => {
      const to = i + 1 < controls.length ? mid(c, controls[i + 1]) : end;
      d += ` Q ${pt(c)} ${pt(to)}`;
      chords.push([from, to, c]);
      from = to;
    });
    return { d, last: controls[controls.length - 1], chords };
  }
  return { d: `M ${pt(start)} L ${pt(end)}`, last: start, chords: [[start, end]] };
}

// Cytoscape's `autorotate`: the label lies along the piece of the edge it sits on, never
// upside down.
function labelAngle(chords, at) {
  let best = chords[0];
  let bestDistance = Infinity;
  for (const chord of chords) {
    const [a, b, c] = chord;
    const centre = c ? { x: (a.x + 2 * c.x + b.x) / 4, y: (a.y + 2 * c.y + b.y) / 4 } : mid(a, b);
    const distance = Math.hypot(centre.x - at.x, centre.y - at.y);
    if (distance < bestDistance) [best, bestDistance] = [chord, distance];
  }
  const [a, b] = best;
  const [dx, dy] = [b.x - a.x, b.y - a.y];
  if (dx === 0) return dy === 0 ? 0 : 90;
  return (Math.atan(dy / dx) * 180) / Math.PI;
}

function dashes(ele, width) {
  const style = ele.style('line-style');
  if (style === 'dotted') return `${num(width)} ${num(width)}`;
  if (style !== 'dashed') return null;
  const pattern = ele.numericStyle('line-dash-pattern');
  return (Array.isArray(pattern) && pattern.length ? pattern : [6, 3]).map(num).join(' ');
}

function edge(ele, measure, markers) {
  const start = ele.sourceEndpoint();
  const tip = ele.targetEndpoint();
  if (!start || !tip) return '';
  const width = ele.numericStyle('width');
  const colour = ele.style('line-color');
  const arrow = ele.style('target-arrow-shape') !== 'none';
  const size = Math.max((width * 13.37) ** 0.9, 29) * (ele.numericStyle('arrow-scale') || 1);
  const length = arrow ? 0.3 * size : 0;
  // The line stops at the arrow's base; the marker reaches on to the tip.
  let { d, last, chords } = route(ele, start, tip);
  if (arrow) {
    const base = along(tip, unit(sub(last, tip)), length);
    ({ d, last, chords } = route(ele, start, base));
  }
  const parts = [];
  const underlay = ele.numericStyle('underlay-opacity');
  if (underlay > 0) {
    parts.push(
      tag('path', {
        class: 'underlay',
        d,
        fill: 'none',
        stroke: ele.style('underlay-color'),
        'stroke-opacity': underlay,
        'stroke-width': width + 2 * ele.numericStyle('underlay-padding'),
        'stroke-linecap': 'round',
        'stroke-linejoin': 'round',
      }),
    );
  }
  let marker = null;
  if (arrow) {
    const fill = ele.style('target-arrow-color');
    const key = `${fill}|${num(length)}`;
    if (!markers.has(key)) markers.set(key, { id: `arrow-${markers.size + 1}`, fill, length });
    marker = `url(#${markers.get(key).id})`;
  }
  parts.push(
    tag('path', {
      class: 'ig-edge',
      'data-id': ele.id(),
      d,
      fill: 'none',
      stroke: colour,
      'stroke-width': width,
      'stroke-opacity': opacity(ele.numericStyle('line-opacity')),
      'stroke-dasharray': dashes(ele, width),
      'stroke-linejoin': 'round',
      'marker-end': marker,
    }),
  );
  const text = ele.style('label');
  if (text) {
    const at = ele.midpoint();
    const angle = ele.style('text-rotation') === 'autorotate' ? labelAngle(chords, at) : 0;
    const size = ele.numericStyle('font-size');
    const lines = text.split('\n');
    const pad = ele.numericStyle('text-background-padding') || 0;
    const background = ele.numericStyle('text-background-opacity');
    const label = [];
    if (background > 0) {
      const w = Math.max(...lines.map((line) => measure(ele, line))) + 2 * pad;
      const h = size * lines.length + 2 * pad;
      label.push(
        tag('rect', {
          x: at.x - w / 2,
          y: at.y - h / 2,
          width: w,
          height: h,
          fill: ele.style('text-background-color'),
          'fill-opacity': background,
        }),
      );
    }
    const spans = lines
      .map((line, i) =>
        tag('tspan', { x: at.x, y: at.y + size * (i + 0.5 - lines.length / 2) }, xmlEscape(line)),
      )
      .join('');
    label.push(
      tag(
        'text',
        { class: 'ig-edge-label', 'text-anchor': 'middle', 'dominant-baseline': 'central', ...fontAttrs(ele) },
        spans,
      ),
    );
    parts.push(
      tag(
        'g',
        { transform: angle ? `rotate(${num(angle)} ${pt(at)})` : null },
        label.join(''),
      ),
    );
  }
  return tag('g', { class: 'ig-link', 'data-id': ele.id() }, parts.join(''));
}

function markerDefs(markers) {
  return [...markers.values()]
    .map(({ id, fill, length }) =>
      tag(
        'marker',
        {
          id,
          viewBox: `0 ${num(-length / 2)} ${num(length)} ${num(length)}`,
          refX: 0,
          refY: 0,
          markerWidth: length,
          markerHeight: length,
          markerUnits: 'userSpaceOnUse',
          orient: 'auto',
        },
        tag('path', { d: `M 0 ${num(-length / 2)} L ${num(length)} 0 L 0 ${num(length / 2)} Z`, fill }),
      ),
    )
    .join('');
}

// The whole graph (not only what the viewport shows) on `background`, as SVG text.
export function graphSvg(cy, { background = '#ffffff', margin = MARGIN } = {}) {
  const measure = measurer();
  const elements = cy.elements(':visible');
  const box = elements.length ? elements.boundingBox() : { x1: 0, y1: 0, w: 0, h: 0 };
  const [x, y] = [box.x1 - margin, box.y1 - margin];
  const [width, height] = [box.w + 2 * margin, box.h + 2 * margin];
  const markers = new Map();
  // Links under issues, as the page draws them.
  const links = elements
    .edges()
    .map((e) => edge(e, measure, markers))
    .join('');
  const issues = elements
    .nodes()
    .map((n) => node(n, measure))
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<svg xmlns="${SVG_NS}"${attrs({ width, height, viewBox: `${num(x)} ${num(y)} ${num(width)} ${num(height)}` })}>` +
    (markers.size ? `<defs>${markerDefs(markers)}</defs>` : '') +
    tag('rect', { x, y, width, height, fill: background }) +
    `<g class="ig-links">${links}</g>` +
    `<g class="ig-nodes">${issues}</g>` +
    '</svg>\n'
  );
}
