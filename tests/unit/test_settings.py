from __future__ import annotations

from pathlib import Path

import pytest

from zerotrust.core.errors import ConfigError
from zerotrust.settings import load_settings


def test_defaults_are_the_embedded_sqlite_in_dot_zt() -> None:
    s = load_settings({}, config_file=Path("/nonexistent.toml"))
    assert s.data_dir == Path(".zt")
    assert s.effective_database_url == "sqlite:///.zt/zerotrust.db"
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert (s.session_idle_s, s.session_absolute_s) == (900, 43200)
    assert (s.lockout_threshold, s.lockout_duration_s) == (10, 1800)


def test_environment_overrides_file(tmp_path: Path) -> None:
    conf = tmp_path / "zt.toml"
    conf.write_text('port = 9000\nhost = "0.0.0.0"\norigins = ["https://a.example"]\n')
    s = load_settings({"ZT_PORT": "9100", "ZT_DATA_DIR": str(tmp_path)}, config_file=conf)
    assert s.port == 9100
    assert s.host == "0.0.0.0"
    assert s.origins == ("https://a.example",)
    assert s.data_dir == tmp_path


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ZT_PORT": "70000"}, "ZT_PORT"),
        ({"ZT_PORT": "-1"}, "ZT_PORT"),
        ({"ZT_ACCESS_TOKEN_TTL_S": "3600"}, "ZT_ACCESS_TOKEN_TTL_S"),
        ({"ZT_DATABASE_URL": "mysql://x"}, "ZT_DATABASE_URL"),
        ({"ZT_REDIS_URL": "http://x"}, "ZT_REDIS_URL"),
        ({"ZT_DEMO": "maybe"}, "ZT_DEMO"),
        ({"ZT_LOG_LEVEL": "loud"}, "ZT_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env, config_file=Path("/nonexistent.toml"))
    assert needle in str(err.value)


def test_unknown_and_malformed_file_settings(tmp_path: Path) -> None:
    conf = tmp_path / "zt.toml"
    conf.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings({}, config_file=conf)
    conf.write_text("port = \n")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings({}, config_file=conf)
