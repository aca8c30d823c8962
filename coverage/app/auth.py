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
in the ``_csrf_token`` cookie (dash-renderer sends it as ``X-CSRFToken``); session cookies are SameSite=Strict.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROLES = ("viewer", "editor", "exporter")
LOCAL = {"127.0.0.1", "::1"}
_ITER = 200_000


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


def check_password(password: str, stored: str) -> bool:
    try:
        algo, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    return hmac.compare_digest(hash_password(password, salt=salt, iterations=int(iterations)), stored)


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
    entry["roles"] = sorted(set(roles) | {"viewer"})
    doc["users"][name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


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
        if name and name in users:
            return User(name, frozenset(users[name].get("roles", [])) | {"viewer"}, "login")
        return User("anonymous", frozenset(), "anonymous")
    if request.remote_addr in LOCAL:
        return User(os.environ.get("UA_COVERAGE_AUTHOR") or "workstation", frozenset(ROLES), "workstation")
    return User("anonymous", frozenset({"viewer"}), "anonymous")


def login_required() -> bool:
    return bool(load_users()) and not os.environ.get("UA_COVERAGE_TRUST_HEADER")


def install(server, data_dir: Path) -> None:
    """Session secret, CSRF check, login/logout routes and the upload size limit on the Flask server."""
    from flask import abort, make_response, redirect, request, session

    key_file = Path(data_dir) / "session.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        os.chmod(key_file, 0o600)
    server.secret_key = key_file.read_text().strip()
    server.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)

    @server.before_request
    def _guard():
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
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        resp.set_cookie("_csrf_token", session["csrf"], samesite="Strict", httponly=False)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp

    @server.route("/login", methods=["GET", "POST"])
    def _login():
        from html import escape

        error = ""
        if request.method == "POST":
            name = request.form.get("user", "")
            users = load_users()
            if name in users and check_password(request.form.get("password", ""), users[name].get("hash", "")):
                csrf = session.get("csrf")
                session.clear()
                session["user"] = name
                session["csrf"] = csrf or secrets.token_urlsafe(32)
                return redirect("/")
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
        return make_response(page)

    @server.route("/logout")
    def _logout():
        session.pop("user", None)
        return redirect("/login" if login_required() else "/")



def _banner() -> str:
    from ..settings import banner

    return banner()
