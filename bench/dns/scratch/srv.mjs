import dgram from 'node:dgram';
import { Worker, isMainThread } from 'node:worker_threads';
const port = 15353;
const big = process.argv[3] === 'big';
if (isMainThread) {
  const n = Number(process.argv[2] ?? 2);
  for (let i = 0; i < n; i++) new Worker(new URL(import.meta.url), { argv: process.argv.slice(2) });
} else {
  const s = dgram.createSocket({ type: 'udp4', reusePort: true, ...(process.argv[4] === 'fast' ? { lookup: (a, o, cb) => cb(null, a, 4) } : {}) });
  s.on('message', (msg, rinfo) => {
    const out = Buffer.allocUnsafe(msg.length + 16);
    msg.copy(out);
    out[2] |= 0x84;
    out.writeUInt16BE(1, 6);
    let o = msg.length;
    out[o++] = 0xc0; out[o++] = 12; out.writeUInt16BE(1, o); o += 2; out.writeUInt16BE(1, o); o += 2; out.writeUInt32BE(5, o); o += 4; out.writeUInt16BE(4, o); o += 2; out[o++] = 10; out[o++] = 0; out[o++] = 0; out[o++] = 1;
    s.send(out, rinfo.port, rinfo.address);
  });
  s.bind(port, '127.0.0.1', () => { if (big) { s.setRecvBufferSize(4<<20); s.setSendBufferSize(4<<20); } });
}
