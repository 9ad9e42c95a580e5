// A TCP load balancer for tests, in front of the nodes' HTTP ports: each new connection goes to
// the first node whose /readyz answers 200, asked at that moment, as a Kubernetes Service sends
// new connections only to ready pods (without the delay of a probe period). Bytes are passed
// through untouched, so a WebSocket upgrade reaches the node as the client sent it. With
// `targetOf`, the connection goes to another port of that node (its s2s port, say), still chosen
// by the readiness of its HTTP port.
import { connect, createServer, type Socket } from 'node:net';
import { ready } from './cluster.js';

export interface Balancer {
  readonly port: number;
  /** The HTTP ports behind it, in order of preference; set once the nodes are up. */
  backends: number[];
  /** The backend port each connection went to (after `targetOf`), in order. */
  readonly routed: number[];
  close(): Promise<void>;
}

export async function startBalancer(targetOf: (httpPort: number) => number = (httpPort) => httpPort): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const backends = { ports: [] as number[] };
  const routed: number[] = [];
  const pick = async (): Promise<number | undefined> => {
    for (const port of backends.ports) if (await ready(port)) return port;
    return undefined;
  };
  const server = createServer((client) => {
    track(client);
    client.pause();
    void pick().then((port) => {
      if (port === undefined || client.destroyed) {
        client.destroy();
        return;
      }
      const target = targetOf(port);
      routed.push(target);
      const upstream = connect(target, '127.0.0.1');
      track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.once('close', () => client.end());
      client.once('close', () => upstream.end());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    get backends() {
      return backends.ports;
    },
    set backends(ports: number[]) {
      backends.ports = ports;
    },
    routed,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
