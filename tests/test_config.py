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
    assert config.report.title == "Friday Notes"
    assert config.report.page_size == "Letter"  # untouched keys keep their defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[report]\npage_size = 12\n", r"mine\.toml: key 'report\.page_size' must be a string"),
        ('[report]\npage_size = "Tabloid"\n', r"report\.page_size' must be one of"),
        ('[report]\ntitel = "x"\n', r"unknown key 'report\.titel'"),
        ('[yahoo]\nretries = "three"\n', r"key 'yahoo\.retries' must be a whole number"),
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # every key and type is checked at load, not after the data is fetched
        ('[[indexes]]\nsymbol = "^GSPC"\n', r"key 'indexes\[0\]\.name' is required"),
        (
            '[sectors]\netfs = [{ name = "Tech" }]\n',
            r"key 'sectors\.etfs\[0\]\.ticker' is required",
        ),
        ("[sectors]\nleaders = -3\n", r"key 'sectors\.leaders' must be a whole number >= 1"),
        (
            "[risks]\nwindow_sessions = 0\n",
            r"key 'risks\.window_sessions' must be a whole number >= 2",
        ),
        ("[email]\nport = 70000\n", r"key 'email\.port' must be a whole number <= 65535"),
        (
            '[email]\ntls = "tls"\n',
            r"key 'email\.tls' must be one of 'none' or 'ssl' or 'starttls'",
        ),
        (
            '[email]\nfrom_name = "News\\r\\nBcc: all@example.com"\n',
            r"'email\.from_name' must be one line",
        ),
        ('[email]\nfrom = "a@b.c\\nX: y"\n', r"'email\.from' must be one line"),
        (
            '[[risk_notes]]\ntext = "t"\nsource = "s"\nas_of = "soon"\n',
            r"key 'risk_notes\[0\]\.as_of' must be a date \(YYYY-MM-DD\), got 'soon'",
        ),
        (
            '[[risk_notes]]\ntext = "t"\nas_of = 2025-01-02\n',
            r"'risk_notes\[0\]\.source' is required",
        ),
        ('[watchlists]\nMine = ["../../etc"]\n', r"key 'watchlists\.Mine\[0\]' must be a ticker"),
        ('[watchlists]\nMine = "AAPL"\n', r"key 'watchlists\.Mine' must be an array"),
        ("[names]\nAAPL = 3\n", r"key 'names\.AAPL' must be a string"),
        ('[risks]\nbasket = "Chips"\n', r"'risks\.basket' names the watchlist 'Chips', which"),
        ('[banks]\nwatchlist = "Banks"\n', r"'banks\.watchlist' names the watchlist 'Banks'"),
        ('[banks]\nlarge = ["JPM", "bad ticker"]\n', r"key 'banks\.large\[1\]' must be a ticker"),
        (
            '[contribution]\nweights = [{ sector = "Energy", weight = 0.1 }]\n',
            r"'contribution\.weights' needs 'contribution\.weights_source'",
        ),
        (
            '[contribution]\nweights_source = "x"\nweights_as_of = 2025-06-30\n'
            'weights = [{ sector = "Energy", weight = 1.5 }]\n',
            r"key 'contribution\.weights\[0\]\.weight' must be a number <= 1",
        ),
        (
            '[[indexes]]\nname = "A"\nsymbol = "^A"\nrole = "large"\n[[indexes]]\n'
            'name = "B"\nsymbol = "^B"\nrole = "large"\n',
            r"gives role 'large' to more than one",
        ),
    ],
)
def test_every_section_is_checked_when_the_config_loads(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"mine\.toml: .*" + message):
        read_config(path, cwd=tmp_path)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_bytes(b'[report]\ntitle = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"mine\.toml is not UTF-8 text"):
        read_config(path, cwd=tmp_path)


def test_sections_are_typed_records(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[email]\nport = 2525\nfrom = "news@example.org"\n'
        '[watchlists]\n"Cloud software" = ["MSFT", "ORCL"]\n'
        '[[risk_notes]]\ntext = "t"\nsource = "s"\nas_of = 2025-06-30\n'
    )
    config = read_config(path, cwd=tmp_path)
    assert config.email.port == 2525 and config.email.sender == "news@example.org"
    assert config.email.host == "localhost"  # the default, merged key by key
    assert config.watchlists["Cloud software"] == ("MSFT", "ORCL")
    assert "AI hardware" in config.watchlists  # tables merge; user names are added
    assert [n.as_of.isoformat() for n in config.risk_notes] == ["2025-06-30"]  # arrays replace
    with pytest.raises(AttributeError):
        config.email.port = 25  # frozen


@pytest.mark.parametrize(
    "entry", ["XLE 2026-01-16", "XLE:2026-13-01", "../x:2026-01-16", "xle:2026-01-16", ""]
)
def test_a_bad_accept_entry_is_one_line(tmp_path, entry):
    path = tmp_path / "mine.toml"
    path.write_text(f'[data]\naccept = ["{entry}"]\n')
    with pytest.raises(
        ConfigError, match=r"mine\.toml: key 'data\.accept\[0\]' must be \"TICKER:YYYY-MM-DD\""
    ):
        read_config(path, cwd=tmp_path)


def test_accept_entries_are_parsed(tmp_path):
    import datetime as dt

    path = tmp_path / "mine.toml"
    path.write_text('[data]\naccept = ["XLE:2026-01-16", "BRK-B", "^RUT:2025-04-09"]\n')
    assert read_config(path, cwd=tmp_path).accept == {
        ("XLE", dt.date(2026, 1, 16)),
        ("BRK-B", None),
        ("^RUT", dt.date(2025, 4, 9)),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[blog]\nbase_url = "example.com"\n', r"'blog\.base_url' must be an http\(s\) URL"),
        ('[blog]\ncontent_dir = "/etc/posts"\n', r"'blog\.content_dir' must be a folder inside"),
        ('[blog]\nmedia_dir = "static/../../x"\n', r"'blog\.media_dir' must be a folder inside"),
        ('[blog]\narchive_dir = ".."\n', r"'blog\.archive_dir' must be a folder inside"),
        ('[blog]\narchive_dir = ""\n', r"'blog\.archive_dir' must be a folder inside"),
    ],
)
def test_blog_paths_are_checked_when_the_config_loads(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config(path, cwd=tmp_path)


def test_blog_folders_with_dots_in_names_are_fine(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[blog]\ncontent_dir = "content/posts..old"\nmedia_dir = ".static"\n')
    assert read_config(path, cwd=tmp_path).blog.media_dir == ".static"
