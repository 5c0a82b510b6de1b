"""Chart tests draw real reports: the funnel test data of the web tests."""

from tests.web.conftest import funnel_data  # noqa: F401 (fixture)
