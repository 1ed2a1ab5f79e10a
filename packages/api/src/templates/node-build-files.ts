import { ApiError } from "../errors.js";
import type { Readable } from "node:stream";
import type { BuildFilesGateway } from "./upload-links.js";

/** The node's `/build-files/<hash>` route (HEAD to ask, PUT to store), with the node's bearer secret. */
export function createNodeBuildFiles(baseUrl: string, secret: string): BuildFilesGateway {
  const url = (hash: string) => `${baseUrl}/build-files/${hash}`;
  const headers = { authorization: `Bearer ${secret}` };
  return {
    async has(hash) {
      const res = await fetch(url(hash), { method: "HEAD", headers });
      if (res.status !== 200 && res.status !== 404) throw new Error(`node answered HTTP ${res.status} for build files`);
      return res.status === 200;
    },
    async put(hash, body: Readable) {
      const res = await fetch(url(hash), { method: "PUT", headers, body: body as unknown as BodyInit, duplex: "half" } as RequestInit);
      const text = await res.text();
      if (res.status === 413) throw new ApiError("too_large", "the files are larger than the node takes for one COPY step");
      if (res.status !== 204) throw new Error(`node answered HTTP ${res.status} storing build files: ${text.slice(0, 200)}`);
    },
  };
}
