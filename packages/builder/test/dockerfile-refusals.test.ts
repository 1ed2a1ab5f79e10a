// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text is full of ${VAR} on purpose
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuilderError, parseDockerfile } from "../src/index.js";
import { bodySteps } from "./helpers/dockerfile-steps.js";

/** Asserts the parse fails with this code and exactly this message. */
function refuses(text: string, code: BuilderError["code"], message: string, options: Parameters<typeof parseDockerfile>[1] = {}): void {
  assert.throws(
    () => parseDockerfile(text, options),
    (error: unknown) => {
      assert.ok(error instanceof BuilderError, String(error));
      assert.equal(error.message, message);
      assert.equal(error.code, code);
      return true;
    },
  );
}

describe("parseDockerfile: unsupported instructions and flags", () => {
  const cases: Array<[string, string, string]> = [
    [
      "second FROM",
      "FROM golang AS build\nRUN go build\nFROM alpine",
      "Dockerfile:3: FROM: multi-stage builds are not supported: a template is built from one FROM",
    ],
    ["FROM scratch", "FROM scratch", "Dockerfile:1: FROM: FROM scratch is not supported: a sandbox needs a shell; start from a distribution image"],
    ["FROM --platform", "FROM --platform=linux/arm64 ubuntu", "Dockerfile:1: FROM: --platform is not supported: a template runs on the node's own platform"],
    [
      "HEALTHCHECK CMD",
      "FROM ubuntu\n\nHEALTHCHECK CMD curl -f localhost",
      "Dockerfile:3: HEALTHCHECK: not supported: use the template's ready command (readyCmd) instead",
    ],
    ["VOLUME", "FROM ubuntu\nVOLUME /data", "Dockerfile:2: VOLUME: not supported: a sandbox has one root filesystem; create the directory with RUN mkdir"],
    [
      "STOPSIGNAL",
      "FROM ubuntu\nSTOPSIGNAL SIGKILL",
      "Dockerfile:2: STOPSIGNAL: not supported: sandboxes are stopped by Cove, not by a signal to the start command",
    ],
    ["ONBUILD", "FROM ubuntu\nONBUILD RUN x", "Dockerfile:2: ONBUILD: not supported: templates are not base images for later Dockerfiles"],
    [
      "RUN heredoc",
      "FROM ubuntu\nRUN <<EOF\necho hi\nEOF",
      "Dockerfile:2: RUN: heredocs are not supported: write the lines with printf or put the file in the build context",
    ],
    ["COPY heredoc", 'FROM ubuntu\nCOPY <<-"EOT" /etc/x\nhi\nEOT', "Dockerfile:2: COPY: heredocs are not supported: put the file in the build context"],
    [
      "RUN heredoc later on the line",
      "FROM ubuntu\nRUN python3 <<-'PY' > out.txt\nprint(1)\nPY",
      "Dockerfile:2: RUN: heredocs are not supported: write the lines with printf or put the file in the build context",
    ],
    [
      "RUN --mount",
      "FROM ubuntu\nRUN --mount=type=cache,target=/root/.cache pip install x",
      "Dockerfile:2: RUN: --mount is not supported: build mounts (caches, secrets, binds) need BuildKit",
    ],
    ["RUN --network", "FROM ubuntu\nRUN --network=none make", "Dockerfile:2: RUN: --network is not supported: a RUN step always has the build's network"],
    ["RUN --security", "FROM ubuntu\nRUN --security=insecure make", "Dockerfile:2: RUN: --security is not supported: a RUN step cannot be made privileged"],
    [
      "COPY --from",
      "FROM ubuntu\nCOPY --from=build /out /out",
      "Dockerfile:2: COPY: --from is not supported: copying from another build stage or image needs a multi-stage build",
    ],
    [
      "ADD URL",
      "FROM ubuntu\nADD https://example.com/x.tgz /tmp/",
      "Dockerfile:2: ADD: remote source https://example.com/x.tgz is not supported: download it in a RUN step",
    ],
    [
      "ADD git",
      "FROM ubuntu\nADD git@github.com:a/b.git /src",
      "Dockerfile:2: ADD: remote source git@github.com:a/b.git is not supported: download it in a RUN step",
    ],
    [
      "ADD local archive",
      "FROM ubuntu\nADD vendor.tar.gz /opt/",
      "Dockerfile:2: ADD: ADD extracts local archives such as vendor.tar.gz; Cove does not: COPY it and extract it in a RUN step",
    ],
    [
      "ADD --checksum",
      "FROM ubuntu\nADD --checksum=sha256:abc f /f",
      "Dockerfile:2: ADD: --checksum is not supported: it applies to remote sources only, which Cove does not fetch",
    ],
    ["COPY source above the context", "FROM ubuntu\nCOPY ../secrets /s", "Dockerfile:2: COPY: source ../secrets is outside the build context"],
    ["COPY source escaping through a subdirectory", "FROM ubuntu\nCOPY a/../../b /s", "Dockerfile:2: COPY: source a/../../b is outside the build context"],
    [
      "COPY absolute source",
      "FROM ubuntu\nCOPY /etc/passwd /p",
      "Dockerfile:2: COPY: source /etc/passwd is absolute: sources are paths inside the build context",
    ],
    ["USER name:group", "FROM ubuntu\nUSER app:staff", 'Dockerfile:2: USER: user "app:staff" is not supported: give a user name, or a numeric uid[:gid]'],
    ["USER with capitals", "FROM ubuntu\nUSER Admin", 'Dockerfile:2: USER: user "Admin" is not supported: give a user name, or a numeric uid[:gid]'],
    [
      "${VAR#pattern}",
      "FROM ubuntu\nENV A=abc\nENV B=${A#a}",
      "Dockerfile:3: ENV: substitution ${A#...} is not supported (use $VAR, ${VAR}, ${VAR:-word}, ${VAR:+word} or ${VAR:?word})",
    ],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => refuses(text, "dockerfile_unsupported", message));
  }

  it("names the file it was given", () => {
    refuses(
      "FROM ubuntu\nVOLUME /x",
      "dockerfile_unsupported",
      "build/Dockerfile.dev:2: VOLUME: not supported: a sandbox has one root filesystem; create the directory with RUN mkdir",
      {
        fileName: "build/Dockerfile.dev",
      },
    );
  });

  it("an unknown variable is refused, unless the image's env defines it", () => {
    const unknown = (name: string) =>
      `variable ${name} is not defined (Cove substitutes variables when it parses: declare it with ARG or ENV, or give the base image's env)`;
    refuses("FROM ubuntu\nENV PATH=/x:$PATH", "dockerfile_unsupported", `Dockerfile:2: ENV: ${unknown("PATH")}`);
    refuses("FROM ubuntu\nWORKDIR ${HOME}/app", "dockerfile_unsupported", `Dockerfile:2: WORKDIR: ${unknown("HOME")}`, { imageEnv: { PATH: "/bin" } });
    refuses("FROM ubuntu\nCOPY $SRC /x", "dockerfile_unsupported", `Dockerfile:2: COPY: ${unknown("SRC")}`);
    refuses("FROM ubuntu\nCOPY --chown=$U a /x", "dockerfile_unsupported", `Dockerfile:2: COPY: ${unknown("U")}`);
    refuses("FROM ubuntu\nUSER $U", "dockerfile_unsupported", `Dockerfile:2: USER: ${unknown("U")}`);
    refuses("FROM ubuntu:$TAG", "dockerfile_unsupported", `Dockerfile:1: FROM: ${unknown("TAG")}`);
    refuses("FROM ubuntu\nARG A=$B", "dockerfile_unsupported", `Dockerfile:2: ARG: ${unknown("B")}`);
    // A pre-FROM ARG is visible in the stage only once redeclared, as in Docker.
    refuses("ARG V=1\nFROM ubuntu\nENV X=$V", "dockerfile_unsupported", `Dockerfile:3: ENV: ${unknown("V")}`);
    // FROM sees only the ARGs declared before it, never the image's env.
    refuses("FROM ubuntu:$TAG", "dockerfile_unsupported", `Dockerfile:1: FROM: ${unknown("TAG")}`, { imageEnv: { TAG: "x" } });
    assert.equal(bodySteps(parseDockerfile("FROM ubuntu\nENV P=$PATH", { imageEnv: { PATH: "/bin" } }).spec)[0]?.args[1], "/bin");
  });
});

describe("parseDockerfile: syntax errors", () => {
  const cases: Array<[string, string, string]> = [
    ["no FROM", "RUN echo hi", "Dockerfile:1: RUN: only ARG may come before FROM"],
    ["only comments", "# nothing\n\n", "Dockerfile: no FROM instruction"],
    ["unknown instruction", "FROM ubuntu\nRUNN echo", "Dockerfile:2: RUNN: unknown instruction"],
    ["FROM with extra words", "FROM ubuntu latest", "Dockerfile:1: FROM: expected FROM image[:tag|@digest] [AS name]"],
    ["COPY with one argument", "FROM ubuntu\nCOPY onlyone", "Dockerfile:2: COPY: COPY needs at least one source and a destination"],
    [
      "COPY many sources into a non-directory",
      "FROM ubuntu\nCOPY a b /dest",
      "Dockerfile:2: COPY: with more than one source the destination must be a directory ending in /: /dest",
    ],
    ["COPY --chmod not octal", "FROM ubuntu\nCOPY --chmod=u+x a /a", 'Dockerfile:2: COPY: --chmod takes an octal mode such as 0755, not "u+x"'],
    ["COPY unknown flag", "FROM ubuntu\nCOPY --frob a /a", "Dockerfile:2: COPY: unknown flag --frob"],
    ["RUN unknown flag", "FROM ubuntu\nRUN --frob=1 x", "Dockerfile:2: RUN: unknown flag --frob"],
    ["empty RUN", "FROM ubuntu\nRUN", "Dockerfile:2: RUN: RUN needs a command"],
    ["empty exec RUN", "FROM ubuntu\nRUN []", "Dockerfile:2: RUN: RUN needs a command"],
    ["ENV without value", "FROM ubuntu\nENV ONLY", "Dockerfile:2: ENV: ENV ONLY has no value: write ENV ONLY=value"],
    ["ENV pair missing =", "FROM ubuntu\nENV A=1 B", "Dockerfile:2: ENV: B is not of the form name=value"],
    ["ARG bad name", "FROM ubuntu\nARG 1X=2", 'Dockerfile:2: ARG: invalid variable name "1X"'],
    ["ENV name a shell cannot use", "FROM ubuntu\nENV my.var=1", 'Dockerfile:2: ENV: invalid variable name "my.var"'],
    ["unterminated quote", 'FROM ubuntu\nENV A="open', "Dockerfile:2: ENV: unterminated double quote"],
    ["unterminated single quote", "FROM ubuntu\nENV A='open", "Dockerfile:2: ENV: unterminated single quote"],
    ["unclosed ${", "FROM ubuntu\nENV A=${B:-x", "Dockerfile:2: ENV: a variable substitution is missing its closing brace"],
    ["${VAR:?message}", 'FROM ubuntu\nARG TOKEN\nENV T="${TOKEN:?pass --build-arg TOKEN}"', "Dockerfile:3: ENV: TOKEN: pass --build-arg TOKEN"],
    ["SHELL in shell form", "FROM ubuntu\nSHELL /bin/bash -c", 'Dockerfile:2: SHELL: SHELL takes a non-empty JSON array, e.g. SHELL ["/bin/bash", "-c"]'],
    ["WORKDIR empty", "FROM ubuntu\nWORKDIR", "Dockerfile:2: WORKDIR: WORKDIR needs a path"],
    ["bad escape directive", "# escape=x\nFROM ubuntu", 'Dockerfile:1: invalid escape character "x": use \\ or `'],
    ["escape directive twice", "# escape=`\n# escape=\\\nFROM ubuntu", "Dockerfile:2: the escape parser directive is given twice"],
    [
      "line number after continuations",
      "FROM ubuntu\nRUN a \\\n  b \\\n  c\nVOLUME x",
      "Dockerfile:5: VOLUME: not supported: a sandbox has one root filesystem; create the directory with RUN mkdir",
    ],
  ];
  for (const [name, text, message] of cases) {
    const code = message.includes("VOLUME") ? "dockerfile_unsupported" : "dockerfile_syntax";
    it(name, () => refuses(text, code, message));
  }

  it("an image reference that does not parse", () => {
    refuses("FROM Ubuntu:22.04", "invalid_image_reference", 'Dockerfile:1: FROM: invalid image reference "Ubuntu:22.04"');
  });
});
