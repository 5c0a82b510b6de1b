"""Upload form and history: a good extract is checked, previewed and stored on confirmation,
a bad one shows its problems inline (in the reader's language) with a downloadable error
report, the same file twice is "already stored", replacing needs a confirmation that names
what disappears, an upload can be withdrawn and restored, CSRF is required, and a file over
the size limit gets a friendly page. Nothing is stored when a file is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl
from tests.web.conftest import EXAMPLES, as_user, login

CORPUS = Path(__file__).resolve().parents[1] / "ingest" / "corpus"


def good_file() -> tuple[bytes, str]:
    """The ingest engineer's example funnel extract when present, else the ingest tests' one."""
    examples = sorted(EXAMPLES.glob("*funnel*.csv")) if EXAMPLES.exists() else []
    if examples:
        return examples[0].read_bytes(), examples[0].name
    return funnel_nl(GOOD_FUNNEL_ROWS), "wervingsfunnel_2024.csv"


def post(client, data: bytes, filename: str, zone="ANT", kind="funnel", **extra):
    form = {"zone": zone, "kind": kind, "file": (io.BytesIO(data), filename), **extra}
    return client.post("/uploads/new", data=form, content_type="multipart/form-data")


def token_of(body: str) -> str:
    return body.split('name="token" type="hidden" value="')[1].split('"')[0]


def store(client, data: bytes, filename: str, confirm_replace: bool = False, **extra):
    """Check the file (the preview), then store it; return the confirmation's response."""
    preview = post(client, data, filename, **extra)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="upload-preview"' in body, body[-3000:]
    form = {"token": token_of(body)}
    if confirm_replace:
        form["confirm_replace"] = "y"
    return client.post("/uploads/confirm", data=form)


@pytest.fixture
def hr(client, make_user):
    user = make_user("hr_manager", ["ANT"], language="en")
    login(client, user)
    return user


def test_good_extract_is_stored_and_listed(client, hr, db_counts):
    data, name = good_file()
    before = db_counts()
    preview = post(client, data, name)
    assert db_counts() == before  # the check stores nothing
    assert 'id="nothing-removed"' in preview.get_data(as_text=True)
    response = client.post("/uploads/confirm",
                           data={"token": token_of(preview.get_data(as_text=True))})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:2000]
    assert 'id="upload-stored"' in body and name in body
    after = db_counts()
    assert after["uploads"] == before["uploads"] + 1
    assert after["funnel_records"] > before["funnel_records"]
    history = client.get("/uploads").get_data(as_text=True)
    assert name in history and hr.username in history


def test_same_file_twice_is_already_stored_without_replace_advice(client, hr, db_counts):
    data, name = good_file()
    assert store(client, data, name).status_code == 200
    before = db_counts()
    response = post(client, data, name)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'id="upload-conflict"' in body and "This file is already stored" in body
    assert "replace" not in body.split('id="upload-conflict"')[1].split("</div>")[0].lower()
    assert db_counts() == before


def test_bad_extract_shows_problems_inline_and_a_csv_report(client, hr, db_counts):
    before = db_counts()
    data = (CORPUS / "bad_date.csv").read_bytes()
    response = post(client, data, "bad_date.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert db_counts() == before
    assert 'id="upload-problems"' in body and '<table class="problems">' in body
    # The sentence names the column and the value and says what is accepted.
    assert "is not a valid date. Write e.g. 2024-03-31" in body
    link = body.split('href="/uploads/problems/')[1].split('"')[0]
    report = client.get("/uploads/problems/" + link)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    text = report.get_data()
    assert text.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Belgian Excel
    lines = text.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row (as in Excel);Column;Value;Code;Problem"
    assert "invalid_date" in lines[1] and "is not a valid date" in lines[1]


def test_error_report_is_only_for_its_owner(client, hr, make_user):
    post(client, (CORPUS / "bad_date.csv").read_bytes(), "bad_date.csv")
    page = post(client, (CORPUS / "bad_date.csv").read_bytes(), "bad_date.csv")
    link = page.get_data(as_text=True).split('href="/uploads/problems/')[1].split('"')[0]
    client.post("/logout")
    login(client, make_user("hr_manager", ["ANT"]))
    assert client.get("/uploads/problems/" + link).status_code == 404


def test_problems_are_translated_for_a_french_user(client, make_user):
    login(client, make_user("hr_manager", ["ANT"], language="fr"))
    response = post(client, (CORPUS / "pii_column_email.csv").read_bytes(), "pii.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "données personnelles" in body
    assert "Le fichier n’a pas été enregistré" in body


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_csrf_token_is_required(client, make_user, db_counts):
    user = make_user("hr_manager", ["ANT"])
    as_user(client, user)
    before = db_counts()
    data, name = good_file()
    response = post(client, data, name)
    assert response.status_code == 400
    assert db_counts() == before
    form = client.get("/uploads/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form


@pytest.mark.app_config(MAX_CONTENT_LENGTH=2048)
def test_file_over_the_limit_gets_a_friendly_page(client, hr, db_counts):
    before = db_counts()
    response = post(client, b"x" * 10_000, "huge.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "File too large" in body and "Traceback" not in body
    assert db_counts() == before


def test_history_paginates(client, hr, zones):
    from hrpipeline.extensions import db
    from hrpipeline.models import Upload

    for i in range(30):
        db.session.add(Upload(zone_id=zones["ANT"].id, user_id=hr.id, kind="funnel",
                              filename=f"file_{i:02d}.csv", sha256=f"{i:064d}", row_count=i))
    db.session.commit()
    first = client.get("/uploads").get_data(as_text=True)
    second = client.get("/uploads?page=2").get_data(as_text=True)
    assert first.count("file_") == 25 and second.count("file_") == 5
    assert "Page 1 of 2" in first


# --- issue 20: limits and hostile files through the form ------------------------------------
def _wide_csv(columns: int) -> bytes:
    return (";".join(f"k{i:05d}" for i in range(columns)) + "\n"
            + ";".join("1" for _ in range(columns)) + "\n").encode()


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "breed.csv: 30.000 kolommen; hoogstens 200 kolommen worden aanvaard."),
    ("fr", "breed.csv : 30\u202f000 colonnes ; au plus 200 colonnes sont acceptées."),
    ("en", "breed.csv: 30,000 columns; at most 200 columns are accepted."),
])
def test_a_too_wide_file_is_refused_with_file_limit_and_finding_translated(
        client, make_user, db_counts, language, expected):
    login(client, make_user("hr_manager", ["ANT"], language=language))
    before = db_counts()
    response = post(client, _wide_csv(30_000), "breed.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert expected in body.replace("&#39;", "'")
    assert db_counts() == before


def test_out_of_range_counts_are_shown_with_row_column_and_range_in_dutch(client, make_user):
    login(client, make_user("hr_manager", ["ANT"], language="nl"))
    data = (b"Campagne;Fase;Herkomst;Geslaagd\r\n"
            b"INP 2024-1;Sollicitatie;EU;3000000000\r\n")
    response = post(client, data, "tellingen.csv", kind="counts")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("„3000000000” in kolom „Geslaagd” ligt buiten het toegestane bereik, 0 tot "
            "1.000.000.") in body
    assert "<td>2</td><td class=\"text\">Geslaagd</td>" in body


def test_a_bidi_override_is_shown_escaped_never_as_the_character(client, hr):
    rows = [r.replace("INP 2024-1", "INP\u202e 2024-1") for r in GOOD_FUNNEL_ROWS]
    response = post(client, funnel_nl(rows, encoding="utf-8"), "bidi.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "\u202e" not in body
    assert "INP\\u202e 2024-1" in body and "U+202E" in body


def test_a_second_upload_while_one_runs_is_refused_with_a_translated_page(client, make_user,
                                                                          db_counts):
    from hrpipeline.ingest import store

    user = make_user("hr_manager", ["ANT"], language="fr")
    login(client, user)
    before = db_counts()
    with store._import_slot(user):
        response = post(client, funnel_nl(GOOD_FUNNEL_ROWS), "a.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 429 and 'id="upload-busy"' in body
    assert "Une de vos importations est encore en cours" in body.replace("&#39;", "'")
    assert db_counts() == before


def test_error_reports_are_owner_only_files(client, hr, app, tmp_path, monkeypatch):
    # Reports quote the uploaded values: created 0600 in a 0700 directory (they were 0644).
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    post(client, (CORPUS / "bad_date.csv").read_bytes(), "bad_date.csv")
    directory = tmp_path / "problem_reports"
    reports = list(directory.glob(f"{hr.id}-*.csv"))
    assert len(reports) == 1
    assert reports[0].stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
