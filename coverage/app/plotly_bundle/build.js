// Builds ../../../assets/plotly-map.min.js: plotly.js with only the traces the dashboard draws.
// See README.md here for why and how; run `npm ci && node build.js` in this folder.
const path = require('path');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

const version = require('plotly.js/package.json').version;
const maplibre = require('maplibre-gl/package.json').version;
const out = process.argv[2] || path.join(__dirname, '..', '..', '..', 'assets', 'plotly-map.min.js');

// Offline: the bundle must not be able to reach the internet. plotly.js ships online basemaps (Carto, OSM, ESRI,
// ICGC), glyph and icon servers and Chart Studio links; the dashboard uses none of them (its style is 'white-bg'
// and its labels are polygons). Fetchable URLs become local paths that do not exist (a request, if a figure ever
// asked for one, stays on the dashboard's own host and fails there); every other URL (links in help texts, licence
// comments) is removed; only XML namespace identifiers, which are never fetched, stay. The build fails if any
// other URL is left.
const LOCAL = [
    [/https:\/\/cdn\.jsdelivr\.net\/npm\/@mapbox\/maki@[0-9.]+\/icons\//g, '/_offline/maki/'],
    [/https:\/\/[a-z0-9.-]+\/[^"'`\s]*\{fontstack\}\/\{range\}\.pbf/g, '/_offline/glyphs/{fontstack}/{range}.pbf'],
    [/https:\/\/(fonts\.openmaptiles\.org|tiles\.basemaps\.cartocdn\.com\/fonts)\//g, ''],  // font names, not URLs
    ['By default, the topojson files are fetched from cdn.plot.ly.', 'This build has no default (it has no geo charts).'],
];
const NAMESPACES = ['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/xmlns/',
                    'http://www.w3.org/XML/1998/namespace', 'http://www.w3.org/1999/xhtml'];
const URL = /https?:\/\/[^"'`\s)<>\\]*/g;

function offline(text) {
    for (const [pattern, local] of LOCAL) text = text.replace(pattern, local);
    text = text.replace(URL, (u) => NAMESPACES.includes(u) ? u : '');
    const left = (text.match(URL) || []).filter((u) => !NAMESPACES.includes(u));
    if (left.length) throw new Error(`URLs left in the bundle: ${[...new Set(left)].join(', ')}`);
    return text;
}

// the full licence texts of the two main packages travel in the file (their notices' links are removed above)
const fs = require('fs');
const licences = ['plotly.js/LICENSE', 'maplibre-gl/LICENSE.txt'].map((f) =>
    `${f.split('/')[0]}:\n${fs.readFileSync(path.join(__dirname, 'node_modules', f), 'utf8').replace(/\*\//g, '* /')}`).join('\n\n');

require('esbuild').build({
    entryPoints: [path.join(__dirname, 'entry.js')],
    outfile: out,
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    legalComments: 'eof',  // the licences of plotly.js, MapLibre GL JS and their dependencies stay in the file
    banner: {js: `/*! plotly.js v${version} partial bundle for ua-coverage: scatter, scattermap, choroplethmap ` +
                 `(MapLibre GL JS v${maplibre}). MIT licence; built by coverage/app/plotly_bundle/build.js */`},
    // the options of plotly.js's own build (its esbuild-config.js), with a target MapLibre's BigInts allow
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2020',
    logLevel: 'info',
    write: false,
}).then((result) => {
    const js = offline(result.outputFiles[0].text) + `\n/*! Licences\n\n${offline(licences)}\n*/\n`;
    fs.writeFileSync(out, js);
    console.log(`${out}: ${(js.length / 1e6).toFixed(2)} MB, offline`);
}).catch((e) => { console.error(e.message || e); process.exit(1); });
