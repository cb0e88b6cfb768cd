"""A simulated fleet of LuxOS miners speaking the cgminer-style JSON API on TCP.

Each simulated miner listens either on its own loopback address at port 4028 (the
port pyasic probes, so ``pyasic.get_miner`` identifies it as LuxOS by itself) or on
its own port of 127.0.0.1.  A request is one JSON object ``{"command": "a+b",
"parameter": "..."}``; the reply is one JSON object, then the connection closes, as
on real firmware.  Commands used by pyasic's LuxOS backend are answered: version,
devdetails, summary, stats, power, config, profiles, pools, groups, fans, tempctrl,
atm, atmset, session, logon, curtail (sleep/wakeup), profileset.

Power follows a ramp: stopping takes ``stop_s`` seconds, waking takes ``boot_s`` at
idle draw then ``ramp_up_s`` to full power (minutes on real machines), a profile change
takes ``profile_s``.  Every duration is multiplied by ``time_scale`` (e.g. 0.01 in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

# (model, nameplate watts, nameplate TH/s): figures from shared/facts/markets.md
MODELS: dict[str, tuple[float, float]] = {
    "Antminer S19 XP": (3010.0, 140.0),
    "Antminer S21": (3500.0, 200.0),
    "Antminer S21 Pro": (3531.0, 234.0),
    "Antminer S21 XP": (3645.0, 270.0),
}
# profile name -> (power fraction of nameplate, hashrate fraction); lower clocks are
# more efficient per TH, as on real underclocked boards.
PROFILE_STEPS: tuple[tuple[str, float, float], ...] = (
    ("default", 1.00, 1.00),
    ("-1", 0.85, 0.90),
    ("-2", 0.70, 0.79),
    ("-3", 0.55, 0.66),
    ("-4", 0.40, 0.52),
)


@dataclass
class Ramp:
    """Linear power ramp from ``from_w`` to ``to_w`` starting at ``start`` after ``delay_s``."""

    from_w: float
    to_w: float
    start: float
    delay_s: float = 0.0
    duration_s: float = 0.0

    def power_w(self, now: float) -> float:
        t = now - self.start - self.delay_s
        if t <= 0:
            return self.from_w
        if self.duration_s <= 0 or t >= self.duration_s:
            return self.to_w
        return self.from_w + (self.to_w - self.from_w) * t / self.duration_s


@dataclass
class SimMiner:
    """One simulated LuxOS miner; times in seconds (already scaled), power in W."""

    host: str
    port: int
    model: str
    nameplate_w: float
    nameplate_ths: float
    idle_w: float = 8.0
    stop_s: float = 5.0
    boot_s: float = 60.0
    ramp_up_s: float = 120.0
    profile_s: float = 10.0
    auth_ok: bool = True
    mining: bool = True
    profile: str = "default"
    session_id: str = ""
    ramp: Ramp = field(default_factory=lambda: Ramp(0.0, 0.0, 0.0))
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    server: asyncio.AbstractServer | None = None

    def __post_init__(self) -> None:
        full = self.profile_power_w(self.profile) if self.mining else self.idle_w
        self.ramp = Ramp(full, full, time.monotonic())

    # --- physics -------------------------------------------------------------------
    def profile_power_w(self, name: str) -> float:
        for pname, pfrac, _ in PROFILE_STEPS:
            if pname == name:
                return round(self.nameplate_w * pfrac)
        raise KeyError(name)

    def profile_ths(self, name: str) -> float:
        for pname, _, hfrac in PROFILE_STEPS:
            if pname == name:
                return round(self.nameplate_ths * hfrac, 1)
        raise KeyError(name)

    def power_w(self, now: float | None = None) -> float:
        return self.ramp.power_w(time.monotonic() if now is None else now)

    def target_w(self) -> float:
        return self.profile_power_w(self.profile) if self.mining else self.idle_w

    def hashrate_ths(self, now: float | None = None) -> float:
        full_w = self.profile_power_w(self.profile)
        frac = max(0.0, (self.power_w(now) - self.idle_w) / max(1.0, full_w - self.idle_w))
        return self.profile_ths(self.profile) * min(1.0, frac)

    def _retarget(self, *, waking: bool) -> None:
        now = time.monotonic()
        here = self.power_w(now)
        goal = self.target_w()
        if goal < here:
            dur = self.stop_s if not self.mining else self.profile_s
            self.ramp = Ramp(here, goal, now, 0.0, dur * (here - goal) / max(1.0, here))
        elif waking:
            self.ramp = Ramp(here, goal, now, self.boot_s, self.ramp_up_s)
        else:
            self.ramp = Ramp(here, goal, now, 0.0, self.profile_s)

    # --- protocol --------------------------------------------------------------------
    def _status(self, ok: bool, msg: str, code: int = 0) -> list[dict]:
        return [{"STATUS": "S" if ok else "E", "When": int(time.time()), "Code": code,
                 "Msg": msg, "Description": "LUXminer 2024.6.1"}]

    def _privileged(self, params: list[str]) -> str | None:
        """Return an error message when the session token is missing or wrong."""
        if not self.session_id or not params or params[0] != self.session_id:
            return "Invalid session id"
        return None

    def answer(self, command: str, parameter: str | None) -> dict:
        params = [] if parameter in (None, "") else str(parameter).split(",")
        now = time.monotonic()
        c = command
        if c == "version":
            return {"STATUS": self._status(True, "LUXminer versions", 22), "VERSION": [
                {"LUXminer": "2024.6.1.123456-abcdef", "API": "3.7", "Miner": "2024.6.1",
                 "Type": f"{self.model} (LUXminer)"}]}
        if c == "devdetails":
            return {"STATUS": self._status(True, "Device Details", 69), "DEVDETAILS": [
                {"DEVDETAILS": i, "Name": "LUXminer", "Model": self.model} for i in range(3)]}
        if c == "summary":
            ghs = self.hashrate_ths(now) * 1000.0
            return {"STATUS": self._status(True, "Summary", 11), "SUMMARY": [
                {"Elapsed": int(now - self.started), "GHS 5s": round(ghs, 2),
                 "GHS av": round(ghs, 2), "Accepted": 0, "Rejected": 0}]}
        if c == "stats":
            ghs = self.hashrate_ths(now) * 1000.0
            board = {"Elapsed": int(now - self.started), "rate_unit": "GH",
                     "total_rateideal": self.profile_ths(self.profile) * 1000.0}
            for b in (1, 2, 3):
                board.update({f"chain_rate{b}": round(ghs / 3, 2), f"chain_acn{b}": 108,
                              f"temp_chip{b}": "60-62-64-66", f"temp_pcb{b}": "45-46-47-48"})
            return {"STATUS": self._status(True, "LUXminer stats", 70),
                    "STATS": [{"LUXminer": "2024.6.1", "Type": self.model}, board]}
        if c == "power":
            return {"STATUS": self._status(True, "Power", 332),
                    "POWER": [{"Watts": int(round(self.power_w(now))), "PSU": True}]}
        if c == "config":
            return {"STATUS": self._status(True, "Config", 33), "CONFIG": [
                {"Profile": self.profile, "MACAddr": "02:00:00:00:00:01", "RedLed": "off",
                 "IsAtmEnabled": False, "CurtailMode": "None" if self.mining else "Sleep"}]}
        if c == "profiles":
            return {"STATUS": self._status(True, "Profiles", 327), "PROFILES": [
                {"Profile Name": n, "Watts": self.profile_power_w(n),
                 "Hashrate": self.profile_ths(n), "IsTuned": False,
                 "Frequency": 500 - 40 * i, "Voltage": 13.0 - 0.4 * i}
                for i, (n, _, _) in enumerate(PROFILE_STEPS)]}
        if c == "pools":
            return {"STATUS": self._status(True, "Pools", 7), "POOLS": [
                {"POOL": 0, "URL": "stratum+tcp://pool.invalid:3333", "User": "site.sim",
                 "GROUP": 0, "Status": "Alive", "Stratum Active": True}]}
        if c == "groups":
            return {"STATUS": self._status(True, "Groups", 7),
                    "GROUPS": [{"GROUP": 0, "Name": "Default", "Quota": 1}]}
        if c == "fans":
            return {"STATUS": self._status(True, "Fans", 202),
                    "FANS": [{"FAN": i, "RPM": 4000 if self.mining else 0, "Speed": 60}
                             for i in range(4)], "FANCTRL": [{"MinFans": 2}]}
        if c == "tempctrl":
            return {"STATUS": self._status(True, "Tempctrl", 203), "TEMPCTRL": [
                {"Mode": "Auto", "Target": 70, "Hot": 85, "Dangerous": 95}]}
        if c == "atm":
            return {"STATUS": self._status(True, "ATM", 339), "ATM": [{"Enabled": False}]}
        if c == "session":
            return {"STATUS": self._status(True, "Session", 306),
                    "SESSION": [{"SessionID": self.session_id}]}
        if c == "logon":
            if not self.auth_ok:
                return {"STATUS": self._status(False, "Access denied: logon refused", 45)}
            self.session_id = uuid.uuid4().hex[:8]
            return {"STATUS": self._status(True, "Session created", 307),
                    "SESSION": [{"SessionID": self.session_id}]}
        if c in ("curtail", "profileset", "atmset", "logoff"):
            err = self._privileged(params)
            if err:
                return {"STATUS": self._status(False, err, 45)}
            if c == "logoff":
                self.session_id = ""
                return {"STATUS": self._status(True, "Logged off", 308)}
            if c == "atmset":
                return {"STATUS": self._status(True, "ATM configuration updated", 340)}
            if c == "curtail":
                mode = params[1] if len(params) > 1 else ""
                if mode not in ("sleep", "wakeup"):
                    return {"STATUS": self._status(False, f"Invalid curtail mode {mode!r}", 14)}
                want = mode == "wakeup"
                if want != self.mining:
                    self.mining = want
                    self._retarget(waking=want)
                return {"STATUS": self._status(True, f"Curtail {mode} ok", 350)}
            name = params[1] if len(params) > 1 else ""
            try:
                self.profile_power_w(name)
            except KeyError:
                return {"STATUS": self._status(False, f"Invalid profile {name!r}", 14)}
            if name != self.profile:
                self.profile = name
                if self.mining:
                    self._retarget(waking=False)
            return {"STATUS": self._status(True, "Profile set", 328),
                    "PROFILE": [{"Profile": name}]}
        return {"STATUS": self._status(False, f"Invalid command {command!r}", 14)}

    def handle(self, raw: bytes) -> bytes:
        self.requests += 1
        try:
            msg = json.loads(raw.decode("utf-8"))
            command = str(msg["command"])
            parameter = msg.get("parameter")
        except (ValueError, KeyError, TypeError):
            return json.dumps({"STATUS": self._status(False, "JSON parse error", 23)}).encode()
        parts = command.split("+")
        if len(parts) == 1:
            out = self.answer(command, parameter)
        else:
            out = {p: [self.answer(p, parameter)] for p in parts}
        out["id"] = 1
        return json.dumps(out).encode("utf-8") + b"\x00"


async def _serve_one(miner: SimMiner, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    buf = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=10)
            if not chunk:
                break
            buf += chunk
            try:
                json.loads(buf.decode("utf-8"))
                break
            except ValueError:
                continue
        if buf:
            writer.write(miner.handle(buf))
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


@dataclass
class SimFleet:
    """A set of simulated miners served from the running event loop."""

    miners: list[SimMiner]

    async def start(self) -> None:
        for m in self.miners:
            await self.bring_up(m)

    async def bring_up(self, miner: SimMiner) -> None:
        """(Re)open a miner's listening socket (after :meth:`take_down`)."""
        if miner.server is None:
            miner.server = await asyncio.start_server(
                lambda r, w, m=miner: _serve_one(m, r, w), miner.host, miner.port,
                reuse_address=True)
            if miner.port == 0:
                miner.port = miner.server.sockets[0].getsockname()[1]

    async def take_down(self, miner: SimMiner) -> None:
        """Make a miner unreachable (connection refused); its draw is unchanged."""
        if miner.server is not None:
            miner.server.close()
            await miner.server.wait_closed()
            miner.server = None

    async def stop(self) -> None:
        for m in self.miners:
            await self.take_down(m)

    def power_w(self) -> float:
        """Ground-truth draw of the whole fleet [W]."""
        now = time.monotonic()
        return sum(m.power_w(now) for m in self.miners)

    def addresses(self) -> list[str]:
        return [f"{m.host}:{m.port}" for m in self.miners]


def build_fleet(n: int, *, time_scale: float = 1.0, ip_per_miner: bool = False,
                subnet: int = 77, models: tuple[str, ...] | None = None,
                mining: bool = True, units_per_miner: int = 1) -> SimFleet:
    """A fleet of ``n`` miners cycling through ``models``; each stands for ``units_per_miner``
    identical machines (a container: power, hashrate and idle draw multiplied).

    ``ip_per_miner`` puts miner i on 127.<subnet>.<i // 250>.<i % 250 + 1>:4028 (Linux
    routes all of 127/8 to loopback); otherwise each gets a free port on 127.0.0.1
    once :meth:`SimFleet.start` runs.
    """
    names = models or tuple(MODELS)
    miners = []
    for i in range(n):
        model = names[i % len(names)]
        watts, ths = MODELS[model]
        host = f"127.{subnet}.{i // 250}.{i % 250 + 1}" if ip_per_miner else "127.0.0.1"
        miners.append(SimMiner(
            host=host, port=4028 if ip_per_miner else 0, model=model, nameplate_w=watts * units_per_miner,
            nameplate_ths=ths * units_per_miner, idle_w=8.0 * units_per_miner, stop_s=5.0 * time_scale, boot_s=60.0 * time_scale,
            ramp_up_s=120.0 * time_scale, profile_s=10.0 * time_scale, mining=mining))
    return SimFleet(miners)
