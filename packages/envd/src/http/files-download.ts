import { close, constants, createReadStream, fstat } from "node:fs";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { constants as zlibConstants, createGzip } from "node:zlib";
import { EnvdError, fromErrno } from "../errors.js";
import { toHostPath } from "../paths.js";
import { parseRange } from "./byte-range.js";
import { chooseResponseEncoding } from "./content-encoding.js";
import { contentTypeFor } from "./content-type.js";
import { authorizeFileRequest, resolveFilePath } from "./file-access.js";
import { writeHead, type HttpHandler, type HttpResponse } from "./respond.js";

/** Large reads are what this route is for; bigger chunks mean fewer syscalls and writes. */
const READ_CHUNK = 1024 * 1024;

const fstatAsync = promisify(fstat);

/**
 * GET /files (spec 5.2): streams one file as the requested user. Range and
 * conditional requests are always served uncompressed, as upstream envd does.
 */
export const getFiles: HttpHandler = async (req, res, ctx, url) => {
  const { user, rawPath } = await authorizeFileRequest(ctx, req, url, "read");
  const path = resolveFilePath(ctx, user, rawPath ?? "");
  const hostPath = toHostPath(ctx.config.root, path);

  // Opened with the user's credentials, so the kernel decides; O_NONBLOCK so a
  // FIFO cannot hang a pool thread (the type is checked on the open descriptor).
  let fd: number;
  try {
    fd = await ctx.fsAs(user).open(hostPath, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fromErrno(err, path);
  }
  let streaming = false;
  try {
    const info = await fstatAsync(fd);
    if (info.isDirectory()) throw new EnvdError("invalid_argument", `path '${path}' is a directory`);
    if (!info.isFile()) throw new EnvdError("invalid_argument", `path '${path}' is not a regular file`);

    const acceptEncoding = headerText(req.headers["accept-encoding"]);
    const rangeHeader = headerText(req.headers.range);
    const conditional = rangeHeader !== undefined || req.headers["if-modified-since"] !== undefined || req.headers["if-range"] !== undefined;
    const chosen = chooseResponseEncoding(acceptEncoding);
    const encoding = conditional ? undefined : chosen;

    const lastModified = info.mtime.toUTCString();
    const headers: Record<string, string | number> = {
      "content-type": contentTypeFor(path),
      "last-modified": lastModified,
      vary: "Accept-Encoding",
    };
    if (notModified(headerText(req.headers["if-modified-since"]), info.mtime)) {
      writeHead(res, 304, { "last-modified": lastModified, vary: "Accept-Encoding" });
      res.end();
      return;
    }

    if (encoding === "gzip") {
      writeHead(res, 200, { ...headers, "content-encoding": "gzip" });
      streaming = true;
      await send(res, createReadStream("", { fd, highWaterMark: READ_CHUNK }), createGzip({ level: zlibConstants.Z_DEFAULT_COMPRESSION }));
      return;
    }

    // If-Range names the version the client holds; a changed file is sent whole.
    const ifRange = headerText(req.headers["if-range"]);
    const rangeApplies = ifRange === undefined || ifRange === lastModified;
    const range = parseRange(rangeApplies ? rangeHeader : undefined, info.size);
    headers["accept-ranges"] = "bytes";
    if (range.kind === "unsatisfiable") {
      writeHead(res, 416, { "content-range": `bytes */${info.size}`, "content-length": 0 });
      res.end();
      return;
    }
    let start = 0;
    let end = info.size - 1;
    let status = 200;
    if (range.kind === "partial") {
      ({ start, end } = range.range);
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${info.size}`;
    }
    headers["content-length"] = info.size === 0 ? 0 : end - start + 1;
    writeHead(res, status, headers);
    if (info.size === 0) {
      res.end();
      return;
    }
    streaming = true;
    await send(res, createReadStream("", { fd, start, end, highWaterMark: READ_CHUNK }));
  } finally {
    // A read stream closes the descriptor itself once it has taken it over.
    if (!streaming) close(fd, () => undefined);
  }
};

/**
 * Pipes file → [gzip] → response. A client that goes away mid-transfer just
 * ends the pipeline; headers are already sent, so there is nothing to report.
 */
async function send(res: HttpResponse, source: NodeJS.ReadableStream, ...transforms: NodeJS.ReadWriteStream[]): Promise<void> {
  try {
    await pipeline([source, ...transforms, res as NodeJS.WritableStream]);
  } catch {
    res.destroy();
  }
}

function notModified(ifModifiedSince: string | undefined, mtime: Date): boolean {
  if (!ifModifiedSince) return false;
  const since = Date.parse(ifModifiedSince);
  // HTTP dates have one-second resolution.
  return Number.isFinite(since) && Math.floor(mtime.getTime() / 1000) * 1000 <= since;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
