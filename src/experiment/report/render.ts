/**
 * Vega-Lite spec -> SVG (vega-lite compile, vega View in headless mode) -> PNG (resvg).
 *
 * Text in the PNG needs a font, and a bare machine may have none: resvg would then draw every
 * label invisibly. So the PNG is rendered with the DejaVu Sans files of the pinned npm package
 * `dejavu-fonts-ttf` and with system fonts off, which also makes the PNG the same on every
 * machine. The SVG names the same family first, with common fallbacks for browsers.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { parse as parseVega, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Font family used in every chart. */
export const CHART_FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';

/** PNG pixels per SVG unit. */
export const PNG_SCALE = 2;

let fontFilesCache: string[] | undefined;

/** The TTF files resvg loads: regular and bold DejaVu Sans from the npm package. */
export function chartFontFiles(): string[] {
  if (fontFilesCache === undefined) {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    fontFilesCache = [join(dir, 'DejaVuSans.ttf'), join(dir, 'DejaVuSans-Bold.ttf')];
  }
  return fontFilesCache;
}

/** Compile a Vega-Lite spec and render it to an SVG string, without a browser. */
export async function renderSvg(spec: object): Promise<string> {
  const withConfig = {
    ...spec,
    config: {
      font: CHART_FONT,
      background: 'white',
      // Defense and attack names are long; never cut them short with an ellipsis.
      axis: { labelLimit: 400 },
      legend: { labelLimit: 400 },
      ...(spec as { config?: object }).config,
    },
  };
  const vg = compile(withConfig as TopLevelSpec).spec;
  const view = new View(parseVega(vg), { renderer: 'none', logLevel: Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterize an SVG string to PNG bytes at PNG_SCALE, with the bundled font only. */
export function svgToPng(svg: string): { png: Buffer; width: number; height: number } {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: {
      loadSystemFonts: false,
      fontFiles: chartFontFiles(),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height };
}
