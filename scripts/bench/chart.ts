/**
 * The report's chart: one horizontal bar per target, the measured ratio against its baseline or
 * limit, the target as a dashed line; green when met, red when not. SVG built as text; the PNG is
 * the SVG rendered by headless Chromium (playwright-core) when /usr/bin/chromium exists.
 */
import fs from 'node:fs';

export interface ChartBar {
  label: string;
  /** e.g. "24,100 vs 9,300 req/s". */
  detail: string;
  /** Ratio (1 = 100%). */
  value: number;
  target: number;
  /** 'min': value must be >= target; 'max': value must be <= target. */
  kind: 'min' | 'max';
  met: boolean;
}

export interface ChartInput {
  title: string;
  subtitle: string;
  bars: ChartBar[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;

export function renderChartSvg(input: ChartInput): string {
  const width = 960;
  const left = 300;
  const right = 40;
  const top = 78;
  const row = 64;
  const barH = 26;
  const plotW = width - left - right;
  const bars = input.bars;
  const height = top + Math.max(1, bars.length) * row + 56;
  // 0-120% at least, 200% at most (a multiple of 20%); longer bars are cut with a break mark.
  const maxValue = Math.min(2, Math.max(1.2, ...bars.map((b) => Math.max(b.value, b.target) * 1.08)));
  const scaleMax = Math.ceil(maxValue * 5 - 1e-9) / 5;
  const x = (v: number) => left + (Math.min(v, scaleMax) / scaleMax) * plotW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="24" y="32" font-size="20" font-weight="bold" fill="#111">${esc(input.title)}</text>`,
    `<text x="24" y="56" font-size="13" fill="#555">${esc(input.subtitle)}</text>`,
  );
  // Grid every 20%.
  const gridBottom = top + bars.length * row;
  for (let g = 0; g <= scaleMax + 1e-9; g += 0.2) {
    const gx = x(g);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${gridBottom}" stroke="${Math.abs(g - 1) < 1e-9 ? '#999' : '#e3e3e3'}" stroke-width="1"/>`);
    out.push(`<text x="${gx}" y="${gridBottom + 18}" font-size="12" fill="#666" text-anchor="middle">${Math.round(g * 100)}%</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * row + (row - barH) / 2 - 4;
    const color = b.met ? '#2e8b57' : '#c62828';
    const w = Math.max(1, x(b.value) - left);
    out.push(`<text x="${left - 12}" y="${y + 12}" font-size="14" fill="#111" text-anchor="end">${esc(b.label)}</text>`);
    out.push(`<text x="${left - 12}" y="${y + 29}" font-size="11" fill="#666" text-anchor="end">${esc(b.detail)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${w}" height="${barH}" fill="${color}" rx="2"/>`);
    const tx = x(b.target);
    if (b.value > scaleMax) {
      // Cut: two white slashes near the end, the real value in the label.
      const cx = left + w - 40;
      out.push(`<path d="M${cx} ${y + barH + 2} l8 ${-barH - 4} M${cx + 8} ${y + barH + 2} l8 ${-barH - 4}" stroke="#fff" stroke-width="4"/>`);
    }
    const valueText = `${pct(b.value)} ${b.met ? '✓ met' : '✗ not met'}`;
    // Inside a long bar, else right of both the bar and the target line.
    const inside = w > 170 && left + w - 8 - 150 > tx + 4;
    const textX = inside ? (b.value > scaleMax ? left + w - 56 : left + w - 8) : Math.max(left + w, tx) + 8;
    out.push(
      `<text x="${textX}" y="${y + 18}" font-size="13" font-weight="bold" fill="${inside ? '#fff' : color}" text-anchor="${inside ? 'end' : 'start'}">${esc(valueText)}</text>`,
    );
    out.push(`<line x1="${tx}" y1="${y - 6}" x2="${tx}" y2="${y + barH + 6}" stroke="#111" stroke-width="2" stroke-dasharray="4,3"/>`);
    out.push(`<text x="${tx}" y="${y + barH + 18}" font-size="11" fill="#111" text-anchor="middle">target ${b.kind === 'min' ? '≥' : '≤'} ${pct(b.target)}</text>`);
  });
  if (bars.length === 0) out.push(`<text x="${left}" y="${top + 30}" font-size="14" fill="#666">no benchmark with a target was run</text>`);
  out.push(
    `<text x="24" y="${height - 12}" font-size="11" fill="#777">Bars: measured ratio (medians); dashed line: the DESIGN.md target. Green = met, red = not met. Scale ends at ${Math.round(scaleMax * 100)}%; a longer bar is cut (//).</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

export const CHROMIUM = '/usr/bin/chromium';

/** Renders the SVG to a PNG with headless Chromium; returns false (and why) when it cannot. */
export async function renderPng(svg: string, file: string): Promise<{ ok: boolean; reason?: string }> {
  if (!fs.existsSync(CHROMIUM)) return { ok: false, reason: `${CHROMIUM} not found` };
  const { chromium } = await import('playwright-core');
  const width = Number(/width="(\d+)"/.exec(svg)?.[1] ?? 960);
  const height = Number(/height="(\d+)"/.exec(svg)?.[1] ?? 400);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 2 });
    await page.setContent(`<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: file });
    return { ok: true };
  } finally {
    await browser.close();
  }
}
