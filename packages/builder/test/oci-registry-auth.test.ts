import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuilderError } from "../src/errors.js";
import { sigV4Authorization } from "../src/oci/cloud-credentials.js";
import { parseWwwAuthenticate } from "../src/oci/registry-auth.js";
import { createRegistryClient, registryEndpoints } from "../src/oci/registry-client.js";

describe("parseWwwAuthenticate", () => {
  const cases: [string, string, { scheme: string; params: Record<string, string> }[]][] = [
    [
      "docker hub bearer",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"',
      [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/python:pull" } }],
    ],
    ["basic", 'Basic realm="Registry Realm"', [{ scheme: "basic", params: { realm: "Registry Realm" } }]],
    ["comma inside quotes", 'Bearer realm="r",scope="repository:a:pull,push"', [{ scheme: "bearer", params: { realm: "r", scope: "repository:a:pull,push" } }]],
    ["unquoted values and spaces", "Bearer realm=https://x/token , service=x", [{ scheme: "bearer", params: { realm: "https://x/token", service: "x" } }]],
    ["escaped quote", 'Basic realm="a\\"b"', [{ scheme: "basic", params: { realm: 'a"b' } }]],
    [
      "two challenges",
      'Basic realm="x", Bearer realm="https://t",service="s"',
      [
        { scheme: "basic", params: { realm: "x" } },
        { scheme: "bearer", params: { realm: "https://t", service: "s" } },
      ],
    ],
    [
      "token68",
      "Negotiate abc==, Basic realm=y",
      [
        { scheme: "negotiate", params: {} },
        { scheme: "basic", params: { realm: "y" } },
      ],
    ],
    ["case-insensitive names", 'BEARER Realm="r"', [{ scheme: "bearer", params: { realm: "r" } }]],
    ["empty", "", []],
  ];
  for (const [name, header, want] of cases) it(name, () => assert.deepEqual(parseWwwAuthenticate(header), want));
});

describe("registryEndpoints", () => {
  it("maps docker.io to registry-1.docker.io", () => assert.deepEqual(registryEndpoints("docker.io"), ["https://registry-1.docker.io"]));
  it("puts mirrors first and trims /v2", () =>
    assert.deepEqual(registryEndpoints("docker.io", { "docker.io": ["https://mirror.example/v2/", "http://127.0.0.1:5000"] }), [
      "https://mirror.example",
      "http://127.0.0.1:5000",
      "https://registry-1.docker.io",
    ]));
  it("uses http only for registries listed insecure", () => {
    assert.deepEqual(registryEndpoints("127.0.0.1:5000", {}, ["127.0.0.1:5000"]), ["http://127.0.0.1:5000"]);
    assert.deepEqual(registryEndpoints("ghcr.io", {}, ["127.0.0.1:5000"]), ["https://ghcr.io"]);
  });
});

type Handler = (url: URL, headers: Headers) => Response;
function fakeFetch(handler: Handler) {
  const calls: { url: string; authorization: string | null }[] = [];
  const fetch = async (input: string, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    calls.push({ url: input, authorization: headers.get("authorization") });
    return handler(new URL(input), headers);
  };
  return { fetch, calls };
}
const code = (c: string) => (err: unknown) => err instanceof BuilderError && err.code === c;

describe("createRegistryClient", () => {
  const manifest = JSON.stringify({ schemaVersion: 2 });
  it("follows the bearer token flow anonymously and reuses the token", async () => {
    const { fetch, calls } = fakeFetch((url, headers) => {
      if (url.host === "auth.example") {
        assert.equal(url.searchParams.get("scope"), "repository:library/python:pull");
        assert.equal(url.searchParams.get("service"), "reg");
        assert.equal(headers.get("authorization"), null);
        return Response.json({ token: "T1" });
      }
      if (headers.get("authorization") !== "Bearer T1") {
        return new Response("", {
          status: 401,
          headers: { "www-authenticate": 'Bearer realm="https://auth.example/token",service="reg",scope="repository:library/python:pull"' },
        });
      }
      return new Response(manifest, { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    });
    const client = createRegistryClient({ registry: "docker.io", repository: "library/python", fetch });
    const got = await client.getManifest("3.12", ["application/vnd.oci.image.manifest.v1+json"]);
    assert.equal(got.mediaType, "application/vnd.oci.image.manifest.v1+json");
    await client.getManifest("3.13", []);
    assert.deepEqual(
      calls.map((c) => new URL(c.url).host),
      ["registry-1.docker.io", "auth.example", "registry-1.docker.io", "registry-1.docker.io"],
    );
  });

  it("sends basic credentials to the token service", async () => {
    const { fetch } = fakeFetch((url, headers) => {
      if (url.pathname === "/token") {
        if (headers.get("authorization") !== `Basic ${Buffer.from("u:p").toString("base64")}`) return new Response("", { status: 401 });
        return Response.json({ access_token: "T2" });
      }
      if (headers.get("authorization") !== "Bearer T2")
        return new Response("", { status: 401, headers: { "www-authenticate": 'Bearer realm="https://r.example/token"' } });
      return new Response(manifest);
    });
    const client = createRegistryClient({ registry: "r.example", repository: "a", fetch, credentials: { type: "registry", username: "u", password: "p" } });
    await client.getManifest("x", []);
    const wrong = createRegistryClient({ registry: "r.example", repository: "a", fetch, credentials: { type: "registry", username: "u", password: "bad" } });
    await assert.rejects(wrong.getManifest("x", []), code("registry_unauthorized"));
  });

  it("answers a Basic challenge, and refuses without credentials", async () => {
    const good = `Basic ${Buffer.from("u:p").toString("base64")}`;
    const { fetch } = fakeFetch((_url, headers) =>
      headers.get("authorization") === good ? new Response(manifest) : new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } }),
    );
    await createRegistryClient({ registry: "r.example", repository: "a", fetch, credentials: { type: "registry", username: "u", password: "p" } }).getManifest(
      "x",
      [],
    );
    await assert.rejects(createRegistryClient({ registry: "r.example", repository: "a", fetch }).getManifest("x", []), code("registry_unauthorized"));
  });

  it("maps statuses to codes", async () => {
    const status = (s: number, body = "") => fakeFetch(() => new Response(body, { status: s })).fetch;
    const client = (s: number, body?: string) => createRegistryClient({ registry: "r.example", repository: "a", fetch: status(s, body) });
    await assert.rejects(
      client(404, JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] })).getManifest("x", []),
      (err: unknown) => {
        assert.ok(err instanceof BuilderError && err.code === "image_not_found");
        assert.match(err.message, /MANIFEST_UNKNOWN/);
        return true;
      },
    );
    await assert.rejects(client(429).getManifest("x", []), code("registry_rate_limited"));
    await assert.rejects(client(403).getManifest("x", []), code("registry_unauthorized"));
    await assert.rejects(client(502).getBlob(`sha256:${"0".repeat(64)}`), code("registry_unreachable"));
  });

  it("names the host when it cannot connect", async () => {
    const fetch = async () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    };
    await assert.rejects(createRegistryClient({ registry: "r.example:5000", repository: "a", fetch }).getManifest("x", []), (err: unknown) => {
      assert.ok(err instanceof BuilderError && err.code === "registry_unreachable");
      assert.match(err.message, /r\.example:5000.*ECONNREFUSED/);
      return true;
    });
  });

  it("times out a registry that never answers", async () => {
    const fetch = (_input: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
    await assert.rejects(createRegistryClient({ registry: "slow.example", repository: "a", fetch, timeoutMs: 50 }).getManifest("x", []), (err: unknown) => {
      assert.ok(err instanceof BuilderError && err.code === "registry_unreachable");
      assert.match(err.message, /slow\.example: timed out/);
      return true;
    });
  });

  it("fails a body that stalls, and a manifest that is too large", async () => {
    const stalledBody = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([1]));
      },
    });
    const stalling = createRegistryClient({ registry: "slow.example", repository: "a", fetch: async () => new Response(stalledBody), timeoutMs: 50 });
    const blob = await stalling.getBlob(`sha256:${"0".repeat(64)}`);
    await assert.rejects(
      (async () => {
        for await (const _chunk of blob.body);
      })(),
      (err: unknown) => {
        assert.ok(err instanceof BuilderError && err.code === "registry_unreachable");
        assert.match(err.message, /stalled/);
        return true;
      },
    );
    const huge = createRegistryClient({ registry: "big.example", repository: "a", fetch: async () => new Response(new Uint8Array(5 << 20)) });
    await assert.rejects(huge.getManifest("x", []), code("invalid_image"));
  });

  it("falls back from a failing mirror to the registry", async () => {
    const { fetch, calls } = fakeFetch((url) => (url.host === "mirror.example" ? new Response("", { status: 503 }) : new Response(manifest)));
    const client = createRegistryClient({ registry: "docker.io", repository: "library/a", fetch, mirrors: { "docker.io": ["https://mirror.example"] } });
    await client.getManifest("x", []);
    assert.deepEqual(
      calls.map((c) => new URL(c.url).host),
      ["mirror.example", "registry-1.docker.io"],
    );
  });

  it("exchanges AWS keys for an ECR token and sends it as Basic auth", async () => {
    const ecrPassword = "ecr-password";
    const { fetch, calls } = fakeFetch((url, headers) => {
      if (url.host === "api.ecr.eu-west-1.amazonaws.com") {
        assert.equal(headers.get("x-amz-target"), "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
        assert.match(
          headers.get("authorization") ?? "",
          /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/eu-west-1\/ecr\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/,
        );
        return Response.json({ authorizationData: [{ authorizationToken: Buffer.from(`AWS:${ecrPassword}`).toString("base64") }] });
      }
      if (headers.get("authorization") === `Basic ${Buffer.from(`AWS:${ecrPassword}`).toString("base64")}`) return new Response(manifest);
      return new Response("", {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="https://1.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"' },
      });
    });
    const credentials = { type: "aws" as const, awsAccessKeyId: "AKID", awsSecretAccessKey: "secret", awsRegion: "eu-west-1" };
    await createRegistryClient({ registry: "1.dkr.ecr.eu-west-1.amazonaws.com", repository: "app", fetch, credentials }).getManifest("x", []);
    assert.equal(calls.length, 3);
    const refusing = fakeFetch((url) =>
      url.host.startsWith("api.ecr")
        ? Response.json({ __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." }, { status: 400 })
        : new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } }),
    );
    await assert.rejects(
      createRegistryClient({ registry: "1.dkr.ecr.eu-west-1.amazonaws.com", repository: "app", fetch: refusing.fetch, credentials }).getManifest("x", []),
      (err: unknown) => code("registry_unauthorized")(err) && /UnrecognizedClientException/.test((err as Error).message),
    );
  });

  it("logs in to Google registries with the service account key as _json_key", async () => {
    const key = JSON.stringify({ type: "service_account", client_email: "a@b.iam.gserviceaccount.com" });
    const { fetch } = fakeFetch((_url, headers) =>
      headers.get("authorization") === `Basic ${Buffer.from(`_json_key:${key}`).toString("base64")}`
        ? new Response(manifest)
        : new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } }),
    );
    await createRegistryClient({
      registry: "europe-docker.pkg.dev",
      repository: "p/r/app",
      fetch,
      credentials: { type: "gcp", serviceAccountJson: key },
    }).getManifest("x", []);
    await assert.rejects(
      createRegistryClient({
        registry: "europe-docker.pkg.dev",
        repository: "p/r/app",
        fetch,
        credentials: { type: "gcp", serviceAccountJson: "{" },
      }).getManifest("x", []),
      code("registry_unauthorized"),
    );
  });
});

describe("sigV4Authorization", () => {
  it("matches AWS's get-vanilla test vector", () => {
    const authorization = sigV4Authorization({
      method: "GET",
      host: "example.amazonaws.com",
      path: "/",
      headers: { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" },
      body: "",
      region: "us-east-1",
      service: "service",
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    });
    assert.equal(
      authorization,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });
});
