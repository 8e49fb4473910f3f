"""One check of a Redis URL, whichever door it comes through.

``JOBSTATE_REDIS_URL`` (every command, worker and the web API read it) and the plugin's
``redis`` setting (flag, variable, ini) agree on every URL: refused with one line that
never shows the URL (it may hold a password), or accepted, and then a client can be made
from it. A URL that only looked right used to fail later: an INTERNALERROR of the whole
run, a traceback, or a database ``abc`` read silently as 0.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.config import Setting, _check_redis
from pipeline.celery_app import create_app
from pipeline.connection import redis_client
from pipeline.settings import Settings, SettingsError

SECRET = "pw-9f3k"
SCHEMES = st.sampled_from(["redis://", "rediss://", "unix://", "REDIS://"])
HOSTS = st.sampled_from(["127.0.0.1", "h", "[::1]", "[::1", "", f"u:{SECRET}@h"])
PORTS = st.sampled_from(["", ":0", ":6379", ":65535", ":65536", ":99999", ":-1", ":x"])
PATHS = st.sampled_from(["", "/", "/0", "/15", "/abc", "/0x1", "/tmp/r.sock"])
QUERIES = st.sampled_from(
    ["", "?db=2", "?db=x", "?socket_timeout=1.5", "?socket_timeout=abc", "?health_check_interval=x"]
)
URLS = st.builds(lambda *parts: "".join(parts), SCHEMES, HOSTS, PORTS, PATHS, QUERIES)


def _settings_refuse(url: str) -> str | None:
    try:
        Settings(redis_url=url)
    except SettingsError as exc:
        return str(exc)
    return None


def _plugin_refuses(url: str) -> str | None:
    try:
        _check_redis(Setting(url, "cli"))
    except pytest.UsageError as exc:
        return str(exc)
    return None


@given(url=URLS)
def test_every_door_refuses_the_same_urls_without_showing_them(url: str) -> None:
    settings_says, plugin_says = _settings_refuse(url), _plugin_refuses(url)
    assert (settings_says is None) == (plugin_says is None), (url, settings_says, plugin_says)
    if settings_says is None:
        redis_client(Settings(redis_url=url)).close()  # no connection yet: only the parse
        return
    assert settings_says.startswith("JOBSTATE_REDIS_URL ")
    assert plugin_says is not None
    assert plugin_says.startswith("--jobstate-redis")
    for said in (settings_says, plugin_says):
        assert SECRET not in said
        assert url not in said


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("redis://h:65535/0", False),
        ("redis://h:65536/0", True),
        ("redis://h:6379/15", False),
        ("redis://h:6379/abc", True),
    ],
)
def test_ports_and_databases_at_their_bound(url: str, refused: bool) -> None:
    assert (_settings_refuse(url) is not None) is refused


STORE_URLS = URLS | st.sampled_from(
    [f"redis+sentinel://u:{SECRET}@s1:26379,s2:26379/mymaster/0", "redis+sentinel://s:1/m"]
)


@given(url=STORE_URLS, cluster=st.booleans())
@example(url=f"rediss://u:{SECRET}@h:6380/2", cluster=False)  # the README's example
@example(url="unix:///tmp/r.sock", cluster=False)
@example(url="REDIS://h", cluster=False)
def test_a_store_url_standing_in_for_celerys_urls_works_there_or_names_what_to_set(
    url: str, cluster: bool
) -> None:
    """With no JOBSTATE_BROKER_URL or JOBSTATE_RESULT_URL, the store's Redis URL is
    Celery's broker and result backend. A ``rediss://`` one made every job's first send
    fail inside Celery (its result backend requires ``ssl_cert_reqs``), an upper-case
    scheme named no result backend, and a ``unix://`` one no transport: the app is now
    built with URLs Celery reads, or refused naming the variables to set."""
    try:
        settings = Settings(redis_url=url, cluster=cluster)
    except SettingsError:
        return  # not a store URL: the other tests here
    try:
        app = create_app(settings)
    except SettingsError as exc:
        said = str(exc)
        assert "set JOBSTATE_BROKER_URL" in said or "set JOBSTATE_RESULT_URL" in said, said
        assert SECRET not in said
        return
    try:
        app.connection_for_write().close()  # kombu reads the broker URL (no connection)
        assert app.backend is not None  # Celery builds its result backend, offline
    finally:
        app.close()


@given(
    password=st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S"]), min_size=4),
    quoted=st.booleans(),
)
def test_a_librarys_refusal_that_quotes_the_url_never_shows_its_password(
    password: str, quoted: bool
) -> None:
    """kombu or Celery may quote the URL they refuse; what we pass on of it never holds
    the password, as written in the URL or decoded."""
    from urllib.parse import quote, unquote

    from pipeline.urls import _refused_by

    written = quote(password, safe="")
    url = f"redis://user:{written}@h:6379/0"

    def refuse(seen: str) -> None:
        shown = unquote(seen) if quoted else seen
        raise ValueError(f"cannot use {shown}: bad option")

    said = _refused_by("kombu", refuse, url)
    assert said is not None
    assert said.startswith("is not a URL kombu can use (ValueError"), said
    assert written not in said, said
    assert password not in said, said
