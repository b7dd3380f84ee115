"""The settings page's AutoPing section: its template and its script, served like the page's own."""

from __future__ import annotations


def test_the_page_has_the_autoping_section_and_its_script(admin):
    page = admin.get("/settings/")
    assert page.status_code == 200
    assert 'id="autoping"' in page.text and "/settings/static/section-autoping.js" in page.text
    script = admin.get("/settings/static/section-autoping.js")
    try:
        assert script.status_code == 200 and "/restapi/autoping/items/" in script.get_data(as_text=True)
    finally:
        script.close()  # a static file's answer holds the file open until closed
