"""Upload form and history: a good extract is checked, previewed and stored on confirmation,
a bad one shows its problems inline (in the reader's language) with a downloadable error
report, the same file twice is "already stored", replacing needs a confirmation that names
what disappears, an upload can be withdrawn and restored, CSRF is required, and a file over
the size limit gets a friendly page. Nothing is stored when a file is refused."""

from __future__ import annotations

import datetime as dt
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
    assert lines[0] == "File;Row (as in Excel);Column;Value;Code;Problem"
    assert lines[1].startswith("bad_date.csv;")
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
    assert "pii.csv n’a pas été enregistré" in body


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


# --- issue 17: specific messages, preview, confirmation, withdraw and restore -----------------
MISSING_OUTCOME = "\r\n".join(
    ["Kandidaat;Wervingscampagne;Fase;Datum;Herkomst",
     "K001;INP 2024-1;Sollicitatie;1/02/2024;Belgische herkomst"]).encode()


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "De verplichte kolom „uitkomst” ontbreekt. Aanvaarde kolomnamen: uitkomst, outcome"),
    ("fr", "La colonne obligatoire « résultat » manque. Noms de colonne acceptés : résultat, "
           "outcome"),
])
def test_a_missing_column_is_named_in_the_readers_language(client, make_user, language,
                                                          expected):
    login(client, make_user("hr_manager", ["ANT"], language=language))
    response = post(client, MISSING_OUTCOME, "zonder_uitkomst.csv")
    body = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 422
    assert expected in body
    link = body.split('href="/uploads/problems/')[1].split('"')[0]
    report = client.get("/uploads/problems/" + link).get_data().decode("utf-8-sig")
    assert expected in report and report.count(";") >= 4


def test_a_wrong_value_names_the_accepted_values_in_dutch(client, make_user):
    login(client, make_user("hr_manager", ["ANT"], language="nl"))
    rows = [GOOD_FUNNEL_ROWS[0].replace("geslaagd", "ok!")]
    body = post(client, funnel_nl(rows), "fout.csv").get_data(as_text=True)
    assert ("„ok!” is geen aanvaarde waarde in kolom „Uitkomst”. Aanvaarde waarden: "
            "geslaagd, niet geslaagd, afgehaakt, lopend.") in body


def test_a_file_of_another_kind_says_which_kind_it_looks_like(client, make_user):
    login(client, make_user("hr_manager", ["ANT"], language="fr"))
    workforce = (EXAMPLES / "workforce_nl.csv").read_bytes()
    body = post(client, workforce, "personeel.csv", kind="funnel").get_data(as_text=True)
    assert "un extrait du personnel (une ligne par membre du personnel)" in body
    assert body.count("Ce fichier ressemble à un autre type d’extrait") == 1
    assert "La colonne obligatoire" not in body


def test_replacing_needs_a_confirmation_that_says_what_disappears(client, hr, db_counts):
    from hrpipeline.extensions import db
    from hrpipeline.models import Upload

    assert store(client, funnel_nl(GOOD_FUNNEL_ROWS), "v1.csv").status_code == 200
    first = db.session.scalars(db.select(Upload)).one()
    preview = post(client, funnel_nl(GOOD_FUNNEL_ROWS[:4]), "v2.csv")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="replace-warning"' in body
    assert f"upload {first.id}, v1.csv, 8 rows" in body
    before = db_counts()
    # Without ticking the box nothing happens, and the page says why.
    refused = client.post("/uploads/confirm", data={"token": token_of(body)})
    assert refused.status_code == 422 and 'id="confirm-missing"' in refused.get_data(True)
    assert db_counts() == before
    done = client.post("/uploads/confirm",
                       data={"token": token_of(body), "confirm_replace": "y"})
    assert done.status_code == 200 and f"Upload {first.id} was replaced" in done.get_data(True)
    db.session.refresh(first)
    assert first.status == "replaced"


def test_withdraw_and_restore_through_the_history(client, hr):
    from hrpipeline.extensions import db
    from hrpipeline.models import AuditLog, FunnelRecord, Upload

    store(client, funnel_nl(GOOD_FUNNEL_ROWS), "v1.csv")
    upload = db.session.scalars(db.select(Upload)).one()
    history = client.get("/uploads").get_data(as_text=True)
    assert f"/uploads/{upload.id}/withdraw" in history
    page = client.get(f"/uploads/{upload.id}/withdraw").get_data(as_text=True)
    assert "8 rows of zone ANT" in page
    assert client.post(f"/uploads/{upload.id}/withdraw", data={"reason": ""}).status_code == 422
    done = client.post(f"/uploads/{upload.id}/withdraw", data={"reason": "wrong file"},
                       follow_redirects=True)
    assert "is withdrawn" in done.get_data(as_text=True)
    db.session.refresh(upload)
    assert upload.status == "withdrawn"
    assert db.session.scalar(db.select(db.func.count()).select_from(FunnelRecord)) == 0
    restored = client.post(f"/uploads/{upload.id}/restore", follow_redirects=True)
    assert "is restored" in restored.get_data(as_text=True)
    db.session.refresh(upload)
    assert upload.status == "stored"
    actions = db.session.scalars(db.select(AuditLog.action)).all()
    assert "upload_withdrawn" in actions and "upload_restored" in actions


def test_refused_attempts_are_listed_in_the_history(client, hr):
    post(client, MISSING_OUTCOME, "zonder_uitkomst.csv")
    history = client.get("/uploads").get_data(as_text=True)
    assert 'id="refused-attempts"' in history and "zonder_uitkomst.csv" in history


@pytest.mark.parametrize("layout", ["funnel", "workforce", "counts_funnel", "counts_headcount"])
@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_templates_have_drop_downs_and_a_filled_one_is_accepted(client, hr, layout, lang):
    import openpyxl

    from hrpipeline.ingest.columns import written_value
    from hrpipeline.ingest.read import read_frame
    from hrpipeline.ingest.validate import check_extract

    guide = client.get("/uploads/guide").get_data(as_text=True)
    assert f"/uploads/template/{layout}.xlsx?lang={lang}" in guide
    response = client.get(f"/uploads/template/{layout}.xlsx?lang={lang}")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert sheet.data_validations.dataValidation  # drop-down lists
    row = {"candidate_ref": "K1", "campaign": "INP 2024-1", "stage": written_value(
        "stage", "application", lang), "outcome": written_value("outcome", "passed", lang),
        "migration_background": written_value("migration_background", "eu_background", lang),
        "officer_ref": "P1", "hire_date": "01/02/2020", "date": "31/12/2024",
        "headcount": "12", "passed": "10", "failed": "3", "withdrew": "-", "pending": "0"}
    headers = [c.value for c in sheet[1]]
    fields = {h: f for f, h in zip(_fields(layout), headers, strict=True)}
    sheet.append([row.get(fields[h], "") for h in headers])
    out = io.BytesIO()
    book.save(out)
    frame = read_frame(out.getvalue(), "t.xlsx")
    kind = "counts" if layout.startswith("counts") else layout
    result = check_extract(frame, kind, reference_date=dt.date(2025, 1, 1))
    assert result.ok and result.layout == layout, result.problems


def _fields(layout):
    from hrpipeline.ingest.template import template_columns

    return template_columns(layout)
