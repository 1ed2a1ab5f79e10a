import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { NodeService } from "./gen/nodeapi/v1/node_pb.js";

export type NodeClient = Client<typeof NodeService>;

export interface NodeClientOptions {
  /** The node API's origin, e.g. "http://10.0.0.5:7070". */
  baseUrl: string;
  /** The node's shared secret; sent as `Authorization: Bearer <secret>`. */
  secret: string;
  /** Run before the auth header is set (tracing, logging). */
  interceptors?: Interceptor[];
}

/**
 * A typed client for one node. Connect protocol over HTTP/1.1, which is all
 * the node API needs (no client streaming) and passes through any proxy.
 */
export function createNodeClient(options: NodeClientOptions): NodeClient {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${options.secret}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: options.baseUrl,
    httpVersion: "1.1",
    interceptors: [...(options.interceptors ?? []), auth],
  });
  return createClient(NodeService, transport);
}
