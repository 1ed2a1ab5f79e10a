// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text is full of ${VAR} on purpose
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BuildStep } from "../src/build-spec.js";
import { dockerfileBaseImage, parseDockerfile } from "../src/index.js";
import { bodySteps } from "./helpers/dockerfile-steps.js";

const step = (type: BuildStep["type"], ...args: string[]): BuildStep => ({ type, args, force: false });

/** The steps after a `FROM ubuntu:22.04` line. */
function steps(body: string, options: Parameters<typeof parseDockerfile>[1] = {}): BuildStep[] {
  return bodySteps(parseDockerfile(`FROM ubuntu:22.04\n${body}`, options).spec);
}

describe("parseDockerfile: instructions", () => {
  it("FROM names the base image: tag, digest, registry with port, AS name", () => {
    const cases: Array<[string, string]> = [
      ["FROM ubuntu:22.04", "ubuntu:22.04"],
      ["FROM python", "python"],
      ["from node:20-slim AS build", "node:20-slim"],
      ["FROM localhost:5000/team/app:v1.2", "localhost:5000/team/app:v1.2"],
      [`FROM alpine@sha256:${"a".repeat(64)}`, `alpine@sha256:${"a".repeat(64)}`],
    ];
    for (const [text, image] of cases) {
      const { spec, warnings } = parseDockerfile(text);
      const frame = [step("USER", "root"), step("WORKDIR", "/"), step("USER", "user"), step("WORKDIR", "/home/user")];
      assert.deepEqual(spec, { source: { kind: "image", image }, steps: frame, force: false }, text);
      assert.deepEqual(warnings, []);
    }
  });

  it("RUN shell form is the command line as written, continuations joined", () => {
    assert.deepEqual(steps("RUN apt-get update && \\\n    apt-get install -y curl"), [step("RUN", "apt-get update &&     apt-get install -y curl")]);
    assert.deepEqual(steps("run echo $HOME ${USER}"), [step("RUN", "echo $HOME ${USER}")], "the shell expands RUN's variables, not the parser");
  });

  it("RUN text that only looks like a heredoc", () => {
    assert.deepEqual(steps(`RUN echo $((1<<FOO)) "<<EOF" 'x <<EOF'\nRUN cat <<<"here string"`), [
      step("RUN", `echo $((1<<FOO)) "<<EOF" 'x <<EOF'`),
      step("RUN", `cat <<<"here string"`),
    ]);
  });

  it("RUN exec form becomes a quoted shell command line", () => {
    assert.deepEqual(steps(`RUN ["echo", "it's", "a b", "$HOME"]`), [step("RUN", `echo 'it'\\''s' 'a b' '$HOME'`)]);
    assert.deepEqual(steps(`RUN ["/bin/sh", "-c", "echo hi"]`), [step("RUN", "echo hi")]);
    assert.deepEqual(steps(`RUN [""]`), [step("RUN", "''")]);
  });

  it("SHELL wraps later shell-form RUN lines, not exec-form ones nor earlier ones", () => {
    assert.deepEqual(steps(`RUN echo a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN echo $0 | cat\nRUN ["ls", "-l"]`), [
      step("RUN", "echo a"),
      step("RUN", "/bin/bash -o pipefail -c 'echo $0 | cat'"),
      step("RUN", "ls -l"),
    ]);
  });

  it("COPY: one step per source, --chown and --chmod, exec form", () => {
    assert.deepEqual(steps("COPY --chown=app:app --chmod=755 a.sh lib/ /opt/app/"), [
      step("COPY", "a.sh", "/opt/app/", "app:app", "0755"),
      step("COPY", "lib/", "/opt/app/", "app:app", "0755"),
    ]);
    assert.deepEqual(steps(`COPY ["my file.txt", "/dest dir/"]`), [step("COPY", "my file.txt", "/dest dir/", "", "")]);
    assert.deepEqual(steps("COPY --chmod=0600 key /root/.ssh/key"), [step("COPY", "key", "/root/.ssh/key", "", "0600")]);
    assert.deepEqual(steps("COPY --link . ."), [step("COPY", ".", ".", "", "")]);
    assert.deepEqual(steps(`COPY "a b" 'c d' /x/`), [step("COPY", "a b", "/x/", "", ""), step("COPY", "c d", "/x/", "", "")]);
  });

  it("ADD of local files is a COPY", () => {
    assert.deepEqual(steps("ADD --chown=1000 config.json /etc/app/"), [step("COPY", "config.json", "/etc/app/", "1000", "")]);
  });

  it("ENV in both forms, quotes removed, values seeing only earlier lines", () => {
    assert.deepEqual(steps(`ENV A=1 B="two words" C='$A' D=\\$A\nENV LEGACY some  value\nENV E=$A F=\${B}`), [
      step("ENV", "A", "1", "B", "two words", "C", "$A", "D", "$A"),
      step("ENV", "LEGACY", "some  value"),
      step("ENV", "E", "1", "F", "two words"),
    ]);
    assert.deepEqual(steps("ENV A=1\nENV A=2 B=$A"), [step("ENV", "A", "1"), step("ENV", "A", "2", "B", "1")]);
  });

  it("ARG: defaults, build-arg overrides, declaration without value, pre-FROM ARGs brought in", () => {
    const { spec, warnings } = parseDockerfile("ARG VERSION=1.0\nFROM ubuntu\nARG VERSION\nARG A=x B\nARG C=default\nENV V=$VERSION-$A-${B:-none}-$C", {
      buildArgs: { C: "override", UNUSED: "1" },
    });
    assert.deepEqual(bodySteps(spec), [
      step("ARG", "VERSION", "1.0"),
      step("ARG", "A", "x"),
      step("ARG", "C", "override"),
      step("ENV", "V", "1.0-x-none-override"),
    ]);
    assert.deepEqual(warnings, ["Dockerfile: build arg UNUSED was given but no ARG declares it"]);
  });

  it("an ENV wins over a later ARG of the same name, which sends no step", () => {
    assert.deepEqual(steps("ENV X=env\nARG X=arg\nWORKDIR /$X"), [step("ENV", "X", "env"), step("WORKDIR", "/env")]);
    assert.deepEqual(steps("ARG HOME=/arg\nWORKDIR $HOME", { imageEnv: { HOME: "/root" } }), [step("WORKDIR", "/root")], "the image's ENV too");
  });

  it("WORKDIR: absolute, relative to the previous one, substituted", () => {
    assert.deepEqual(steps("WORKDIR /app\nWORKDIR src\nWORKDIR ../lib\nENV D=/data\nWORKDIR $D/x"), [
      step("WORKDIR", "/app"),
      step("WORKDIR", "/app/src"),
      step("WORKDIR", "/app/lib"),
      step("ENV", "D", "/data"),
      step("WORKDIR", "/data/x"),
    ]);
    assert.deepEqual(steps("WORKDIR rel"), [step("WORKDIR", "/rel")], "relative to the opening WORKDIR /");
  });

  it("opens as root in / and, unless the Dockerfile chose them, ends on E2B's user and workdir (as the SDK's fromDockerfile)", () => {
    const all = (body: string) => parseDockerfile(`FROM ubuntu\n${body}`).spec.steps;
    const opening = [step("USER", "root"), step("WORKDIR", "/")];
    assert.deepEqual(all("RUN apt-get update"), [...opening, step("RUN", "apt-get update"), step("USER", "user"), step("WORKDIR", "/home/user")]);
    assert.deepEqual(all("USER app\nRUN id"), [...opening, step("USER", "app"), step("RUN", "id"), step("WORKDIR", "/home/user")]);
    assert.deepEqual(all("WORKDIR /srv\nRUN pwd"), [...opening, step("WORKDIR", "/srv"), step("RUN", "pwd"), step("USER", "user")]);
    assert.deepEqual(all("WORKDIR /srv\nUSER root"), [...opening, step("WORKDIR", "/srv"), step("USER", "root")]);
  });

  it("USER with and without group, substituted", () => {
    assert.deepEqual(steps("ARG U=app\nUSER $U\nUSER 1000:1000"), [step("ARG", "U", "app"), step("USER", "app"), step("USER", "1000:1000")]);
  });

  it("LABEL, EXPOSE and MAINTAINER are ignored with a warning naming the line", () => {
    const { spec, warnings } = parseDockerfile('FROM ubuntu\nLABEL a="b"\nEXPOSE 8080/tcp\nMAINTAINER me\nHEALTHCHECK NONE');
    assert.deepEqual(bodySteps(spec), []);
    assert.deepEqual(warnings, [
      "Dockerfile:2: LABEL: ignored: templates have no image labels",
      "Dockerfile:3: EXPOSE: ignored: every port of a sandbox is reachable through its host name",
      "Dockerfile:4: MAINTAINER: ignored: deprecated by Docker, and templates have no image labels",
    ]);
  });

  it("dockerfileBaseImage substitutes pre-FROM ARGs and build args", () => {
    const text = "# syntax=docker/dockerfile:1\nARG REG=docker.io\nARG TAG=3.12\nFROM ${REG}/library/python:${TAG}-slim\nRUN x";
    assert.equal(dockerfileBaseImage(text), "docker.io/library/python:3.12-slim");
    assert.equal(dockerfileBaseImage(text, { buildArgs: { TAG: "3.13" } }), "docker.io/library/python:3.13-slim");
  });

  it("imageEnv supplies the base image's variables", () => {
    const { spec } = parseDockerfile("FROM python\nENV PATH=/opt/venv/bin:$PATH\nWORKDIR $HOME", { imageEnv: { PATH: "/usr/bin:/bin", HOME: "/root" } });
    assert.deepEqual(bodySteps(spec), [step("ENV", "PATH", "/opt/venv/bin:/usr/bin:/bin"), step("WORKDIR", "/root")]);
  });
});

describe("parseDockerfile: start command", () => {
  const start = (body: string) => parseDockerfile(`FROM ubuntu\n${body}`);
  const cases: Array<[string, string, string | undefined]> = [
    ["no CMD nor ENTRYPOINT", "RUN x", undefined],
    ["CMD shell form", "CMD python -m http.server 8000", "python -m http.server 8000"],
    ["CMD exec form", `CMD ["python", "-c", "print('hi')"]`, `python -c 'print('\\''hi'\\'')'`],
    ["the last CMD wins", "CMD first\nCMD second", "second"],
    ["ENTRYPOINT exec + CMD exec", `ENTRYPOINT ["node"]\nCMD ["server.js", "--port", "80"]`, "node server.js --port 80"],
    ["CMD before ENTRYPOINT still applies", `CMD ["server.js"]\nENTRYPOINT ["node"]`, "node server.js"],
    ["ENTRYPOINT exec + CMD shell", `ENTRYPOINT ["tini", "--"]\nCMD run.sh && wait`, "tini -- /bin/sh -c 'run.sh && wait'"],
    ["ENTRYPOINT shell form alone", "ENTRYPOINT exec nginx -g 'daemon off;'", "exec nginx -g 'daemon off;'"],
    ["ENTRYPOINT exec alone", `ENTRYPOINT ["sleep", "infinity"]`, "sleep infinity"],
    ["empty exec forms", `ENTRYPOINT []\nCMD []`, undefined],
    ["CMD shell form through SHELL", `SHELL ["/bin/bash", "-c"]\nCMD echo $$`, "/bin/bash -c 'echo $$'"],
  ];
  for (const [name, body, expected] of cases) {
    it(name, () => {
      const { spec, warnings } = start(body);
      assert.equal(spec.startCmd, expected);
      assert.equal("startCmd" in spec, expected !== undefined);
      assert.deepEqual(warnings, []);
    });
  }

  it("a shell-form ENTRYPOINT ignores CMD, with a warning", () => {
    const { spec, warnings } = start(`ENTRYPOINT ./run.sh\nCMD ["--verbose"]`);
    assert.equal(spec.startCmd, "./run.sh");
    assert.deepEqual(warnings, ["Dockerfile: CMD ignored: a shell-form ENTRYPOINT does not take CMD's arguments"]);
  });
});
