"""The one door: releases per data version, and upload metadata as each role may see it."""

from hrpipeline.extensions import db
from hrpipeline.models import Upload
from hrpipeline.services import releases


def _upload(zone, rows):
    upload = Upload(zone_id=zone.id, kind="funnel", filename="f.csv", sha256="f" * 64,
                    row_count=rows)
    db.session.add(upload)
    db.session.commit()
    return upload


def test_row_counts_are_exact_for_the_uploader_and_rounded_for_readers(zones, make_user):
    upload = _upload(zones["ANT"], 1234)
    hr = make_user("hr_manager", ["ANT"])
    officer = make_user("diversity_officer", ["ANT"])
    assert releases.upload_rows(upload, hr) == 1234
    shown = releases.upload_rows(upload, officer)
    assert shown in (1230, 1235)
    assert releases.upload_rows(upload, officer) == shown  # the same number every time


def test_upload_history_page_shows_readers_the_rounded_count(client, auth, zones, make_user):
    _upload(zones["ANT"], 1234)
    officer = make_user("diversity_officer", ["ANT"])
    auth.login(officer.username)
    page = client.get("/uploads").get_data(as_text=True)
    assert "1,234" not in page and "1234" not in page
    assert 'id="rows-rounded"' in page
