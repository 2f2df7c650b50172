import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
const rss = () => (Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024).toFixed(0);
console.log('base', rss());
const mode = process.argv[2];
const n = Number(process.argv[3] ?? 1);
for (let i = 0; i < n; i++) {
  const w = new Worker(mode === 'ts' ? `import('${new URL('./w1.ts', import.meta.url)}').then(() => setInterval(()=>{}, 1000))` : `setInterval(()=>{}, 1000)`, { eval: true });
}
setTimeout(() => { console.log(mode, n, 'rss', rss()); process.exit(0); }, 2000);
