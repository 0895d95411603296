'use strict';
// Preloaded with `--require` as the FIRST preload of every benchmark child, in every variant
// (plain node included), so its own cost is the same everywhere. At process 'exit' it writes
// one JSON line to the file named by BENCH_PROBE_OUT:
//   { code, userUs, systemUs, maxRssKiB[, files] }
// With BENCH_PROBE_FILES=1 (the file-count pass only, never the timed rounds) it also installs a
// synchronous module.registerHooks({ load }) hook and records every file: URL that Node loads
// (CommonJS through require() and ES modules through import), query and hash stripped, plus
// require.cache keys as a cross-check. The probe itself is loaded before the hook, so it is not
// counted. With BENCH_PROBE_FILES=cache (the fallback where that hook breaks a run, as on Node
// 22.15) only require.cache keys are recorded: CommonJS files, ES module files missed.
const fs = require('node:fs');

const out = process.env.BENCH_PROBE_OUT;
let files;
const mode = process.env.BENCH_PROBE_FILES;
if (mode === 'cache') files = new Set();
if (mode === '1') {
  files = new Set();
  require('node:module').registerHooks({
    load(url, context, nextLoad) {
      if (url.startsWith('file:')) {
        const cut = url.search(/[?#]/);
        files.add(cut === -1 ? url : url.slice(0, cut));
      }
      return nextLoad(url, context);
    },
  });
}

process.on('exit', (code) => {
  if (!out) return;
  const ru = process.resourceUsage();
  const r = { code, userUs: ru.userCPUTime, systemUs: ru.systemCPUTime, maxRssKiB: ru.maxRSS };
  if (files) {
    const { pathToFileURL } = require('node:url');
    let cacheOnly = 0;
    for (const k of Object.keys(require.cache)) {
      if (k === __filename || !k.startsWith('/')) continue;
      const u = pathToFileURL(k).href;
      if (!files.has(u)) {
        files.add(u);
        cacheOnly++;
      }
    }
    r.files = [...files];
    r.cacheOnly = cacheOnly;
  }
  try {
    fs.writeFileSync(out, JSON.stringify(r));
  } catch {
    // nothing to report to; the parent records a missing result
  }
});
