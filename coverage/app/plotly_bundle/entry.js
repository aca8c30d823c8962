'use strict';
// The dashboard's plotly.js: the core (scatter, cartesian axes) and the two MapLibre map traces it draws.
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/scattermap'), require('plotly.js/lib/choroplethmap')]);
module.exports = Plotly;
