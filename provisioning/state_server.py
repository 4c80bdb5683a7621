"""Terraform's "http" state backend, served from inside the worker for the length of one run.

Terraform never keeps state on the worker's disk: it reads and writes it through this server,
which hands every call to a `StateStore` (the app layer's is database-backed, encrypted and
versioned). The server binds 127.0.0.1 on a free port and wants HTTP basic auth with credentials
made afresh for each run, so nothing else on the machine can read or overwrite the state.

In an isolated run (see `provisioning.isolation`) the server listens on a Unix socket instead,
bound into the run's sandbox alone; nothing on the host's network can reach it then.

Locking follows Terraform's http backend protocol: `LOCK` and `UNLOCK` on the state address with
Terraform's lock info as the body; a lock held by someone else is refused with 423 and the
holder's info, which Terraform turns into "Error acquiring the state lock". The lock lives in the
store, not in the server, because two runs of one deployment each have their own server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import socketserver
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

STATE_PATH = "/state"
DEFAULT_MAX_STATE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class StateLock:
    """A lock as Terraform describes it: its ID, and the JSON lock info it sent verbatim.

    The info (who, operation, when) goes back to a refused locker, so Terraform can print it.
    """

    id: str
    info: bytes


class StateStore(Protocol):
    """Where the state of one deployment lives. Implementations must be safe across threads
    (the server answers each request in a thread) and, for the app's store, across processes."""

    def load(self) -> bytes | None:
        """The current state JSON, or None before the first apply."""
        ...

    def save(self, state: bytes) -> None:
        """Store a new state version. The server calls it only for the current lock holder."""
        ...

    def lock(self, lock: StateLock) -> StateLock | None:
        """Take the lock atomically: None when taken, else the lock that holds it already."""
        ...

    def unlock(self, lock_id: str) -> StateLock | None:
        """Release `lock_id`: None when released (or nothing was locked), else the other holder."""
        ...

    def current_lock(self) -> StateLock | None:
        """The lock held now, if any."""
        ...


class InMemoryStateStore:
    """A StateStore in a Python object, for tests and one-off runs. It keeps every version."""

    def __init__(self, state: bytes | None = None) -> None:
        self._mutex = threading.Lock()
        self.versions: list[bytes] = [state] if state is not None else []
        self._lock: StateLock | None = None

    def load(self) -> bytes | None:
        with self._mutex:
            return self.versions[-1] if self.versions else None

    def save(self, state: bytes) -> None:
        with self._mutex:
            self.versions.append(bytes(state))

    def lock(self, lock: StateLock) -> StateLock | None:
        with self._mutex:
            if self._lock is not None and self._lock.id != lock.id:
                return self._lock
            self._lock = lock
            return None

    def unlock(self, lock_id: str) -> StateLock | None:
        with self._mutex:
            if self._lock is not None and self._lock.id != lock_id:
                return self._lock
            self._lock = None
            return None

    def current_lock(self) -> StateLock | None:
        with self._mutex:
            return self._lock

    def force_unlock(self) -> None:
        """What an operator does after a worker died holding the lock."""
        with self._mutex:
            self._lock = None


def state_serial(state: bytes | None) -> int | None:
    """The serial of a state JSON document; None for no state (or one without a lineage yet).

    Terraform bumps the serial on every write, so a plan made at serial N is stale once the
    store holds another serial: the app compares before it starts an apply.
    """
    if not state:
        return None
    try:
        doc = json.loads(state)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not doc.get("lineage"):
        return None
    serial = doc.get("serial")
    return serial if isinstance(serial, int) else None


class StateServer:
    """Serve one StateStore to Terraform over HTTP on 127.0.0.1 while the `with` block lasts.

    Leaving the block stops the server and releases any lock that this server granted and
    Terraform did not release (a Terraform killed by SIGKILL leaves one behind): the caller
    leaves the block only once its Terraform processes have exited, so such a lock is orphaned.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        max_state_bytes: int = DEFAULT_MAX_STATE_BYTES,
        unix_path: str | os.PathLike[str] | None = None,
    ):
        self.store = store
        self.unix_path = str(unix_path) if unix_path is not None else None
        self.max_state_bytes = max_state_bytes
        self.username = "mcloud"
        self.password = secrets.token_urlsafe(32)
        self._granted: set[str] = set()
        self._granted_mutex = threading.Lock()
        self._httpd: _Server | _UnixServer | None = None
        self._thread: threading.Thread | None = None
        self.expect_no_state = False
        self.refused_stale = False
        self._saved = False  # whether this server stored a state

    def __enter__(self) -> StateServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self.unix_path is not None:
            self._httpd = _UnixServer(self.unix_path, _Handler, self)
        else:
            self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="terraform-state-server",
            daemon=True,
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """The state's URL on the host's loopback (not for a server on a Unix socket)."""
        if not isinstance(self._httpd, _Server):
            raise RuntimeError("the state server is not started on TCP")
        host, port = self._httpd.server_address[:2]
        if isinstance(host, bytes | bytearray):  # a str, for a TCP server
            host = host.decode()
        return f"http://{host}:{port}{STATE_PATH}"

    def backend_env(self, origin: str | None = None) -> dict[str, str]:
        """Terraform 1.0.3's http backend reads its settings from these variables.

        They stay out of the plan file (which records only the backend block, empty here), so
        a plan made against this server applies later against another run's server. `origin`
        (`http://host:port`) is where Terraform reaches the server when it is not on the
        host's loopback, such as a forwarder inside a sandbox.
        """
        address = f"{origin}{STATE_PATH}" if origin else self.address
        return {
            "TF_HTTP_ADDRESS": address,
            "TF_HTTP_LOCK_ADDRESS": address,
            "TF_HTTP_UNLOCK_ADDRESS": address,
            "TF_HTTP_USERNAME": self.username,
            "TF_HTTP_PASSWORD": self.password,
            # A local server answers or is gone: one quick retry is plenty.
            "TF_HTTP_RETRY_MAX": "1",
            "TF_HTTP_RETRY_WAIT_MIN": "1",
            "TF_HTTP_RETRY_WAIT_MAX": "2",
        }

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
            if self.unix_path is not None and os.path.exists(self.unix_path):
                os.unlink(self.unix_path)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._granted_mutex:
            leftover, self._granted = self._granted, set()
        for lock_id in leftover:
            if self.store.unlock(lock_id) is None:
                logger.warning("released state lock %s left behind by Terraform", lock_id)

    def expect_empty_state(self, expect: bool = True) -> None:
        """Refuse to hand any state to a plan that was made when there was none.

        Terraform 1.0.3 refuses a saved plan whose state snapshot is older than the stored state
        ("Saved plan is stale"), except when the plan was made with no state at all: it then
        applies it over the state that appeared since, and the resources recorded there drop
        out of it. Refusing the read stops that apply before it changes anything.
        """
        self.expect_no_state = expect
        self._saved = False

    def lock_is_free_or_ours(self) -> bool:
        """Whether nobody holds the lock but (perhaps) a Terraform that this server served."""
        lock = self.store.current_lock()
        with self._granted_mutex:
            return lock is None or lock.id in self._granted

    def _remember(self, lock_id: str, held: bool) -> None:
        with self._granted_mutex:
            if held:
                self._granted.add(lock_id)
            else:
                self._granted.discard(lock_id)

    def _authorized(self, header: str | None) -> bool:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return hmac.compare_digest((header or "").encode(), f"Basic {token}".encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, owner: StateServer) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, handler: type, owner: StateServer) -> None:
        self.owner = owner
        super().__init__(path, handler)


class _Handler(BaseHTTPRequestHandler):
    server: (
        _Server | _UnixServer
    )  # HTTP/1.0: one request per connection, so no thread outlives the server

    # --- Terraform's methods -------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._admit():
            return
        owner = self.server.owner
        state = owner.store.load()
        if state is not None and owner.expect_no_state and not owner._saved:
            owner.refused_stale = True
            self._reply(HTTPStatus.CONFLICT, b"stale plan: made before this state existed")
            return
        if state is None:
            self._reply(HTTPStatus.NOT_FOUND)  # Terraform's "no state yet"
            return
        md5 = base64.b64encode(hashlib.md5(state).digest()).decode()  # noqa: S324 (Terraform's check)
        self._reply(HTTPStatus.OK, state, {"Content-MD5": md5})

    def do_POST(self) -> None:
        if not self._admit():
            return
        body = self._body()
        if body is None:
            return
        owner = self.server.owner
        problem = _check_state(body, self.headers.get("Content-MD5"), owner.store.load())
        if problem:
            self._reply(HTTPStatus.BAD_REQUEST, problem.encode())
            return
        lock_id = parse_qs(urlsplit(self.path).query).get("ID", [""])[0]
        holder = owner.store.current_lock()
        if holder is None or holder.id != lock_id:
            # Terraform always locks before writing here; a write without the lock is a bug
            # or a second writer, and either would lose somebody's changes.
            self._reply(HTTPStatus.CONFLICT, holder.info if holder else b"state is not locked")
            return
        try:
            owner.store.save(body)
            owner._saved = True
        except Exception:  # the store's own failure: tell Terraform, which keeps errored.tfstate
            logger.exception("saving Terraform state failed")
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, b"the state store failed")
            return
        self._reply(HTTPStatus.OK)

    def do_LOCK(self) -> None:
        lock = self._lock_from_body()
        if lock is None:
            return
        holder = self.server.owner.store.lock(lock)
        if holder is not None:
            self._reply(HTTPStatus.LOCKED, holder.info)
            return
        self.server.owner._remember(lock.id, held=True)
        self._reply(HTTPStatus.OK)

    def do_UNLOCK(self) -> None:
        lock = self._lock_from_body()
        if lock is None:
            return
        holder = self.server.owner.store.unlock(lock.id)
        if holder is not None:
            self._reply(HTTPStatus.LOCKED, holder.info)
            return
        self.server.owner._remember(lock.id, held=False)
        self._reply(HTTPStatus.OK)

    # --- plumbing ------------------------------------------------------------------------------

    def _admit(self) -> bool:
        if not self.server.owner._authorized(self.headers.get("Authorization")):
            self._reply(HTTPStatus.UNAUTHORIZED, extra={"WWW-Authenticate": 'Basic realm="state"'})
            return False
        if urlsplit(self.path).path != STATE_PATH:
            self._reply(HTTPStatus.NOT_FOUND)
            return False
        return True

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > self.server.owner.max_state_bytes:
            self.close_connection = True
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return None
        return self.rfile.read(length)

    def _lock_from_body(self) -> StateLock | None:
        if not self._admit():
            return None
        body = self._body()
        if body is None:
            return None
        try:
            info = json.loads(body)
            lock_id = info["ID"]
        except (ValueError, KeyError, TypeError):
            lock_id = None
        if not isinstance(lock_id, str) or not lock_id:
            self._reply(HTTPStatus.BAD_REQUEST, b"lock info without an ID")
            return None
        return StateLock(id=lock_id, info=body)

    def _reply(
        self, status: HTTPStatus, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("state server: " + format, *args)


def _check_state(body: bytes, content_md5: str | None, current: bytes | None) -> str | None:
    """Why `body` must not replace `current`, or None. Terraform sends a Content-MD5 header.

    Refusing another lineage or an older serial keeps a confused writer from replacing the
    deployment's state with some other state: Terraform only ever moves a serial forward.
    """
    if content_md5:
        digest = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
        if not hmac.compare_digest(digest, content_md5):
            return "Content-MD5 does not match the body"
    try:
        doc = json.loads(body)
    except ValueError:
        return "the state is not JSON"
    if not isinstance(doc, dict) or not isinstance(doc.get("serial"), int):
        return "the state has no serial"
    try:
        old = json.loads(current) if current else None
    except ValueError:
        old = None
    if not isinstance(old, dict):
        return None
    if old.get("lineage") and old["lineage"] != doc.get("lineage"):
        return "the state belongs to another lineage"
    if isinstance(old.get("serial"), int) and doc["serial"] < old["serial"]:
        return f"serial {doc['serial']} is older than the stored serial {old['serial']}"
    return None
