"""Run an object in another Python interpreter and call its methods over a pipe.

Real benchmarks pin old stacks (VIMA-Bench: numpy 1.26, gym 0.21) that cannot share a process with
this project (numpy >= 2). :class:`RemoteWorker` starts ``python remote.py serve`` in the user's
interpreter; the worker loads one *handler* class from a file and answers method calls.

This file is both the parent side and the worker script, so both ends share one implementation of
the protocol. It therefore imports only the standard library and numpy, and keeps to Python 3.8
syntax and numpy 1.x APIs: it runs as the worker under the benchmark's interpreter.

Protocol (both directions, one message per request or reply)::

    b"UIOR" | header length (uint32, big-endian) | payload length (uint64, big-endian)
    | header (UTF-8 JSON) | payload (raw array bytes, each block 8-byte aligned)

The header's ``"body"`` is a tagged JSON tree: JSON scalars stand for themselves, every container
is a list whose first element is a tag (``"l"`` list, ``"t"`` tuple, ``"d"`` dict as key/value
pairs so non-string keys survive, ``"a"`` array, ``"s"`` numpy scalar, ``"b"`` bytes), and
``"arrays"`` lists ``[dtype.str, shape, offset, nbytes]`` of each array block in the payload.
Dtype strings such as ``"<f4"`` mean the same thing in numpy 1 and 2, so arrays cross byte for
byte; nothing is pickled.

Failure handling: the parent waits for replies with ``select`` and checks that the worker is
alive between polls, so a crashed worker raises :class:`WorkerDiedError` (with its exit code and
the tail of its stderr) instead of hanging; exceptions raised by the handler come back as
:class:`RemoteCallError` with the remote traceback. The worker exits when its stdin reaches EOF,
which happens when the parent closes it or dies.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import json
import os
import selectors
import struct
import subprocess
import sys
import threading
import traceback
import weakref
from collections.abc import Mapping, Sequence
from typing import IO, Any

import numpy as np

PROTOCOL_VERSION = 1
_MAGIC = b"UIOR"
_PREFIX = struct.Struct(">4sIQ")
_ALIGN = 8
#: Seconds between liveness checks while waiting for a reply (not a timeout: waiting goes on).
POLL_INTERVAL = 0.2
#: Lines of the worker's stderr kept for error messages.
STDERR_TAIL_LINES = 60


class RemoteError(RuntimeError):
    """Base class of the errors raised by the remote layer."""


class ProtocolError(RemoteError):
    """A message did not follow the framing (e.g. something else wrote to the protocol pipe)."""


class WorkerDiedError(RemoteError):
    """The worker exited, or could not start; the message carries its stderr tail."""

    def __init__(self, message: str, returncode: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class RemoteCallError(RemoteError):
    """The handler raised an exception in the worker; ``remote_type`` names its class."""

    def __init__(self, method: str, remote_type: str, remote_message: str, remote_traceback: str) -> None:
        super().__init__(
            f"{method}() raised {remote_type} in the worker: {remote_message}\n"
            f"--- worker traceback ---\n{remote_traceback.rstrip()}"
        )
        self.method = method
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.remote_traceback = remote_traceback


# --------------------------------------------------------------------------- value encoding


def encode(value: Any) -> tuple[Any, list[np.ndarray]]:
    """Turn ``value`` into a JSON-able tagged tree plus the list of arrays it refers to."""
    arrays: list[np.ndarray] = []
    return _encode(value, arrays, "value"), arrays


def _encode(value: Any, arrays: list[np.ndarray], path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.ndarray):
        return ["a", _add_array(value, arrays, path)]
    if isinstance(value, np.generic):
        return ["s", _add_array(np.asarray(value), arrays, path)]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ["b", _add_array(np.frombuffer(bytes(value), dtype=np.uint8), arrays, path)]
    if isinstance(value, dict):
        return [
            "d",
            [
                [_encode(k, arrays, f"{path} key"), _encode(v, arrays, f"{path}[{k!r}]")]
                for k, v in value.items()
            ],
        ]
    if isinstance(value, list):
        return ["l", [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]]
    if isinstance(value, tuple):
        return ["t", [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]]
    raise TypeError(
        f"cannot send {type(value).__module__}.{type(value).__qualname__} at {path}: only None, bool, "
        "int, float, str, bytes, numpy arrays and scalars, and dicts/lists/tuples of them cross the pipe"
    )


def _add_array(array: np.ndarray, arrays: list[np.ndarray], path: str) -> int:
    if array.dtype.hasobject or array.dtype.fields is not None:
        raise TypeError(
            f"cannot send an array of dtype {array.dtype} at {path}: only plain numeric/bool dtypes"
        )
    arrays.append(array)
    return len(arrays) - 1


def decode(tree: Any, arrays: Sequence[np.ndarray]) -> Any:
    """Inverse of :func:`encode`."""
    if not isinstance(tree, list):
        return tree
    tag, item = tree
    if tag == "a":
        return arrays[item]
    if tag == "s":
        return arrays[item][()]
    if tag == "b":
        return arrays[item].tobytes()
    if tag == "d":
        return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in item}
    if tag == "l":
        return [decode(v, arrays) for v in item]
    if tag == "t":
        return tuple(decode(v, arrays) for v in item)
    raise ProtocolError(f"unknown value tag {tag!r}")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


# --------------------------------------------------------------------------- framing


def pack_message(header: Mapping[str, Any], body: Any = None) -> list[bytes]:
    """The byte chunks of one message whose header gets ``body`` (encoded) and its arrays."""
    tree, arrays = encode(body)
    specs: list[list[Any]] = []
    chunks: list[bytes] = []
    offset = 0
    for array in arrays:
        data = np.ascontiguousarray(array).tobytes()
        pad = (-offset) % _ALIGN
        if pad:
            chunks.append(b"\0" * pad)
            offset += pad
        specs.append([array.dtype.str, list(array.shape), offset, len(data)])
        chunks.append(data)
        offset += len(data)
    head = json.dumps(dict(header, body=tree, arrays=specs), separators=(",", ":")).encode("utf-8")
    return [_PREFIX.pack(_MAGIC, len(head), offset), head, *chunks]


def unpack_message(head: bytes, payload: bytearray) -> tuple[dict[str, Any], Any]:
    """Header dict and decoded body of a message; arrays are writable views on ``payload``."""
    header = json.loads(head.decode("utf-8"))
    view = memoryview(payload)
    arrays = []
    for dtype, shape, offset, nbytes in header.pop("arrays"):
        flat = np.frombuffer(view[offset : offset + nbytes], dtype=np.dtype(dtype))
        arrays.append(flat.reshape(shape))
    return header, decode(header.pop("body"), arrays)


def parse_prefix(prefix: bytes) -> tuple[int, int]:
    """Header and payload lengths from the fixed-size prefix; raises on a bad magic."""
    magic, head_len, payload_len = _PREFIX.unpack(prefix)
    if magic != _MAGIC:
        raise ProtocolError(
            f"bad message prefix {prefix!r}: something other than the protocol wrote to the pipe "
            "(the worker redirects prints to stderr; a C extension writing to the protocol fd would do this)"
        )
    return head_len, payload_len


# --------------------------------------------------------------------------- worker side


def _read_exact_blocking(stream: IO[bytes], n: int) -> bytearray | None:
    """``n`` bytes, or None on EOF before the first byte (a clean end)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        count = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not count:
            if got == 0:
                return None
            raise ProtocolError(f"stream ended inside a message ({got} of {n} bytes)")
        got += count
    return buf


def _receive_blocking(stream: IO[bytes]) -> tuple[dict[str, Any], Any] | None:
    prefix = _read_exact_blocking(stream, _PREFIX.size)
    if prefix is None:
        return None
    head_len, payload_len = parse_prefix(bytes(prefix))
    head = _read_exact_blocking(stream, head_len) if head_len else bytearray()
    payload = _read_exact_blocking(stream, payload_len) if payload_len else bytearray()
    if head is None or payload is None:
        raise ProtocolError("stream ended inside a message")
    return unpack_message(bytes(head), payload)


def _send(stream: IO[bytes], header: Mapping[str, Any], body: Any = None) -> None:
    for chunk in pack_message(header, body):
        stream.write(chunk)
    stream.flush()


def _error_reply(exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def _load_handler_class(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location("_uio_remote_handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load handler file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, name)


def serve(handler_path: str, handler_name: str) -> int:
    """Worker main loop: hello, then ``init`` builds the handler, then ``call``s until ``close`` or EOF.

    The protocol uses private duplicates of fds 0 and 1; fd 1 is then pointed at stderr (so prints,
    including those of C extensions such as pybullet, cannot corrupt the stream) and fd 0 at
    /dev/null.
    """
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    hello = {
        "protocol": PROTOCOL_VERSION,
        "python": ".".join(str(v) for v in sys.version_info[:3]),
        "executable": sys.executable,
        "numpy": np.__version__,
        "pid": os.getpid(),
    }
    _send(proto_out, {"ok": True}, hello)
    handler: Any = None
    while True:
        message = _receive_blocking(proto_in)
        if message is None:  # parent closed the pipe or died
            break
        header, body = message
        op = header.get("op")
        try:
            if op == "init":
                cls = _load_handler_class(handler_path, handler_name)
                handler = cls(*body["args"], **body["kwargs"])
                result: Any = None
            elif op == "call":
                method = header["method"]
                if handler is None:
                    raise RuntimeError("the handler is not initialised (send 'init' first)")
                if method.startswith("_"):
                    raise AttributeError(f"refusing to call private method {method!r}")
                result = getattr(handler, method)(*body["args"], **body["kwargs"])
            elif op == "close":
                if handler is not None and hasattr(handler, "close"):
                    handler.close()
                handler = None
                _send(proto_out, {"ok": True}, None)
                return 0
            else:
                raise ProtocolError(f"unknown op {op!r}")
            try:
                _send(proto_out, {"ok": True}, result)
            except TypeError as exc:  # the result cannot cross: report instead of dying
                _send(proto_out, _error_reply(exc), None)
        except BrokenPipeError:
            return 1
        except Exception as exc:
            _send(proto_out, _error_reply(exc), None)
    if handler is not None and hasattr(handler, "close"):
        try:
            handler.close()
        except Exception:
            traceback.print_exc()
    return 0


# --------------------------------------------------------------------------- parent side


class _StderrTail:
    """Drains the worker's stderr in a thread (a full pipe would block it) and keeps the last lines."""

    def __init__(self, stream: IO[bytes], echo: bool) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._echo = echo
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True, name="remote-stderr")
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.lines.append(line)
            if self._echo:
                print(f"[worker] {line}", file=sys.stderr)
        stream.close()

    def text(self, wait: float = 0.0) -> str:
        if wait:
            self._thread.join(wait)  # after an exit, let the last lines (a traceback) arrive
        return "\n".join(self.lines)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


class RemoteWorker:
    """One handler object living in a worker process of interpreter ``python``.

    ``handler`` is ``"/path/to/file.py:ClassName"``; the file must import only what the worker's
    interpreter has. ``args``/``kwargs`` go to the handler's constructor. ``env`` adds environment
    variables (e.g. ``PYTHONPATH``) to the worker's. Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        handler: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        echo_stderr: bool = False,
    ) -> None:
        path, _, name = handler.rpartition(":")
        if not path or not name:
            raise ValueError(f"handler must be 'path/to/file.py:ClassName', got {handler!r}")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"handler file {path} does not exist")
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._closed = False
        #: Why the worker can no longer be used (it died, or a reply was interrupted mid-stream).
        self._broken: str | None = None
        worker_env = dict(os.environ)
        worker_env.update(env or {})
        worker_env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            self._proc = subprocess.Popen(
                [self.python, os.path.abspath(__file__), "serve", path, name],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=worker_env,
                bufsize=0,
            )
        except OSError as exc:
            raise WorkerDiedError(f"cannot start the worker interpreter {self.python!r}: {exc}") from exc
        assert (
            self._proc.stdin is not None and self._proc.stdout is not None and self._proc.stderr is not None
        )
        self._stdin = self._proc.stdin
        self._stdout = self._proc.stdout
        self._stderr = _StderrTail(self._proc.stderr, echo_stderr)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        # Kill the worker if this object is collected or the interpreter exits without close().
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        try:
            header, hello = self._receive("start")
            if not header.get("ok") or not isinstance(hello, dict):
                raise ProtocolError(f"unexpected first message from the worker: {header!r}")
            if hello.get("protocol") != PROTOCOL_VERSION:
                raise ProtocolError(
                    f"worker speaks protocol {hello.get('protocol')}, this side {PROTOCOL_VERSION}: "
                    "both ends must come from the same uio-agent checkout"
                )
            self.info: dict[str, Any] = hello
            self._request({"op": "init"}, {"args": list(args), "kwargs": dict(kwargs or {})}, "init")
        except BaseException:
            self.close()
            raise

    # -- public API

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return not self._closed and self._broken is None and self._proc.poll() is None

    def stderr_tail(self) -> str:
        """The last lines the worker wrote to stderr."""
        return self._stderr.text()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``handler.method(*args, **kwargs)`` in the worker and return its (decoded) result."""
        if self._closed or self._broken:
            raise RemoteError(f"cannot call {method}(): the worker is {self._broken or 'closed'}")
        return self._request({"op": "call", "method": method}, {"args": list(args), "kwargs": kwargs}, method)

    def close(self) -> None:
        """Ask the worker to close its handler and exit; kill it if it does not. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._proc.poll() is None:
                with self._lock:
                    for chunk in pack_message({"op": "close"}, None):
                        self._stdin.write(chunk)
                    self._stdin.flush()
                    self._stdin.close()
                    self._proc.wait(timeout=10.0)  # shutdown only: the handler's close() gets 10 s
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        finally:
            _kill(self._proc)
            self._selector.close()
            for stream in (self._stdin, self._stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            self._finalizer.detach()

    def __enter__(self) -> RemoteWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals

    def _request(self, header: Mapping[str, Any], body: Any, what: str) -> Any:
        chunks = pack_message(header, body)  # encoding errors surface before anything is sent
        with self._lock:
            try:
                try:
                    for chunk in chunks:
                        self._stdin.write(chunk)
                    self._stdin.flush()
                except (BrokenPipeError, ValueError, OSError) as exc:
                    raise self._died(what) from exc
                reply_header, reply = self._receive(what)
            except BaseException:
                # Died, garbled, or interrupted (Ctrl-C) mid-reply: the stream position is lost.
                if self._broken is None:
                    self._broken = f"unusable after an interrupted {what}()"
                _kill(self._proc)
                raise
        if not reply_header.get("ok"):
            raise RemoteCallError(
                what,
                reply_header.get("type", "?"),
                reply_header.get("message", ""),
                reply_header.get("traceback", ""),
            )
        return reply

    def _receive(self, what: str) -> tuple[dict[str, Any], Any]:
        head_len, payload_len = parse_prefix(bytes(self._read_exact(_PREFIX.size, what)))
        head = self._read_exact(head_len, what)
        payload = self._read_exact(payload_len, what)
        return unpack_message(bytes(head), payload)

    def _read_exact(self, n: int, what: str) -> bytearray:
        """Read ``n`` bytes, checking between polls that the worker is still alive."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            if not self._selector.select(POLL_INTERVAL):
                if self._proc.poll() is not None:
                    raise self._died(what)
                continue
            count = self._stdout.readinto(view[got:])  # type: ignore[attr-defined]
            if not count:
                raise self._died(what)
            got += count
        return buf

    def _died(self, what: str) -> WorkerDiedError:
        try:
            returncode = self._proc.wait(timeout=5.0)  # the pipe closed: the exit follows at once
        except subprocess.TimeoutExpired:
            _kill(self._proc)
            returncode = self._proc.returncode
        self._broken = f"dead (it died during {what}())"
        tail = self._stderr.text(wait=2.0)
        how = f"exit code {returncode}" if returncode is None or returncode >= 0 else f"signal {-returncode}"
        return WorkerDiedError(
            f"the worker ({self.python}, pid {self._proc.pid}) died during {what}() ({how}).\n"
            f"--- worker stderr (last lines) ---\n{tail or '(empty)'}",
            returncode=returncode,
            stderr_tail=tail,
        )


class LocalWorker:
    """:class:`RemoteWorker`'s interface around an in-process handler.

    Results still go through the protocol's encoder, so both modes return the same types and never
    share arrays with the simulator.
    """

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.info = {
            "protocol": PROTOCOL_VERSION,
            "python": ".".join(str(v) for v in sys.version_info[:3]),
            "in_process": True,
        }
        self._closed = False

    @property
    def alive(self) -> bool:
        return not self._closed

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise RemoteError(f"cannot call {method}(): the handler is closed")
        if method.startswith("_"):
            raise AttributeError(f"refusing to call private method {method!r}")
        tree, arrays = encode(getattr(self.handler, method)(*args, **kwargs))
        return decode(tree, [np.array(a, copy=True) for a in arrays])

    def stderr_tail(self) -> str:
        return ""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if hasattr(self.handler, "close"):
                self.handler.close()

    def __enter__(self) -> LocalWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    # Worker entry point: python remote.py serve HANDLER_FILE CLASS_NAME. The script's folder
    # (src/uio_agent/envs) must not shadow the benchmark's imports.
    if len(sys.argv) != 4 or sys.argv[1] != "serve":
        sys.exit("usage: python remote.py serve HANDLER_FILE CLASS_NAME")
    script_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != script_dir]
    sys.exit(serve(sys.argv[2], sys.argv[3]))
