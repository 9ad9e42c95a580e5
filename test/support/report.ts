// A long test's report (its figures, event log, ledgers, seeds) goes to a file under .tmp/reports/
// rather than to the console, so that a passing `npm test` prints little more than its summary.
// The report is printed when a test of the file fails, and stays on disk either way.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPORT_DIR = join(ROOT, '.tmp', 'reports');

export interface TestReport {
  /** The file, relative to the repository root (for messages). */
  readonly path: string;
  /** Appends a line (or several). */
  log(text: string): void;
  /** Everything written so far. */
  text(): string;
}

/** A report file `.tmp/reports/<name>.txt`, emptied now. */
export function testReport(name: string): TestReport {
  const file = join(REPORT_DIR, `${name}.txt`);
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(file, '');
  return {
    path: relative(ROOT, file),
    log: (text) => appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`),
    text: () => readFileSync(file, 'utf8'),
  };
}

/**
 * Prints the report once when a test of the calling file fails, or when a hook fails (a failed
 * `beforeAll` fails the file's tests without running them). Call at the top of a describe block
 * or file.
 */
export function printReportOnFailure(report: TestReport, extra: () => string = () => ''): void {
  let printed = false;
  const print = (): void => {
    if (printed) return;
    printed = true;
    const more = extra();
    console.log(`----- ${report.path}\n${report.text()}${more ? `\n${more}` : ''}`);
  };
  beforeEach(({ onTestFailed }) => onTestFailed(print));
  afterAll(({}, suite) => {
    // A failed beforeAll leaves its error on the suite and the tests skipped.
    const failed = suite.result?.state === 'fail' || suite.tasks.some((task) => task.result?.state === 'fail');
    if (failed) print();
  });
}
