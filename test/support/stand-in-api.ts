// A stand-in for the control-plane API, for the tests that drive a sandbox's servers without an
// api (envd, the code interpreter, the node's sandboxes): it answers the SDK's create and connect
// with one fixed sandbox record, so the SDK talks straight to the server at its `sandboxUrl`. The
// only mock of the api in those packages' tests.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandInApi {
  url: string;
  close(): Promise<void>;
}

export interface StandInSandbox {
  sandboxID: string;
  templateID: string;
  accessToken: string | undefined;
  /** Default: the version Cove's envd reports. */
  envdVersion?: string;
}

export async function startStandInApi(sandbox: StandInSandbox): Promise<StandInApi> {
  const record = {
    sandboxID: sandbox.sandboxID,
    templateID: sandbox.templateID,
    clientID: "6532622b",
    envdVersion: sandbox.envdVersion ?? "0.6.13",
    envdAccessToken: sandbox.accessToken,
    domain: null,
    trafficAccessToken: null,
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "DELETE") {
        res.writeHead(204).end();
        return;
      }
      // A create is 201; a connect (and anything else) 200.
      const created = req.method === "POST" && !req.url?.includes("/connect");
      res.writeHead(created ? 201 : 200, { "content-type": "application/json" }).end(JSON.stringify(record));
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
