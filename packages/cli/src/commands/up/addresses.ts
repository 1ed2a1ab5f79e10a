import http from "node:http";
import { addressInUse } from "@cove/proxy";

export interface PortReservation {
  port: number;
  /** Frees the port for the real server; call it right before binding. */
  release(): Promise<void>;
}

/**
 * The port to serve on, checked before anything is started: a taken port fails at once, and
 * port 0 becomes a free port now (the sandbox domain below needs to know it). The port stays
 * held until `release`, so nothing started meanwhile (the node picks its own free port) can
 * be handed the same one; the real bind can still lose a race against other programs.
 */
export function reservePort(port: number, host: string): Promise<PortReservation> {
  return new Promise((resolve, reject) => {
    const probe = http.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? addressInUse(host, port) : err));
    probe.listen(port, host, () => {
      const a = probe.address();
      const chosen = typeof a === "object" && a !== null ? a.port : port;
      probe.unref();
      let released: Promise<void> | undefined;
      resolve({ port: chosen, release: () => (released ??= new Promise<void>((done) => probe.close(() => done()))) });
    });
  });
}

/**
 * With no sandbox domain configured and a loopback address, `localhost:<port>`: the SDK's
 * `getHost(port)` then gives `<port>-<id>.localhost:<gateway port>`, which browsers and curl
 * resolve to this machine (RFC 6761), and the gateway routes by host. Without it the SDK would
 * fall back to e2b.app and send users' traffic to E2B.
 */
export function defaultDomain(host: string, port: number): string | undefined {
  // On all addresses too: the printed URLs are this machine's; remote clients need --domain anyway.
  return ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"].includes(host) ? `localhost:${port}` : undefined;
}

/** The URL a client on this machine uses for an address we listen on. */
export function publicUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}
