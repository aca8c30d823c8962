"""Who is using the dashboard, and what they may do.

Roles: ``viewer`` (planners: see everything), ``editor`` (staff: upload, commit, roll back),
``exporter`` (briefers: export). Checked on the server in every callback that changes data or
produces an export — never only by hiding buttons.

Authentication is pluggable, in this order:

1. **Trusted proxy header** (``UA_COVERAGE_TRUST_HEADER=X-Remote-User``): the reverse proxy authenticates
   and passes the user name; roles come from the users file (or ``UA_COVERAGE_HEADER_ROLES=viewer``).
   Safe only when the app is reachable *only* through that proxy (listening on 127.0.0.1 or a socket)
   and the proxy overwrites the header on every request.
2. **Users file** (``UA_COVERAGE_USERS=/path/users.json``, managed with ``ua-coverage user``): the built-in
   login page checks a salted PBKDF2-SHA256 password hash and keeps the user in a signed session cookie.
3. **Nobody configured**: a single-user workstation. Requests from 127.0.0.1/::1 get every role; anyone
   else may only view.

CSRF: every state-changing request (Dash callbacks, login) must carry the per-session token the page got
in the ``_csrf_token`` cookie (dash-renderer sends it as ``X-CSRFToken``); session cookies are SameSite=Strict,
HttpOnly, and Secure when the request came over HTTPS (or ``UA_COVERAGE_SECURE_COOKIES=1``).

Host check: the app answers only to the host names it was told (``127.0.0.1``, ``localhost``, ``[::1]``, the
address ``serve --host`` binds, and ``UA_COVERAGE_ALLOWED_HOSTS``), so a page on another site cannot reach it
by DNS rebinding; the workstation role grant needs both a loopback peer and an allowed Host.

Sign-in: attempts are rate limited per user name and per address ("try again in N s"); an unknown user takes
as long to refuse as a wrong password; signing out revokes that session on the server, and a password change
revokes every session of that user (a per-user generation number in the users file).

Attempts and revocations live in the plan store (SQLite or PostGIS, :meth:`~ua_coverage.store.Store.count_attempt`),
so every worker process of a deployment counts and sees the same ones: a per-process count let N workers take N
times the attempts. An attempt is recorded *before* its password is checked, in the same atomic step as the check
of the limit, so parallel tries cannot all pass the check before any is counted; a success clears the user's count.

Messages raised while serving a request are worded for the browser (:data:`ua_coverage.errors.AUDIENCE` is "web"):
where the store lives and what its driver said go to the server log, not to whoever is signed in.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROLES = ("viewer", "editor", "exporter")
LOCAL = {"127.0.0.1", "::1"}
DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")
_ITER = 200_000
#: sign-in attempts allowed per user name, and per address, in WINDOW_S before further tries wait (a success
#: clears the user's count)
MAX_FAILURES_PER_USER, MAX_FAILURES_PER_ADDRESS, WINDOW_S = 5, 20, 300
#: how long a revoked session id is remembered: no session cookie outlives it (Flask's default lifetime is 31 days)
REVOKED_KEEP_S = 31 * 86400
#: a hash checked for unknown user names, so they take as long to refuse as a wrong password
_DUMMY_HASH = None


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset
    via: str  # "workstation", "login", "header", "anonymous"

    def can(self, role: str) -> bool:
        return role in self.roles


def hash_password(password: str, *, salt: str | None = None, iterations: int = _ITER) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def check_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; an unknown user (``stored`` None) costs the same time."""
    global _DUMMY_HASH
    if not stored:
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        check_password(password, _DUMMY_HASH)
        return False
    try:
        algo, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    return hmac.compare_digest(hash_password(password, salt=salt, iterations=int(iterations)), stored)


class _SignInState:
    """Sign-in attempts and revoked sessions of one server, kept in the plan store it serves (opened on first use,
    the same store: ``UA_COVERAGE_DATABASE_URL``, else ``plan.sqlite`` in the data folder), shared by its workers."""

    def __init__(self, data_dir: Path, store=None):
        self._data_dir = Path(data_dir)
        self._store = store
        self._ready = False
        self._lock = threading.Lock()

    @property
    def store(self):
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if self._store is None:
                        from ..store import open_store

                        self._store = open_store(self._data_dir)
                    _import_revoked_file(self._data_dir / "revoked_sessions", self._store)
                    self._ready = True
        return self._store

    def attempt(self, name: str, addr: str) -> tuple[int, list[int]]:
        """Seconds to wait (nothing recorded), or ``(0, ids)``: this attempt is counted against both limits."""
        return self.store.count_attempt({f"user:{name}": MAX_FAILURES_PER_USER,
                                         f"addr:{addr}": MAX_FAILURES_PER_ADDRESS}, WINDOW_S)

    def succeeded(self, name: str, ids: list[int]) -> None:
        """A right password: the user's count starts again, and this attempt does not count against the address."""
        self.store.forget_attempts(key=f"user:{name}", ids=ids)

    def revoke(self, sid: str) -> None:
        self.store.revoke_session(sid, keep_s=REVOKED_KEEP_S)

    def revoked(self, sid: str) -> bool:
        """Asked once per request however often the user is looked up (every callback does)."""
        from flask import g

        seen = g.setdefault("_ua_revoked", {})
        if sid not in seen:
            seen[sid] = self.store.is_revoked(sid)
        return seen[sid]


def _import_revoked_file(path: Path, store) -> None:
    """Carry the revocations an older version kept in ``DATA_DIR/revoked_sessions`` ("time sid" lines) into the
    store, then remove the file: sessions signed out before an upgrade stay signed out."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    now = time.time()
    for line in lines:
        parts = line.split()
        try:
            left = REVOKED_KEEP_S - (now - float(parts[0])) if len(parts) == 2 else -1
        except ValueError:
            continue
        if left > 0:
            store.revoke_session(parts[1], keep_s=left)
    path.unlink(missing_ok=True)


def _sign_in_state() -> _SignInState | None:
    from flask import current_app, has_app_context

    return current_app.extensions.get("ua_coverage_sign_in") if has_app_context() else None


def allowed_hosts() -> set[str]:
    """Host names the app answers to: loopback names, the address it binds, ``UA_COVERAGE_ALLOWED_HOSTS``."""
    from flask import current_app, has_app_context

    extra = [h.strip().lower() for h in os.environ.get("UA_COVERAGE_ALLOWED_HOSTS", "").split(",") if h.strip()]
    bound = current_app.config.get("UA_COVERAGE_BOUND_HOSTS", ()) if has_app_context() else ()
    return set(DEFAULT_HOSTS) | set(extra) | set(bound)


def _host_of(header: str) -> str:
    h = (header or "").strip().lower()
    if h.startswith("["):  # [::1]:8050
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def _write_private(path: Path, text: str) -> None:
    """Create (or replace) a file readable by its owner only, from the first byte."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def users_file() -> Path | None:
    p = os.environ.get("UA_COVERAGE_USERS")
    return Path(p) if p else None


def load_users(path: Path | None = None) -> dict:
    """The users file's ``users`` (re-read only when the file changes: this runs on every request)."""
    path = path or users_file()
    if not path:
        return {}
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _parse_users(str(path), mtime)


@lru_cache(maxsize=4)
def _parse_users(path: str, mtime: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8")).get("users", {})


def save_user(path: Path, name: str, password: str | None, roles: list[str]) -> None:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValueError(f"unknown role(s) {', '.join(bad)}; roles are {', '.join(ROLES)}")
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    entry = doc["users"].get(name, {})
    if password is not None:
        entry["hash"] = hash_password(password)
        entry["generation"] = int(entry.get("generation", 0)) + 1  # a new password signs out every session
    entry["roles"] = sorted(set(roles) | {"viewer"})
    doc["users"][name] = entry
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(path, json.dumps(doc, indent=2))


def current_user() -> User:
    """The user of the current Flask request."""
    from flask import request, session

    header = os.environ.get("UA_COVERAGE_TRUST_HEADER")
    users = load_users()
    if header:
        name = request.headers.get(header, "").strip()
        if name:
            roles = users.get(name, {}).get("roles") or \
                [r.strip() for r in os.environ.get("UA_COVERAGE_HEADER_ROLES", "viewer").split(",")]
            return User(name, frozenset(roles) | {"viewer"}, "header")
        return User("anonymous", frozenset(), "anonymous")
    if users:
        name = session.get("user")
        if name and name in users and _session_valid(name, users[name]):
            return User(name, frozenset(users[name].get("roles", [])) | {"viewer"}, "login")
        return User("anonymous", frozenset(), "anonymous")
    if request.remote_addr in LOCAL and _host_of(request.host) in allowed_hosts():
        return User(os.environ.get("UA_COVERAGE_AUTHOR") or "workstation", frozenset(ROLES), "workstation")
    return User("anonymous", frozenset({"viewer"}), "anonymous")


def _revoke(sid: str) -> None:
    """Revoke one session id for good, for every worker (one row in the store: concurrent sign-outs all stay)."""
    state = _sign_in_state()
    if state is not None and sid:
        state.revoke(sid)


def _session_valid(name: str, entry: dict) -> bool:
    from flask import session

    if session.get("gen", 0) != int(entry.get("generation", 0)):
        return False
    sid = session.get("sid", "")
    state = _sign_in_state()
    return not (sid and state is not None and state.revoked(sid))


def login_required() -> bool:
    return bool(load_users()) and not os.environ.get("UA_COVERAGE_TRUST_HEADER")


def install(server, data_dir: Path, *, host: str | None = None, store=None) -> None:
    """Session secret, host and CSRF checks, login/logout routes on the Flask server (``host``: the bound address).

    Sign-in attempts and revoked sessions are kept in ``store`` (default: the plan store of ``data_dir`` and
    ``UA_COVERAGE_DATABASE_URL``, opened when first needed).
    """
    from flask import abort, g, make_response, redirect, request, session

    from ..errors import AUDIENCE, StoreError

    from flask.sessions import SecureCookieSessionInterface

    key_file = Path(data_dir) / "session.key"
    if not key_file.exists():
        _write_private(key_file, secrets.token_hex(32))
    server.secret_key = key_file.read_text().strip()
    server.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    if host and host not in ("0.0.0.0", "::", ""):  # a wildcard bind names no host: use UA_COVERAGE_ALLOWED_HOSTS
        server.config["UA_COVERAGE_BOUND_HOSTS"] = (host.lower().strip("[]"),)
    server.extensions["ua_coverage_sign_in"] = state = _SignInState(Path(data_dir), store)
    secure_always = os.environ.get("UA_COVERAGE_SECURE_COOKIES", "") in ("1", "true", "yes")

    class _Sessions(SecureCookieSessionInterface):
        def get_cookie_secure(self, app):  # Secure over HTTPS (as the proxy reports it) or when configured
            return secure_always or request.is_secure

    server.session_interface = _Sessions()

    @server.before_request
    def _guard():
        g._ua_audience = AUDIENCE.set("web")  # messages raised from here on are read in a browser
        if _host_of(request.host) not in allowed_hosts():
            abort(400, description="this server does not answer to that host name; set UA_COVERAGE_ALLOWED_HOSTS "
                                   "to the names it is reached by")
        if request.method == "POST":
            token = session.get("csrf")
            sent = request.headers.get("X-CSRFToken") or request.form.get("csrf")
            if not token or not sent or not hmac.compare_digest(token, sent):
                abort(403, description="missing or wrong CSRF token; reload the page")
        user = current_user()
        public = request.path.startswith(("/login", "/_favicon", "/assets/"))
        if user.via == "anonymous" and not user.roles and not public:
            if login_required() and not request.path.startswith("/_dash-"):
                return redirect("/login")
            abort(401, description="sign in first" if login_required() else
                  "no user: this deployment expects its reverse proxy to authenticate you")
        return None

    @server.teardown_request
    def _audience_back(_exc):
        token = g.pop("_ua_audience", None)
        if token is not None:
            try:
                AUDIENCE.reset(token)
            except ValueError:  # set in another context: this one never saw it
                pass

    @server.after_request
    def _csrf_cookie(resp):
        if _host_of(request.host) not in allowed_hosts():  # nothing at all for a page on another site
            return resp
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        resp.set_cookie("_csrf_token", session["csrf"], samesite="Strict", httponly=False,
                        secure=secure_always or request.is_secure)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp

    @server.errorhandler(500)
    def _server_error(exc):  # the log keeps the traceback; the person gets a sentence
        return make_response("Something went wrong on the server; nothing was changed. The server log has the "
                             "details.", 500, {"Content-Type": "text/plain; charset=utf-8"})

    @server.route("/login", methods=["GET", "POST"])
    def _login():
        from html import escape

        error = ""
        status = 200
        if request.method == "POST":
            name = request.form.get("user", "")[:200]
            addr = request.remote_addr or "?"
            users = load_users()
            try:  # counted first, checked after: parallel tries cannot all slip under the limit
                wait, attempt = state.attempt(name, addr)
            except StoreError as exc:  # fail closed: no try goes uncounted
                wait, attempt, status = -1, [], 503
                error = f"<p class='error'>Signing in is not possible now: {escape(exc.message)} Try again later.</p>"
            if wait > 0:
                error = f"<p class='error'>Too many failed sign-ins; try again in {wait} s.</p>"
                status = 429
            elif wait == 0 and check_password(request.form.get("password", ""), users.get(name, {}).get("hash")):
                try:
                    state.succeeded(name, attempt)
                except StoreError as exc:  # the count stays: at worst a later wrong password waits sooner
                    server.logger.warning("sign-in of %s: its attempts could not be cleared: %s", name, exc.message)
                csrf = session.get("csrf")
                session.clear()
                session["user"] = name
                session["sid"] = secrets.token_urlsafe(16)
                session["gen"] = int(users[name].get("generation", 0))
                session["csrf"] = csrf or secrets.token_urlsafe(32)
                return redirect("/")
            elif wait == 0:  # the attempt stays counted
                error = "<p class='error'>Wrong user name or password.</p>"
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sign in</title>"
                f"<link rel='stylesheet' href='/assets/style.css'></head><body class='login'>"
                f"<div class='banner'>{escape(_banner())}</div><form method='post' class='login-form'>"
                f"<h1>Ukraine domain coverage</h1>{error}"
                f"<label>User <input name='user' autocomplete='username' required autofocus></label>"
                f"<label>Password <input name='password' type='password' autocomplete='current-password' required>"
                f"</label><input type='hidden' name='csrf' value='{escape(session['csrf'])}'>"
                f"<button type='submit'>Sign in</button></form><div class='banner'>{escape(_banner())}</div>"
                f"</body></html>")
        return make_response(page, status)

    @server.route("/logout")
    def _logout():
        _revoke(session.get("sid", ""))  # this cookie, even if kept or copied, no longer signs anyone in
        session.pop("user", None)
        session.pop("sid", None)
        return redirect("/login" if login_required() else "/")



def _banner() -> str:
    from ..settings import banner

    return banner()
