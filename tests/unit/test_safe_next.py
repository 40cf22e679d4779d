"""Only local paths survive as a redirect target."""

import pytest

from portal.sessions.current_user import is_local_path


@pytest.mark.parametrize("target", ["/account/sessions", "/admin/history?user=bob&outcome=failure",
                                    "/a/b#frag"])
def test_local_paths_are_kept(target):
    assert is_local_path(target)


@pytest.mark.parametrize("target", [
    None, "", "http://evil.example/", "https:evil.example", "//evil.example", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
    " /account", "javascript:alert(1)", "evil.example", "/\x00",
])
def test_other_targets_are_refused(target):
    assert not is_local_path(target)
