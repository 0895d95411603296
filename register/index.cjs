// node --require otel-autoinstrument/register app.js
require('./load.cjs')('require');
