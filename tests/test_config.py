"""Config: shipped defaults, user overrides, and errors that name file and key."""

from __future__ import annotations

import pytest

from recap.config import read_config
from recap.errors import ConfigError


def test_defaults_load(tmp_path):
    config = read_config(cwd=tmp_path)
    assert [i.symbol for i in config.indexes] == ["^GSPC", "^DJI", "^IXIC", "^RUT"]
    assert [i.proxy for i in config.indexes] == ["SPY", "DIA", "QQQ", "IWM"]
    assert config.index_by_role("small").proxy_name == "Russell 2000"
    assert config.out_dir == tmp_path / "output"


def test_user_file_overrides_and_merges(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[report]\ntitle = "Friday Notes"\n')
    config = read_config(path, cwd=tmp_path)
    assert config.report["title"] == "Friday Notes"
    assert config.report["page_size"] == "Letter"  # untouched keys keep their defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[report]\npage_size = 12\n", r"mine\.toml: key 'report\.page_size' must be a string"),
        ('[report]\npage_size = "Tabloid"\n', r"report\.page_size' must be one of"),
        ('[report]\ntitel = "x"\n', r"unknown key 'report\.titel'"),
        ('[yahoo]\nretries = "three"\n', r"key 'yahoo\.retries' must be a number"),
        ("[[indexes]]\nname = 3\n", r"key 'indexes\[0\]\.name' must be a string"),
        ("[report\n", r"is not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config(path, cwd=tmp_path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_config(tmp_path / "nope.toml", cwd=tmp_path)


def test_local_recap_toml_is_picked_up(tmp_path):
    (tmp_path / "recap.toml").write_text('[paths]\nout_dir = "reports"\n')
    assert read_config(cwd=tmp_path).out_dir == tmp_path / "reports"
