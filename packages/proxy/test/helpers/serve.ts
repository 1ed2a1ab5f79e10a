import { createGateway, createProxy, type Gateway, type ProxyOptions } from "../../src/index.js";

/** The proxy as `cove proxy` serves it: createProxy behind the gateway, on a loopback port. */
export interface ServedProxy {
  gateway: Gateway;
  port: number;
  /** The gateway's drain, then the proxy's own agent. */
  close(): Promise<void>;
}

export async function serveProxy(options: ProxyOptions & { graceMs?: number }): Promise<ServedProxy> {
  const { graceMs, ...proxyOptions } = options;
  const proxy = createProxy(proxyOptions);
  const gateway = createGateway({ proxy, domain: options.domain, ...(graceMs !== undefined ? { graceMs } : {}) });
  const { port } = await gateway.listen(0, "127.0.0.1");
  return {
    gateway,
    port,
    async close() {
      await gateway.close();
      proxy.close();
    },
  };
}
