"""Counters of the scale-out check's processes and shared services that only ever grow, so that
two readings taken around a run give exactly that run's work:

- CPU: utime + stime from /proc/<pid>/stat, summed over a process and every process below it
  (a server's workers, PostgreSQL's backends), plus the time of children that already ended
  (cutime + cstime): a backend that closes between two readings keeps its share.
- Redis: the calls of each command, from INFO commandstats.
- PostgreSQL: pg_stat_database's transactions and rows of the databases the servers use and,
  when the server has pg_stat_statements loaded, the calls and rows of each statement.
"""

from __future__ import annotations

import contextlib
import os
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

import psycopg2
import redis

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")

# What this script itself spent: the senders' threads compete with the servers for the CPUs.
CLIENT = "client (this script)"

# pg_stat_database's counters a capacity plan reads: transactions, then rows read and written.
PG_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)

# What a reading can fail with: the services or a process gone, a refused login.
PROBE_ERRORS = (psycopg2.Error, redis.RedisError, OSError)

# PostgreSQL's backends add their counts to pg_stat_database at most once a second and, once
# idle, within 10 s (PGSTAT_IDLE_INTERVAL, PostgreSQL 15): read this long after the last turn,
# the counters hold every turn before it and none of a later run.
PG_STATS_SETTLE_S = 11.0


@dataclass(frozen=True)
class ProcessTimes:
    ppid: int
    own_ticks: int  # utime + stime
    ended_children_ticks: int  # cutime + cstime: children that ended and were waited for


def parse_proc_stat(text: str) -> ProcessTimes:
    """One /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold
    spaces and parentheses, so the other fields are counted from the last ')'."""
    rest = text[text.rindex(")") + 1 :].split()
    # rest[0] is field 3 of proc(5); ppid is field 4, utime, stime, cutime, cstime 14 to 17.
    return ProcessTimes(
        ppid=int(rest[1]), own_ticks=int(rest[11]) + int(rest[12]), ended_children_ticks=int(rest[13]) + int(rest[14])
    )


def read_processes(proc: Path = Path("/proc")) -> Dict[int, ProcessTimes]:
    found: Dict[int, ProcessTimes] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = parse_proc_stat((entry / "stat").read_text())
            except (OSError, ValueError):  # the process ended while the list was being read
                continue
    return found


def tree_ticks(processes: Mapping[int, ProcessTimes], root: int) -> int:
    """CPU ticks of ``root`` and of every process below it, ended children included."""
    children: Dict[int, List[int]] = defaultdict(list)
    for pid, times in processes.items():
        children[times.ppid].append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        if pid in processes:
            total += processes[pid].own_ticks + processes[pid].ended_children_ticks
            pending.extend(children[pid])
    return total


def parse_machine_cpu(text: str) -> Tuple[int, int, int]:
    """(busy, steal, all) ticks of every CPU together, from /proc/stat. Busy is user, nice,
    system, irq and softirq; steal is time the hypervisor gave to other guests, which on a
    shared virtual machine is CPU this machine wanted and did not get."""
    first = text.split("\n", 1)[0].split()
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + idle + iowait + steal


def machine_description() -> Dict[str, object]:
    """The CPUs this script may use and their model: what the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": len(os.sched_getaffinity(0)), "cpu_model": model}


def command_calls(commandstats: Mapping[str, Mapping[str, int]]) -> Dict[str, int]:
    """Calls per command from redis-py's INFO commandstats (``{"cmdstat_get": {"calls": 3}}``),
    without INFO: that is the probe's own command, and the servers never send it."""
    calls: Dict[str, int] = {}
    for key, stats in commandstats.items():
        name = key[len("cmdstat_") :] if key.startswith("cmdstat_") else key
        if name != "info":
            calls[name] = int(stats["calls"])
    return calls


@dataclass(frozen=True)
class Usage:
    """The CPU and Redis counters at one moment."""

    at: float  # time.monotonic()
    cpu_ticks: Dict[str, int]  # per process (with everything below it), and CLIENT
    machine: Tuple[int, int, int]  # parse_machine_cpu
    redis_calls: Dict[str, int]


@dataclass(frozen=True)
class DatabaseUsage:
    """PostgreSQL's counters at one moment, read once they have settled (PG_STATS_SETTLE_S)."""

    counters: Dict[str, Dict[str, int]]  # database -> PG_COUNTERS
    statements: Dict[Tuple[str, str], Tuple[int, int]]  # (database, statement) -> (calls, rows)


class Postgres:
    """A superuser session on the check's PostgreSQL, through the socket in its data's
    directory (scripts/scaleout_services.sh: the only way in without a password)."""

    def __init__(self, socket_dir: str, port: str, databases: Sequence[str]) -> None:
        self.socket_dir, self.port = socket_dir, port
        self.connection = self._connect("postgres")
        # Each reading in a transaction of its own: statistics are cached within a transaction.
        self.connection.autocommit = True
        self.databases = list(databases)
        self.statements_unavailable = self._enable_statements()

    def _connect(self, database: str) -> "psycopg2.extensions.connection":
        return psycopg2.connect(host=self.socket_dir, port=self.port, user="postgres", dbname=database)

    def _query(self, sql: str, *params: object) -> List[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _enable_statements(self) -> str:
        """'' when pg_stat_statements can be read, else why not: the extension must exist in
        this database, and the server must have loaded its library when it started."""
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self._query("SELECT 1 FROM pg_stat_statements LIMIT 1")
        except psycopg2.Error as error:
            return str(error).strip().splitlines()[0]
        return ""

    def analyze(self) -> None:
        """Gives the planner the tables' current sizes. The check's tables are minutes old and
        autovacuum analyzes them only once a minute: until then PostgreSQL may read the whole
        events table for each turn, which no settled database does."""
        for database in self.databases:
            with contextlib.closing(self._connect(database)) as connection:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")

    def server_pid(self) -> int:
        """The postmaster: the parent of this session's backend."""
        backend = self._query("SELECT pg_backend_pid()")[0][0]
        return parse_proc_stat(Path(f"/proc/{backend}/stat").read_text()).ppid

    def usage(self) -> DatabaseUsage:
        counters = {
            row[0]: dict(zip(PG_COUNTERS, (int(v) for v in row[1:])))
            for row in self._query(
                f"SELECT datname, {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = ANY(%s)",
                self.databases,
            )
        }
        statements: Dict[Tuple[str, str], Tuple[int, int]] = {}
        if not self.statements_unavailable:
            for database, query, calls, rows in self._query(
                "SELECT d.datname, s.query, sum(s.calls), sum(s.rows) FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY(%s) GROUP BY 1, 2",
                self.databases,
            ):
                statements[(database, query)] = (int(calls), int(rows))
        return DatabaseUsage(counters, statements)

    def close(self) -> None:
        self.connection.close()


class Probes:
    """Readings of the named processes (name -> pid of the process the check started), of
    PostgreSQL and Redis (found through their own connections) and of this script."""

    def __init__(self, env: Mapping[str, str], processes: Mapping[str, int]) -> None:
        self.redis = redis.Redis(
            host=env["REDIS_HOST"],
            port=int(env["REDIS_PORT"]),
            db=int(env["REDIS_DB"]),
            password=env["REDIS_PASSWORD"] or None,
            socket_timeout=30,
        )
        cases = urllib.parse.urlsplit(env["DATABASE_URL"]).path.lstrip("/")
        self.postgres = Postgres(
            str(Path(env["SCALEOUT_DIR"]) / "pg"), env["TRACKER_DB_PORT"], [env["TRACKER_DB_NAME"], cases]
        )
        self.roots = {
            **processes,
            "PostgreSQL": self.postgres.server_pid(),
            "Redis": int(self.redis.info("server")["process_id"]),
        }

    @property
    def statements_unavailable(self) -> str:
        return self.postgres.statements_unavailable

    def usage(self) -> Usage:
        processes = read_processes()
        cpu = {name: tree_ticks(processes, pid) for name, pid in self.roots.items()}
        # This script only: the servers are its children, and already counted above.
        cpu[CLIENT] = processes[os.getpid()].own_ticks
        return Usage(
            at=time.monotonic(),
            cpu_ticks=cpu,
            machine=parse_machine_cpu(Path("/proc/stat").read_text()),
            redis_calls=command_calls(self.redis.info("commandstats")),
        )

    def analyze(self) -> None:
        self.postgres.analyze()

    def database_usage(self) -> DatabaseUsage:
        return self.postgres.usage()

    def close(self) -> None:
        self.postgres.close()
        self.redis.close()
