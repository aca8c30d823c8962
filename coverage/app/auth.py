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

Sign-in: failures are rate limited per user name and per address ("try again in N s"); an unknown user takes
as long to refuse as a wrong password; signing out revokes that session on the server, and a password change
revokes every session of that user (a per-user generation number in the users file).
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
#: sign-in failures allowed per user name, and per address, in WINDOW_S before further tries wait
MAX_FAILURES_PER_USER, MAX_FAILURES_PER_ADDRESS, WINDOW_S = 5, 20, 300
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


class _Throttle:
    """Sign-in failures in a sliding window, per key (a user name or an address); in memory, per process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fails: dict[str, list[float]] = {}

    def wait(self, key: str, limit: int) -> int:
        """Seconds until ``key`` may try again (0 = now)."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._fails.get(key, []) if now - t < WINDOW_S]
            self._fails[key] = recent
            return 0 if len(recent) < limit else int(WINDOW_S - (now - recent[0])) + 1

    def fail(self, key: str) -> None:
        with self._lock:
            self._fails.setdefault(key, []).append(time.monotonic())

    def clear(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


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


_REVOKED: dict[str, Path] = {}


def _revoked_file() -> Path | None:
    return _REVOKED.get("path")


def _revoked() -> set[str]:
    path = _revoked_file()
    if not path or not path.exists():
        return set()
    return _parse_revoked(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _parse_revoked(path: str, mtime: int) -> set[str]:
    return {line.split()[1] for line in Path(path).read_text(encoding="utf-8").splitlines() if len(line.split()) == 2}


def _revoke(sid: str) -> None:
    """Revoke one session id for good (kept 31 days: no session cookie outlives that)."""
    path = _revoked_file()
    if not path or not sid:
        return
    now = time.time()
    keep = []
    if path.exists():
        keep = [line for line in path.read_text(encoding="utf-8").splitlines()
                if len(line.split()) == 2 and now - float(line.split()[0]) < 31 * 86400]
    _write_private(path, "\n".join(keep + [f"{now:.0f} {sid}"]) + "\n")


def _session_valid(name: str, entry: dict) -> bool:
    from flask import session

    return (session.get("gen", 0) == int(entry.get("generation", 0))
            and session.get("sid", "") not in _revoked())


def login_required() -> bool:
    return bool(load_users()) and not os.environ.get("UA_COVERAGE_TRUST_HEADER")


def install(server, data_dir: Path, *, host: str | None = None) -> None:
    """Session secret, host and CSRF checks, login/logout routes on the Flask server (``host``: the bound address)."""
    from flask import abort, make_response, redirect, request, session

    from flask.sessions import SecureCookieSessionInterface

    key_file = Path(data_dir) / "session.key"
    if not key_file.exists():
        _write_private(key_file, secrets.token_hex(32))
    server.secret_key = key_file.read_text().strip()
    server.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    if host and host not in ("0.0.0.0", "::", ""):  # a wildcard bind names no host: use UA_COVERAGE_ALLOWED_HOSTS
        server.config["UA_COVERAGE_BOUND_HOSTS"] = (host.lower().strip("[]"),)
    _REVOKED["path"] = Path(data_dir) / "revoked_sessions"
    secure_always = os.environ.get("UA_COVERAGE_SECURE_COOKIES", "") in ("1", "true", "yes")

    class _Sessions(SecureCookieSessionInterface):
        def get_cookie_secure(self, app):  # Secure over HTTPS (as the proxy reports it) or when configured
            return secure_always or request.is_secure

    server.session_interface = _Sessions()
    throttle = _Throttle()  # per server: in memory, per process (each gunicorn worker counts its own)

    @server.before_request
    def _guard():
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
            wait = max(throttle.wait(f"user:{name}", MAX_FAILURES_PER_USER),
                       throttle.wait(f"addr:{addr}", MAX_FAILURES_PER_ADDRESS))
            users = load_users()
            if wait:
                error = f"<p class='error'>Too many failed sign-ins; try again in {wait} s.</p>"
                status = 429
            elif check_password(request.form.get("password", ""), users.get(name, {}).get("hash")):
                throttle.clear(f"user:{name}")
                csrf = session.get("csrf")
                session.clear()
                session["user"] = name
                session["sid"] = secrets.token_urlsafe(16)
                session["gen"] = int(users[name].get("generation", 0))
                session["csrf"] = csrf or secrets.token_urlsafe(32)
                return redirect("/")
            else:
                throttle.fail(f"user:{name}")
                throttle.fail(f"addr:{addr}")
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
