import { StringDecoder } from "node:string_decoder";

/**
 * Splits one output pipe of a kernel into lines for the current execution and
 * watches for the execution's end token. Complete lines go out at once; a
 * partial line goes out when its newline arrives, when the token arrives, or
 * when `flushPartial` is called (a timer in the caller). Text after a token,
 * or with no execution running, is dropped.
 */
export class OutputStream {
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private token: string | undefined;
  private emit: ((text: string) => void) | undefined;
  private onToken: (() => void) | undefined;

  /** Starts routing output to `emit` until `token` is seen, then calls `onToken`. */
  begin(token: string, emit: (text: string) => void, onToken: () => void): void {
    this.buffer = "";
    this.token = token;
    this.emit = emit;
    this.onToken = onToken;
  }

  /** Stops routing (the execution ended without its token); emits what is buffered. */
  end(): void {
    this.flushPartial();
    this.token = undefined;
    this.emit = undefined;
    this.onToken = undefined;
    this.buffer = "";
  }

  push(chunk: Buffer): void {
    this.write(this.decoder.write(chunk));
  }

  private write(text: string): void {
    if (this.token === undefined || this.emit === undefined) return;
    this.buffer += text;
    const at = this.buffer.indexOf(this.token);
    if (at !== -1) {
      emitLines(this.buffer.slice(0, at), this.emit);
      const onToken = this.onToken;
      this.token = undefined;
      this.emit = undefined;
      this.onToken = undefined;
      this.buffer = "";
      onToken?.();
      return;
    }
    const lastNewline = this.buffer.lastIndexOf("\n");
    if (lastNewline === -1) return;
    const lines = this.buffer.slice(0, lastNewline + 1);
    this.buffer = this.buffer.slice(lastNewline + 1);
    emitLines(lines, this.emit);
  }

  /** Emits a buffered partial line, keeping back what could be the start of the token. */
  flushPartial(): void {
    if (this.emit === undefined || this.buffer.length === 0) return;
    const keep = this.token === undefined ? 0 : longestTokenPrefixSuffix(this.buffer, this.token);
    const out = this.buffer.slice(0, this.buffer.length - keep);
    this.buffer = this.buffer.slice(this.buffer.length - keep);
    if (out.length > 0) this.emit(out);
  }
}

function emitLines(text: string, emit: (text: string) => void): void {
  for (const line of text.split(/(?<=\n)/)) if (line.length > 0) emit(line);
}

/** Length of the longest suffix of `text` that is a prefix of `token`. */
function longestTokenPrefixSuffix(text: string, token: string): number {
  for (let n = Math.min(text.length, token.length - 1); n > 0; n--) {
    if (token.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}
