"""What `serve` and `worker` check before they start: the blob store, the models' config, each model's
weights on this machine, and the port; each refusal is one line naming the setting to fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.errors import ConfigError

DEFAULTS = Path(__file__).resolve().parents[2] / "zoetrope" / "config" / "defaults.toml"


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(DEFAULTS.read_text() + extra)
    return path


def _zoetrope(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoetrope", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=180)


def test_a_bad_model_option_is_one_config_error_naming_the_model_and_field(tmp_path):
    config = load_config(_config(tmp_path, '\n[[models]]\nname = "wan-x"\nbackend = "wan"\n'
                                           'options = { weights = "/models/wan", offload = "bogus" }\n'))
    with pytest.raises(ConfigError) as e:
        Registry(config).check_config()
    assert e.value.param == "ZOETROPE_CONFIG_FILE" and "model 'wan-x'" in e.value.message
    assert "`offload`" in e.value.message and "pydantic" not in e.value.message and "\n" not in e.value.message


def test_an_invalid_config_file_says_which_field(tmp_path):
    bad = _config(tmp_path, '\n[[models]]\nname = "x"\n')  # no backend
    with pytest.raises(ConfigError, match=r"models\.\d+\.backend: Field required") as e:
        load_config(bad)
    assert e.value.param == "ZOETROPE_CONFIG_FILE" and "errors.pydantic.dev" not in e.value.message


def test_models_whose_weights_are_not_here_are_left_to_other_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(tmp_path / "nowhere"))
    config = load_config(_config(tmp_path, '\n[[models]]\nname = "wan-x"\nbackend = "wan"\n'
                                           f'options = {{ weights = "{tmp_path / "wan"}" }}\n'))
    ready, missing = Registry(config).servable(["zoetrope-mini", "wan-x"])
    assert ready == [] and set(missing) == {"zoetrope-mini", "wan-x"}
    assert "bundled weights not found" in missing["zoetrope-mini"] and "no such folder" in missing["wan-x"]


def test_a_worker_with_no_model_it_can_run_refuses_to_start(tmp_path):
    done = _zoetrope("worker", env={"ZOETROPE_DATA_DIR": str(tmp_path / "data"),
                                    "ZOETROPE_WEIGHTS_DIR": str(tmp_path / "nowhere"), "COLUMNS": "300"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not serving zoetrope-mini here: bundled weights not found" in done.stdout
    assert done.stderr.startswith("error: no model this worker would serve")


def test_serve_with_workers_and_no_model_it_can_run_refuses_to_start(tmp_path):
    env = {"ZOETROPE_DATA_DIR": str(tmp_path / "data"), "ZOETROPE_WEIGHTS_DIR": str(tmp_path / "nowhere"),
           "COLUMNS": "300"}
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = _zoetrope("serve", "--port", str(port), env=env)
    assert done.returncode == 2 and "--workers 0" in done.stderr, done.stdout + done.stderr
    assert "not serving zoetrope-mini here" in done.stdout and "Zoetrope API on" not in done.stdout


def test_serve_refuses_a_taken_port_and_a_bad_blob_store_before_starting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _zoetrope("serve", "--port", str(port), env={"ZOETROPE_DATA_DIR": str(tmp_path / "a")})
    assert done.returncode == 2 and done.stderr.startswith("error (--port / ZOETROPE_PORT): "), done.stderr
    assert "Zoetrope API on" not in done.stdout
    (tmp_path / "file").write_text("")
    data = tmp_path / "b"
    done = _zoetrope("serve", "--port", str(port), env={"ZOETROPE_DATA_DIR": str(data),
                                                        "ZOETROPE_BLOB_URL": str(tmp_path / "file" / "blobs")})
    assert done.returncode == 2 and done.stderr.startswith("error (ZOETROPE_BLOB_URL): "), done.stderr
    assert not (data / "zoetrope.db").exists()  # nothing half-made


def test_a_device_this_machine_lacks_is_named(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("ZOETROPE_DEVICE", "cuda")
    from zoetrope.settings import get_settings

    get_settings.cache_clear()
    ready, missing = Registry(load_config()).servable(["zoetrope-mini"])
    assert ready == [] and "torch sees no CUDA GPU" in missing["zoetrope-mini"]


def test_the_first_run_account_starts_with_its_months_credits(tmp_path):
    import re
    import time

    import httpx

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, "-m", "zoetrope", "serve", "--port", str(port), "--workers", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        out, deadline = "", time.monotonic() + 120
        while "OPENAI_API_KEY=" not in out and time.monotonic() < deadline:
            out += proc.stdout.readline()
        key = re.search(r"OPENAI_API_KEY=(zk-\S+)", out).group(1)
        while time.monotonic() < deadline:  # the key is printed just before the server listens
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        usage = httpx.get(f"http://127.0.0.1:{port}/v1/usage", headers={"authorization": f"Bearer {key}"},
                          timeout=30).json()
        assert usage["credits"] == load_config().plans["pro"].monthly_credits, usage
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.parametrize("command", [["worker"], ["serve"], ["accounts", "list"]])
def test_a_data_dir_that_is_a_file_is_one_line_naming_the_setting(tmp_path, command):
    in_the_way = tmp_path / "data"
    in_the_way.write_text("not a folder")
    if command == ["serve"]:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            command += ["--port", str(free.getsockname()[1])]
    done = _zoetrope(*command, env={"ZOETROPE_DATA_DIR": str(in_the_way), "COLUMNS": "300"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error (ZOETROPE_DATA_DIR): cannot write the data directory")
    assert "it is a file, not a folder" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_accounts_on_a_plan_removed_from_the_config_stop_the_start(tmp_path):
    from tests.api.conftest import make_keys

    make_keys(tmp_path / "data")  # alice on pro, bob on plus
    without_plus = tmp_path / "config.toml"
    without_plus.write_text(DEFAULTS.read_text().replace("[plans.plus]", "[plans.plus-old]"))
    done = _zoetrope("worker", env={"ZOETROPE_DATA_DIR": str(tmp_path / "data"),
                                    "ZOETROPE_CONFIG_FILE": str(without_plus), "COLUMNS": "300"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error (ZOETROPE_CONFIG_FILE): plan 'plus' is not in the config")
    assert "(bob)" in done.stderr and "--plan" in done.stderr


def test_a_misspelt_setting_is_named_with_the_setting_meant(tmp_path):
    done = _zoetrope("accounts", "list", env={"ZOETROPE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "300",
                                               "ZOETROPE_DATABSE_URL": "sqlite:///elsewhere.db",
                                               "ZOETROPE_LEASE_SECOND": "5"})
    assert done.returncode == 0, done.stderr
    assert "warning (ZOETROPE_DATABSE_URL): not a Zoetrope setting; did you mean ZOETROPE_DATABASE_URL?" in done.stderr
    assert "warning (ZOETROPE_LEASE_SECOND): not a Zoetrope setting; did you mean ZOETROPE_LEASE_SECONDS?" in done.stderr


@pytest.mark.parametrize("url", ["s3://", "s3:/bucket/x", "s3//bucket/x"])
def test_a_malformed_s3_url_is_refused_naming_the_form(tmp_path, url):
    done = _zoetrope("worker", env={"ZOETROPE_DATA_DIR": str(tmp_path / "data"), "ZOETROPE_BLOB_URL": url,
                                    "COLUMNS": "300"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"error (ZOETROPE_BLOB_URL): {url!r} is not an S3 URL; write s3://BUCKET")
    assert not (tmp_path / "data").exists() and not Path("s3:").exists() and not Path("s3").exists()


UPSTREAM = ('\n[[models]]\nname = "relay"\nbackend = "upstream"\n'
            'options = { base_url = "https://api.example.com/v1", api_key_env = "RELAY_TEST_KEY", model = "sora-2" }\n')


def test_an_upstream_model_whose_key_variable_is_unset_refuses_the_start(tmp_path, monkeypatch):
    monkeypatch.delenv("RELAY_TEST_KEY", raising=False)
    registry = Registry(load_config(_config(tmp_path, UPSTREAM)))
    with pytest.raises(ConfigError) as e:
        registry.servable(["relay"])
    assert e.value.param == "RELAY_TEST_KEY" and "model 'relay'" in e.value.message
    assert "RELAY_TEST_KEY" in e.value.message
    monkeypatch.setenv("RELAY_TEST_KEY", "k")
    assert registry.servable(["relay"]) == (["relay"], {})


def test_a_worker_for_an_upstream_model_without_its_key_refuses_to_start(tmp_path):
    env = {"ZOETROPE_DATA_DIR": str(tmp_path / "data"), "ZOETROPE_WEIGHTS_DIR": str(tmp_path / "nowhere"),
           "ZOETROPE_CONFIG_FILE": str(_config(tmp_path, UPSTREAM)), "COLUMNS": "300", "RELAY_TEST_KEY": ""}
    done = _zoetrope("worker", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error (RELAY_TEST_KEY): model 'relay': no key"), done.stderr
    assert "Traceback" not in done.stderr
