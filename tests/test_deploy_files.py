"""The scale-out profile's files, checked without Docker: docker-compose.yml (services, pinned
images, healthchecks, settings from .env), the Dockerfiles, nginx.conf and the endpoints file
that Rasa reads."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
APP_SERVICES = ("rasa-a", "rasa-b", "actions-a", "actions-b", "console")
# name:version with every part of the version given, e.g. postgres:15.17 or nginx:1.28.0-alpine
PINNED = re.compile(r"^[a-z0-9][a-z0-9._/-]*:(\d+\.\d+(\.\d+)?)(-[a-z0-9.]+)?$")
REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
ENDPOINT_VARS = {
    "ACTION_SERVER_URL": "http://127.0.0.1:6155/webhook",
    "ACTION_SERVER_TOKEN": "action-secret",
    "TRACKER_DB_HOST": "db.internal",
    "TRACKER_DB_PORT": "5432",
    "TRACKER_DB_NAME": "rasa",
    "TRACKER_DB_USER": "rasa",
    "TRACKER_DB_PASSWORD": "tracker-secret",
    "REDIS_HOST": "redis.internal",
    "REDIS_PORT": "6380",
    "REDIS_DB": "2",
    "REDIS_PASSWORD": "redis-secret",
}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def dockerfile(name):
    return (DEPLOY / name).read_text(encoding="utf-8")


def base_image(text):
    return re.search(r"^FROM\s+(\S+)", text, re.MULTILINE).group(1)


def pinned(requirement):
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return re.search(rf"^{re.escape(requirement)}==(\S+)", text, re.MULTILINE).group(1)


# ---- docker-compose.yml --------------------------------------------------------------------


def test_the_profile_has_its_servers_databases_and_balancer(services):
    assert set(services) == {"postgres", "redis", "nginx", "console", *APP_SERVICES}


def test_every_image_is_pinned_to_an_exact_version(services):
    for name, service in services.items():
        image = service["image"]
        if "build" in service:
            continue  # built here: the FROM lines are checked below
        assert PINNED.match(image), f"{name}: {image} is not pinned to an exact version"
        assert "latest" not in image
    assert re.match(r"postgres:15\.\d+$", services["postgres"]["image"])
    assert re.match(r"redis:7\.\d+\.\d+$", services["redis"]["image"])
    assert services["nginx"]["image"].startswith("nginx:")


def test_the_built_images_start_from_the_official_rasa_images_of_requirements_txt():
    rasa, sdk = base_image(dockerfile("Dockerfile.rasa")), base_image(dockerfile("Dockerfile.actions"))
    assert rasa in (f"rasa/rasa:{pinned('rasa')}", f"rasa/rasa:{pinned('rasa')}-full")
    assert sdk == f"rasa/rasa-sdk:{pinned('rasa-sdk')}"


def test_the_servers_are_built_from_this_repository(services):
    for name in APP_SERVICES:
        kind = "rasa" if name.startswith("rasa") else "actions"  # the console shares the image
        assert services[name]["build"] == {"context": ".", "dockerfile": f"deploy/Dockerfile.{kind}"}


def test_every_service_has_a_healthcheck(services):
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def test_the_servers_read_their_settings_from_dotenv(services):
    for name in APP_SERVICES:
        assert services[name]["env_file"] == ".env", name


def test_no_secret_is_written_into_the_compose_file(services):
    for name, service in services.items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            value = str(value)
            if re.search(r"PASSWORD|SECRET|TOKEN", key) or ("://" in value and "@" in value):
                assert REFERENCE.search(value), f"{name}: {key} must come from .env as ${{...}}"


def test_each_rasa_server_has_its_own_action_server_and_waits_for_it(services):
    for suffix in ("a", "b"):
        rasa = services[f"rasa-{suffix}"]
        assert rasa["environment"]["ACTION_SERVER_URL"] == f"http://actions-{suffix}:5055/webhook"
        for dependency in ("postgres", "redis", f"actions-{suffix}"):
            assert rasa["depends_on"][dependency] == {"condition": "service_healthy"}


def test_both_rasa_servers_share_one_tracker_store_and_one_lock_store(services):
    a, b = services["rasa-a"]["environment"], services["rasa-b"]["environment"]
    # The action server's address differs per server; its token comes from .env for all.
    shared = [name for name in ENDPOINT_VARS if not name.startswith("ACTION_SERVER_")]
    assert {n: a[n] for n in shared} == {n: b[n] for n in shared}
    assert a["TRACKER_DB_HOST"] == "postgres" and a["REDIS_HOST"] == "redis"


def test_action_servers_and_console_use_the_postgresql_case_database(services):
    for name in ("actions-a", "actions-b", "console"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://nettrouble:") and url.endswith("@postgres:5432/nettrouble")


def test_only_the_balancer_is_published_and_the_console_on_loopback(services):
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert set(published) == {"nginx", "console"}
    assert all(port.startswith("127.0.0.1:") for port in published["console"])


# Made by `make train` (and so absent from a fresh clone), not kept in git.
BUILT = {"./models"}


def test_every_file_mounted_from_the_repository_exists(services):
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source not in BUILT:
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
    assert "models/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_postgres_creates_the_roles_and_databases_the_servers_use(services):
    script = (DEPLOY / "postgres-init.sh").read_text(encoding="utf-8")
    environment = services["postgres"]["environment"]
    for variable in ("TRACKER_DB_PASSWORD", "CASES_DB_PASSWORD"):
        assert f"${variable}" in script and variable in environment
    assert "CREATE DATABASE rasa OWNER rasa" in script
    assert "CREATE DATABASE nettrouble OWNER nettrouble" in script


# ---- Dockerfiles and nginx -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["Dockerfile.rasa", "Dockerfile.actions"])
def test_dockerfiles_copy_only_what_exists_and_never_the_secrets(name):
    text = dockerfile(name)
    sources = [s for line in re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE) for s in line.split()[:-1]]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"{name} copies {source}, which does not exist"
        assert source not in (".", ".env", "var", "models")
    # The servers must not run as root.
    assert re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)[-1] == "1001"


def test_the_balancer_spreads_turns_over_both_rasa_servers():
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream rasa \{(.*?)\}", conf, re.DOTALL).group(1)
    assert "server rasa-a:5005" in upstream and "server rasa-b:5005" in upstream
    assert "backup" not in upstream
    # LINE and SMS go to one server at a time, so that its memory drops their redeliveries.
    platform = re.search(r"upstream rasa_platform_webhooks \{(.*?)\}", conf, re.DOTALL).group(1)
    assert re.search(r"server rasa-b:5005 backup;", platform)
    for channel in ("line", "sms"):
        assert re.search(rf"location /webhooks/{channel}/ \{{\s*proxy_pass http://rasa_platform_webhooks;", conf)
    # The REST channel (the caller picks the conversation) and Rasa's API are not published.
    assert re.search(r"location /webhooks/rest/ \{\s*return 404;", conf)
    assert re.search(r"location / \{\s*return 404;", conf)
    assert conf.count("{") == conf.count("}")


# ---- deploy/endpoints.scaleout.yml ---------------------------------------------------------


@pytest.fixture
def endpoints(monkeypatch):
    from rasa.core.utils import read_endpoints_from_path

    for name, value in ENDPOINT_VARS.items():
        monkeypatch.setenv(name, value)
    return read_endpoints_from_path(str(DEPLOY / "endpoints.scaleout.yml"))


def test_the_endpoints_file_reads_every_connection_value_from_the_environment():
    text = (DEPLOY / "endpoints.scaleout.yml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    for section in ("tracker_store", "lock_store"):
        for key, value in config[section].items():
            if key not in ("type", "dialect", "key_prefix"):
                assert re.fullmatch(r"\$\{[A-Z_]+\}", str(value)), f"{section}.{key} is written in the file"
    assert set(REFERENCE.findall(text)) == set(ENDPOINT_VARS)


def test_the_tracker_store_is_the_masking_store_on_postgresql(endpoints):
    from rasa.core.tracker_store import validate_port
    from rasa.shared.utils.common import class_from_module_path

    from addons.tracker_store import MaskingSQLTrackerStore

    store = endpoints.tracker_store
    assert class_from_module_path(store.type) is MaskingSQLTrackerStore
    kwargs = dict(store.kwargs)
    kwargs["port"] = validate_port(kwargs["port"])
    url = MaskingSQLTrackerStore.get_db_url(host=store.url, **kwargs)
    assert (url.drivername, url.host, url.port, url.database, url.username, url.password) == (
        "postgresql",
        "db.internal",
        5432,
        "rasa",
        "rasa",
        "tracker-secret",
    )


def test_the_lock_store_is_the_atomic_redis_lock_store(endpoints):
    from rasa.core.lock_store import LockStore

    from addons.lock_store import AtomicRedisLockStore

    store = LockStore.create(endpoints.lock_store)  # connects on first use only
    assert type(store) is AtomicRedisLockStore
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"], connection["password"]) == (
        "redis.internal",
        6380,
        2,
        "redis-secret",
    )
    assert store.key_prefix.startswith("nettrouble:")


def test_the_action_endpoint_comes_from_the_environment(endpoints):
    assert endpoints.action.url == ENDPOINT_VARS["ACTION_SERVER_URL"]
    assert endpoints.action.headers == {"X-Action-Token": ENDPOINT_VARS["ACTION_SERVER_TOKEN"]}


def test_a_missing_variable_stops_rasa_instead_of_connecting_somewhere(monkeypatch):
    from rasa.core.utils import read_endpoints_from_path

    for name, value in ENDPOINT_VARS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRACKER_DB_HOST")
    with pytest.raises(Exception, match="TRACKER_DB_HOST"):
        read_endpoints_from_path(str(DEPLOY / "endpoints.scaleout.yml"))


def test_the_deployment_guide_names_every_variable_of_the_profile(compose):
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    names = set(ENDPOINT_VARS) | set(REFERENCE.findall(text)) | {"DATABASE_URL", "TRACKER_DB_URL"}
    missing = sorted(name for name in names if name not in guide)
    assert not missing, f"deploy/README.md does not explain {missing}"
