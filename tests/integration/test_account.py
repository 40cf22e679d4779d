"""The sessions page a signed-in user lands on."""


def test_sessions_page_shows_device_ip_and_attempts(auth, client):
    auth.create()
    auth.login("alice", "wrong")
    auth.login(headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"})
    text = client.get("/account/sessions").get_data(as_text=True)
    assert "Chrome 126" in text and "Windows 10" in text and "127.0.0.1" in text
    assert "this device" in text and "bad_password" in text and "success" in text


def test_attempts_of_other_accounts_are_not_shown(auth, client):
    auth.create()
    auth.create("bob")
    auth.login("bob", "wrong")
    auth.login()
    assert "bad_password" not in client.get("/account/sessions").get_data(as_text=True)
