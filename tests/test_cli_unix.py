"""The command line as a Unix tool: pipes, options in any place, one JSON document, refused settings, and
files that are not what `--db` promises. Every test runs `python -m harvest` as a real process."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from harvest.core.records import SourceRecord
from harvest.core.schema import Study
from harvest.sources.base import Batch
from harvest.store.database import Store
from harvest.testing import CtgovSite, ReplayServer, base_url_env
from tests.conftest import ROOT, apply, scalar

NCTS = ["NCT00000001", "NCT00000002", "NCT00000003"]
FETCHED = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
# Each study carries 100 KB of text, so `show` and `export` of them fill a pipe's buffer (64 KB on Linux).
LONG_TEXT = "word " * 20_000
MANY_ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three mirror records, written as a run writes them."""
    db = tmp_path_factory.mktemp("unix") / "harvest.db"
    store = Store(db)
    for nct in NCTS:
        url = f"https://veeva.example/study/{nct}"
        study = Study(
            nct_id=nct,
            brief_title=f"Trial {nct}",
            detailed_description=LONG_TEXT,
            provenance={"source": "veeva", "url": url, "fetched_at": FETCHED},
        )
        record = SourceRecord("veeva", f"/study/{nct}", url, study, b"<html></html>", "text/html")
        apply(store, Batch(records=[record]), source="veeva", run_id=None)
    store.close()
    return db


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env.update(extra or {})
    return env


def harvest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harvest", *args],
        env=_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- 8. pipes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["query", MANY_ROWS],
        ["query", MANY_ROWS, "--csv"],
        ["query", MANY_ROWS, "--table"],
        ["show", *NCTS],
        ["export", "--format", "jsonl"],
        ["export", "--format", "csv"],
    ],
    ids=["query-json", "query-csv", "query-table", "show", "export-jsonl", "export-csv"],
)
def test_a_reader_that_leaves_early_ends_the_command_quietly(small_db: Path, args: list[str]) -> None:
    """`harvest query … | head -1`: the reader takes one line and closes the pipe; harvest stops, exit 0, silent."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harvest", "--db", str(small_db), *args],
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr
    assert first and stderr == ""


# -- 9. global options before or after the command ---------------------------------------------------


def _copy(db: Path, folder: Path) -> Path:
    """A copy a command may write to (the module's file stays as built)."""
    target = folder / "copy.db"
    Store(db, readonly=True).close()  # nothing pending in the -wal
    target.write_bytes(db.read_bytes())
    return target


@pytest.mark.parametrize("command", sorted(__import__("harvest.cli", fromlist=["main"]).main.commands))
def test_every_command_takes_the_global_options(command: str) -> None:
    result = harvest(command, "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--db PATH", "-q, --quiet", "-v, --verbose", "--log-json"):
        assert option in result.stdout


def test_db_after_the_command_names_the_file(small_db: Path, tmp_path: Path) -> None:
    before = harvest("--db", str(small_db), "runs", "--json")
    after = harvest("runs", "--json", "--db", str(small_db))
    assert before.returncode == after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    # after the command, --db wins over HARVEST_DB (and over a --db before it)
    elsewhere = {"HARVEST_DB": str(tmp_path / "no-such.db")}
    assert harvest("runs", "--json", "--db", str(small_db), env=elsewhere).stdout == before.stdout
    assert harvest("--db", "x.db", "runs", "--json", "--db", str(small_db)).stdout == before.stdout
    # a --db before the command wins over HARVEST_DB, as it always did
    assert harvest("--db", str(small_db), "runs", "--json", env=elsewhere).stdout == before.stdout
    # `harvest run --db x.db` writes where it is told: here a folder that does not exist, exit 3 naming it
    missing = str(tmp_path / "no" / "such" / "x.db")
    first, second = harvest("--db", missing, "run"), harvest("run", "--db", missing)
    assert first.returncode == second.returncode == 3 and first.stderr == second.stderr
    assert "does not exist" in second.stderr and str(tmp_path / "no" / "such") in second.stderr


def test_quiet_after_the_command(small_db: Path) -> None:
    loud = harvest("--db", str(small_db), "export", "--format", "csv")
    assert loud.returncode == 0 and "exported 3 rows" in loud.stderr
    for args in (["--quiet", "export"], ["export", "--quiet"], ["export", "-q"]):
        result = harvest("--db", str(small_db), *args, "--format", "csv")
        assert result.returncode == 0 and result.stderr == "" and result.stdout == loud.stdout


def test_log_json_after_the_command(small_db: Path, tmp_path: Path) -> None:
    db = _copy(small_db, tmp_path)
    for args in (["--log-json", "reparse"], ["reparse", "--log-json"]):
        result = harvest("--db", str(db), *args)
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("{") for line in lines), result.stderr
        assert '"event": "summary"' in lines[-1]


def test_verbose_after_the_command(tmp_path: Path) -> None:
    """-v shows the retries (an INFO line); nothing listens on 127.0.0.1:9, so every attempt is refused."""
    env = {"HARVEST_CTGOV_URL": "http://127.0.0.1:9/api/v2", "HARVEST_RETRIES": "1", "HARVEST_BACKOFF": "0.01"}
    db = str(tmp_path / "v.db")
    plain = harvest("--db", db, "fetch", "NCT00000001", env=env)
    assert plain.returncode == 1 and "retrying" not in plain.stderr
    for args in (["-v", "fetch", "NCT00000001"], ["fetch", "NCT00000001", "-v"], ["fetch", "-v", "NCT00000001"]):
        result = harvest("--db", db, *args, env=env)
        assert result.returncode == 1 and "retrying" in result.stderr, result.stderr


# -- 10. one JSON document ------------------------------------------------------------------------------


def test_show_of_several_trials_prints_one_json_array(small_db: Path) -> None:
    several = harvest("--db", str(small_db), "show", "NCT00000002", "NCT00000001")
    assert several.returncode == 0, several.stderr
    shown = json.loads(several.stdout)  # one document: json.loads refuses two objects one after the other
    assert [study["nct_id"] for study in shown] == ["NCT00000002", "NCT00000001"]
    one = harvest("--db", str(small_db), "show", "NCT00000001")
    assert one.returncode == 0 and json.loads(one.stdout) == shown[1]
    # one missing: the array holds those found; the missing one is named on stderr, exit 1
    partly = harvest("--db", str(small_db), "show", "NCT00000001", "NCT09999999")
    assert partly.returncode == 1 and "NCT09999999" in partly.stderr
    assert [study["nct_id"] for study in json.loads(partly.stdout)] == ["NCT00000001"]


# -- 11. settings that mean nothing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [("HARVEST_CTGOV_RPS", "nan"), ("HARVEST_VEEVA_RPS", "inf"), ("HARVEST_ICHGCP_RPS", "-inf")],
)
def test_a_request_rate_that_is_not_finite_is_refused(name: str, value: str) -> None:
    result = harvest("sources", env={name: value})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and name in result.stderr and result.stdout == ""


def test_a_request_rate_of_0_means_no_throttle() -> None:
    result = harvest("sources", env={"HARVEST_CTGOV_RPS": "0"})
    assert result.returncode == 0, result.stderr
    assert "0.0" in next(line for line in result.stdout.splitlines() if line.startswith("ctgov "))


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_timeout_that_is_not_above_0_or_not_finite_is_refused(value: str, tmp_path: Path) -> None:
    env = {"HARVEST_TIMEOUT": value, "HARVEST_CTGOV_URL": "http://127.0.0.1:9/api/v2", "HARVEST_RETRIES": "0"}
    result = harvest("--db", str(tmp_path / "t.db"), "run", env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "HARVEST_TIMEOUT" in result.stderr


# -- 12. --db naming something that is not a harvest database ------------------------------------------

OFFLINE = {"HARVEST_CTGOV_URL": "http://127.0.0.1:9/api/v2", "HARVEST_RETRIES": "0"}
EVERY_USE = [
    ["query", "SELECT 1"],
    ["show", "NCT00000001"],
    ["export"],
    ["stats"],
    ["runs"],
    ["run"],
    ["fetch", "NCT00000001"],
    ["reparse"],
    ["reindex"],
]
EVERY_USE_IDS = [args[0] for args in EVERY_USE]


@pytest.mark.parametrize("args", EVERY_USE, ids=EVERY_USE_IDS)
def test_db_naming_a_directory_says_so(args: list[str], tmp_path: Path) -> None:
    folder = tmp_path / "trials"
    folder.mkdir()
    result = harvest("--db", str(folder), *args, env=OFFLINE)
    assert result.returncode == 3
    assert result.stderr == f"harvest: {folder} is a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials"]  # no trials.lock beside it


@pytest.mark.parametrize("args", EVERY_USE, ids=EVERY_USE_IDS)
def test_db_naming_a_file_that_is_not_sqlite_says_so(args: list[str], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, just notes\n" * 100)
    result = harvest("--db", str(notes), *args, env=OFFLINE)
    assert result.returncode == 3
    assert result.stderr == f"harvest: {notes} is not a harvest database\n"
    assert notes.read_text() == "not a database, just notes\n" * 100


@pytest.mark.parametrize("args", [["query", "SELECT 1"], ["runs"], ["stats"]], ids=["query", "runs", "stats"])
def test_reading_a_sqlite_file_that_is_not_ours_says_so(args: list[str], tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    result = harvest("--db", str(other), *args)
    assert result.returncode == 3
    assert result.stderr == f"harvest: {other} is not a harvest database\n"


# -- 13. writes through `harvest query` -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA journal_mode=DELETE",
        "PRAGMA user_version = 7",
        "PRAGMA query_only = OFF",
        "UPDATE studies SET brief_title = 'x'",
        "DELETE FROM studies",
        "VACUUM",
        "ATTACH 'other.db' AS other",
    ],
)
def test_a_write_through_query_says_the_file_is_opened_read_only(sql: str, small_db: Path, tmp_path: Path) -> None:
    db = _copy(small_db, tmp_path)
    before = db.read_bytes()
    result = harvest("--db", str(db), "query", sql)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "opens the file read-only" in result.stderr, result.stderr
    assert db.read_bytes() == before
    assert scalar(db, "PRAGMA journal_mode") == "wal"


def test_pragmas_that_only_read_still_work(small_db: Path) -> None:
    for sql in ("PRAGMA table_info(studies)", "PRAGMA journal_mode", "SELECT name FROM pragma_table_info('studies')"):
        result = harvest("--db", str(small_db), "query", sql, "--json")
        assert result.returncode == 0 and result.stdout, (sql, result.stderr)


# -- 14. every error is one line, whatever the argument or setting (issue 24, items 8, 10 and 11) ----------


def one_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The command failed with ``code`` and said why in one `harvest:` line, naming what it was given."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("harvest: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


def harvest_bytes(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """As ``harvest``, with arguments that may be bytes: what a shell passes for $'\\xff'."""
    return subprocess.run(
        [sys.executable, "-m", "harvest", *args],
        env=_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["search", b"sep\xfftic"],
        ["export", "--where", b"nct_id = '\xff'"],
        ["changes", "--since", "2020-01-01", "--field", b"\xff"],
        ["compliance", "--sponsor", b"\xff"],
        ["query", b"SELECT '\xff'"],
    ],
    ids=["search", "export-where", "changes-field", "compliance-sponsor", "query"],
)
def test_an_argument_that_is_not_utf8_is_one_line(small_db: Path, args: list[str | bytes]) -> None:
    one_line(harvest_bytes("--db", str(small_db), *args), 2, "not valid UTF-8")


@pytest.mark.parametrize("args", [["search", "trial", "--limit"], ["runs", "--limit"]], ids=["search", "runs"])
def test_a_limit_beyond_what_sqlite_counts_is_refused(small_db: Path, args: list[str]) -> None:
    result = harvest("--db", str(small_db), *args, "1000000000000000000000000000000")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "--limit" in result.stderr


def test_an_nct_number_in_other_digits_is_bad_input(small_db: Path) -> None:
    one_line(harvest("--db", str(small_db), "show", "NCT٠٢٥١٣٣٩٤"), 2, "is not an NCT number")


BAD_SETTINGS = [
    ("HARVEST_CONTACT", "mailto:jöns@example.org"),
    ("HARVEST_CONTACT", "mailto:a@example.org\r\nX-Injected: 1"),
    ("HARVEST_USER_AGENT", "harvest\n"),
    ("HARVEST_CTGOV_URL", "ftp://clinicaltrials.gov/api/v2"),
    ("HARVEST_CTGOV_URL", "not a url"),
    ("HARVEST_VEEVA_URL", "https://"),
    ("HARVEST_DEADLINE", "0"),
]
SETTINGS_IN_USE = [(*BAD_SETTINGS[0], ["fetch", "NCT00000001"]), (*BAD_SETTINGS[3], ["run"])]


@pytest.mark.parametrize(
    ("name", "value", "args"),
    [(name, value, ["sources"]) for name, value in BAD_SETTINGS] + SETTINGS_IN_USE,
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_a_setting_that_cannot_work_is_bad_input_naming_it(
    name: str, value: str, args: list[str], tmp_path: Path
) -> None:
    """A contact that cannot go in a header, a base URL that is not http(s): exit 2 naming the variable, not a
    traceback (a non-ASCII contact) nor an exit 3 blaming robots.txt (an ftp:// or unparsable URL)."""
    result = harvest("--db", str(tmp_path / "t.db"), *args, env={**OFFLINE, name: value})
    one_line(result, 2, name)
    assert "robots.txt" not in result.stderr


@pytest.mark.parametrize(
    "args", [["sources"], ["runs"], ["query", "SELECT 1"], ["show", "NCT00000001"], ["stats"]], ids=lambda a: a[0]
)
def test_every_command_checks_the_environment_it_is_given(small_db: Path, args: list[str]) -> None:
    one_line(harvest("--db", str(small_db), *args, env={"HARVEST_TIMEOUT": "0"}), 2, "HARVEST_TIMEOUT")


def test_run_refuses_a_sqlite_file_of_another_program(tmp_path: Path) -> None:
    """`run --db other-app.sqlite` added harvest's tables to another program's file and switched it to WAL."""
    other = tmp_path / "other-app.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    for args in (["run"], ["fetch", "NCT00000001"], ["reparse"], ["history", "NCT00000001"]):
        one_line(harvest("--db", str(other), *args, env=OFFLINE), 3, f"{other} is not a harvest database")
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-app.sqlite"]  # no -wal, -shm or lock beside it


def test_control_characters_are_escaped_on_the_way_to_a_terminal(small_db: Path) -> None:
    """Issue 24, item 9: a value holding ESC and BEL printed raw by `--table` made the reader's terminal act on
    them (colours, a window title, a cleared screen). A table, and an error line, show them written out."""
    sql = "SELECT char(27) || '[31mred' || char(7) AS x, char(155) || '2J' AS y"
    table = harvest("--db", str(small_db), "query", sql, "--table")
    assert table.returncode == 0, table.stderr
    assert "\\x1b[31mred\\x07" in table.stdout and "\\x9b2J" in table.stdout
    assert not {"\x1b", "\x07", "\x9b"} & set(table.stdout)
    as_json = harvest("--db", str(small_db), "query", sql, "--json")  # JSON escapes them itself
    assert json.loads(as_json.stdout) == {"x": "\x1b[31mred\x07", "y": "\x9b2J"}
    error = harvest("--db", str(small_db), "query", "SELECT * FROM [\x1b[2Jx]")
    one_line(error, 2, "\\x1b[2Jx")
    assert "\x1b" not in error.stderr


def test_vv_shows_the_http_exchanges(tmp_path: Path) -> None:
    """Issue 24, item 11: `-vv` promised HTTP debugging and printed what `-v` did. It shows each request and
    the response's status line and headers (httpx and httpcore's own debug logs), on stderr."""
    with ReplayServer(CtgovSite.from_dir()) as server:
        env = {**base_url_env({"ctgov": server}), "HARVEST_DB": str(tmp_path / "v.db")}
        once = harvest("-v", "fetch", "NCT03418623", env=env)
        twice = harvest("-vv", "fetch", "NCT03418623", env=env)
    assert once.returncode == twice.returncode == 0, twice.stderr
    request = f'HTTP Request: GET {server.url}/api/v2/studies/NCT03418623 "HTTP/1.1 200 OK"'
    assert request in twice.stderr and "receive_response_headers.complete" in twice.stderr
    assert request not in once.stderr and "receive_response_headers" not in once.stderr
    assert json.loads(twice.stdout)["nct_id"] == "NCT03418623"  # stdout is data only


# -- a reader who may not write the folder (issue 24, item 7) ---------------------------------------------
# In WAL mode every reader needs the -shm file beside the database and creates it when it is missing; one who
# may read the file but not write its folder got "attempt to write a readonly database" from every command.


def _read_only_copy(small_db: Path, folder: Path) -> Path:
    folder.mkdir()
    db = _copy(small_db, folder)
    assert scalar(db, "PRAGMA journal_mode") == "wal" and not Path(f"{db}-shm").exists()
    return db


def test_a_reader_who_cannot_create_the_wal_index_reads_a_snapshot(small_db: Path, tmp_path: Path) -> None:
    """A -shm that cannot be created whoever asks (a link into a folder that does not exist), so it holds for
    root too: SQLite fails as on a read-only file system, and harvest reads the file as an immutable snapshot."""
    db = _read_only_copy(small_db, tmp_path / "shared")
    Path(f"{db}-shm").symlink_to(tmp_path / "no-such-folder" / "copy.db-shm")
    counted = harvest("--db", str(db), "query", "SELECT count(*) AS n FROM studies", "--json")
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout) == {"n": 3}
    assert counted.stderr.count("\n") == 1 and "read as an immutable snapshot" in counted.stderr
    shown = harvest("--db", str(db), "show", "NCT00000002")
    assert shown.returncode == 0 and json.loads(shown.stdout)["nct_id"] == "NCT00000002", shown.stderr


def _as_nobody() -> list[str] | None:
    """A command prefix that runs Python as an unprivileged user (for a root test run), or None."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    paths = os.pathsep.join([str(ROOT / "src"), sysconfig.get_paths()["purelib"]])
    for python in (sys.executable, "/usr/bin/python3"):
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "env", f"PYTHONPATH={paths}", python]
        probe = subprocess.run([*command, "-c", "import harvest.cli"], capture_output=True, cwd="/", check=False)
        if probe.returncode == 0:
            return command
    return None


def test_a_reader_without_write_access_to_the_folder_reads_a_snapshot(small_db: Path) -> None:
    """The case as users meet it: a folder they may read (0555) holding a file they may read (0644)."""
    prefix: list[str] = []
    if os.geteuid() == 0:  # root ignores folder permissions: run the command as another user, if one can
        prefix = _as_nobody() or []
        if not prefix:
            pytest.skip("running as root, and no unprivileged user can run this Python (setpriv, nobody)")
    else:
        prefix = [sys.executable]
    top = Path(tempfile.mkdtemp(prefix="harvest-ro-"))  # not under pytest's 0700 folders: the other user reads it
    try:
        top.chmod(0o755)
        db = _read_only_copy(small_db, top / "shared")
        db.chmod(0o644)
        db.parent.chmod(0o555)
        command = [*prefix, "-m", "harvest", "--db", str(db), "query", "SELECT count(*) AS n FROM studies", "--json"]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/", env=_env(), timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"n": 3} and "read as an immutable snapshot" in result.stderr
    finally:
        (top / "shared").chmod(0o755)
        shutil.rmtree(top)


def test_a_bug_is_one_line_too_and_vv_shows_its_traceback(small_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README promises one line and never a traceback, whatever fails: a bug (here, planted) included."""
    from click.testing import CliRunner

    from harvest.cli import main, querying

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("planted")

    monkeypatch.setattr(querying.stats_mod, "collect", broken)
    plain = CliRunner().invoke(main, ["--db", str(small_db), "stats"], catch_exceptions=False)
    assert plain.exit_code == 3
    assert plain.stderr == "harvest: internal error (a bug in harvest; -vv shows where): TypeError: planted\n"
    loud = CliRunner().invoke(main, ["--db", str(small_db), "-vv", "stats"], catch_exceptions=False)
    assert "Traceback" in loud.stderr and loud.stderr.endswith(plain.stderr)
