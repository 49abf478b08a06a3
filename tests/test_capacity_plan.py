"""The capacity plan is arithmetic on the measured per-turn costs (scripts/capacity_plan.py)."""

from scripts import capacity_plan

CAPACITY = {
    "generated": "2026-12-07T12:00:00+00:00",
    "machine": {"cpus": 2},
    "runs": {
        "2 servers": {
            "turns": 400,
            "cpu_ms_per_turn": {
                "Rasa server A": 15.0,
                "Rasa server B": 15.0,
                "action server A": 1.5,
                "action server B": 1.5,
                "PostgreSQL": 3.0,
                "Redis": 0.45,
                "client (this script)": 1.0,
            },
            "redis_commands_per_turn": 15.0,
            "postgres_per_turn": {
                "rasa": {"xact_commit": 1.0, "tup_inserted": 13.0, "tup_returned": 20.0},
                "nettrouble": {"xact_commit": 0.5, "tup_inserted": 1.0, "tup_returned": 10.0},
            },
            "postgres_statements_per_turn": {"rasa": 5.0, "nettrouble": 2.0},
        }
    },
}


def test_each_role_gets_the_cores_its_measured_cost_needs_at_the_peak():
    figures = capacity_plan.plan(CAPACITY, peak=2000, utilisation=0.5)
    roles = {row["role"]: row for row in figures["roles"]}
    assert roles["Rasa servers"]["cpu_ms_per_turn"] == 30.0
    assert roles["Rasa servers"]["cores_busy_at_peak"] == 60.0 and roles["Rasa servers"]["cores_needed"] == 120
    assert roles["action servers"]["cores_needed"] == 12 and roles["PostgreSQL"]["cores_needed"] == 12
    assert figures["redis_commands_per_s"] == 30000 and figures["postgres_commits_per_s"] == 3000
    assert figures["postgres_rows_inserted_per_s"] == 28000 and figures["postgres_statements_per_s"] == 14000
    # the client sending the test traffic is no part of the plan
    assert "client (this script)" not in roles


def test_redis_is_planned_as_single_threaded_instances():
    text = capacity_plan.markdown(capacity_plan.plan(CAPACITY, peak=2000, utilisation=0.5))
    assert "one thread at 90% per instance: 2 instance(s)" in text
    assert "| Rasa servers | 30.00 | 60.0 | 120 |" in text
