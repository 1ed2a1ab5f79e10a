import { createHash, createHmac } from "node:crypto";
import type { RegistryCredentials } from "../build-spec.js";
import { BuilderError } from "../errors.js";
import { type BasicCredentials, describeFetchError, type FetchLike } from "./registry-auth.js";

export interface SigV4Request {
  method: string;
  host: string;
  path: string;
  /** Lowercase names; must include `host` and `x-amz-date`. All of them are signed. */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
const sha256Hex = (data: string) => createHash("sha256").update(data).digest("hex");

/** The `Authorization` header of AWS Signature Version 4 (no query string: ECR's API has none). */
export function sigV4Authorization(r: SigV4Request): string {
  const amzDate = r.headers["x-amz-date"];
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw new Error("x-amz-date must be set as YYYYMMDDTHHMMSSZ");
  const names = Object.keys(r.headers).sort();
  const signedHeaders = names.join(";");
  const canonical = [r.method, r.path, "", ...names.map((n) => `${n}:${r.headers[n]!.trim()}`), "", signedHeaders, sha256Hex(r.body)].join("\n");
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${r.region}/${r.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${r.secretAccessKey}`, date), r.region), r.service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${r.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/** ECR's registry password: GetAuthorizationToken, signed with the caller's keys; valid for 12 hours. */
async function ecrCredentials(c: Extract<RegistryCredentials, { type: "aws" }>, fetch: FetchLike, now: Date): Promise<BasicCredentials> {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(c.awsRegion)) throw new BuilderError("registry_unauthorized", `"${c.awsRegion}" is not an AWS region`);
  const host = `api.ecr.${c.awsRegion}.amazonaws.com`;
  const body = "{}";
  const headers: Record<string, string> = {
    "content-type": "application/x-amz-json-1.1",
    host,
    "x-amz-date": now
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, ""),
    "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
  };
  const authorization = sigV4Authorization({
    method: "POST",
    host,
    path: "/",
    headers,
    body,
    region: c.awsRegion,
    service: "ecr",
    accessKeyId: c.awsAccessKeyId,
    secretAccessKey: c.awsSecretAccessKey,
  });
  const { host: _host, ...sent } = headers; // fetch sets Host itself
  let response: Response;
  try {
    response = await fetch(`https://${host}/`, { method: "POST", headers: { ...sent, authorization }, body, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new BuilderError("registry_unreachable", `cannot reach ${host}: ${describeFetchError(err)}`, { cause: err });
  }
  const json = (await response.json().catch(() => ({}))) as { __type?: unknown; message?: unknown; authorizationData?: { authorizationToken?: unknown }[] };
  if (!response.ok) {
    const type = typeof json.__type === "string" ? json.__type.split("#").pop() : `HTTP ${response.status}`;
    throw new BuilderError(
      "registry_unauthorized",
      `AWS refused an ECR token for access key ${c.awsAccessKeyId}: ${type}${typeof json.message === "string" ? ` (${json.message})` : ""}`,
    );
  }
  const token = json.authorizationData?.[0]?.authorizationToken;
  const decoded = typeof token === "string" ? Buffer.from(token, "base64").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new BuilderError("registry_unauthorized", `${host} returned no usable ECR token`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The username and password to present to the registry for the SDK's credential kinds:
 * `registry` as given; `gcp` as Google's `_json_key` login (Artifact Registry and GCR take the
 * service account key itself as the password); `aws` exchanged for an ECR token.
 */
export async function resolveRegistryCredentials(
  credentials: RegistryCredentials | undefined,
  options: { fetch: FetchLike; now?: Date },
): Promise<BasicCredentials | undefined> {
  if (credentials === undefined) return undefined;
  switch (credentials.type) {
    case "registry":
      return { username: credentials.username, password: credentials.password };
    case "gcp": {
      let key: { type?: unknown; client_email?: unknown };
      try {
        key = JSON.parse(credentials.serviceAccountJson) as typeof key;
      } catch {
        throw new BuilderError("registry_unauthorized", "the GCP service account key is not JSON");
      }
      if (key?.type !== "service_account") throw new BuilderError("registry_unauthorized", 'the GCP service account key is not of type "service_account"');
      return { username: "_json_key", password: credentials.serviceAccountJson };
    }
    case "aws":
      return ecrCredentials(credentials, options.fetch, options.now ?? new Date());
  }
}
