"""The QR labels as printed: Chromium renders the sheet to PDF on A4 and on Letter, and the labels are
measured in print media."""

import re

import pytest

from floor.models import Department, Machine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAPER_MM = {"A4": (210, 297), "Letter": (215.9, 279.4)}
MARGIN_MM = 10  # as the stylesheet's @page
NAMES = [
    "M-01 Haas VF-2",
    "WWWWWWWWWWWWWW",
    "5X-03 DMG Mori DMU 65 monoBLOCK with pallet changer PH-Cell-2",
    "Hochgeschwindigkeitsbearbeitungszentrum-HSC600",
    "T-01 Okuma LB3000",
    "Line 4 robot cell, " * 13 + "end",  # the ERP allows 255 characters
    "G-02 Studer S33",
    "E-01 Sodick AG40L wire EDM",
    "X-99",
]

# For every label: is anything of it outside its box or its sheet, does its name run out sideways; and is
# every sheet within the printable height of a page. Sizes in CSS pixels (96 per inch).
MEASURE = """(pageHeight) => {
  const problems = [];
  const inside = (inner, outer) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5
                                   && inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
  for (const sheet of document.querySelectorAll('[data-sheet]')) {
    const sheetBox = sheet.getBoundingClientRect();
    if (sheetBox.height > pageHeight) problems.push(`a sheet is ${sheetBox.height} px high, a page ${pageHeight}`);
    for (const label of sheet.querySelectorAll('[data-label]')) {
      const box = label.getBoundingClientRect();
      const name = label.querySelector('[data-label-name]');
      if (!inside(box, sheetBox)) problems.push(`${name.textContent}: label outside its sheet`);
      for (const part of label.querySelectorAll('*')) {
        if (!inside(part.getBoundingClientRect(), box)) {
          problems.push(`${name.textContent}: <${part.tagName}> outside its label`);
        }
      }
      if (name.scrollWidth > name.clientWidth) problems.push(`${name.textContent}: name wider than its box`);
      if (label.scrollHeight > label.clientHeight) problems.push(`${name.textContent}: label overflows`);
    }
  }
  return problems;
}"""


def _px(mm):
    return mm * 96 / 25.4


def _pages(pdf):
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


@pytest.fixture
def machines():
    # The factory's tables are not emptied between browser tests (they are not ours): one department of
    # this test's own.
    hall = Department.objects.create(name="Five-axis machining and grinding, hall B, north end by the gate")
    return [Machine.objects.create(name=name, department=hall) for name in NAMES]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printed_labels_stay_inside_their_boxes_and_pages(live_server, screen, sign_in, maintenance, machines,
                                                           paper):
    width, height = PAPER_MM[paper]
    page = screen(round(_px(width - 2 * MARGIN_MM)), 900)
    sign_in(page, maintenance)
    page.goto(f"{live_server.url}/floor/labels/?department={machines[0].department_id}")
    page.emulate_media(media="print")
    assert page.locator("[data-label]").count() == len(NAMES)
    assert page.evaluate(MEASURE, _px(height - 2 * MARGIN_MM)) == []
    # Nine labels are two sheets: two pages, so no sheet ran over onto a third page.
    assert page.locator("[data-sheet]").count() == 2
    margin = {side: f"{MARGIN_MM}mm" for side in ("top", "right", "bottom", "left")}
    assert _pages(page.pdf(format=paper, margin=margin, print_background=True)) == 2


def test_one_machines_label_prints_alone_from_its_issue(live_server, screen, sign_in, operator, maintenance,
                                                        machines):
    from floor.reporting import report_issue

    long_name = machines[2]
    issue = report_issue(machine=long_name, category="alarm", by=operator, description="pallet clamp")
    page = screen(1280, 800, touch=True)
    sign_in(page, maintenance)
    page.goto(f"{live_server.url}/issues/{issue.pk}/")
    page.get_by_role("link", name="Print its QR label").click()
    page.get_by_role("heading", name=f"QR label: {long_name.name}").wait_for()
    assert page.locator("[data-label]").count() == 1
    page.emulate_media(media="print")
    assert page.get_by_role("heading").filter(has_text="QR label").is_hidden()  # only the label is printed
    margin = {side: f"{MARGIN_MM}mm" for side in ("top", "right", "bottom", "left")}
    assert _pages(page.pdf(format="Letter", margin=margin)) == 1
