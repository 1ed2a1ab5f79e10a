import { EnvdError } from "../errors.js";
import type { HttpRequest } from "./respond.js";

/** JSON control bodies are tiny; anything bigger is a mistake or abuse. */
const MAX_JSON_BYTES = 1024 * 1024;

/** Reads a (possibly chunked) JSON body. An empty body is undefined. */
export async function readJsonBody(req: HttpRequest): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw new EnvdError("invalid_argument", `request body exceeds ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new EnvdError("invalid_argument", "request body is not valid JSON");
  }
}
