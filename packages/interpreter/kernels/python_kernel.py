"""Cove's Python kernel: one IPython InteractiveShell in this process.

Protocol (see src/kernels/protocol.ts): the server writes one JSON command per
line on fd 4; this process answers with JSON events on fd 3. Python's
sys.stdout and sys.stderr are "stream" events too (EventStream); programs the
user starts write to the real fd 1 and 2. After each execution the token is
written to fd 1 and fd 2, then a "done" event, so the server knows both
streams are drained before it ends the execution.
"""

import base64
import io
import json
import math
import os
import signal
import sys
import threading

# Figures are rendered by matplotlib-inline (PNG through IPython's display
# machinery) only when the user imports matplotlib; nothing is imported early.
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

# The protocol's pipes are not passed on to programs the user starts.
os.set_inheritable(3, False)
os.set_inheritable(4, False)
COMMANDS = os.fdopen(4, "r", encoding="utf-8")
EVENTS = os.fdopen(3, "w", encoding="utf-8", buffering=1)

from IPython.core.displayhook import DisplayHook  # noqa: E402
from IPython.core.displaypub import DisplayPublisher  # noqa: E402
from IPython.core.formatters import BaseFormatter, JSONFormatter  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets.config import Config  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cove_charts import figure_to_chart  # noqa: E402
import cove_images  # noqa: E402


def to_json_value(value):
    """Makes a value JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        # Binary MIME data (a PIL image's _repr_png_) travels base64-encoded, as Jupyter sends it.
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        try:
            return to_json_value(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "tolist"):
        return to_json_value(value.tolist())
    return str(value)


_emit_lock = threading.Lock()


def emit(event):
    line = json.dumps(to_json_value(event), ensure_ascii=True) + "\n"
    with _emit_lock:
        EVENTS.write(line)
        EVENTS.flush()


class EventStream(io.TextIOBase):
    """sys.stdout and sys.stderr: text goes out as "stream" events on the
    event pipe, so it keeps its order with results and errors. Whole lines go
    at once; a partial line waits for its newline, a flush, or the cell's end.
    Programs the user starts still write to the real fd 1 and 2."""

    def __init__(self, name, fd):
        super().__init__()
        self.name = name
        self._fd = fd
        self._buffer = ""
        self._lock = threading.Lock()

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._buffer += text
            cut = self._buffer.rfind("\n") + 1
            if cut == 0 and len(self._buffer) < 8192:
                return len(text)
            if cut == 0:
                cut = len(self._buffer)
            out, self._buffer = self._buffer[:cut], self._buffer[cut:]
        emit({"type": "stream", "name": self.name, "text": out})
        return len(text)

    def flush(self):
        with self._lock:
            out, self._buffer = self._buffer, ""
        if out:
            emit({"type": "stream", "name": self.name, "text": out})


def emit_bundle(data, main):
    if data:
        emit({"type": "result", "main": main, "data": data})


class CoveDisplayHook(DisplayHook):
    """The value of a cell's last expression becomes the main result."""

    def write_output_prompt(self):
        pass

    def compute_format_data(self, result):
        data = super().compute_format_data(result)
        # A figure shown as the main result is closed, so matplotlib-inline does
        # not show it a second time when the cell ends.
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None and isinstance(result, pyplot.Figure):
            pyplot.close(result)
        return data

    def write_format_data(self, format_dict, md_dict=None):
        emit_bundle(format_dict, True)

    def finish_displayhook(self):
        sys.stdout.flush()
        sys.stderr.flush()


class CoveDisplayPublisher(DisplayPublisher):
    """display(), plt.show() and IPython.display objects become extra results."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        sys.stdout.flush()
        sys.stderr.flush()
        emit_bundle(data, False)

    def clear_output(self, wait=False):
        pass


class CoveShell(InteractiveShell):
    def _showtraceback(self, etype, evalue, stb):
        emit(
            {
                "type": "error",
                "name": getattr(etype, "__name__", str(etype)),
                "value": str(evalue),
                "traceback": "\n".join(stb) if isinstance(stb, list) else str(stb),
            }
        )


class DataFrameFormatter(BaseFormatter):
    """pandas DataFrames as {column: [values]} under the e2b/data MIME type."""

    format_type = "e2b/data"
    _return_type = (dict,)

    def __call__(self, obj):
        pandas = sys.modules.get("pandas")
        if pandas is None or not isinstance(obj, pandas.DataFrame):
            return None
        try:
            return to_json_value(obj.to_dict(orient="list"))
        except Exception:  # noqa: BLE001 - a broken frame still shows as text/html
            return None


class ChartFormatter(BaseFormatter):
    """matplotlib figures described as E2B charts under the e2b/chart MIME type."""

    format_type = "e2b/chart"
    _return_type = (dict,)

    def __call__(self, obj):
        if sys.modules.get("matplotlib.figure") is None:
            return None
        from matplotlib.figure import Figure

        if not isinstance(obj, Figure):
            return None
        try:
            return to_json_value(figure_to_chart(obj))
        except Exception:  # noqa: BLE001 - extraction is best effort; the PNG stays
            return None


class PlainJSONFormatter(JSONFormatter):
    """Lists and dicts that are valid JSON also get an application/json form."""

    def __call__(self, obj):
        if isinstance(obj, (list, dict)):
            try:
                json.dumps(obj, allow_nan=False)
                return obj
            except (TypeError, ValueError):
                pass
        return super().__call__(obj)


def make_shell():
    config = Config()
    # History in memory: kernels of many contexts would otherwise share one SQLite file.
    config.HistoryManager.hist_file = ":memory:"
    shell = CoveShell.instance(config=config, displayhook_class=CoveDisplayHook, display_pub_class=CoveDisplayPublisher, colors="NoColor")
    formatter = shell.display_formatter
    formatter.formatters["e2b/data"] = DataFrameFormatter(parent=formatter)
    formatter.formatters["e2b/chart"] = ChartFormatter(parent=formatter)
    formatter.formatters["application/json"] = PlainJSONFormatter(parent=formatter)
    cove_images.install()
    return shell


def finish(token):
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    for fd in (1, 2):
        try:
            os.write(fd, token.encode("ascii"))
        except OSError:
            pass
    emit({"type": "done"})


def execute(shell, command):
    env = command.get("env") or {}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        emit({"type": "started", "execution_count": shell.execution_count})
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            shell.run_cell(command["code"], store_history=True)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        # Arrived after the cell had finished: nothing left to interrupt.
        pass
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        finish(command["token"])


def main():
    # SIGINT interrupts a running cell (KeyboardInterrupt); between cells it is ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout = EventStream("stdout", 1)
    sys.stderr = EventStream("stderr", 2)
    shell = make_shell()
    # A first cell costs several times a later one (IPython's transformers, compiler and formatters
    # load on first use): pay it before "ready", without touching the execution count or history.
    shell.run_cell("None", store_history=False, silent=True)
    shell.display_formatter.format(0)
    emit({"type": "ready"})
    for line in COMMANDS:
        execute(shell, json.loads(line))
    # The server closed the commands pipe (it exited): end now, whatever threads the user left running.
    os._exit(0)


if __name__ == "__main__":
    main()
