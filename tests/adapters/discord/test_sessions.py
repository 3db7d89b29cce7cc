"""Server allow-list and admin roles as read from the settings."""

from __future__ import annotations

from adapters.discord.sessions import admin_roles, allowed_guilds


def test_an_unset_allow_list_allows_every_server() -> None:
    assert allowed_guilds("") is None
    assert allowed_guilds(" ") is None


def test_an_allow_list_of_typos_allows_no_server() -> None:
    assert allowed_guilds("my-server") == set()
    assert allowed_guilds("123, my-server 456") == {123, 456}


def test_admin_role_names_may_contain_spaces() -> None:
    assert admin_roles("Video Admins, 1234") == {"Video Admins", "1234"}
    assert "Admins" not in admin_roles("Video Admins")
    assert admin_roles("") == set()
