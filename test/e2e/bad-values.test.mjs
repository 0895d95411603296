// The configuration table as a fuzzer: a bad value generated for every variable by its kind
// (test/helpers/bad-values.mjs; the kinds of bad value rotate across variables) is given to a
// real app under the hook, each in its own process. For each: the exit status
// and stdout are the app's own, stderr is exactly one line naming the variable, the value and
// what was used instead, with no stack trace, and the exit is not held.
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { allBadValues, BLANKS } from '../helpers/bad-values.mjs';
import { startReceiver } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

/**
 * An exit held by a failing export always says so (the exit line counts what was lost or not
 * confirmed), so "exactly one line" is what proves the exit was not held; this bound (3x the
 * 5 s exit flush deadline of src/shutdown.ts) only catches a process kept alive some other way.
 */
const HELD_BACKSTOP_MS = 15000;

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

/** A healthy receiver for every signal; the per-signal endpoints too when the base one is under test. */
function baseEnv(name) {
  const env = { OTEL_SERVICE_NAME: 'bad-values', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl };
  if (name === 'OTEL_EXPORTER_OTLP_ENDPOINT') for (const s of ['traces', 'metrics', 'logs']) env[`OTEL_EXPORTER_OTLP_${s.toUpperCase()}_ENDPOINT`] = `${receiver.httpUrl}/v1/${s}`;
  return env;
}

/** Runs the app; `held` is how long the process lived after the app's last line. */
async function run(env, mode = 'require') {
  let doneAt;
  const res = await runNode(REGISTER[mode], 'bad-value-app.cjs', {
    env,
    onStdout: (out) => {
      if (doneAt === undefined && out.includes('done')) doneAt = Date.now();
    },
  });
  return { ...res, held: Date.now() - (doneAt ?? Date.now()) };
}

function appUnchanged(r) {
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'done\n');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(r.held < HELD_BACKSTOP_MS, `the exit was held ${r.held} ms: ${r.stderr}`);
}

test('the baseline: the app under the hook says nothing, exits 3', async () => {
  const r = await run(baseEnv());
  appUnchanged(r);
  assert.equal(r.stderr, '');
});

// One value per variable, rotating through its kind's list so that every kind of bad value is
// met by some variable; the unit fuzz test gives every value of every variable to the parser.
const cases = [];
{
  const seen = new Map();
  let k = 0;
  for (const c of allBadValues()) {
    const list = seen.get(c.name) ?? [];
    list.push(c);
    seen.set(c.name, list);
  }
  for (const list of seen.values()) {
    cases.push(list[k++ % list.length]);
  }
}

describe(`${cases.length} bad values, each in its own process: one line naming the variable, the value and what is used instead`, { concurrency: 4 }, () => {
  let i = 0;
  for (const { name, value, sensitive } of cases) {
    // Both entries, alternately: the warning must not depend on the path in.
    const mode = i++ % 2 === 0 ? 'require' : 'import';
    it(`--${mode} ${name}=${JSON.stringify(value)}`, async () => {
      const r = await run({ ...baseEnv(name), [name]: value }, mode);
      appUnchanged(r);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].startsWith(`otel-autoinstrument: warning: ${name}`), lines[0]);
      assert.ok(lines[0].includes(sensitive ? 'REDACTED' : value.trim()), lines[0]);
      assert.match(lines[0], /using |leaving it unset|ignored|no instrumentation/, lines[0]);
    });
  }
});

test('blank counts as unset for every variable, all blank at once: nothing is said', async () => {
  const { TABLE } = await import('../../dist/config/table.js');
  for (const blank of BLANKS) {
    const env = baseEnv();
    for (const name of Object.keys(TABLE)) if (!(name in env)) env[name] = blank;
    const r = await run(env);
    appUnchanged(r);
    assert.equal(r.stderr, '', JSON.stringify(blank));
  }
});
