import busboy from "busboy";
import { posix } from "node:path";
import { Readable } from "node:stream";
import type { EnvdContext } from "../context.js";
import { EnvdError } from "../errors.js";
import { type FileMetadata, metadataFromHeaders } from "../file-metadata.js";
import type { OsUser } from "../users.js";
import { authorizeFileRequest, resolveFilePath } from "./file-access.js";
import { openRequestBody, RequestAborted, type RequestBody } from "./request-body.js";
import { sendJson, type HttpHandler, type HttpRequest } from "./respond.js";
import { writeFileAtomically } from "./write-file.js";

/** What POST /files answers per written file (spec 5.3); `metadata` only when the file has some, as upstream. */
interface UploadedEntry {
  path: string;
  name: string;
  type: "file";
  metadata?: FileMetadata;
}

const PART_CHUNK = 1024 * 1024;
/**
 * A `file` part sent as a plain form field (FormData string value: no
 * filename, text/plain) reaches us whole in memory, so it is capped; larger
 * content must come as a file part or an octet-stream body.
 */
export const MAX_FIELD_FILE_BYTES = 16 * 1024 * 1024;

/**
 * POST /files (spec 5.3): multipart/form-data (one `file` part per file, the
 * filename being the destination unless ?path= is given) or a raw
 * application/octet-stream body to ?path=. Both may be gzip-encoded. Bodies are
 * streamed to disk part by part, never buffered whole.
 */
export const postFiles: HttpHandler = async (req, res, ctx, url) => {
  const { user, rawPath } = await authorizeFileRequest(ctx, req, url, "write");
  // One set for every file of the request, as the SDK sends it (writeFiles applies it to each).
  const metadata = metadataFromHeaders(req.headers);
  const mediaType = (headerText(req.headers["content-type"]) ?? "").split(";")[0]!.trim().toLowerCase();
  const isMultipart = mediaType.startsWith("multipart/");
  if (mediaType !== "application/octet-stream" && !isMultipart) {
    throw new EnvdError("invalid_argument", `unsupported content type '${mediaType}', expected multipart/form-data or application/octet-stream`);
  }
  if (!isMultipart && !rawPath) throw new EnvdError("invalid_argument", "the path query parameter is required for an application/octet-stream upload");

  const body = openRequestBody(req);
  const target = { user, metadata };
  const entries = isMultipart ? await receiveMultipart(ctx, req, body, target, rawPath) : [await receiveRaw(ctx, body, target, rawPath!)];
  sendJson(res, 200, entries);
};

/** Who writes, and the metadata every written file gets. */
interface UploadTarget {
  user: OsUser;
  metadata: FileMetadata;
}

async function receiveRaw(ctx: EnvdContext, body: RequestBody, { user, metadata }: UploadTarget, rawPath: string): Promise<UploadedEntry> {
  try {
    const path = resolveFilePath(ctx, user, rawPath);
    await writeFileAtomically(ctx.config.root, path, ctx.fsAs(user), body.stream, metadata);
    return entryFor(path, metadata);
  } catch (err) {
    body.release();
    throw bodyError(err);
  }
}

function receiveMultipart(
  ctx: EnvdContext,
  req: HttpRequest,
  body: RequestBody,
  { user, metadata }: UploadTarget,
  rawPath: string | undefined,
): Promise<UploadedEntry[]> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        preservePath: true,
        defParamCharset: "utf8",
        fileHwm: PART_CHUNK,
        highWaterMark: PART_CHUNK,
        limits: { fieldSize: MAX_FIELD_FILE_BYTES },
      });
    } catch (err) {
      body.release();
      reject(new EnvdError("invalid_argument", `malformed multipart request: ${(err as Error).message}`));
      return;
    }
    const entries: UploadedEntry[] = [];
    const seen = new Set<string>();
    let failed = false;
    let current: Readable | undefined;
    // Parts are written one after another; busboy's backpressure holds the next one meanwhile.
    let queue = Promise.resolve();

    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      body.stream.unpipe(parser);
      body.release();
      current?.destroy();
      reject(bodyError(err));
    };

    /** The destination of one `file` part, or undefined after failing the request. */
    const destination = (filename: string | undefined): string | undefined => {
      try {
        const target = rawPath ?? filename;
        if (!target) throw new EnvdError("invalid_argument", "a file part has no filename and no path query parameter was given");
        const path = resolveFilePath(ctx, user, target);
        if (seen.has(path)) {
          throw new EnvdError("invalid_argument", `you cannot upload multiple files to the same path '${path}' in one upload request`);
        }
        seen.add(path);
        return path;
      } catch (err) {
        fail(err);
        return undefined;
      }
    };
    const write = (path: string, file: Readable): void => {
      queue = queue
        .then(async () => {
          if (failed) return void file.resume();
          current = file;
          await writeFileAtomically(ctx.config.root, path, ctx.fsAs(user), file, metadata);
          entries.push(entryFor(path, metadata));
        })
        .catch(fail);
    };

    parser.on("file", (field, file, info) => {
      const path = failed || field !== "file" ? undefined : destination(info.filename);
      if (path === undefined) return void file.resume();
      write(path, file);
    });
    // E2B's envd takes every part named `file`, also one sent as a plain form
    // field (`form.append("file", "text")`), which busboy reports as a field.
    parser.on("field", (field, value, info) => {
      if (failed || field !== "file") return;
      if (info.valueTruncated) {
        fail(
          new EnvdError(
            "invalid_argument",
            `a 'file' form field is limited to ${MAX_FIELD_FILE_BYTES} bytes; send larger content as a file part (with a filename) or as application/octet-stream`,
          ),
        );
        return;
      }
      const path = destination(undefined);
      if (path !== undefined) write(path, Readable.from([Buffer.from(value, "utf8")]));
    });
    parser.on("error", (err: Error) => fail(new EnvdError("invalid_argument", `malformed multipart body: ${err.message}`)));
    parser.on("close", () => {
      void queue.then(() => {
        if (failed) return;
        if (entries.length === 0) return fail(new EnvdError("invalid_argument", "the multipart body contains no 'file' part"));
        resolve(entries);
      });
    });
    body.stream.on("error", fail);
    body.stream.pipe(parser);
  });
}

/** Maps failures of the body itself (abort, corrupt gzip) to client errors; file errors pass through. */
function bodyError(err: unknown): unknown {
  if (err instanceof EnvdError) return err;
  if (err instanceof RequestAborted) return new EnvdError("invalid_argument", err.message, { cause: err });
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    return new EnvdError("invalid_argument", "the request body is not valid gzip data", { cause: err });
  }
  if (code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new EnvdError("invalid_argument", "request body aborted by the client", { cause: err });
  }
  return err;
}

function entryFor(path: string, metadata: FileMetadata): UploadedEntry {
  const entry: UploadedEntry = { path, name: posix.basename(path), type: "file" };
  if (Object.keys(metadata).length > 0) entry.metadata = metadata;
  return entry;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
