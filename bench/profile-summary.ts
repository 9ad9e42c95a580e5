// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by file, and the
// inclusive time of the functions matching --match. Usage:
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 40] [--match text]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[]; hitCount?: number }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, match: { type: 'string', multiple: true }, from: { type: 'string' }, to: { type: 'string' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: profile-summary.ts FILE.cpuprofile [--top N] [--match TEXT]…');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
// Only the samples between --from and --to (seconds since the profile started), if given.
const fromUs = values.from !== undefined ? Number(values.from) * 1e6 : 0;
const toUs = values.to !== undefined ? Number(values.to) * 1e6 : Number.POSITIVE_INFINITY;
const inWindow: boolean[] = [];
{
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    inWindow.push(t >= fromUs && t <= toUs);
  }
}
const selfTime = new Map<number, number>();
let totalUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (!inWindow[i]) continue;
  const id = profile.samples[i]!;
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  totalUs += profile.timeDeltas[i] ?? 0;
}
const short = (url: string): string => url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*?\/(src|cluster|metrics|bench)\//, '$1/') || '(native)';
const label = (frame: CallFrame): string => `${frame.functionName || '(anonymous)'} ${short(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let idle = 0;
for (const [id, us] of selfTime) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') idle += us;
  byFunction.set(label(frame), (byFunction.get(label(frame)) ?? 0) + us);
  const key = frame.url ? short(frame.url) : frame.functionName;
  byFile.set(key, (byFile.get(key) ?? 0) + us);
}
const busy = totalUs - idle;
const pct = (us: number): string => `${((us * 100) / busy).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)`);
const top = Number(values.top);
console.log('\nself time by function:');
for (const [name, us] of [...byFunction].filter(([name]) => !name.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${name}`);
console.log('\nself time by file:');
for (const [name, us] of [...byFile].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${name}`);
for (const match of values.match ?? []) {
  // Inclusive: samples with a matching frame anywhere on their stack (each sample counted once).
  let inclusive = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (!inWindow[i]) continue;
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      if (label(byId.get(id)!.callFrame).includes(match)) {
        inclusive += profile.timeDeltas[i] ?? 0;
        break;
      }
    }
  }
  console.log(`\ninclusive time of frames matching "${match}": ${pct(inclusive)}`);
}
