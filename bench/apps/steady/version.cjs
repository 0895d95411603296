'use strict';
// Tells the steady-state bench which Node runs its servers.
process.send({ node: process.version, v8: process.versions.v8 }, () => process.disconnect());
