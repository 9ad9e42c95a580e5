// What the chaos test reads from the nodes' /metrics, and the bound on what a paused client's
// TCP connection can hold.
import { readFileSync } from 'node:fs';
import { get } from 'node:http';

export const MiB = 1024 * 1024;

export function metrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`/metrics on port ${port} timed out`)));
    request.on('error', reject);
  });
}

/** The value of one sample of a Prometheus text exposition (0 when absent). */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

export interface Memory {
  rss: number;
  heapUsed: number;
}

export async function memoryOf(port: number): Promise<Memory> {
  const text = await metrics(port);
  return { rss: sample(text, 'rookery_process_resident_memory_bytes'), heapUsed: sample(text, 'rookery_nodejs_heap_size_used_bytes') };
}

/**
 * The most one loopback TCP connection buffers in the kernel when its reader stops: the sender's
 * send buffer grows up to tcp_wmem's maximum, the receiver's stays near tcp_rmem's default
 * (it only grows as the application reads). Doubled where the kernel counts overhead too.
 */
export function socketBufferBound(): number {
  const triple = (file: string, fallback: [number, number, number]): [number, number, number] => {
    try {
      const values = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
      if (values.length === 3 && values.every((value) => Number.isFinite(value) && value > 0)) return values as [number, number, number];
    } catch {
      // not Linux: the usual defaults
    }
    return fallback;
  };
  const wmem = triple('/proc/sys/net/ipv4/tcp_wmem', [4096, 16384, 4 * MiB]);
  const rmem = triple('/proc/sys/net/ipv4/tcp_rmem', [4096, 131072, 6 * MiB]);
  return wmem[2] + 2 * rmem[1];
}
