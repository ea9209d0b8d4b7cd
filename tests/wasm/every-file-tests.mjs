// A reporter for `node --test` that fails the run when a test file registered no test: Node
// counts such a file as one passing test of its own, so a file whose tests were all lost (a
// typo, a wrong require) would pass. Used beside the spec reporter by scripts/test.sh:
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./tests/wasm/every-file-tests.mjs --test-reporter-destination=stderr tests/wasm/*.test.js
// A skipped or todo test does not count.
export default async function* everyFileTests(source) {
  const counts = new Map(); // file → top-level tests that ran
  for await (const event of source) {
    const data = event.data || {};
    if (!data.file) continue;
    if (!counts.has(data.file)) counts.set(data.file, 0);
    const ran = event.type === 'test:pass' || event.type === 'test:fail';
    // The file itself is reported as a test (named by its path) only when it registered none.
    if (ran && data.nesting === 0 && data.name !== data.file && !data.skip && !data.todo) {
      counts.set(data.file, counts.get(data.file) + 1);
    }
  }
  if (counts.size === 0) {
    process.exitCode = 1;
    yield 'FAIL no test file ran\n';
  }
  for (const [file, n] of counts) {
    if (n === 0) {
      process.exitCode = 1;
      yield `FAIL ${file}: registers no test\n`;
    }
  }
}
