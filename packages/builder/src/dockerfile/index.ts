export { dockerfileBaseImage, type ParseDockerfileOptions, type ParsedDockerfile, parseDockerfile } from "./parse.js";
export { shellJoin, shellQuote } from "./shell-quote.js";
