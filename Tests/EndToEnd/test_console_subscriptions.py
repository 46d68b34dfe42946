"""The console's Subscriptions screen in a real browser against the real services: a CSV import with
its error report, a contact's state changed through the form, and subscription groups."""
import csv
import io
import re
import uuid

import requests
from playwright.sync_api import expect

from console_helpers import new_space, sign_in
from engage_harness import bearer, wait_for


def tab(page, name):
    """A tab of the Subscriptions screen."""
    return page.get_by_role("navigation", name="Subscriptions").get_by_role("link", name=name)


def look_up_contact(page, console, key):
    page.goto(console.url + "/subscriptions")
    page.get_by_label("Email address or phone number").fill(key)
    page.get_by_role("button", name="Look up").click()


def test_csv_import_with_bad_rows_shows_the_result_and_the_error_report(console, page, profiles, subscriptions, tmp_path):
    space = new_space(profiles, subscriptions)
    run = uuid.uuid4().hex[:6]
    good_email, good_phone = f"ada-{run}@example.com", "+14155550123"
    people = tmp_path / f"contacts-{run}.csv"
    people.write_text("\r\n".join([
        "user_id,email,phone,email_subscription_status,sms_subscription_status,plan",
        f"u-{run}-1,{good_email},,subscribed,,pro",         # row 2: imported
        f"u-{run}-2,not-an-email,,subscribed,,free",         # row 3: INVALID_EMAIL
        f"u-{run}-3,bob-{run}@example.com,,maybe,,",          # row 4: INVALID_SUBSCRIPTION_STATUS
        f"u-{run}-4,,+1 415 555 0123,,unsubscribed,",        # row 5: imported
    ]) + "\r\n")

    sign_in(page, console, space)
    page.get_by_role("link", name="Subscriptions", exact=True).click()
    tab(page, "CSV import").click()
    expect(page.get_by_text("No imports yet")).to_be_visible()

    # The template names this space's columns, and downloads as a file.
    with page.expect_download() as template_download:
        page.get_by_role("link", name="Download the CSV template").click()
    template = open(template_download.value.path(), encoding="utf-8").read()
    assert template.startswith("user_id,email,anonymous_id,phone,email_subscription_status"), template

    page.get_by_label("CSV file").set_input_files(str(people))
    page.get_by_role("button", name="Upload").click()
    # The import's own page follows it to the end.
    expect(page).to_have_url(re.compile(r"/subscriptions/imports/[^/]+$"))
    expect(page.get_by_role("heading", name=f"Import of {people.name}")).to_be_visible()
    expect(page.get_by_text("Completed")).to_be_visible(timeout=90000)
    expect(page.locator("[data-result=imported]")).to_have_text("2")
    expect(page.locator("[data-result=rejected]")).to_have_text("2")

    with page.expect_download() as report_download:
        page.get_by_role("link", name="Download the error report").click()
    assert report_download.value.suggested_filename.endswith("-errors.csv")
    rows = list(csv.reader(io.StringIO(open(report_download.value.path(), encoding="utf-8").read())))
    assert rows[0] == ["row_number", "error_message", "error_code"]
    by_row = {int(row[0]): (row[1], row[2]) for row in rows[1:]}
    assert sorted(by_row) == [3, 4], rows
    assert by_row[3][1] == "INVALID_EMAIL" and "not-an-email" in by_row[3][0]
    assert by_row[4][1] == "INVALID_SUBSCRIPTION_STATUS" and "maybe" in by_row[4][0]

    # The upload is in the history, and the good rows' states are visible in the contact lookup.
    page.get_by_role("link", name="Back to CSV import").click()
    expect(page.get_by_role("row", name=re.compile(people.name))).to_contain_text("Completed")
    tab(page, "Contacts").click()
    page.get_by_label("Email address or phone number").fill(good_email)
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("tr[data-channel=EMAIL]")).to_contain_text("Subscribed")
    expect(page.locator("tr[data-channel=EMAIL]")).to_contain_text("CSV upload")
    expect(page.locator("#history ~ .table-wrap")).to_contain_text("No status → Subscribed")
    look_up_contact(page, console, good_phone)
    expect(page.locator("tr[data-channel=SMS]")).to_contain_text("Unsubscribed")
    expect(page.locator("tr[data-channel=WHATSAPP]")).to_contain_text("No status")
    # The refused row changed nothing.
    look_up_contact(page, console, f"bob-{run}@example.com")
    expect(page.locator("tr[data-channel=EMAIL]")).to_contain_text("No status")


def test_a_refused_file_is_explained_and_nothing_is_imported(console, page, profiles, subscriptions, tmp_path):
    space = new_space(profiles, subscriptions)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("emial,email_subscription_status\r\nada@example.com,subscribed\r\n")
    sign_in(page, console, space)
    page.goto(console.url + "/subscriptions/imports")
    page.get_by_label("CSV file").set_input_files(str(wrong))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("emial")
    expect(page).to_have_url(console.url + "/subscriptions/imports")
    page.reload()
    expect(page.get_by_text("No imports yet")).to_be_visible()


def test_change_a_contacts_state_through_the_form_and_manage_groups(console, page, profiles, subscriptions):
    space = new_space(profiles, subscriptions)
    contact = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    sign_in(page, console, space)

    # Groups: create, refuse a duplicate (typed values kept), rename.
    page.goto(console.url + "/subscriptions/groups")
    expect(page.get_by_text("No subscription groups yet")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Newsletter")
    page.get_by_label("Description (optional)").fill("Every Friday")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("status")).to_have_text("Group Newsletter created.")
    expect(page.get_by_role("row", name=re.compile("Newsletter"))).to_contain_text("Every Friday")
    page.get_by_label("Name", exact=True).fill("newsletter")
    page.get_by_role("button", name="Create group").click()
    expect(page.locator(".field-error")).to_contain_text("already exists")
    expect(page.get_by_label("Name", exact=True)).to_have_value("newsletter")
    page.get_by_role("link", name="Rename Newsletter").click()
    page.get_by_label("Name", exact=True).fill("Weekly news")
    page.get_by_role("button", name="Save group").click()
    expect(page.get_by_role("status")).to_have_text("Group Newsletter renamed to Weekly news.")
    expect(page.get_by_role("row", name=re.compile("Weekly news"))).to_be_visible()

    # A contact with no status yet; the form sets its email state, then a group state.
    tab(page, "Contacts").click()
    page.get_by_label("Email address or phone number").fill(contact.upper())
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_text("no consent recorded on any channel")).to_be_visible()
    page.get_by_label("New state").select_option(label="Subscribed")
    page.get_by_role("button", name="Save state").click()
    expect(page.get_by_role("status")).to_contain_text("is now Subscribed")
    expect(page.locator("tr[data-channel=EMAIL]")).to_contain_text("Subscribed")
    expect(page.locator("tr[data-channel=EMAIL]")).to_contain_text("API or console")
    page.get_by_label("Applies to").select_option(label="Group: Weekly news")
    page.get_by_label("New state").select_option(label="Subscribed")
    page.get_by_role("button", name="Save state").click()
    expect(page.get_by_role("status")).to_contain_text("The Weekly news group state")
    expect(page.locator("tr[data-group='Weekly news']")).to_contain_text("Subscribed")

    # The service's rules apply: a global unsubscribe wins, and a group subscribe is then refused.
    page.get_by_label("New state").select_option(label="Unsubscribed")
    page.get_by_role("button", name="Save state").click()
    expect(page.locator("tr[data-channel=EMAIL]")).to_contain_text("Unsubscribed")
    expect(page.locator("tr[data-group='Weekly news']")).to_contain_text("in effect: Unsubscribed")
    page.get_by_label("Applies to").select_option(label="Group: Weekly news")
    page.get_by_label("New state").select_option(label="Did not subscribe")
    page.get_by_role("button", name="Save state").click()
    expect(page.get_by_role("status")).to_contain_text("is now Did not subscribe")
    page.get_by_label("Applies to").select_option(label="Group: Weekly news")
    page.get_by_label("New state").select_option(label="Subscribed")
    response_status = {}
    page.once("response", lambda response: response_status.setdefault("code", response.status))
    page.get_by_role("button", name="Save state").click()
    expect(page.get_by_role("alert")).to_contain_text("unsubscribed from all email")
    assert response_status["code"] == 422
    expect(page.get_by_label("New state")).to_have_value("subscribed")  # the typed values are kept

    # The audit trail lists every change, newest first, and the API agrees.
    history = page.locator("#history ~ .table-wrap tbody tr")
    expect(history).to_have_count(4)
    expect(history.first).to_contain_text("Subscribed → Did not subscribe")
    states = requests.get(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", params={"key": contact},
                          headers=bearer(space.token)).json()["data"]["channels"][0]
    assert states["status"] == "unsubscribed" and states["groups"][0]["status"] == "did_not_subscribe"

    # A phone number without its country code is explained beside the field.
    look_up_contact(page, console, "4155550100")
    expect(page.locator("#contact-key-error")).to_contain_text("not a valid phone number")
    expect(page.get_by_label("Email address or phone number")).to_have_value("4155550100")

    # At 390 px the page still fits (tables scroll inside their frame).
    page.set_viewport_size({"width": 390, "height": 844})
    look_up_contact(page, console, contact)
    expect(page.locator("tr[data-channel=EMAIL]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Delete the group (after confirming).
    page.goto(console.url + "/subscriptions/groups")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Weekly news").click()
    expect(page.get_by_role("status")).to_have_text("Group Weekly news deleted.")
    expect(page.get_by_text("No subscription groups yet")).to_be_visible()
    wait_for(lambda: requests.get(f"{subscriptions.url}/spaces/{space.id}/subscription-groups",
                                  headers=bearer(space.token)).json()["data"] == [], what="the group to be gone")
