// Prints the plain closing line "N passed, N failed, N skipped" from vitest's JSON report, and on
// a failure where the long runs left their reports (test/support/report.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numFailedTests > 0 || report.success === false) {
  const dir = '.tmp/reports';
  const files = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.txt')) : [];
  if (files.length > 0) console.log(`reports of the long runs: ${files.map((name) => `${dir}/${name}`).join(', ')}`);
}
