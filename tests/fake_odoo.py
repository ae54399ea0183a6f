"""A fake Odoo 17 JSON-RPC server for tests (stdlib only; never part of the package).

It speaks what odoorpc 0.10.1 sends (docs/sync.md: Odoo facts the sync relies on):
`/web/webclient/version_info`, then `/jsonrpc` with `common.login`, `object.execute`
(`context_get`, `fields_get`) and `object.execute_kw` (`search_read`, `search`, `read`,
`search_count`, `fields_get`).
Errors come back as HTTP 200 with Odoo's `error` object. Tests change data through the
Python API (`create`, `write`, `archive`, `unlink`), which maintains write_date like Odoo,
and inject faults with `Fault`.
"""

from __future__ import annotations

import bisect
import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

M2O, M2M = "many2one", "many2many"
ODOO_DT = "%Y-%m-%d %H:%M:%S"

# field → (type, relation). Every model also has id, create_date, write_date, display_name.
SCHEMA: dict[str, dict[str, tuple[str, str | None]]] = {
    "res.company": {"name": ("char", None)},
    "res.users": {
        "login": ("char", None),
        "name": ("char", None),
        "email": ("char", None),
        "active": ("boolean", None),
        "share": ("boolean", None),
        "company_id": (M2O, "res.company"),
        "company_ids": (M2M, "res.company"),
        "groups_id": (M2M, "res.groups"),
    },
    "res.groups": {"name": ("char", None), "full_name": ("char", None)},
    "ir.model.data": {
        "module": ("char", None),
        "name": ("char", None),
        "model": ("char", None),
        "res_id": ("integer", None),
    },
    "hr.employee": {
        "name": ("char", None),
        "user_id": (M2O, "res.users"),
        "parent_id": (M2O, "hr.employee"),
        "active": ("boolean", None),
        "company_id": (M2O, "res.company"),
        "work_email": ("char", None),
    },
    "crm.team": {
        "name": ("char", None),
        "user_id": (M2O, "res.users"),
        "active": ("boolean", None),
        "company_id": (M2O, "res.company"),
    },
    "crm.team.member": {
        "crm_team_id": (M2O, "crm.team"),
        "user_id": (M2O, "res.users"),
        "active": ("boolean", None),
    },
    "crm.stage": {
        "name": ("char", None),
        "sequence": ("integer", None),
        "is_won": ("boolean", None),
        "fold": ("boolean", None),
        "team_id": (M2O, "crm.team"),
    },
    "res.partner": {
        "name": ("char", None),
        "email": ("char", None),
        "is_company": ("boolean", None),
        "active": ("boolean", None),
        "company_id": (M2O, "res.company"),
        "parent_id": (M2O, "res.partner"),
    },
    "crm.lead": {
        "name": ("char", None),
        "type": ("selection", None),
        "active": ("boolean", None),
        "stage_id": (M2O, "crm.stage"),
        "user_id": (M2O, "res.users"),
        "team_id": (M2O, "crm.team"),
        "partner_id": (M2O, "res.partner"),
        "company_id": (M2O, "res.company"),
        "expected_revenue": ("monetary", None),
        "probability": ("float", None),
        "date_deadline": ("date", None),
        "date_closed": ("datetime", None),
    },
}
COMMON = {
    "id": ("integer", None),
    "create_date": ("datetime", None),
    "write_date": ("datetime", None),
    "display_name": ("char", None),
}
# hr.employee.public is a read-only view of hr.employee in Odoo.
ALIASES = {"hr.employee.public": "hr.employee"}
DEFAULTS = {
    "active": True,
    "share": False,
    "type": "opportunity",
    "sequence": 1,
    "probability": 0.0,
    "expected_revenue": 0.0,
}


class OdooError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message


@dataclass
class Fault:
    """Breaks matching calls. kind: http500, malformed, slow, access_error, access_denied,
    no_result (a 200 answer without "result"), stuck_pages (the server, or a proxy,
    ignores every `id` leaf of the domain: paging by `id > last` gets the first page again
    and again), no_records (every search matches nothing, as record rules do for an
    account that lost its rights), odoo_error (Odoo's error object named below)."""

    kind: str
    model: str | None = None
    method: str | None = None
    skip: int = 0  # matching calls let through before the fault fires
    times: int = 1
    delay: float = 5.0  # for "slow"
    # For "odoo_error": Odoo's error object with this exception name and message.
    error: str = "odoo.exceptions.UserError"
    message: str = ""
    # Set when the fault fires: a test waits on it to act while a slow answer is pending.
    fired: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


@dataclass
class Login:
    uid: int
    password: str
    api_keys: tuple[str, ...] = ()


class FakeOdoo:
    def __init__(self, database: str = "demo") -> None:
        self.database = database
        self.tables: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in SCHEMA}
        self._ids: dict[str, list[int]] = {m: [] for m in SCHEMA}
        self.logins: dict[str, Login] = {}
        self.denied: set[str] = set()  # models raising AccessError
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str, int]] = []  # (model, method, records returned)
        self.requests: list[tuple[str, bytes]] = []  # (path, body) of every HTTP request
        # model → {id: the value answers show instead}, as a patched server or a proxy
        # rewriting answers would; domains naming that value find the record again.
        self.shown_ids: dict[str, dict[int, Any]] = {}
        # Odoo's clock minus ours: write_date and the HTTP Date header both follow it.
        self.clock_offset = timedelta(0)
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.tables["res.company"][1] = {
            "id": 1,
            "name": "Demo Company",
            "create_date": "2026-01-01 00:00:00",
            "write_date": "2026-01-01 00:00:00",
        }
        self._ids["res.company"] = [1]

    # -- data ------------------------------------------------------------------------------

    def now(self) -> str:
        return (datetime.now(UTC) + self.clock_offset).strftime(ODOO_DT)

    def _table(self, model: str) -> dict[int, dict[str, Any]]:
        real = ALIASES.get(model, model)
        if real not in self.tables:
            raise OdooError("builtins.KeyError", f"'{model}'")
        return self.tables[real]

    def _fields(self, model: str) -> dict[str, tuple[str, str | None]]:
        return {**COMMON, **SCHEMA[ALIASES.get(model, model)]}

    def _name_of(self, model: str | None, rid: int) -> str:
        rec = self.tables.get(model or "", {}).get(rid)
        return str(rec.get("name") or rec.get("login") or rid) if rec else str(rid)

    def _coerce(self, model: str, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fields = self._fields(model)
        for key, value in values.items():
            ftype, rel = fields[key]
            if ftype == M2O and isinstance(value, int) and not isinstance(value, bool):
                value = [value, self._name_of(rel, value)]
            out[key] = value
        return out

    def load(self, data: dict[str, list[dict[str, Any]]]) -> None:
        """Seed from a snapshot (records shaped like search_read output)."""
        with self.lock:
            for model, records in data.items():
                if model not in SCHEMA:
                    continue
                for rec in records:
                    row = {f: False for f in SCHEMA[model]}
                    row.update({k: v for k, v in rec.items() if k in self._fields(model)})
                    row.setdefault("create_date", rec.get("write_date") or self.now())
                    row.setdefault("write_date", row["create_date"])
                    self.tables[model][rec["id"]] = row
                self._ids[model] = sorted(self.tables[model])

    def create(self, model: str, values: dict[str, Any]) -> int:
        with self.lock:
            rid = max(self._ids[model], default=0) + 1
            now = self.now()
            row: dict[str, Any] = {f: DEFAULTS.get(f, False) for f in SCHEMA[model]}
            row.update(self._coerce(model, values))
            row.update(id=rid, create_date=now, write_date=now)
            self.tables[model][rid] = row
            self._ids[model].append(rid)
            return rid

    def write(self, model: str, ids: Iterable[int] | int, values: dict[str, Any]) -> None:
        with self.lock:
            now = self.now()
            for rid in [ids] if isinstance(ids, int) else ids:
                self.tables[model][rid].update(self._coerce(model, values), write_date=now)

    def archive(self, model: str, ids: Iterable[int] | int) -> None:
        self.write(model, ids, {"active": False})

    def unlink(self, model: str, ids: Iterable[int] | int) -> None:
        with self.lock:
            for rid in [ids] if isinstance(ids, int) else ids:
                del self.tables[model][rid]
            self._ids[model] = sorted(self.tables[model])

    # -- domains ---------------------------------------------------------------------------

    def _get(self, model: str, rec: dict[str, Any], path: str) -> Any:
        fields = self._fields(model)
        head, _, rest = path.partition(".")
        if head not in fields:
            raise OdooError("builtins.ValueError", f"Invalid field {head!r} in leaf on {model}")
        value = rec.get(head, False)
        ftype, rel = fields[head]
        if rest:  # one-level dotted path through a many2one
            if ftype != M2O or not value or rel is None:
                return False
            target = self.tables[rel].get(value[0])
            return self._get(rel, target, rest) if target else False
        if ftype == M2O:
            return value[0] if value else False
        return value

    def _leaf(self, model: str, rec: dict[str, Any], leaf: list[Any]) -> bool:
        path, op, right = leaf
        left = self._get(model, rec, path)
        if op == "child_of":
            return self._child_of(model, rec, path, right)
        if isinstance(left, list):  # x2many: true when any member matches
            if op in ("=", "in"):
                wanted = right if isinstance(right, list) else [right]
                return bool(set(left) & set(wanted)) if right is not False else not left
            if op in ("!=", "not in"):
                wanted = right if isinstance(right, list) else [right]
                return not set(left) & set(wanted) if right is not False else bool(left)
        if op in ("=", "=="):
            return bool(left == right)
        if op in ("!=", "<>"):
            return bool(left != right)
        if op == "in":
            return left in right
        if op == "not in":
            return left not in right
        if op in ("like", "ilike", "=like", "=ilike", "not like", "not ilike"):
            if left is False:
                return op.startswith("not")
            text, pat = str(left), str(right)
            if "i" in op:
                text, pat = text.lower(), pat.lower()
            if op.startswith("="):
                regex = "^" + re.escape(pat).replace("%", ".*").replace("_", ".") + "$"
                return re.match(regex, text, re.S) is not None
            found = pat in text
            return not found if op.startswith("not") else found
        if left is False or left is None:
            return False
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        raise OdooError("builtins.ValueError", f"Invalid leaf operator {op!r}")

    def _child_of(self, model: str, rec: dict[str, Any], path: str, right: Any) -> bool:
        roots = set(right if isinstance(right, list) else [right])
        node: dict[str, Any] | None = rec
        seen: set[int] = set()
        while node is not None and node["id"] not in seen:
            if node["id"] in roots:
                return True
            seen.add(node["id"])
            parent = node.get("parent_id")
            node = self._table(model).get(parent[0]) if parent else None
        return False

    def _parse(self, domain: list[Any]) -> Any:
        """Prefix domain → ("&"|"|", a, b) / ("!", a) / leaf; top level is an AND list."""
        pos = 0

        def term() -> Any:
            nonlocal pos
            tok = domain[pos]
            pos += 1
            if tok in ("&", "|"):
                return (tok, term(), term())
            if tok == "!":
                return ("!", term())
            if not isinstance(tok, list | tuple) or len(tok) != 3:
                raise OdooError("builtins.ValueError", f"Invalid leaf {tok!r}")
            return list(tok)

        nodes = []
        while pos < len(domain):
            nodes.append(term())
        return nodes

    def _eval(self, model: str, rec: dict[str, Any], node: Any) -> bool:
        if isinstance(node, tuple):
            if node[0] == "&":
                return self._eval(model, rec, node[1]) and self._eval(model, rec, node[2])
            if node[0] == "|":
                return self._eval(model, rec, node[1]) or self._eval(model, rec, node[2])
            return not self._eval(model, rec, node[1])
        return self._leaf(model, rec, node)

    def _search(
        self,
        model: str,
        domain: list[Any],
        offset: int,
        limit: int | None,
        order: str | None,
        context: dict[str, Any],
    ) -> list[dict[str, Any]]:
        table = self._table(model)
        nodes = self._parse(domain or [])
        mentions_active = any(isinstance(n, list) and n[0] == "active" for n in nodes) or any(
            isinstance(t, list | tuple) and len(t) == 3 and t[0] == "active" for t in domain or []
        )
        if (
            context.get("active_test", True)
            and "active" in self._fields(model)
            and not (mentions_active)
        ):
            nodes.append(["active", "=", True])
        shown = self.shown_ids.get(ALIASES.get(model, model), {})
        if shown:
            nodes = [self._real_ids(n, shown) for n in nodes]
        ids = self._ids[ALIASES.get(model, model)]
        wanted = [n[2] for n in nodes if isinstance(n, list) and n[0] == "id" and n[1] == "in"]
        if wanted and all(isinstance(w, list) and all(type(i) is int for i in w) for w in wanted):
            # Reading a list of ids (as Odoo does with its index): only those records.
            table_ids = self.tables[ALIASES.get(model, model)]
            ids = sorted({i for i in wanted[0] if i in table_ids})
        start = 0
        by_id = (order or "id").strip() in ("id", "id asc", "id ASC")
        if by_id:
            # What paging by `id > last` relies on: start after `last`, stop at `limit`.
            lows = [n[2] for n in nodes if isinstance(n, list) and n[0] == "id" and n[1] == ">"]
            if lows:
                start = bisect.bisect_right(ids, max(lows))
        out: list[dict[str, Any]] = []
        for rid in ids[start:]:
            rec = table[rid]
            if all(self._eval(model, rec, n) for n in nodes):
                out.append(rec)
                if by_id and limit and len(out) >= offset + limit:
                    break
        if not by_id:
            for part in reversed([p.strip() for p in str(order).split(",") if p.strip()]):
                name, _, direction = part.partition(" ")
                out.sort(
                    key=lambda r, n=name: (r.get(n) is False, r.get(n)),
                    reverse=direction.lower() == "desc",
                )
        return out[offset : offset + limit if limit else None]

    @staticmethod
    def _real_ids(node: Any, shown: dict[int, Any]) -> Any:
        """An `id` leaf naming shown values names the records behind them."""
        if not (isinstance(node, list) and node[0] == "id"):
            return node
        back = {(type(v), v): k for k, v in shown.items()}
        right = node[2]
        if isinstance(right, list):
            right = [back.get((type(v), v), v) if _hashable(v) else v for v in right]
        elif _hashable(right):
            right = back.get((type(right), right), right)
        return [node[0], node[1], right]

    def _shown(self, model: str, rid: int) -> Any:
        return self.shown_ids.get(ALIASES.get(model, model), {}).get(rid, rid)

    def _read(
        self, model: str, recs: list[dict[str, Any]], fields: list[str] | None
    ) -> list[dict[str, Any]]:
        known = self._fields(model)
        wanted = fields or [f for f in known if f != "display_name"]
        for f in wanted:
            if f not in known:
                raise OdooError("builtins.ValueError", f"Invalid field {f!r} on model {model!r}")
        out = []
        for rec in recs:
            row = {"id": self._shown(model, rec["id"])}
            for f in wanted:
                row[f] = (
                    self._name_of(model, rec["id"])
                    if f == "display_name"
                    else copy.copy(rec.get(f, False))
                )
            out.append(row)
        return out

    # -- RPC -------------------------------------------------------------------------------

    def _auth(self, db: str, uid: int, password: str) -> None:
        for login in self.logins.values():
            if (
                login.uid == uid
                and password in (login.password, *login.api_keys)
                and (db == self.database)
            ):
                return
        raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")

    def _check_fault(self, model: str, method: str) -> Fault | None:
        for fault in self.faults:
            if (fault.model in (None, model)) and (fault.method in (None, method)):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.times <= 0:
                    continue
                fault.times -= 1
                fault.fired.set()
                return fault
        return None

    def dispatch(self, params: dict[str, Any]) -> tuple[Any, Fault | None]:
        service, method, args = params.get("service"), params.get("method"), params["args"]
        with self.lock:
            if service == "common" and method == "login":
                db, login, password = args
                found = self.logins.get(login)
                ok = found and db == self.database and password in (found.password, *found.api_keys)
                return (found.uid if ok and found else False), None
            if service == "common" and method == "version":
                return {"server_version": "17.0", "protocol_version": 1}, None
            if service != "object" or method not in ("execute", "execute_kw"):
                raise OdooError("builtins.KeyError", f"{service}.{method}")
            db, uid, password, model, call = args[:5]
            self._auth(db, uid, password)
            if method == "execute":
                rest, kwargs = list(args[5:]), {}
            else:
                rest = list(args[5]) if len(args) > 5 else []
                kwargs = dict(args[6]) if len(args) > 6 else {}
            fault = self._check_fault(model, call)
            if fault and fault.kind == "access_error":
                raise OdooError(
                    "odoo.exceptions.AccessError",
                    f"You are not allowed to access '{model}' records.",
                )
            if fault and fault.kind == "access_denied":
                raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")
            if fault and fault.kind == "odoo_error":
                raise OdooError(fault.error, fault.message)
            if call == "context_get":
                return {"lang": "en_US", "tz": "UTC", "uid": uid}, fault
            if ALIASES.get(model, model) not in SCHEMA:
                raise OdooError("builtins.KeyError", f"'{model}'")
            if model in self.denied:
                raise OdooError(
                    "odoo.exceptions.AccessError",
                    f"You are not allowed to access '{model}' records.",
                )
            return self._model_call(model, call, rest, kwargs, fault), fault

    def _model_call(
        self, model: str, call: str, args: list[Any], kw: dict[str, Any], fault: Fault | None
    ) -> Any:
        context = kw.pop("context", {}) or {}
        if call == "fields_get":
            return {
                f: {"type": t, "string": f.replace("_", " ").title(), "relation": r or False}
                for f, (t, r) in self._fields(model).items()
            }
        names = {
            "search": ["domain", "offset", "limit", "order"],
            "search_read": ["domain", "fields", "offset", "limit", "order"],
            "search_count": ["domain"],
            "read": ["ids", "fields"],
        }
        if call not in names:
            raise OdooError(
                "builtins.AttributeError",
                f"The method '{call}' does not exist on the model '{model}'",
            )
        params = dict(zip(names[call], args, strict=False))
        params.update(kw)
        if fault and fault.kind == "stuck_pages" and call != "read":
            params["domain"] = [
                t
                for t in params.get("domain") or []
                if not (isinstance(t, list | tuple) and len(t) == 3 and t[0] == "id")
            ]
        if fault and fault.kind == "no_records":
            self.calls.append((model, call, 0))
            return 0 if call == "search_count" else []
        if call == "read":
            table = self._table(model)
            recs = [table[i] for i in params["ids"] if i in table]
            result = self._read(model, recs, params.get("fields"))
            self.calls.append((model, call, len(result)))
            return result
        found = self._search(
            model,
            params.get("domain") or [],
            int(params.get("offset") or 0),
            params.get("limit") or None,
            params.get("order"),
            context,
        )
        self.calls.append((model, call, len(found)))
        if call == "search":
            return [self._shown(model, r["id"]) for r in found]
        if call == "search_count":
            return len(found)
        return self._read(model, found, params.get("fields"))

    # -- HTTP ------------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def date_time_string(self, timestamp: float | None = None) -> str:
                # The Date header tells Odoo's time, as a real server with that clock would.
                moment = time.time() if timestamp is None else timestamp
                return super().date_time_string(moment + fake.clock_offset.total_seconds())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake._handle(self, body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self.requests.append((handler.path, body))
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            self._send(handler, 400, b"bad request")
            return
        rid = request.get("id")
        fault: Fault | None = None
        try:
            if handler.path.rstrip("/") == "/web/webclient/version_info":
                result: Any = {
                    "server_version": "17.0",
                    "server_version_info": [17, 0, 0, "final", 0, ""],
                    "server_serie": "17.0",
                    "protocol_version": 1,
                }
            elif handler.path.rstrip("/") == "/jsonrpc":
                result, fault = self.dispatch(request.get("params") or {})
            else:
                self._send(handler, 404, b"not found")
                return
            payload: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "result": result}
        except OdooError as exc:
            payload = {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {
                    "code": 200,
                    "message": "Odoo Server Error",
                    "data": {
                        "name": exc.name,
                        "message": exc.message,
                        "arguments": [exc.message],
                        "debug": "Traceback (most recent call last):\n  (fake)\n"
                        f"{exc.name}: {exc.message}",
                        "context": {},
                    },
                },
            }
        if fault and fault.kind == "http500":
            self._send(handler, 500, b"<html><body>Internal Server Error</body></html>")
            return
        if fault and fault.kind == "malformed":
            self._send(handler, 200, b'{"jsonrpc": "2.0", "result": [{"id": 1,', "application/json")
            return
        if fault and fault.kind == "no_result":
            payload.pop("result", None)
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        self._send(handler, 200, json.dumps(payload).encode(), "application/json")

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, code: int, body: bytes, ctype: str = "text/html"
    ) -> None:
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | None)


def demo_fake(loader: Callable[[], dict[str, list[dict[str, Any]]]]) -> FakeOdoo:
    fake = FakeOdoo()
    fake.load(loader())
    return fake
