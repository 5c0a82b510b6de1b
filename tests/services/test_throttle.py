"""Login throttle counters: counted before the password is checked, atomic under parallel
requests, and a successful login gives its source's attempt back (security issue 20, item 7).
Before: 40 parallel guesses, 28 evaluated before the lock."""

import pytest

from hrpipeline.extensions import db


def test_a_successful_login_does_not_use_up_the_source_allowance(client, auth, make_user):
    from hrpipeline.services import throttle

    make_user("hr_manager", ["ANT"], username="nat")
    for _ in range(30):  # one office behind one address, many logins
        assert auth.login("nat").status_code == 302
        auth.logout()
    assert throttle.failures("src:127.0.0.1") == 0


def test_attempt_is_counted_before_the_password_is_checked(client, auth, make_user,
                                                          monkeypatch):
    """Parallel guesses must not all pass the check before the first one is counted."""
    from hrpipeline import models
    from hrpipeline.services import throttle

    make_user("hr_manager", ["ANT"], username="pat")
    seen = []
    real = models.check_password_hash

    def spy(pwhash, password):
        seen.append((throttle.failures("user:pat"), throttle.failures("src:127.0.0.1")))
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", spy)
    auth.login("pat", "wrong")
    auth.login("pat", "wrong")
    assert seen == [(1, 1), (2, 2)]


@pytest.mark.app_config(LOGIN_DELAY_SECONDS=60)
def test_parallel_guesses_get_no_more_than_the_free_attempts(app):
    """40 concurrent reservations for one name (as 40 parallel login requests would make):
    only the free attempts are granted."""
    import threading

    from hrpipeline.services import throttle

    granted, barrier = [], threading.Barrier(8)

    def guess():
        with app.app_context():
            barrier.wait()
            for _ in range(5):
                granted.append(throttle.reserve("user:victim"))
            db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 40
    assert sum(granted) == 5
    assert throttle.failures("user:victim") == 5
