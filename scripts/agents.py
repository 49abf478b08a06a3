"""The console's staff accounts, from the command line (make agent-add / agent-remove /
agent-reset / agent-list).

    python scripts/agents.py add NAME [agent|supervisor]   prints the one-time password
    python scripts/agents.py remove NAME                    the name stays reserved
    python scripts/agents.py reset NAME                     prints a new one-time password
    python scripts/agents.py list

The database is DATABASE_URL (environment or .env). Exit status: 0 done, 2 a usage error, an
unknown agent or a refused change (the message says which).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nettrouble.core import db
from nettrouble.staff import agents  # noqa: E402

USAGE_ERROR = 2
STAMP = "%Y-%m-%d %H:%M"


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="agents", description="Staff accounts of the agent console.")
    commands = main.add_subparsers(dest="command", required=True, metavar="{add,remove,reset,list}")
    add = commands.add_parser("add", help="add an account and print its one-time password")
    add.add_argument("name")
    add.add_argument("role", nargs="?", default=agents.AGENT, choices=agents.ROLES)
    commands.add_parser("remove", help="disable an account (its name stays reserved)").add_argument("name")
    commands.add_parser("reset", help="print a new one-time password for an account").add_argument("name")
    commands.add_parser("list", help="list every account")
    return main


def show_password(name: str, password: str) -> None:
    print(f"{name}: one-time password {password}")
    print("Give it to the agent in person or by phone; it is not shown again.")


def run(args: argparse.Namespace) -> None:
    engine = db.prepare()
    if args.command == "add":
        show_password(args.name, agents.add(engine, args.name, args.role))
    elif args.command == "remove":
        removed = agents.remove(engine, args.name)
        print(f"{removed.name}: removed; their open sessions end at their next request")
    elif args.command == "reset":
        name = agents.get(engine, args.name)
        show_password(name.name if name else args.name, agents.reset(engine, args.name))
    else:
        rows = agents.list_agents(engine)
        if not rows:
            print("no accounts yet: the console makes CONSOLE_USER a supervisor on its first start")
        for agent in rows:
            state = f"removed {agent.removed_at:{STAMP}}" if agent.removed_at else "active"
            print(
                f"{agent.name:<{agents.MAX_NAME}}  {agent.role:<10}  {state:<24}  "
                f"password set {agent.password_changed_at:{STAMP}}"
            )


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except agents.AgentError as refused:
        print(f"agents: {refused}", file=sys.stderr)
        return USAGE_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
