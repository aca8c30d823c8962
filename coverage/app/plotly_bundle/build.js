// Builds ../../../assets/plotly-map.min.js: plotly.js with only the traces the dashboard draws.
// See README.md here for why and how; run `npm ci && node build.js` in this folder.
const path = require('path');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

const version = require('plotly.js/package.json').version;
const maplibre = require('maplibre-gl/package.json').version;
const out = process.argv[2] || path.join(__dirname, '..', '..', '..', 'assets', 'plotly-map.min.js');

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
}).catch(() => process.exit(1));
